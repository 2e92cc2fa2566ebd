"""Per-node metrics from node_runs rows written by real turns, and the HTML report."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import ScriptedChatModel, register_fake
from store.db import make_engine
from switchboard.app import resume_turn, run_turn
from switchboard.metrics import metrics_summary, node_table, percentile


@pytest.fixture
def recorded(graph, make_context) -> tuple[str, list[str]]:  # noqa: ANN001
    """A store with node runs from real turns of two customers (one of them across three turns,
    the last on a model that times out: the graph writes every node run itself)."""
    maya = make_context("C0007")
    first = run_turn(graph, maya, "Where is my order 11096?")
    run_turn(graph, maya, "what payment methods do you accept?", first["thread_id"])
    register_fake("timeout", ScriptedChatModel(name_="fake:timeout", fail_with=TimeoutError))
    run_turn(graph, maya.with_(model="fake:timeout"), "what is the status of order 11096?", first["thread_id"])
    other = run_turn(graph, make_context("C0008"), "I forgot my password and can't sign in")
    return maya.settings.resolved_database_url(), [first["thread_id"], other["thread_id"]]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile(list(map(float, range(1, 101))), 95) == 95.0


def test_summary_per_node_run_and_customer(recorded: tuple[str, list[str]]) -> None:
    url, (maya_thread, other_thread) = recorded
    summary = metrics_summary(make_engine(url))
    nodes = {n["node"]: n for n in summary["nodes"]}
    assert {"intake", "coordinator", "general", "billing", "technical", "draft_reply", "finalize"} <= set(nodes)
    assert nodes["intake"]["runs"] == 4 and nodes["intake"]["success_rate"] == 1.0
    drafts = nodes["draft_reply"]
    assert drafts["successes"] == drafts["runs"] - 1, "a model that timed out is an error, though the turn fell back"
    assert drafts["top_errors"] == [{"error_type": "model_failed:TimeoutError", "count": 1}]
    for n in nodes.values():
        assert 0 <= n["p50_ms"] <= n["p95_ms"] <= n["max_ms"]
    assert nodes["draft_reply"]["tokens"] > 0, "the scripted model's tokens are counted"
    runs = {r["thread_id"]: r for r in summary["runs"]}
    assert set(runs) == {maya_thread, other_thread}
    assert runs[maya_thread]["turns"] == 3 and runs[maya_thread]["errors"] == 1
    assert runs[maya_thread]["customer_id"] == "C0007"
    customers = {c["customer_id"]: c for c in summary["customers"]}
    assert customers["C0007"]["threads"] == 1 and customers["C0008"]["threads"] == 1
    totals = summary["totals"]
    assert totals["runs"] == 2 and totals["customers"] == 2
    assert totals["node_runs"] == sum(n["runs"] for n in summary["nodes"])
    assert totals["cost_usd"] == 0.0, "local and scripted models cost nothing"
    assert "TimeoutError ×1" in next(r for r in node_table(summary) if r["node"] == "draft_reply")["top_errors"]


def test_summary_for_one_customer_and_for_an_empty_store(recorded: tuple[str, list[str]], store_url: str) -> None:
    url, _ = recorded
    only = metrics_summary(make_engine(url), customer="C0008")
    assert only["totals"]["runs"] == 1 and {c["customer_id"] for c in only["customers"]} == {"C0008"}
    assert [r["customer_id"] for r in only["runs"]] == ["C0008"]


def test_an_approved_turn_records_its_nodes(graph, make_context) -> None:  # noqa: ANN001
    ctx = make_context("C0068")  # 10987 ($889.96): one person approves it, inside the return window
    waiting = run_turn(graph, ctx, "please refund order 10987")
    resume_turn(graph, ctx.with_(actor="operator:qa"), waiting["thread_id"], {"type": "approve"})
    nodes = {n["node"]: n for n in metrics_summary(make_engine(ctx.settings.resolved_database_url()))["nodes"]}
    assert nodes["approval_gate"]["runs"] >= 1 and nodes["execute_decision"]["runs"] == 1


def test_report_writes_html_and_plots(recorded: tuple[str, list[str]], classifier_path: str, tmp_path: Path) -> None:
    from evals.report import routing_predictions, write_report

    url, _ = recorded
    routing = routing_predictions(classifier_path)
    index = write_report(
        tmp_path / "report",
        engine=make_engine(url),
        routing=routing,
        last_eval={"model": "fake:facts", "passed": True, "gates": []},
        source="test",
    )
    page = index.read_text()
    for png in (
        "latency_per_node.png",
        "cost_per_run.png",
        "success_per_node.png",
        "routing_departments.png",
        "routing_intents.png",
    ):
        assert (index.parent / png).stat().st_size > 5000, png
        assert png in page
    assert "Per customer" in page and "Last eval run" in page
    assert len(routing["gold_intents"]) == len(routing["pred_intents"]) > 300


def test_report_on_a_store_without_node_runs(store_url: str, tmp_path: Path) -> None:
    from evals.report import write_report

    index = write_report(tmp_path, engine=make_engine(store_url), routing=None)
    assert "No node runs" in index.read_text()
    assert not list(tmp_path.glob("*.png"))
