"""The support graph through two real Aegra servers on one PostgreSQL: what a customer, an operator
and the CLI see, under load too.

The servers (tests/conftest.py `aegra`) serve graph/server.py on a scripted model whose first
draft of every reply is wrong (order 99999, $123.45, Zanzibar) and is rejected by the reply check; a
message that says TIMEOUT-ME makes the model time out (tests/scripted_graph.py). Authorisation
itself is tested in tests/test_auth.py on the same servers.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.deploy import write_env_file
from store.db import make_engine
from store.schema import audit_log, node_runs, orders, refunds, shipments
from tests.orders import refundable_orders
from tests.scripted_graph import TIMEOUT_WORD
from tests.servers import Servers, streamed

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
LEAKS = ("Zanzibar", "$123.45")  # the scripted model's rejected first draft (not "99999": a confidence has it)


def ask(text: Any) -> dict[str, Any]:
    return {"messages": [{"role": "human", "content": text}]}


def refused(call: Callable[[], Any]) -> httpx.Response:
    with pytest.raises(httpx.HTTPStatusError) as info:
        call()
    return info.value.response


LOST_STREAM_ENDS: list[str] = []  # streams that lost their end (tests.servers.streamed), printed below


def turn(client: Any, thread_id: str, payload: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """One run streamed to its end: the last values."""
    values, ended = streamed(client, thread_id, input=payload, **kwargs)
    if not ended:
        LOST_STREAM_ENDS.append(thread_id)
    return values


def query(servers: Servers, statement: Any) -> list[Any]:
    with make_engine(servers.database_url).connect() as conn:
        return list(conn.execute(statement))


def settled(servers: Servers, statement: Any, expected: Any, timeout_s: float = 15.0) -> Any:
    """`statement`'s rows once they equal `expected` (a server writes node runs off the turn's
    path, so they may land a moment after the run ends); the last rows read after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = query(servers, statement)
        if rows == expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def orders_of(servers: Servers, status: str, customers: range, **bounds: int) -> list[tuple[int, str, int]]:
    """(order, customer, total cents): the first order in `status` of each customer in `customers` who
    has one. Each test takes its customers from a range of its own (so counts per customer or order
    are its own); tests/test_auth.py works on C0007's and C0008's."""
    statement = select(orders.c.id, orders.c.customer_id, orders.c.total_cents).where(
        orders.c.status == status, orders.c.customer_id.in_([f"C{n:04d}" for n in customers])
    )
    if "above" in bounds:
        statement = statement.where(orders.c.total_cents > bounds["above"])
    if "below" in bounds:
        statement = statement.where(orders.c.total_cents <= bounds["below"])
    first: dict[str, tuple[int, str, int]] = {}
    for order, customer, total in query(servers, statement.order_by(orders.c.id)):
        first.setdefault(customer, (int(order), str(customer), int(total)))
    return sorted(first.values(), key=lambda row: row[1])


def test_a_lookup_answers_through_either_server(aegra: Servers) -> None:
    order, customer, _ = orders_of(aegra, "shipped", range(100, 140))[0]
    for index in (0, 1):
        client = aegra.client(index, aegra.token(customer=customer))
        thread = client.threads.create()["thread_id"]
        result = turn(client, thread, ask(f"Where is my order {order}?"))
        assert (result["status"], result["intent"]) == ("answered", "track_order"), result
        assert str(order) in result["reply"] and [c["name"] for c in result["tool_calls"]] == [
            "get_order",
            "get_shipment",
        ]


