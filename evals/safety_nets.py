"""The reply safety nets on and off, on the same scenarios and the same model.

    python -m evals.safety_nets [--model embedded:smollm2-135m] [--limit 12] [--ids a,b] [--json]

With ``build_graph(check_replies=False)`` the model's draft goes out unchecked (no grounding check,
no repair, no deterministic fallback; see `nodes/reply.py`). Both runs play the same e2e
scenarios (default: the 12 of `SUBSET`, where the model writes a reply from tool facts
with numbers and dates in them), one trial each, and report:

- required_facts: share of the scenarios' required fact strings found in the final reply;
- grounded_replies: share of replies whose every number, date and claimed action is backed by
  the turn's tool results (`nodes.guards.facts.check_reply`, the customer's own words counting as backing);
- model_written_replies: share of replies that are the model's draft as written (the rest are
  the workflow's deterministic reply from the same facts);
- pass_rate and db_state_match, which should not move: the model never chooses an action.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from evals import e2e
from evals.runner import Progress, Workspace, is_scripted, select_scenarios, workspace

SUBSET = (
    "billing-refund-small-auto",
    "billing-refund-large-approved",
    "billing-refund-partial-under",
    "billing-invoice",
    "billing-payment-disputed",
    "billing-track-refund",
    "technical-password-reset",
    "technical-password-reset-locked",
    "general-track-shipped",
    "general-delivery-time",
    "general-cancel-pending",
    "general-change-address",
)
METRICS = (
    "required_facts",
    "grounded_replies",
    "model_written_replies",
    "pass_rate",
    "db_state_match",
    "trajectory_match",
    "mean_seconds",
)


def compare(
    ws: Workspace,
    model: str,
    *,
    ids: Sequence[str] | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    scenarios = select_scenarios(e2e.load_scenarios(), ids=list(ids or SUBSET), limit=limit)
    runs: dict[str, Any] = {}
    for label, nets in (("on", True), ("off", False)):
        base = e2e.base_context(model, kb_dir=ws.kb_dir, classifier_path=ws.classifier_path)
        say = (lambda line, label=label: progress(f"safety nets {label}: {line}")) if progress else None
        graded = e2e.run_trials(scenarios, ws.store, base, 1, check_replies=nets, progress=say)
        runs[label] = {
            "metrics": {m: e2e.summarise(scenarios, graded, 1)[m] for m in METRICS},
            "replies": [
                {
                    "id": s.id,
                    "reply": g[0]["got"]["reply"],
                    "missing_facts": g[0]["missing_facts"],
                    "grounding_problems": g[0]["grounding_problems"],
                    "passed": g[0]["passed"],
                }
                for s, g in zip(scenarios, graded, strict=True)
            ],
        }
    return {
        "model": model,
        "scenarios": [s.id for s in scenarios],
        "k": 1,
        "on": runs["on"],
        "off": runs["off"],
        "metrics": {f"{m}_{label}": runs[label]["metrics"][m] for m in METRICS for label in ("on", "off")},
    }


def print_comparison(result: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"safety nets on vs off  model={result['model']}  {len(result['scenarios'])} scenarios, k=1",
        title_justify="left",
    )
    for column in ("metric", "on", "off"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for metric in METRICS:
        on, off = result["on"]["metrics"][metric], result["off"]["metrics"][metric]
        table.add_row(metric, "-" if on is None else f"{on:.3f}", "-" if off is None else f"{off:.3f}")
    console.print(table)
    for reply in result["off"]["replies"]:
        if reply["grounding_problems"] or reply["missing_facts"]:
            console.print(f"  off · {reply['id']}: {reply['reply'][:160]!r}", markup=False, highlight=False)
            console.print(
                f"        problems {reply['grounding_problems']} missing {reply['missing_facts']}",
                markup=False,
                highlight=False,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.safety_nets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="embedded:smollm2-135m")
    parser.add_argument("--ids", default="", help="scenario ids (comma list; default: the built-in subset)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    err = Console(stderr=True, highlight=False)
    with workspace() as ws:
        result = compare(
            ws,
            args.model,
            ids=[i for i in args.ids.split(",") if i] or None,
            limit=args.limit,
            progress=None if is_scripted(args.model) else err.print,
        )
    if args.json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        print_comparison(result, Console(highlight=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
