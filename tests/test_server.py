"""`langgraph dev` serves the graph as `support` offline, behind server/auth.py like Aegra does.

Settings reach the server through its environment (never through a run's context); callers
authenticate with tokens; a customer's thread waits for approval and an operator decides it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.tokens import new_key, sign, subject_for
from store.db import make_engine, sqlite_url
from store.schema import audit_log, orders, refunds
from tests.servers import free_port, write_config

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@dataclass
class DevServer:
    url: str
    store_url: str
    token_key: str

    def token(self, *, customer: str | None = None, operator: str | None = None) -> str:
        subject, role = subject_for(customer=customer, operator=operator)
        return sign(subject, role, key=self.token_key, ttl_s=900)

    def client(self, token: str | None, *, act_for: str | None = None) -> Any:
        from langgraph_sdk import get_sync_client

        headers = {"X-Switchboard-Customer": act_for} if act_for else None
        return get_sync_client(url=self.url, api_key=token or None, headers=headers)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, seeded_sqlite: Path, kb_dir: str, classifier_path: str
) -> Iterator[DevServer]:
    home = tmp_path_factory.mktemp("server")
    store = home / "store.sqlite"
    shutil.copy(seeded_sqlite, store)
    config = write_config(
        home / "langgraph.json",
        {"support": "graph/server.py:graph", "probe": "tests/probe_graph.py:graph"},
    )
    port, key = free_port(), new_key()
    log = home / "langgraph.log"
    env = {
        **os.environ,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
        "SWITCHBOARD_ENV_FILE": str(home / "no.env"),
        "SWITCHBOARD_HOME": str(home),
        "SWITCHBOARD_MODEL": "fake:facts",
        "SWITCHBOARD_DATABASE_URL": sqlite_url(store),
        "SWITCHBOARD_CHROMA_DIR": kb_dir,
        "SWITCHBOARD_CLASSIFIER_PATH": classifier_path,
        "SWITCHBOARD_RATE_LIMIT": "100000/minute",
        "SWITCHBOARD_TOKEN_KEY": key,
    }
    cli = Path(sys.executable).parent / "langgraph"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                str(cli),
                "dev",
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-browser",
                "--no-reload",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"langgraph dev did not start: {log.read_text()[-2000:]}")
        yield DevServer(url=url, store_url=sqlite_url(store), token_key=key)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def refused(call: Any) -> httpx.Response:
    with pytest.raises(httpx.HTTPStatusError) as info:
        call()
    return info.value.response


def test_no_token_is_401_and_the_health_check_stays_open(server: DevServer) -> None:
    assert httpx.get(f"{server.url}/ok").status_code == 200
    response = httpx.post(f"{server.url}/threads/search", json={})
    assert response.status_code == 401
    assert "missing token" in response.text
    expired = sign("customer:C0007", "customer", key=server.token_key, ttl_s=60, now=time.time() - 3600)
    response = httpx.post(f"{server.url}/threads/search", json={}, headers={"Authorization": f"Bearer {expired}"})
    assert (response.status_code, "expired" in response.text) == (401, True)


def test_customers_see_only_their_threads_and_cannot_set_the_context(server: DevServer) -> None:
    alice, bob = (
        server.client(server.token(customer="C0007")),
        server.client(server.token(customer="C0008")),
    )
    tid = alice.threads.create(metadata={"owner": "customer:C0008"})["thread_id"]
    assert alice.threads.get(tid)["metadata"]["owner"] == "customer:C0007"
    assert refused(lambda: bob.threads.get(tid)).status_code == 404
    assert refused(lambda: bob.threads.create(thread_id=tid, if_exists="do_nothing")).status_code == 409
    assert refused(lambda: bob.threads.get_state(tid)).status_code == 404
    assert tid not in {t["thread_id"] for t in bob.threads.search(limit=100)}
    assert refused(lambda: bob.runs.wait(tid, "probe", input={"note": "x"})).status_code == 404
    response = refused(
        lambda: alice.runs.wait(
            tid,
            "probe",
            input={"note": "x"},
            context={"customer_id": "C0099", "refund_approval_threshold_usd": 1e5},
        )
    )
    assert (response.status_code, "may not set" in response.text) == (403, True)
    assert refused(lambda: alice.threads.update_state(tid, {"note": "x"})).status_code == 403
    events = refused(lambda: list(alice.runs.stream(tid, "probe", input={"note": "x"}, stream_mode="events")))
    assert (events.status_code, "may not stream events" in events.text) == (403, True)
    # what the graph receives: the customer from the token, in the context and as the auth user
    seen = alice.runs.wait(tid, "probe", input={"note": "hi"})["seen"]
    assert seen["context"] == {"customer_id": "C0007", "refund_approval_threshold_usd": 500.0}
    assert {k: seen["user"][k] for k in ("identity", "customer_id", "actor", "role")} == {
        "identity": "customer:C0007",
        "customer_id": "C0007",
        "actor": "customer:C0007",
        "role": "customer",
    }
    operator = server.client(server.token(operator="ann"), act_for="C0007")
    seen = operator.runs.wait(tid, "probe", input={"note": "op"})["seen"]
    assert (seen["context"]["customer_id"], seen["user"]["actor"]) == ("C0007", "operator:ann")


def test_server_answers_and_an_operator_resumes_an_approval(server: DevServer) -> None:
    engine = make_engine(server.store_url)
    big = 10987  # C0068's $889.96: one person approves it (above $500, below four-eyes $1,000, inside the window)
    with engine.connect() as conn:
        assert conn.execute(select(orders.c.customer_id).where(orders.c.id == big)).scalar_one() == "C0068"
    customer = server.client(server.token(customer="C0068"))
    assert customer.assistants.search(graph_id="support"), "the graph is served as 'support'"

    thread = customer.threads.create()
    result = customer.runs.wait(
        thread["thread_id"],
        "support",
        input={"messages": [{"role": "human", "content": f"refund order {big} please"}]},
    )
    assert result["status"] == "awaiting_approval"
    request = result["__interrupt__"][0]["value"]["action_requests"][0]
    assert request["name"] == "issue_refund"

    approve = {"resume": {"decisions": [{"type": "approve"}]}}
    assert refused(lambda: customer.runs.wait(thread["thread_id"], "support", command=approve)).status_code == 403
    with engine.connect() as conn:
        refusal = conn.execute(
            select(audit_log.c.actor).where(
                audit_log.c.action == "decision_refused",
                audit_log.c.thread_id == thread["thread_id"],
            )
        ).all()
    assert [r.actor for r in refusal] == ["customer:C0068"]

    operator = server.client(server.token(operator="ann"), act_for="C0068")
    done = operator.runs.wait(thread["thread_id"], "support", command=approve)
    assert done["status"] == "answered"
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(refunds).where(refunds.c.order_id == big)).scalar_one() == 1
        )
