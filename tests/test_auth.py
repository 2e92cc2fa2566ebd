"""Authentication and authorisation on two real Aegra servers sharing one PostgreSQL database and Redis.

Tokens come from server/tokens.py, the rules from server/auth.py. Besides `support`, the servers
serve tests/probe_graph.py, which reports what a run receives (authenticated user, run context).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from store.db import make_engine
from store.schema import audit_log, refunds
from tests.orders import refundable_orders
from tests.servers import Servers

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def servers(aegra: Servers) -> Servers:
    """The session's two Aegra servers (tests/conftest.py): `support` on a scripted model, and `probe`."""
    return aegra


def refused(call: Callable[[], Any]) -> httpx.Response:
    with pytest.raises(httpx.HTTPStatusError) as info:
        call()
    return info.value.response


def audit_rows(servers: Servers, action: str, thread_id: str | None = None) -> list[dict[str, Any]]:
    query = select(audit_log).where(audit_log.c.action == action)
    if thread_id:
        query = query.where(audit_log.c.thread_id == thread_id)
    with make_engine(servers.database_url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def big_order(servers: Servers, customer: str | None = None, *, not_customer: str | None = None) -> tuple[int, str]:
    """A delivered order the policy refunds once one person approves (above $500, below the $1,000
    four-eyes line, inside the return window at the servers' clock): (order id, customer id)."""
    found = [
        o
        for o in refundable_orders(servers.database_url, above_cents=50000, below_cents=100000, customer_id=customer)
        if o.customer_id != not_customer
    ]
    assert found, f"the seeded store has an order one person must approve ({customer or 'anyone'})"
    return found[0].id, found[0].customer_id


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "human", "content": text}]}


def test_health_stays_open_and_every_other_route_wants_a_valid_token(servers: Servers) -> None:
    for url in servers.urls:
        assert httpx.get(f"{url}/health").status_code == 200
        response = httpx.post(f"{url}/threads/search", json={})
        assert response.status_code == 401
        assert "missing token" in response.json()["message"]
    url = servers.urls[0]
    expired = servers.token(customer="C0007", ttl_s=60, now=time.time() - 3600)
    tampered = servers.token(customer="C0007")[:-4] + "AAAA"
    for headers, reason in [
        (
            {"X-Auth-Scheme": "langsmith"},
            "missing token",
        ),  # `langgraph dev` lets Studio in so; Aegra does not
        ({"Authorization": f"Bearer {expired}"}, "expired"),
        ({"X-Api-Key": tampered}, "signature"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "missing token"),
    ]:
        response = httpx.post(f"{url}/threads/search", json={}, headers=headers)
        assert (response.status_code, reason in response.json()["message"]) == (401, True), response.text
    token = servers.token(customer="C0007")
    assert httpx.post(f"{url}/threads/search", json={}, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert httpx.post(f"{url}/threads/search", json={}, headers={"X-Api-Key": token}).status_code == 200


def test_a_customer_sees_only_its_own_threads_on_every_server(servers: Servers) -> None:
    alice, bob = servers.token(customer="C0007"), servers.token(customer="C0008")
    a0, a1, b1 = servers.client(0, alice), servers.client(1, alice), servers.client(1, bob)
    thread = a0.threads.create(metadata={"owner": "customer:C0008", "topic": "mine"})
    tid = thread["thread_id"]
    assert thread["metadata"]["owner"] == "customer:C0007"  # stamped from the token, not the request
    assert a1.threads.get(tid)["thread_id"] == tid  # the other server knows it too
    assert tid not in {t["thread_id"] for t in b1.threads.search(limit=100)}
    assert {t["metadata"]["owner"] for t in a1.threads.search(limit=100)} == {"customer:C0007"}
    assert refused(lambda: b1.threads.get(tid)).status_code == 404
    assert refused(lambda: b1.threads.create(thread_id=tid, if_exists="do_nothing")).status_code == 409
    assert refused(lambda: b1.threads.get_state(tid)).status_code == 404
    assert refused(lambda: b1.threads.get_history(tid)).status_code == 404
    assert refused(lambda: b1.runs.create(tid, "probe", input={"note": "hi"})).status_code == 404
    # customers may not edit state, use the Store, or delete threads
    assert refused(lambda: a0.threads.update_state(tid, {"note": "x"})).status_code == 403
    assert refused(lambda: a0.store.put_item(["customers", "C0008"], "k", {"v": 1})).status_code == 403
    assert refused(lambda: a0.threads.delete(tid)).status_code == 403
    # an operator reaches a customer's threads by naming the customer (Aegra scopes threads by identity)
    ann = servers.token(operator="ann")
    assert tid not in {t["thread_id"] for t in servers.client(1, ann).threads.search(limit=100)}
    assert servers.client(1, ann, act_for="C0007").threads.get(tid)["thread_id"] == tid


def test_identity_reaches_the_graph_from_the_token_not_from_the_request(servers: Servers) -> None:
    customer = servers.client(0, servers.token(customer="C0007"))
    tid = customer.threads.create()["thread_id"]
    seen = customer.runs.wait(tid, "probe", input={"note": "hi"})["seen"]
    assert seen["context"]["customer_id"] == "C0007"  # set by server/auth.py from the token
    assert seen["context"]["refund_approval_threshold_usd"] == 500.0  # the graph's default, untouched
    assert {k: seen["user"][k] for k in ("identity", "customer_id", "actor", "role")} == {
        "identity": "customer:C0007",
        "customer_id": "C0007",
        "actor": "customer:C0007",
        "role": "customer",
    }
    echoed = customer.runs.wait(tid, "probe", input={"note": "again"}, context={"customer_id": "C0007"})
    assert echoed["seen"]["context"]["customer_id"] == "C0007"  # naming yourself is allowed
    # an operator acting for the customer, on the other server: the graph sees who really acted
    operator = servers.client(1, servers.token(operator="ann", role="supervisor"), act_for="C0007")
    seen = operator.runs.wait(tid, "probe", input={"note": "op"})["seen"]
    assert seen["context"]["customer_id"] == "C0007"
    assert {k: seen["user"][k] for k in ("identity", "customer_id", "actor", "role")} == {
        "identity": "customer:C0007",
        "customer_id": "C0007",
        "actor": "operator:ann",
        "role": "supervisor",
    }
    assert "approvals:decide" in seen["user"]["permissions"]


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"context": {"customer_id": "C0099", "refund_approval_threshold_usd": 100000}},
        {"context": {"refund_approval_threshold_usd": 100000}},
        {"config": {"configurable": {"refund_approval_threshold_usd": 100000}}},  # Aegra's context fallback
        {"config": {"configurable": {"customer_id": "C0099"}}},
    ],
    ids=[
        "other-customer-and-threshold",
        "threshold",
        "configurable-threshold",
        "configurable-customer",
    ],
)
def test_a_run_context_cannot_change_a_setting_or_name_another_customer(servers: Servers, request_kwargs: dict) -> None:
    client = servers.client(0, servers.token(customer="C0007"))
    tid = client.threads.create()["thread_id"]
    response = refused(lambda: client.runs.wait(tid, "probe", input={"note": "x"}, **request_kwargs))
    assert response.status_code == 403
    assert "may not set" in response.json()["message"]
    assert client.runs.list(tid) == []  # nothing ran
    (row,) = audit_rows(servers, "context_refused", tid)
    assert (row["outcome"], row["actor"], row["customer_id"]) == (
        "refused",
        "customer:C0007",
        "C0007",
    )


