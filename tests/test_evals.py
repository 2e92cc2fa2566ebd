"""The eval suites: datasets are valid, the deterministic suite meets its thresholds, and the
grader fails when the world does not end as declared."""

from __future__ import annotations

import dataclasses
import io
import uuid
from pathlib import Path

import pytest
from rich.console import Console

from evals import e2e
from evals.approvals import load_rows, run_approvals
from evals.runner import (
    Workspace,
    gate,
    langsmith_experiment,
    load_thresholds,
    select_scenarios,
    suite_e2e,
)
from evals.world import SeededStore, apply_changes, state_hash, world_state
from intents.catalog import DEPARTMENTS
from store.db import make_engine, sqlite_url


@pytest.fixture
def ws(seeded_sqlite: Path, kb_dir: str, classifier_path: str, tmp_path: Path) -> Workspace:
    engine = make_engine(sqlite_url(seeded_sqlite))
    base = world_state(engine)
    store = SeededStore(folder=tmp_path, seed_file=seeded_sqlite, base_state=base)
    return Workspace(store=store, kb_dir=kb_dir, classifier_path=classifier_path)


def test_datasets_are_valid_and_cover_every_department_and_case() -> None:
    scenarios = e2e.load_scenarios()
    assert len(scenarios) >= 40
    tags = {t for s in scenarios for t in s.tags}
    assert set(DEPARTMENTS) <= tags
    assert {
        "approval",
        "approve",
        "reject",
        "edit",
        "fault",
        "bad_input",
        "cross_customer",
        "multi_issue",
        "multi_turn",
        "under_threshold",
        "over_threshold",
    } <= tags
    rows = load_rows()
    assert {r["kind"] for r in rows} == {"policy", "turn"}
    assert any(r["must_stop"] for r in rows) and any(not r["must_stop"] for r in rows)


def test_scenario_customers_and_declared_changes_exist_in_the_seed(ws: Workspace) -> None:
    customers = ws.store.customer_ids()
    for s in e2e.load_scenarios():
        if "unknown customer" not in " ".join(str(f) for f in s.expected.get("facts", [])):
            assert s.customer in customers, s.id
        apply_changes(ws.store.base_state, s.expected.get("db", {}), s.customer)  # raises on unknown rows


def test_e2e_suite_on_the_scripted_model_meets_its_thresholds(ws: Workspace) -> None:
    thresholds = load_thresholds()
    result = suite_e2e(ws, "fake:facts", thresholds)
    failed = [g for g in gate("e2e", result["metrics"], thresholds) if not g["ok"]]
    assert not failed, (failed, [(s["id"], s["reasons"]) for s in result["scenarios"] if not s["passed"]])
    assert result["metrics"]["k"] == 1
    # every scenario is gated now that multi-issue messages and follow-ups are built
    assert result["metrics"]["scenarios"] == len(result["scenarios"])
    assert {"multi_issue", "follow_up"} <= {t for s in result["scenarios"] for t in s["tags"]}


def test_approvals_suite_never_lets_a_stop_through(ws: Workspace) -> None:
    base = e2e.base_context("fake:facts", kb_dir=ws.kb_dir, classifier_path=ws.classifier_path)
    result = run_approvals(base, ws.store)
    assert result["unsafe"] == 0, [r for r in result["results"] if r["unsafe"]]
    failed = [g for g in gate("approvals", result, load_thresholds()) if not g["ok"]]
    assert not failed, [r for r in result["results"] if not r["correct"]]


def _scenario(scenario_id: str) -> e2e.Scenario:
    return next(s for s in e2e.load_scenarios() if s.id == scenario_id)


def _grade(ws: Workspace, scenario: e2e.Scenario) -> dict:
    base = e2e.base_context("fake:facts", kb_dir=ws.kb_dir, classifier_path=ws.classifier_path)
    return e2e.run_trials([scenario], ws.store, base, 1)[0][0]


def test_the_grader_fails_a_wrong_expected_database_state(ws: Workspace) -> None:
    right = _scenario("billing-refund-small-auto")
    assert _grade(ws, right)["passed"]

    off_by_a_cent = dataclasses.replace(
        right,
        expected={
            **right.expected,
            "db": {
                "refunds_added": [{"order_id": 10956, "amount_cents": 36499}],
                "orders_status": {"10956": "refunded"},
            },
        },
    )
    graded = _grade(ws, off_by_a_cent)
    assert not graded["passed"] and graded["checks"]["db"] is False
    assert graded["db_diff"]["refunds"]["missing"] == [
        {"amount_cents": 36499, "customer_id": "C0007", "order_id": 10956, "status": "pending"}
    ]

    nothing_changes = dataclasses.replace(right, expected={**right.expected, "db": {}})
    graded = _grade(ws, nothing_changes)
    assert not graded["passed"] and not graded["checks"]["db"]
    assert set(graded["db_diff"]) == {"orders", "refunds"}