def test_no_unchecked_draft_leaves_the_server_on_any_stream_mode(aegra: Servers) -> None:
    order, customer, _ = orders_of(aegra, "shipped", range(140, 170))[0]
    client = aegra.client(0, aegra.token(customer=customer))
    seen: dict[str, str] = {}
    for modes in (["values", "updates", "messages-tuple", "custom", "checkpoints"], ["messages"]):
        for _attempt in range(3):  # a stream that lost its end (tests.servers.streamed) is run again
            thread = client.threads.create()["thread_id"]
            question = ask(f"Where is my order {order}?")
            chunks = list(client.runs.stream(thread, "support", input=question, stream_mode=modes))
            if any(chunk.event == "end" for chunk in chunks):
                break
            LOST_STREAM_ENDS.append(thread)  # see tests.servers.streamed
        for chunk in chunks:
            seen[chunk.event.split("|")[0]] = seen.get(chunk.event.split("|")[0], "") + json.dumps(chunk.data)
        drafts = select(func.count()).where(node_runs.c.thread_id == thread, node_runs.c.node == "draft_reply")
        assert settled(aegra, drafts, [(2,)]) == [(2,)], "the first draft was rejected and written again"
        state = client.threads.get_state(thread)
        assert state["values"]["status"] == "answered" and "draft" not in state["values"]
        for leak in LEAKS:
            assert leak not in json.dumps(state), "a thread's state shows no draft"
    assert {"values", "updates", "messages", "checkpoints"} <= set(seen), sorted(seen)
    for event, text in seen.items():
        for leak in LEAKS:
            assert leak not in text, f"{leak} in the {event} stream"
    reply = state["values"]["reply"]
    assert str(order) in reply and json.dumps(reply)[1:-1] in seen["messages"], "the checked reply streams as a message"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(12345, "not a number"), ({"text": "hi"}, "not an object"), ([1, 2], "not a list of numbers")],
    ids=["number", "object", "list"],
)
def test_unreadable_content_is_refused_clearly_and_the_thread_stays_usable(
    aegra: Servers, content: Any, reason: str
) -> None:
    order, customer, _ = orders_of(aegra, "shipped", range(170, 200))[0]
    client = aegra.client(1, aegra.token(customer=customer))
    thread = client.threads.create()["thread_id"]
    result = turn(client, thread, ask(content))
    assert (
        result["status"] == "error"
        and f"could not read that message: the message must be text, {reason}" in (result["reply"])
    )
    assert client.threads.get(thread)["status"] == "idle", "the run ended normally, not in error"
    again = turn(client, thread, ask(f"Where is my order {order}?"))
    assert again["status"] == "answered" and str(order) in again["reply"]


def test_a_customer_cannot_act_on_another_customers_order_or_thread(aegra: Servers) -> None:
    mine, theirs = orders_of(aegra, "delivered", range(200, 210), below=50000)[:2]
    alice = aegra.client(0, aegra.token(customer=mine[1]))
    bob = aegra.client(1, aegra.token(customer=theirs[1]))
    thread = alice.threads.create()["thread_id"]
    result = turn(alice, thread, ask(f"Please refund order {theirs[0]}"))
    on_theirs = [c for c in result["tool_calls"] if c["args"].get("order_id") == theirs[0]]
    assert on_theirs and {(c["outcome"], c["error_type"]) for c in on_theirs} == {("refused", "AccessDenied")}
    assert f"{theirs[2] / 100:.2f}" not in result["reply"]
    assert query(aegra, select(func.count()).where(refunds.c.order_id == theirs[0]))[0][0] == 0
    # Bob's run, or resume, on Alice's thread: the thread does not exist for him
    assert refused(lambda: bob.runs.create(thread, "support", input=ask("hello"))).status_code == 404
    approve = {"resume": {"decisions": [{"type": "approve"}]}}
    assert refused(lambda: bob.runs.create(thread, "support", command=approve)).status_code in (403, 404)
    assert refused(lambda: bob.threads.get_state(thread)).status_code == 404


def _env_file(aegra: Servers, path: Path) -> dict[str, str]:
    """What `make up` writes for a deployment: the environment the CLI runs with against it."""
    write_env_file(path, {**aegra.env, "SWITCHBOARD_SERVER_URL": aegra.urls[1]}, "test deployment")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    return {**env, "SWITCHBOARD_ENV_FILE": str(path)}