def test_customers_cannot_stream_modes_that_carry_node_inputs(servers: Servers) -> None:
    client = servers.client(0, servers.token(customer="C0007"))
    tid = client.threads.create()["thread_id"]
    for mode in ("events", "debug", "tasks"):
        response = refused(lambda m=mode: list(client.runs.stream(tid, "probe", input={"note": "x"}, stream_mode=m)))
        assert (response.status_code, f"may not stream {mode}" in response.text) == (403, True)
    chunks = list(client.runs.stream(tid, "probe", input={"note": "x"}, stream_mode=["values", "messages-tuple"]))
    assert any(c.event == "values" and "seen" in c.data for c in chunks)


def test_refund_waits_on_a_customer_is_refused_the_decision_and_an_operator_approves_on_the_other_server(
    servers: Servers,
) -> None:
    order, _ = big_order(servers, "C0068")
    customer = servers.client(0, servers.token(customer="C0068"))
    tid = customer.threads.create()["thread_id"]
    message = ask(f"I want a refund for order {order}")
    assert (
        refused(
            lambda: customer.runs.wait(tid, "support", input=message, context={"refund_approval_threshold_usd": 100000})
        ).status_code
        == 403
    )
    result = customer.runs.wait(tid, "support", input=message)
    assert result["status"] == "awaiting_approval", result.get("reply")
    assert result["__interrupt__"][0]["value"]["action_requests"][0]["name"] == "issue_refund"

    approve = {"resume": {"decisions": [{"type": "approve"}]}}
    response = refused(lambda: customer.runs.wait(tid, "support", command=approve))
    assert (response.status_code, "only an operator" in response.json()["message"]) == (403, True)
    assert [r["actor"] for r in audit_rows(servers, "decision_refused", tid)] == ["customer:C0068"]
    assert customer.threads.get_state(tid)["next"] == ["approval_gate"]  # still waiting

    operator = servers.client(1, servers.token(operator="ann"), act_for="C0068")
    done = operator.runs.wait(tid, "support", command=approve)  # no context: the thread knows its customer
    assert done["status"] == "answered", done.get("reply")
    with make_engine(servers.database_url).connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(refunds).where(refunds.c.order_id == order)).scalar_one() == 1
        )


def test_the_approval_audit_names_the_operator_of_the_token_not_the_payload(
    servers: Servers,
) -> None:
    order, owner = big_order(servers, not_customer="C0007")
    customer = servers.client(0, servers.token(customer=owner))
    tid = customer.threads.create()["thread_id"]
    assert customer.runs.wait(tid, "support", input=ask(f"refund order {order}"))["status"] == "awaiting_approval"
    operator = servers.client(1, servers.token(operator="ann"), act_for=owner)
    operator.runs.wait(
        tid,
        "support",
        command={"resume": {"decisions": [{"type": "reject", "actor": "operator:mallory", "message": "not eligible"}]}},
    )
    assert [r["actor"] for r in audit_rows(servers, "approval", tid)] == ["operator:ann"]