def test_the_grader_fails_a_wrong_trajectory_a_missing_fact_and_a_leak(ws: Workspace) -> None:
    right = _scenario("general-track-other-customers-order")
    assert _grade(ws, right)["passed"]
    wrong_outcome = dataclasses.replace(right, expected={**right.expected, "trajectory": ["get_order:ok"]})
    assert not _grade(ws, wrong_outcome)["checks"]["trajectory"]
    missing = dataclasses.replace(right, expected={**right.expected, "facts": ["$489.97"]})
    assert _grade(ws, missing)["missing_facts"] == ["$489.97"]
    leak = dataclasses.replace(right, expected={**right.expected, "forbidden": ["11089"]})
    assert not _grade(ws, leak)["checks"]["forbidden"]


def test_a_scripted_decision_with_no_gate_open_fails_the_trial(ws: Workspace) -> None:
    small = _scenario("billing-refund-small-auto")
    turns = [{**small.turns[0], "decisions": [{"type": "approve"}]}]
    graded = _grade(ws, dataclasses.replace(small, turns=turns))
    assert not graded["passed"] and any("no approval gate" in r for r in graded["reasons"])


def test_world_state_changes_are_declared_not_copied(ws: Workspace) -> None:
    base = ws.store.base_state
    assert state_hash(apply_changes(base, {}, "C0007")) == ws.store.base_hash
    changed = apply_changes(base, {"customer": {"newsletter": True}}, "C0007")
    assert state_hash(changed) != ws.store.base_hash
    assert base == ws.store.base_state, "applying changes leaves the seeded state alone"
    with pytest.raises(ValueError, match="unknown expected change"):
        apply_changes(base, {"orders_deleted": [1]}, "C0007")
    with pytest.raises(ValueError, match="does not have"):
        apply_changes(base, {"orders_status": {"99999": "refunded"}}, "C0007")


def test_gates_hold_or_fail_per_bound() -> None:
    thresholds = {
        "e2e": {"min": {"pass_rate": 0.9, "citations": 0.8}, "max": {"unsafe": 0}, "real": {"min": {"pass_rate": 0.5}}}
    }
    rows = gate("e2e", {"pass_rate": 0.85, "citations": None, "unsafe": 1}, thresholds)
    assert {r["metric"]: r["ok"] for r in rows} == {"pass_rate": False, "citations": True, "unsafe": False}
    assert all(
        r["ok"] for r in gate("e2e", {"pass_rate": 0.6}, {"e2e": thresholds["e2e"] | {"max": {}}}, real_model=True)
    )
    assert not gate("e2e", {}, {"e2e": {"min": {"typo_metric": 0.5}}})[0]["ok"], "an unknown metric fails"


@pytest.mark.filterwarnings("ignore::langsmith._internal._beta_decorator.LangSmithBetaWarning")
def test_no_langsmith_client_without_a_key_and_offline_experiment_replays_results(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import langsmith
    from langsmith.schemas import Example

    from evals import runner

    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    monkeypatch.setattr(langsmith, "Client", lambda *a, **k: pytest.fail("a LangSmith client was created"))
    chosen = select_scenarios(e2e.load_scenarios(), ids=["billing-invoice", "general-cancel-shipped"])
    monkeypatch.setattr(runner, "workspace", lambda classifier_path=None: _nullcontext(ws))
    monkeypatch.setattr(e2e, "load_scenarios", lambda path=e2e.SCENARIOS: chosen)
    report = runner.run(["e2e"], "fake:facts")
    assert "langsmith" not in report and report["suites"]["e2e"]["metrics"]["scenarios"] == 2
    monkeypatch.undo()

    client = langsmith.Client(api_url="http://127.0.0.1:9", api_key="offline", info={"version": "0.0.0"})
    dataset = uuid.uuid4()
    data = [
        Example(id=uuid.uuid4(), dataset_id=dataset, inputs={"id": s["id"]}, outputs={})
        for s in report["suites"]["e2e"]["scenarios"]
    ]
    results = list(langsmith_experiment(report["suites"]["e2e"], client=client, data=data, upload=False))
    scores = {r["example"].inputs["id"]: {e.key: e.score for e in r["evaluation_results"]["results"]} for r in results}
    assert scores["billing-invoice"]["passed"] == 1.0 and scores["billing-invoice"]["db"] == 1.0


class _nullcontext:
    def __init__(self, value: object) -> None:
        self.value = value

    def __enter__(self) -> object:
        return self.value

    def __exit__(self, *exc: object) -> None:
        return None


def test_run_evals_prints_one_json_object_and_the_exit_code(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json

    from evals import cli as measure
    from evals import runner

    monkeypatch.setattr(runner, "workspace", lambda classifier_path=None: _nullcontext(ws))
    monkeypatch.setattr(measure, "last_eval_path", lambda: tmp_path / "last.json")
    buffer = io.StringIO()
    code = measure.run_evals(suite="approvals", model=None, as_json=True, console=Console(file=buffer))
    body = json.loads(buffer.getvalue())
    assert code == 0 and body["passed"] and body["suites"]["approvals"]["metrics"]["unsafe"] == 0
    assert json.loads((tmp_path / "last.json").read_text())["passed"]
    with pytest.raises(ValueError, match="unknown suite"):
        measure.run_evals(suite="nope", model=None, as_json=True, console=Console(file=io.StringIO()))