def switchboard(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "switchboard"), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_the_cli_decides_through_the_server_api(aegra: Servers, tmp_path: Path) -> None:
    big = [
        (o.id, o.customer_id, o.total_cents)
        for o in refundable_orders(
            aegra.database_url, above_cents=50000, below_cents=100000, customers=[f"C{n:04d}" for n in range(150, 241)]
        )
    ][:2]
    assert len(big) == 2 and len({c for _, c, _ in big}) == 2
    threads = []
    for order, customer, _ in big:
        client = aegra.client(0, aegra.token(customer=customer))
        thread = client.threads.create()["thread_id"]
        assert turn(client, thread, ask(f"I want a refund for order {order}"))["status"] == "awaiting_approval"
        threads.append((thread, order, customer, client))
    env = _env_file(aegra, tmp_path / "switchboard.env")

    (approved, order, customer, client), (rejected, other_order, _, other_client) = threads
    done = switchboard(env, "approve", approved, "--json")  # SWITCHBOARD_SERVER_URL: server 1
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["server"]) == ("answered", aegra.urls[1]), result
    assert [(c["name"], c["outcome"]) for c in result["tool_calls"]][-1] == ("issue_refund", "ok")
    assert client.threads.get(approved)["status"] == "idle" and not client.threads.get_state(approved)["next"]
    assert query(aegra, select(func.count()).where(refunds.c.order_id == order))[0][0] == 1
    (audit,) = query(
        aegra, select(audit_log).where(audit_log.c.action == "approval", audit_log.c.thread_id == approved)
    )
    assert audit.customer_id == customer and "checkpoint None" not in audit.detail

    no = switchboard(env, "reject", rejected, "--reason", "outside the policy", "--server", aegra.urls[0], "--json")
    assert no.returncode == 0, no.stderr
    assert "did not approve" in json.loads(no.stdout)["reply"]
    assert query(aegra, select(func.count()).where(refunds.c.order_id == other_order))[0][0] == 0
    assert other_client.threads.get(rejected)["status"] == "idle"

    again = switchboard(env, "approve", approved)
    assert (again.returncode, "not waiting for a decision" in again.stderr) == (2, True), again.stderr
    nothing = switchboard(env, "resume", approved, "--json")
    assert json.loads(nothing.stdout)["note"] == "nothing to resume", nothing.stderr

    # a thread stopped before its last step (an operator's breakpoint here; a crash of every
    # server alike) is continued from its latest checkpoint through the API
    operator = aegra.client(0, aegra.token(operator="ann"), act_for=customer)
    turn(operator, approved, ask(f"Where is my order {order}?"), interrupt_before=["finalize"])
    assert operator.threads.get_state(approved)["next"] == ["finalize"]
    resumed = switchboard(env, "resume", approved, "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert (result["resumed"], result["status"]) == (True, "answered") and str(order) in result["reply"], result
    assert not operator.threads.get_state(approved)["next"]


def test_metrics_count_the_servers_runs_and_a_timed_out_model_as_an_error(aegra: Servers, tmp_path: Path) -> None:
    order, customer, _ = orders_of(aegra, "shipped", range(100, 140))[1]  # not the lookup's customer
    client = aegra.client(0, aegra.token(customer=customer))
    for index, text in enumerate(
        [f"Where is my order {order}?", f"Where is my order {order}? {TIMEOUT_WORD}", f"Where is order {order}?"]
    ):
        server = aegra.client(index % 2, aegra.token(customer=customer))
        thread = server.threads.create()["thread_id"]
        assert turn(server, thread, ask(text))["status"] == "answered"
    finished = select(func.count()).where(node_runs.c.customer_id == customer, node_runs.c.node == "finalize")
    assert settled(aegra, finished, [(3,)]) == [(3,)]
    shown = switchboard(
        _env_file(aegra, tmp_path / "switchboard.env"), "admin", "metrics", "--customer", customer, "--json"
    )
    assert shown.returncode == 0, shown.stderr
    nodes = {row["node"]: row for row in json.loads(shown.stdout)}
    assert nodes["intake"]["runs"] == 3 and nodes["finalize"]["runs"] == 3
    # two turns: a rejected draft and its repair; the third: one draft, the model timed out
    assert (nodes["draft_reply"]["runs"], nodes["draft_reply"]["successes"]) == (5, 4)
    assert nodes["draft_reply"]["top_errors"] == "model_failed:TimeoutError ×1"
    assert nodes["draft_reply"]["success_rate"] < 1.0
    assert client.threads.search(limit=10)  # the customer's threads are there for them


THREADS, TURNS, AT_ONCE = 40, 2, 10


def test_forty_threads_two_turns_across_both_servers(aegra: Servers) -> None:
    """40 customers, each a thread of two turns (the second on the other server), 10 threads at a time:
    no run fails, and no reply states anything of another customer's order (half the second turns
    ask about one)."""
    from langgraph_sdk import get_client

    mine = [row for row in orders_of(aegra, "delivered", range(1, 100)) if row[1] not in ("C0007", "C0008")][:THREADS]
    assert len(mine) == THREADS
    tracking = dict(query(aegra, select(shipments.c.order_id, shipments.c.tracking_number)))

    async def conversation(i: int, gate: asyncio.Semaphore) -> list[str]:
        order, customer, _ = mine[i]
        other, _, other_total = mine[(i + 1) % THREADS]
        token = aegra.token(customer=customer)
        clients = [get_client(url=url, api_key=token) for url in aegra.urls]
        problems: list[str] = []
        async with gate:
            thread = (await clients[i % 2].threads.create())["thread_id"]
            for n, text in enumerate([f"Where is my order {order}?", f"And where is order {other}?"][:TURNS]):
                client = clients[(i + n) % 2]
                values: dict[str, Any] = {}
                ended = False
                async for chunk in client.runs.stream(thread, "support", input=ask(text), stream_mode="values"):
                    if chunk.event == "error":
                        problems.append(f"{customer} turn {n + 1}: {chunk.data}")
                    elif chunk.event == "values":
                        values = chunk.data
                    ended = ended or chunk.event == "end"
                if not ended or not values:  # see tests.servers.streamed
                    LOST_STREAM_ENDS.append(thread)
                    for run in await client.runs.list(thread, limit=1):
                        await client.runs.join(thread, run["run_id"])
                    values = (await client.threads.get_state(thread))["values"]
                runs = await client.runs.list(thread, limit=1)
                if runs[0]["status"] != "success":
                    problems.append(f"{customer} turn {n + 1}: run {runs[0]['status']}")
                reply = str(values.get("reply", ""))
                if values.get("status") != "answered":
                    problems.append(f"{customer} turn {n + 1}: {values.get('status')} {reply[:80]!r}")
                if n == 0 and str(order) not in reply:
                    problems.append(f"{customer}: the reply does not answer about {order}: {reply[:80]!r}")
                if n == 1:
                    refusals = [c["error_type"] for c in values.get("tool_calls", []) if c["outcome"] != "ok"]
                    if refusals != ["AccessDenied"]:
                        problems.append(f"{customer} asked about {other}: {refusals}")
                    if f"{other_total / 100:.2f}" in reply or (tracking.get(other) or "-") in reply:
                        problems.append(f"{customer} was told about {other}: {reply[:120]!r}")
        return problems

    async def everyone() -> list[str]:
        gate = asyncio.Semaphore(AT_ONCE)
        found = await asyncio.gather(*(conversation(i, gate) for i in range(THREADS)))
        return [p for problems in found for p in problems]

    started = time.monotonic()
    problems = asyncio.run(everyone())
    took = time.monotonic() - started
    assert problems == [], problems
    owners = {customer for _, customer, _ in mine}
    ran = settled(
        aegra,
        select(node_runs.c.customer_id, func.count())
        .where(node_runs.c.node == "intake", node_runs.c.customer_id.in_(owners))
        .group_by(node_runs.c.customer_id)
        .order_by(node_runs.c.customer_id),
        [(customer, TURNS) for customer in sorted(owners)],
    )
    assert {customer: n for customer, n in ran} == dict.fromkeys(owners, TURNS)
    print(
        f"{THREADS * TURNS} turns in {took:.1f} s across {len(aegra.urls)} servers; "
        f"streams that lost their end (read back from the state) in this module: {len(LOST_STREAM_ENDS)}"
    )
