"""The measuring command line: ``python -m evals eval|report`` (also `switchboard-eval`, `make eval`).

Its own entry point, beside the product's `switchboard` command: the product never imports
`evals/`; `evals/` imports the product to measure it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from core.context import Context
from core.settings import get_settings

app = typer.Typer(
    help="Switchboard's evals and report.", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False
)
out = Console(highlight=False, soft_wrap=True)


def last_eval_path() -> Path:
    return get_settings().home / "evals" / "last.json"


def run_evals(*, suite: str | None, model: str | None, as_json: bool, console: Console) -> int:
    """Run the suites (default all: routing, retrieval, e2e, approvals); 1 when a metric misses its bound.

    ``suite`` may also be ``safety_nets`` (the e2e subset with the reply safety nets on and off)
    or a comma list. ``model`` defaults to ``fake:facts`` (deterministic); a real model such as
    ``embedded:smollm2-135m`` runs k=3 trials per scenario.
    """
    from evals.runner import DEFAULT_MODEL, compact, expand, is_scripted, print_report, run

    model = model or DEFAULT_MODEL
    progress = None if is_scripted(model) else Console(stderr=True, highlight=False).print
    report = run(expand(suite), model, progress=progress)
    _save_last(report)
    if as_json:
        console.file.write(json.dumps(compact(report), default=str) + "\n")
    else:
        print_report(report, console)
    return 0 if report["passed"] else 1


def _save_last(report: dict[str, Any]) -> None:
    """Keep the gates of the last run for `switchboard-eval report` (best effort: a read-only home is fine)."""
    try:
        path = last_eval_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "model": report["model"],
            "passed": report["passed"],
            "gates": report["gates"],
        }
        path.write_text(json.dumps(body, default=str), encoding="utf-8")
    except OSError:
        pass


def write_report(out_dir: str) -> str:
    """Write ``index.html`` with PNG plots from the configured store's node runs, the support KPIs and the routing eval."""
    from evals.report import routing_predictions
    from evals.report import write_report as write_html
    from switchboard.app import open_graph
    from switchboard.kpi import kpi_report

    ctx = Context()
    engine = ctx.resources.engine
    last = last_eval_path()
    last_eval = json.loads(last.read_text(encoding="utf-8")) if last.exists() else None
    with open_graph(ctx.settings) as graph:  # the KPIs read each thread's latest checkpoint
        kpi = kpi_report(engine, graph, ctx.settings.now())
    path = write_html(
        out_dir,
        engine=engine,
        routing=routing_predictions(),
        last_eval=last_eval,
        source=engine.url.render_as_string(hide_password=True),
        kpi=kpi,
    )
    return str(path)


@app.command("eval")
def eval_(
    suite: Annotated[str | None, typer.Option("--suite", help="One suite or a comma list (default: all).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="provider:model for the run.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run the eval suites; exit non-zero when a metric is below its threshold."""
    raise typer.Exit(run_evals(suite=suite, model=model, as_json=as_json, console=out))


@app.command()
def report(out_dir: Annotated[str, typer.Option("--out", help="Folder for the HTML report.")] = "var/report") -> None:
    """Write an HTML report with plots of per-node latency, cost, success and routing."""
    out.print(f"report written to {write_report(out_dir)}")
