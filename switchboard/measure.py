"""Evals and reports behind `switchboard eval` and `switchboard report`.

The measuring itself lives in `evals/` (datasets, runner, plots); this module is the command
line's door to it. Product code (graph, nodes, tools) never imports `evals/`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from graph.context import get_settings


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
    """Keep the gates of the last run for `switchboard report` (best effort: a read-only home is fine)."""
    try:
        path = last_eval_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "model": report["model"],
                "passed": report["passed"], "gates": report["gates"]}
        path.write_text(json.dumps(body, default=str), encoding="utf-8")
    except OSError:
        pass


def write_report(out_dir: str) -> str:
    """Write ``index.html`` with PNG plots from the configured store's node runs and the routing eval."""
    from evals.report import routing_predictions
    from evals.report import write_report as write_html
    from graph.context import Context
    from graph.resources import store_engine

    engine = store_engine(Context())
    last = last_eval_path()
    last_eval = json.loads(last.read_text(encoding="utf-8")) if last.exists() else None
    path = write_html(out_dir, engine=engine, routing=routing_predictions(), last_eval=last_eval,
                      source=engine.url.render_as_string(hide_password=True))
    return str(path)
