"""The `switchboard` command as a user runs it: JSON shape, exit codes, operator views."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "switchboard"


@pytest.fixture
def run(store_url: str, kb_dir: str, classifier_path: str, tmp_path: Path):  # noqa: ANN201
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": store_url,
        "SWITCHBOARD_CHROMA_DIR": kb_dir,
        "SWITCHBOARD_CLASSIFIER_PATH": classifier_path,
        "SWITCHBOARD_MODEL": "fake:facts",
        "SWITCHBOARD_CHECKPOINT_URL": f"sqlite:///{tmp_path / 'checkpoints.sqlite'}",
        "SWITCHBOARD_HOME": str(tmp_path),
    }

    def invoke(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN), *args], input=stdin, env=env, capture_output=True, text=True, timeout=120)

    return invoke


def test_ask_json_has_the_documented_shape_and_threads_continue(run) -> None:
    done = run("ask", "Where is my order 11096?", "--customer", "C0007", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= {"thread_id", "status", "reply", "intent", "department", "tool_calls", "citations", "nodes"}
    assert result["status"] == "answered" and result["department"] == "general"
    assert all(set(c) >= {"name", "args", "outcome"} for c in result["tool_calls"])
    assert all(set(n) == {"latency_ms", "tokens", "cost_usd"} for n in result["nodes"].values())

    again = run(
        "ask",
        "-",
        "--customer",
        "C0007",
        "--thread",
        result["thread_id"],
        "--json",
        stdin="and what is your return policy?",
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["thread_id"] == result["thread_id"]


@pytest.mark.parametrize(
    "args",
    [
        ("ask", "", "--customer", "C0007"),
        ("ask", "hello", "--customer", "C9999"),
        ("ask", "hello"),
        ("approve", "t-does-not-exist"),
        ("edit", "t-x", "--args", "{not json"),
    ],
)
def test_user_mistakes_exit_2_with_one_line_and_no_traceback(run, args: tuple[str, ...]) -> None:
    done = run(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 12  # typer's usage box, or our one line


def test_classify_prints_one_json_line_per_utterance(run) -> None:
    done = run("classify", stdin="where is my parcel\n\ni need my money back for order 10956\n")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["where is my parcel", "i need my money back for order 10956"]
    assert lines[1]["department"] == "billing"
    assert all(0.0 <= line["confidence"] <= 1.0 for line in lines)


def test_admin_views(run) -> None:
    tools = json.loads(run("admin", "tools", "--json").stdout)
    refund = next(t for t in tools if t["tool"] == "issue_refund")
    assert refund["nodes"] == ["billing"] and refund["changes_world"] is True
    intents = json.loads(run("admin", "intents", "--json").stdout)
    assert len(intents) == 27
    orders = json.loads(run("admin", "orders", "--customer", "C0007", "--json").stdout)
    assert orders and {o["customer_id"] for o in orders} == {"C0007"}


def test_a_big_refund_waits_is_approved_from_another_process_once_and_rolled_back(run, store_url: str) -> None:
    from sqlalchemy import create_engine, select

    from store.schema import audit_log, refunds

    # 10987 (C0068, $889.96): one person approves it (above $500, below four-eyes $1,000, inside the return window)
    first = json.loads(run("ask", "I want a refund for order 10987", "--customer", "C0068", "--json").stdout)
    assert first["status"] == "awaiting_approval"
    thread = first["thread_id"]
    waiting = json.loads(run("inbox", "--json").stdout)
    assert [(w["thread_id"], w["action"]) for w in waiting] == [(thread, "issue_refund")]

    approved = run("approve", thread, "--as", "operator:alice", "--json")
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["status"] == "answered"
    assert run("approve", thread).returncode == 2  # nothing waits any more: a second click does nothing
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(select(refunds.c.status).where(refunds.c.order_id == 10987)).scalars().all() == ["pending"]

    history = json.loads(run("history", thread, "--json").stdout)
    before = next(h for h in history if h["next"] == ["billing"])
    assert [e["tool"] for e in before["effects_after"]] == ["issue_refund"]
    rolled = run("rollback", thread, "--to", before["checkpoint_id"], "--route", "general", "--json")
    assert rolled.returncode == 0, rolled.stderr
    assert json.loads(rolled.stdout)["compensated"][0]["tool"] == "issue_refund"
    with engine.connect() as conn:
        assert conn.execute(select(refunds.c.status).where(refunds.c.order_id == 10987)).scalars().all() == ["reversed"]
        assert conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "approval")).scalars().all() == [
            "operator:alice"
        ]
