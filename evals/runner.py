"""Run the eval suites, compare each metric with `thresholds.toml`, print a table or one JSON object.

    python -m evals.runner [--suite all|e2e|approvals|routing|retrieval|safety_nets|e2e_staged]
                           [--model fake:facts] [--k N] [--ids a,b] [--tags t1,t2] [--limit N] [--json]

Suites:
- ``e2e``: `scenarios/e2e.v1.jsonl` through the real graph, each trial on a fresh copy of a
  seeded SQLite store (see `evals/e2e.py`); pass^k over k trials (k from the thresholds file:
  1 for ``fake:`` models, 3 for real ones).
- ``approvals``: `approvals/approvals.v1.jsonl`, what must and must not stop for a person.
- ``routing``: `evals.routing.run.evaluate` on the hand-written held-out sets (shipped classifier).
- ``retrieval``: `evals.retrieval.run.run` over a fresh knowledge index (recall@5 per split).
- ``safety_nets``: the e2e subset with the reply check/repair/fallback on and off (`evals/safety_nets.py`).
- ``e2e_staged``: the staged scenario files (`e2e.STAGED`: behaviour asked for by open issues and
  not built yet), run and graded like ``e2e`` and reported per file, **never gated** (not in
  ``all``, no bounds in `thresholds.toml`).

Nothing leaves the machine unless ``LANGSMITH_API_KEY`` is set: then the e2e results are also
recorded as a LangSmith experiment through `langsmith.evaluate`. An LLM judge (openevals
RAG groundedness) runs only when the model under test is a capable ``openai:`` model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from evals import e2e
from evals.world import SeededStore, seeded_store

HERE = Path(__file__).resolve().parent
THRESHOLDS = HERE / "thresholds.toml"
SUITES = ("routing", "retrieval", "e2e", "approvals")
EXTRA_SUITES = ("safety_nets", "e2e_staged")
DEFAULT_MODEL = "fake:facts"
CAPABLE_PROVIDERS = ("openai",)
Progress = Callable[[str], None]


def load_thresholds(path: Path = THRESHOLDS) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def is_scripted(model: str) -> bool:
    return model.split(":", 1)[0] == "fake"


@dataclass
class Workspace:
    """What one eval run shares: the seeded store, a fresh knowledge index, the classifier."""

    store: SeededStore
    kb_dir: str
    classifier_path: str | None = None


@contextmanager
def workspace(classifier_path: str | None = None) -> Iterator[Workspace]:
    from retrieval import get_knowledge_base

    with seeded_store() as store, tempfile.TemporaryDirectory(prefix="switchboard-kb-") as kb_dir:
        get_knowledge_base(kb_dir).ingest()
        yield Workspace(store=store, kb_dir=kb_dir, classifier_path=classifier_path)


# ---------------------------------------------------------------------------- suites


def select_scenarios(
    scenarios: Sequence[e2e.Scenario],
    *,
    ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[e2e.Scenario]:
    chosen = list(scenarios)
    if ids:
        unknown = set(ids) - {s.id for s in chosen}
        if unknown:
            raise ValueError(f"unknown scenario id(s): {', '.join(sorted(unknown))}")
        chosen = [s for s in chosen if s.id in set(ids)]
    if tags:
        chosen = [s for s in chosen if set(tags) & set(s.tags)]
    return chosen[:limit] if limit else chosen


def suite_e2e(
    ws: Workspace,
    model: str,
    thresholds: dict[str, Any],
    *,
    k: int | None = None,
    scenarios: Sequence[e2e.Scenario] | None = None,
    safety_nets: bool = True,
    progress: Progress | None = None,
    judge: e2e.Judge | None = None,
    staged: bool = False,
) -> dict[str, Any]:
    """``staged``: the scenarios are staged ones, every one reported and none gated."""
    config = thresholds.get("e2e", {})
    k = k or int(config.get("k_fake" if is_scripted(model) else "k_real", 1))
    scenarios = list(scenarios if scenarios is not None else e2e.load_scenarios())
    if staged:
        return _suite_staged(ws, model, k, scenarios, safety_nets, progress)
    excluded_tags = set(config.get("exclude_tags", []))
    base = e2e.base_context(model, kb_dir=ws.kb_dir, classifier_path=ws.classifier_path)
    graded = e2e.run_trials(scenarios, ws.store, base, k, check_replies=safety_nets, progress=progress, judge=judge)
    gated = [(s, g) for s, g in zip(scenarios, graded, strict=True) if not excluded_tags & set(s.tags)]
    ungated = [(s, g) for s, g in zip(scenarios, graded, strict=True) if excluded_tags & set(s.tags)]
    metrics = e2e.summarise([s for s, _ in gated], [g for _, g in gated], k)
    return {
        "model": model,
        "safety_nets": safety_nets,
        "dataset": e2e.SCENARIOS.name,
        "excluded_tags": sorted(excluded_tags),
        "metrics": metrics,
        "ungated_metrics": e2e.summarise([s for s, _ in ungated], [g for _, g in ungated], k) if ungated else None,
        "all_metrics": e2e.summarise(scenarios, graded, k),
        "scenarios": [_scenario_report(s, g, excluded_tags) for s, g in zip(scenarios, graded, strict=True)],
    }


def _suite_staged(
    ws: Workspace, model: str, k: int, scenarios: Sequence[e2e.Scenario], safety_nets: bool, progress: Progress | None
) -> dict[str, Any]:
    base = e2e.base_context(model, kb_dir=ws.kb_dir, classifier_path=ws.classifier_path)
    graded = e2e.run_trials(scenarios, ws.store, base, k, check_replies=safety_nets, progress=progress)
    by_source: dict[str, Any] = {}
    for source in sorted({s.source for s in scenarios}):
        pairs = [(s, g) for s, g in zip(scenarios, graded, strict=True) if s.source == source]
        by_source[source] = e2e.summarise([s for s, _ in pairs], [g for _, g in pairs], k)
    reports = [_scenario_report(s, g, set()) for s, g in zip(scenarios, graded, strict=True)]
    for report in reports:
        report["gated"] = False
    return {
        "model": model,
        "safety_nets": safety_nets,
        "dataset": ", ".join(by_source),
        "staged": True,
        "excluded_tags": [],
        "metrics": e2e.summarise(scenarios, graded, k),
        "by_source": by_source,
        "ungated_metrics": None,
        "scenarios": reports,
    }


def _scenario_report(scenario: e2e.Scenario, trials: Sequence[dict[str, Any]], excluded: set[str]) -> dict[str, Any]:
    first_failure = next((t for t in trials if not t["passed"]), trials[0])
    return {
        **first_failure,
        "source": scenario.source,
        "gated": not excluded & set(scenario.tags),
        "passed_trials": sum(t["passed"] for t in trials),
        "trials": len(trials),
        "passed": all(t["passed"] for t in trials),
    }


def suite_approvals(ws: Workspace, model: str) -> dict[str, Any]:
    from evals.approvals import run_approvals

    base = e2e.base_context(model, kb_dir=ws.kb_dir, classifier_path=ws.classifier_path)
    result = run_approvals(base, ws.store)
    return {
        "metrics": {k: result[k] for k in ("rows", "correct_rate", "unsafe", "needless_stops")},
        "by_kind": result["by_kind"],
        "wrong": [r for r in result["results"] if not r["correct"]],
    }


def suite_routing(classifier_path: str | None = None) -> dict[str, Any]:
    from evals.routing.run import DEFAULT_MODEL as ROUTING_MODEL
    from evals.routing.run import evaluate

    report = evaluate(
        sets=("hard", "hard_blind"), model_path=Path(classifier_path) if classifier_path else ROUTING_MODEL
    )
    metrics: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for name in ("hard", "hard_blind"):
        s = report[name]
        metrics[f"{name}_intent_acc"] = s["intent_acc"]
        metrics[f"{name}_department_acc"] = s["department_acc"]
        detail[name] = {"n": s["n"], "ece": s["ece"], "confusions": s["confusions"][:8]}
    metrics["predict_us"] = report.get("latency", {}).get("predict_us")
    return {"metrics": metrics, "sets": detail}


def suite_retrieval(ws: Workspace) -> dict[str, Any]:
    from evals.retrieval.run import run as run_retrieval
    from retrieval import get_knowledge_base

    result = run_retrieval(get_knowledge_base(ws.kb_dir), k=5)
    metrics: dict[str, Any] = {}
    for split, row in result["splits"].items():
        metrics[f"{split}_recall_at_5"] = row["recall@5"]
        metrics[f"{split}_mrr_at_5"] = row["mrr@5"]
        metrics[f"{split}_p50_ms"] = row["p50_ms"]
    return {
        "metrics": metrics,
        "dataset": result["dataset"],
        "misses": [m for row in result["splits"].values() for m in row["not_first"] if m["rank"] is None],
    }


# ---------------------------------------------------------------------------- thresholds


def gate(
    suite: str, metrics: dict[str, Any], thresholds: dict[str, Any], *, real_model: bool = False
) -> list[dict[str, Any]]:
    """One row per bounded metric: value, bound, whether it holds. A missing value fails."""
    config = thresholds.get(suite, {})
    bounds = dict(config.get("min", {}))
    if real_model and "real" in config:
        bounds = dict(config["real"].get("min", bounds))
    rows = [
        {"suite": suite, "metric": m, "value": metrics.get(m), "bound": b, "kind": "min"} for m, b in bounds.items()
    ]
    rows += [
        {"suite": suite, "metric": m, "value": metrics.get(m), "bound": b, "kind": "max"}
        for m, b in config.get("max", {}).items()
    ]
    for row in rows:
        value = row["value"]
        if value is None:  # present but not measured (no scenario in this selection checks it): holds;
            row["ok"] = row["metric"] in metrics  # a bound naming an unknown metric fails
            continue
        row["ok"] = value >= row["bound"] if row["kind"] == "min" else value <= row["bound"]
    return rows


# ---------------------------------------------------------------------------- run


def run(
    suites: Sequence[str],
    model: str = DEFAULT_MODEL,
    *,
    k: int | None = None,
    ids: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    limit: int | None = None,
    safety_nets: bool = True,
    thresholds: dict[str, Any] | None = None,
    progress: Progress | None = None,
    classifier_path: str | None = None,
) -> dict[str, Any]:
    """Run ``suites`` and return the whole report (``passed`` is False when a bound is missed)."""
    unknown = set(suites) - set(SUITES) - set(EXTRA_SUITES)
    if unknown:
        raise ValueError(
            f"unknown suite(s) {sorted(unknown)}; choose from {', '.join((*SUITES, *EXTRA_SUITES, 'all'))}"
        )
    thresholds = thresholds or load_thresholds()
    report: dict[str, Any] = {"model": model, "suites": {}, "gates": []}
    real = not is_scripted(model)
    if "routing" in suites:
        report["suites"]["routing"] = suite_routing(classifier_path)
    if {"retrieval", "e2e", "approvals", "safety_nets", "e2e_staged"} & set(suites):
        with workspace(classifier_path) as ws:
            if "retrieval" in suites:
                report["suites"]["retrieval"] = suite_retrieval(ws)
            if "e2e" in suites:
                chosen = select_scenarios(e2e.load_scenarios(), ids=ids, tags=tags, limit=limit)
                judge = make_judge(model)
                report["suites"]["e2e"] = suite_e2e(
                    ws,
                    model,
                    thresholds,
                    k=k,
                    scenarios=chosen,
                    safety_nets=safety_nets,
                    progress=progress,
                    judge=judge,
                )
            if "e2e_staged" in suites:  # reported, never gated: no bounds name this suite
                staged = select_scenarios(e2e.load_staged(), ids=ids, tags=tags, limit=limit)
                report["suites"]["e2e_staged"] = suite_e2e(
                    ws,
                    model,
                    thresholds,
                    k=k,
                    scenarios=staged,
                    safety_nets=safety_nets,
                    progress=progress,
                    staged=True,
                )
            if "approvals" in suites:
                report["suites"]["approvals"] = suite_approvals(ws, model)
            if "safety_nets" in suites:
                from evals.safety_nets import compare

                report["suites"]["safety_nets"] = compare(ws, model, ids=ids, limit=limit, progress=progress)
    for name, result in report["suites"].items():
        if name in thresholds and name not in ("safety_nets", "e2e_staged"):
            report["gates"] += gate(name, result["metrics"], thresholds, real_model=real)
    report["passed"] = all(g["ok"] for g in report["gates"])
    if "e2e" in report["suites"] and os.environ.get("LANGSMITH_API_KEY"):
        report["langsmith"] = upload_to_langsmith(report["suites"]["e2e"], model)
    return report


# ---------------------------------------------------------------------------- LangSmith, judge


def langsmith_experiment(
    e2e_result: dict[str, Any], *, client: Any, data: Any, upload: bool = True, prefix: str = "switchboard-e2e"
) -> Any:
    """Record already-graded scenarios as a LangSmith experiment (the target replays the results)."""
    from langsmith import evaluate

    by_id = {s["id"]: s for s in e2e_result["scenarios"]}

    def target(inputs: dict[str, Any]) -> dict[str, Any]:
        return by_id[inputs["id"]]

    def feedback(key: str) -> Callable[..., dict[str, Any]]:
        def evaluator(outputs: dict[str, Any]) -> dict[str, Any]:
            return {"key": key, "score": float(outputs["checks"].get(key, True))}

        evaluator.__name__ = key
        return evaluator

    def passed(outputs: dict[str, Any]) -> dict[str, Any]:
        return {"key": "passed", "score": float(outputs["passed"])}

    evaluators = [passed, *(feedback(k) for k in ("status", "trajectory", "facts", "db", "forbidden"))]
    return evaluate(
        target,
        data=data,
        evaluators=evaluators,
        client=client,
        upload_results=upload,
        experiment_prefix=f"{prefix}-{e2e_result['model']}",
        metadata={
            "model": e2e_result["model"],
            "safety_nets": e2e_result["safety_nets"],
            "dataset": e2e_result["dataset"],
        },
        max_concurrency=0,
    )


def upload_to_langsmith(e2e_result: dict[str, Any], model: str) -> dict[str, Any]:
    """Only called when LANGSMITH_API_KEY is set: sync the dataset, then record the experiment."""
    from langsmith import Client

    client = Client()
    name = f"switchboard-{e2e.SCENARIOS.stem}"
    try:
        if client.has_dataset(dataset_name=name):
            dataset = client.read_dataset(dataset_name=name)
        else:
            dataset = client.create_dataset(name, description="Switchboard end-to-end scenarios (evals/scenarios)")
            client.create_examples(
                dataset_id=dataset.id,
                examples=[
                    {
                        "inputs": {"id": s.id, "customer": s.customer, "messages": s.messages()},
                        "outputs": s.expected,
                        "metadata": {"tags": s.tags},
                    }
                    for s in e2e.load_scenarios()
                ],
            )
        results = langsmith_experiment(e2e_result, client=client, data=name)
        return {"dataset": name, "experiment": results.experiment_name}
    except Exception as exc:  # the local result stands; say why the upload did not happen
        return {"dataset": name, "error": f"{type(exc).__name__}: {exc}"}


def make_judge(model: str) -> e2e.Judge | None:
    """An LLM-as-judge of reply groundedness, only for a capable model; None otherwise (skipped)."""
    if model.split(":", 1)[0] not in CAPABLE_PROVIDERS:
        return None
    from openevals.llm import create_llm_as_judge
    from openevals.prompts import RAG_GROUNDEDNESS_PROMPT

    from core.context import Context

    evaluator = create_llm_as_judge(
        prompt=RAG_GROUNDEDNESS_PROMPT, feedback_key="judge_grounded", judge=Context().resources.chat_model(model)
    )

    def judge(reply: str, evidence: list[str]) -> float | None:
        try:
            return float(evaluator(context="\n".join(evidence), outputs=reply)["score"])
        except Exception:
            return None

    return judge


# ---------------------------------------------------------------------------- output


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def print_report(report: dict[str, Any], console: Console) -> None:
    gates = {(g["suite"], g["metric"]): g for g in report["gates"]}
    for name, result in report["suites"].items():
        if name == "safety_nets":
            from evals.safety_nets import print_comparison

            print_comparison(result, console)
            continue
        title = (
            name
            if name != "e2e"
            else (
                f"e2e  model={result['model']}  k={result['metrics']['k']}  "
                f"gated {result['metrics']['scenarios']} scenarios "
                f"(not gated: {', '.join(result['excluded_tags']) or 'none'})"
            )
        )
        if name == "e2e_staged":
            title = (
                f"e2e_staged  model={result['model']}  k={result['metrics']['k']}  "
                f"{result['metrics']['scenarios']} scenarios, NOT GATED ({result['dataset']})"
            )
        table = Table(title=title, title_justify="left")
        for column in ("metric", "value", "bound", "ok"):
            table.add_column(column, justify="left" if column == "metric" else "right")
        for metric, value in result["metrics"].items():
            g = gates.get((name, metric))
            bound = "" if g is None else f"{'≥' if g['kind'] == 'min' else '≤'} {_fmt(g['bound'])}"
            ok = "" if g is None else ("[green]yes[/green]" if g["ok"] else "[red]NO[/red]")
            table.add_row(metric, _fmt(value), bound, ok)
        console.print(table)
        for source, m in result.get("by_source", {}).items():
            console.print(
                f"  {source}: {m['scenarios']} scenarios, pass rate {_fmt(m['pass_rate'])}, "
                f"db {_fmt(m['db_state_match'])}, facts {_fmt(m['required_facts'])}",
                highlight=False,
            )
        if name in ("e2e", "e2e_staged"):
            _print_e2e_failures(result, console)
        if name == "approvals":
            for row in result["wrong"]:
                console.print(
                    f"  [red]wrong[/red] {row['id']} (must_stop={row['must_stop']}): {row['detail']}",
                    markup=True,
                    highlight=False,
                )
    if "langsmith" in report:
        console.print(f"LangSmith: {report['langsmith']}")
    verdict = (
        "[green]all metrics within bounds[/green]"
        if report["passed"]
        else "[red]below threshold:[/red] "
        + ", ".join(f"{g['suite']}.{g['metric']}={_fmt(g['value'])}" for g in report["gates"] if not g["ok"])
    )
    console.print(verdict)


def _print_e2e_failures(result: dict[str, Any], console: Console) -> None:
    failed = [s for s in result["scenarios"] if not s["passed"]]
    if result["ungated_metrics"]:
        m = result["ungated_metrics"]
        console.print(
            f"not gated ({', '.join(result['excluded_tags'])}): {m['scenarios']} scenarios, "
            f"pass rate {_fmt(m['pass_rate'])}"
        )
    for s in failed:
        mark = "" if s["gated"] else " (not gated)"
        console.print(f"  [red]FAIL[/red] {s['id']}{mark}: {', '.join(s['reasons'])}", highlight=False)
        console.print(
            f"       got {s['got']['status']}/{s['got']['department']} "
            f"{' '.join(s['got']['trajectory']) or '(no tools)'}",
            markup=False,
            highlight=False,
        )
        if s["missing_facts"]:
            console.print(f"       missing facts {s['missing_facts']}", markup=False, highlight=False)
        if s["db_diff"]:
            console.print(f"       db diff {json.dumps(s['db_diff'])[:400]}", markup=False, highlight=False)


def compact(report: dict[str, Any]) -> dict[str, Any]:
    """The JSON object `--json` prints: metrics, gates, and the failing scenarios in full."""
    out = {"model": report["model"], "passed": report["passed"], "gates": report["gates"], "suites": {}}
    for name, result in report["suites"].items():
        body = {k: v for k, v in result.items() if k != "scenarios"}
        if name in ("e2e", "e2e_staged"):
            body["failed"] = [
                {k: v for k, v in s.items() if k != "nodes"} for s in result["scenarios"] if not s["passed"]
            ]
            body["results"] = {s["id"]: s["passed"] for s in result["scenarios"]}
        out["suites"][name] = body
    if "langsmith" in report:
        out["langsmith"] = report["langsmith"]
    return out


def expand(suite: str | None) -> list[str]:
    if suite in (None, "", "all"):
        return list(SUITES)
    return [s.strip() for s in suite.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.runner", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", default="all", help="all, or a comma list of " + ", ".join((*SUITES, *EXTRA_SUITES)))
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--k", type=int, default=None, help="trials per scenario (default from thresholds.toml)")
    parser.add_argument("--ids", default="", help="only these scenario ids (comma list)")
    parser.add_argument("--tags", default="", help="only scenarios with any of these tags (comma list)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N selected scenarios")
    parser.add_argument("--no-safety-nets", action="store_true", help="skip the reply check/repair/fallback")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    err = Console(stderr=True, highlight=False)
    report = run(
        expand(args.suite),
        args.model,
        k=args.k,
        ids=[i for i in args.ids.split(",") if i],
        tags=[t for t in args.tags.split(",") if t],
        limit=args.limit,
        safety_nets=not args.no_safety_nets,
        progress=None if is_scripted(args.model) else err.print,
    )
    if args.json:
        sys.stdout.write(json.dumps(compact(report), default=str) + "\n")
    else:
        print_report(report, Console(highlight=False))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
