"""The people-in-the-loop contract as an operator runs it: `switchboard approve|inbox|sweep|cases|case`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from store.schema import refunds
from tests.orders import refundable_orders
from tests.webhook_sink import Sink, webhook_sink

BIN = Path(sys.executable).parent / "switchboard"


@pytest.fixture
def sink() -> Sink:
    with webhook_sink() as running:
        yield running


@pytest.fixture
def run(store_url: str, kb_dir: str, classifier_path: str, tmp_path: Path, sink: Sink):  # noqa: ANN201
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": store_url,
        "SWITCHBOARD_CHROMA_DIR": kb_dir,
        "SWITCHBOARD_CLASSIFIER_PATH": classifier_path,
        "SWITCHBOARD_MODEL": "fake:facts",
        "SWITCHBOARD_CHECKPOINT_URL": f"sqlite:///{tmp_path / 'checkpoints.sqlite'}",
        "SWITCHBOARD_HOME": str(tmp_path),
        "SWITCHBOARD_CLOCK": "2026-11-16T09:00:00Z",
        "SWITCHBOARD_WEBHOOK_URLS": sink.url,
        "SWITCHBOARD_WEBHOOK_SECRET": sink.secret,
    }

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=120)

    return invoke


def test_a_refund_above_1000_waits_for_two_operators_executes_once_and_notifies(run, store_url: str, sink) -> None:
    engine = create_engine(store_url)
    (big, *_) = refundable_orders(store_url, above_cents=100000)  # inside the return window, above $1,000
    customer, order, total = big.customer_id, big.id, big.total_cents
    first = json.loads(run("ask", f"please refund order {order}", "--customer", customer, "--json").stdout)
    assert first["status"] == "awaiting_approval"
    thread = first["thread_id"]

    one = run("approve", thread, "--as", "operator:ann", "--json")
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["status"] == "awaiting_approval"
    (waiting,) = json.loads(run("inbox", "--json").stdout)
    assert (waiting["thread_id"], waiting["approvals"], waiting["needed"]) == (thread, 1, 2)

    again = run("approve", thread, "--as", "operator:ann")
    assert again.returncode == 2
    assert "operator:ann has already approved this" in again.stderr and "different operator" in again.stderr

    done = run("approve", thread, "--as", "operator:bob", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "answered" and f"{total / 100:,.2f}" in result["reply"]  # the customer is told
    with engine.connect() as conn:
        assert conn.execute(select(refunds.c.amount_cents).where(refunds.c.order_id == order)).scalars().all() == [
            total
        ]

    swept = run("sweep", "--json")
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout)["webhooks"] == {"sent": 3, "retried": 0, "failed": 0}
    assert sorted(e["type"] for e in sink.events().values()) == [
        "approval.decided",
        "approval.decided",
        "approval.waiting",
    ]
    assert all(d["signed"] for d in sink.deliveries)


def test_an_escalated_customer_is_handed_to_a_person_who_holds_the_thread_until_release(run) -> None:
    def ask(text: str, thread: str | None = None) -> dict:
        args = ["ask", text, "--customer", "C0007", "--json", *(["--thread", thread] if thread else [])]
        done = run(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first = ask("Where is my order 11096?")
    escalated = ask("it's late and this is unacceptable, I want to speak to a human", first["thread_id"])
    thread = escalated["thread_id"]
    assert escalated["status"] == "escalated" and escalated["case"]["status"] == "open"
    (listed,) = json.loads(run("cases", "--json").stdout)
    case_id = str(listed["case_id"])
    assert "order 11096" in listed["summary"] and listed["urgency"] == "high"

    assert run("case", "assign", case_id, "--as", "operator:ann").returncode == 0
    silent = ask("hello? anyone?", thread)
    assert (silent["status"], silent["reply"], silent["tool_calls"]) == ("with_agent", "", [])
    (mine,) = json.loads(run("cases", "--mine", "--as", "operator:ann", "--json").stdout)
    assert mine["unanswered"] == 1
    replied = run("case", "reply", case_id, "Hi, Ann here: UPS says tomorrow.", "--as", "operator:ann", "--json")
    assert replied.returncode == 0, replied.stderr
    assert json.loads(replied.stdout)["status"] == "waiting_on_customer"

    assert run("case", "release", case_id, "--as", "operator:ann").returncode == 0
    back = ask("where is my order 11096?", thread)
    assert back["status"] == "answered" and back["tool_calls"]
