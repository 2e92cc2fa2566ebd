"""The HTML report behind `switchboard-eval report`: per-node latency, cost per run, success per node,
and the routing confusion matrices, as PNG plots (matplotlib, Agg backend) in one folder.

Node figures come from the store's ``node_runs`` table (`switchboard.metrics.metrics_summary`);
the confusion matrices from the shipped classifier on the held-out hand-written routing sets
(`evals/routing/hard_v1.jsonl`, `hard_blind_v1.jsonl`). The last `switchboard-eval eval` result,
when one was saved, is summarised too.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display; set before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from switchboard.metrics import metrics_summary, node_table  # noqa: E402

NODE_ORDER = (
    "intake",
    "coordinator",
    "clarify",
    "billing",
    "technical",
    "general",
    "escalation",
    "draft_reply",
    "check_reply",
    "fallback_reply",
    "finalize",
    "approval_gate",
    "execute_decision",
)


def routing_predictions(classifier_path: str | None = None) -> dict[str, Any]:
    """Gold and predicted intents and departments on the held-out routing sets."""
    from core.context import Context
    from evals.routing.run import HARD, HARD_BLIND, read_jsonl
    from intents.catalog import department_for

    ctx = Context().with_(classifier_path=classifier_path) if classifier_path else Context()
    rows = [r for path in (HARD, HARD_BLIND) for r in read_jsonl(path)]
    predictions = ctx.resources.classifier.predict_many([r["text"] for r in rows])
    return {
        "sets": [HARD.name, HARD_BLIND.name],
        "gold_intents": [r["intent"] for r in rows],
        "pred_intents": [p.intent for p in predictions],
        "gold_departments": [department_for(r["intent"]) for r in rows],
        "pred_departments": [p.department for p in predictions],
    }


def confusion(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for g, p in zip(gold, pred, strict=True):
        matrix[index[g], index[p]] += 1
    return matrix


def _ordered_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rank = {name: i for i, name in enumerate(NODE_ORDER)}
    return sorted(nodes, key=lambda n: (rank.get(n["node"], len(rank)), n["node"]))


def plot_latency(latencies: dict[str, list[float]], path: Path) -> None:
    names = list(latencies)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.boxplot([latencies[n] for n in names], showfliers=True)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=35, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("latency per node run (ms, log scale)")
    ax.set_title("Latency distribution per node")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_cost_per_run(runs: list[dict[str, Any]], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    costs = [r["cost_usd"] for r in runs]
    tokens = [r["tokens"] for r in runs]
    left.hist(costs, bins=min(30, max(5, len(runs) // 2)), color="#4c72b0")
    left.set_xlabel("cost per run (USD)")
    left.set_ylabel("runs (threads)")
    left.set_title(f"Cost per run (total ${sum(costs):.4f})")
    right.hist(tokens, bins=min(30, max(5, len(runs) // 2)), color="#55a868")
    right.set_xlabel("model tokens per run")
    right.set_title("Tokens per run (local models cost $0)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_success(nodes: list[dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(10, 4))
    names = [n["node"] for n in nodes]
    rates = [n["success_rate"] * 100 for n in nodes]
    bars = ax.bar(names, rates, color=["#55a868" if r >= 99.5 else "#c44e52" for r in rates])
    for bar, n in zip(bars, nodes, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 1, f"{n['runs']}", ha="center", fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel("success rate (%)  — label: runs")
    ax.set_title("Success rate per node")
    ax.tick_params(axis="x", rotation=35)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(matrix: np.ndarray, labels: Sequence[str], title: str, path: Path, annotate: bool) -> None:
    size = max(5.0, 0.38 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8 if len(labels) > 8 else 10)
    ax.set_yticks(range(len(labels)), labels, fontsize=8 if len(labels) > 8 else 10)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    if annotate:
        for i in range(len(labels)):
            for j in range(len(labels)):
                if matrix[i, j]:
                    ax.text(
                        j,
                        i,
                        str(matrix[i, j]),
                        ha="center",
                        va="center",
                        color="white" if shown[i, j] > 0.5 else "black",
                        fontsize=9,
                    )
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the gold row")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


KPI_RATES = (
    ("containment", "containment"),
    ("escalation_rate", "escalation rate"),
    ("first_contact_resolution", "first-contact resolution"),
)


def _bars(ax: Any, groups: list[str], series: dict[str, list[float]], ylabel: str) -> None:
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for i, (label, values) in enumerate(series.items()):
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=label)
    ax.set_xticks(x, groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)


def _values(figures: dict[str, dict[str, Any]], key: str) -> list[float]:
    return [float(f[key] or 0.0) for f in figures.values()]


def plot_kpis(kpi: dict[str, Any], out: Path) -> list[str]:
    """The support manager's figures as plots: rates by day and by department, approvals by day, cost by day."""
    days, departments = kpi["by_day"], kpi["by_department"]
    written = []
    fig, ax = plt.subplots(figsize=(9, 4))
    _bars(ax, list(days), {label: _values(days, key) for key, label in KPI_RATES}, "share of conversations")
    ax.set_ylim(0, 1.05)
    ax.set_title("Containment, escalation and first-contact resolution by day")
    fig.tight_layout()
    fig.savefig(out / "kpi_rates_by_day.png", dpi=110)
    plt.close(fig)
    written.append("kpi_rates_by_day.png")

    fig, ax = plt.subplots(figsize=(9, 4))
    _bars(ax, list(departments), {label: _values(departments, key) for key, label in KPI_RATES}, "share")
    ax.set_ylim(0, 1.05)
    ax.set_title("Containment, escalation and first-contact resolution by department")
    fig.tight_layout()
    fig.savefig(out / "kpi_by_department.png", dpi=110)
    plt.close(fig)
    written.append("kpi_by_department.png")

    fig, ax = plt.subplots(figsize=(9, 4))
    _bars(
        ax,
        list(days),
        {
            "turnaround p50 (h)": _values(days, "approval_turnaround_p50_h"),
            "turnaround p95 (h)": _values(days, "approval_turnaround_p95_h"),
            "overdue (count)": _values(days, "approvals_overdue"),
        },
        "hours / count",
    )
    ax.set_title("Approval turnaround and overdue approvals by day")
    fig.tight_layout()
    fig.savefig(out / "kpi_approvals_by_day.png", dpi=110)
    plt.close(fig)
    written.append("kpi_approvals_by_day.png")

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    _bars(left, list(days), {"cost per resolved ($)": _values(days, "cost_per_resolved_usd")}, "USD")
    left.set_title("Cost per resolved conversation")
    _bars(
        right,
        list(days),
        {
            "p50 (min)": _values(days, "handoff_first_reply_p50_min"),
            "p95 (min)": _values(days, "handoff_first_reply_p95_min"),
        },
        "minutes",
    )
    right.set_title("Handoff: time to a person's first reply")
    fig.tight_layout()
    fig.savefig(out / "kpi_cost_by_day.png", dpi=110)
    plt.close(fig)
    written.append("kpi_cost_by_day.png")
    return written


def kpi_section(kpi: dict[str, Any], out: Path) -> str:
    plots = plot_kpis(kpi, out)
    rows = [{"group": "overall", **kpi["overall"]}]
    rows += [{"group": f"day {d}", **f} for d, f in kpi["by_day"].items()]
    rows += [{"group": f"department {d}", **f} for d, f in kpi["by_department"].items()]
    return (
        f"<h2>Support figures</h2><p>As of {html.escape(kpi['as_of'])}, from the store's node runs, approvals "
        "and cases and each thread's latest checkpoint (definitions in <code>switchboard/kpi.py</code>).</p>"
        + _table(rows)
        + "".join(f'<img src="{p}" alt="{p.removesuffix(".png").replace("_", " ")}">' for p in plots)
    )


def _table(rows: list[dict[str, Any]], limit: int | None = None) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    shown = rows[:limit] if limit else rows
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in r.values()) + "</tr>" for r in shown)
    more = f"<p>… {len(rows) - len(shown)} more</p>" if len(shown) < len(rows) else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def write_report(
    out_dir: str | Path,
    *,
    engine: Engine,
    routing: dict[str, Any] | None = None,
    last_eval: dict[str, Any] | None = None,
    source: str = "",
    kpi: dict[str, Any] | None = None,
) -> Path:
    """Write ``index.html`` and its PNG plots into ``out_dir``; return the HTML file's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = metrics_summary(engine)
    nodes = _ordered_nodes(summary["nodes"])
    sections: list[str] = []
    if nodes:
        from switchboard.metrics import read_node_runs

        latencies: dict[str, list[float]] = {n["node"]: [] for n in nodes}
        for row in read_node_runs(engine):
            latencies[row["node"]].append(max(row["latency_ms"], 0.001))
        plot_latency(latencies, out / "latency_per_node.png")
        plot_cost_per_run(summary["runs"], out / "cost_per_run.png")
        plot_success(nodes, out / "success_per_node.png")
        sections.append(
            "<h2>Per node</h2>"
            + _table(node_table({"nodes": nodes}))
            + '<img src="latency_per_node.png" alt="latency per node">'
            + '<img src="success_per_node.png" alt="success rate per node">'
            + "<h2>Per run (thread)</h2>"
            + '<img src="cost_per_run.png" alt="cost per run">'
            + _table(summary["runs"], limit=25)
            + "<h2>Per customer</h2>"
            + _table(summary["customers"], limit=25)
        )
    else:
        sections.append(
            "<h2>Per node</h2><p>No node runs are recorded in this store yet: run "
            "<code>switchboard ask</code>, <code>chat</code> or <code>demo</code> first.</p>"
        )
    if kpi is not None and kpi["by_day"]:
        sections.insert(0, kpi_section(kpi, out))
    if routing is not None:
        departments = sorted(set(routing["gold_departments"]) | set(routing["pred_departments"]))
        intents = sorted(set(routing["gold_intents"]) | set(routing["pred_intents"]))
        dept = confusion(routing["gold_departments"], routing["pred_departments"], departments)
        plot_confusion(dept, departments, "Routing: departments (held-out sets)", out / "routing_departments.png", True)
        plot_confusion(
            confusion(routing["gold_intents"], routing["pred_intents"], intents),
            intents,
            "Routing: intents (held-out sets)",
            out / "routing_intents.png",
            False,
        )
        n = len(routing["gold_intents"])
        intent_acc = sum(g == p for g, p in zip(routing["gold_intents"], routing["pred_intents"], strict=True)) / n
        dept_acc = float(np.trace(dept)) / n
        sections.append(
            f"<h2>Routing</h2><p>{n} held-out messages ({', '.join(routing['sets'])}): intent accuracy "
            f"{intent_acc:.3f}, department accuracy {dept_acc:.3f}.</p>"
            '<img src="routing_departments.png" alt="department confusion matrix">'
            '<img src="routing_intents.png" alt="intent confusion matrix">'
        )
    if last_eval:
        gates = [
            {"suite": g["suite"], "metric": g["metric"], "value": g["value"], "bound": g["bound"], "ok": g["ok"]}
            for g in last_eval.get("gates", [])
        ]
        sections.append(
            f"<h2>Last eval run</h2><p>model {html.escape(str(last_eval.get('model')))}, "
            f"{'passed' if last_eval.get('passed') else 'BELOW THRESHOLD'} "
            f"({html.escape(str(last_eval.get('at', '')))})</p>" + _table(gates)
        )
    totals = summary["totals"]
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Switchboard report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}
th{{background:#f3f3f3}}img{{max-width:100%;display:block;margin:1em 0}}</style></head>
<body><h1>Switchboard report</h1>
<p>Written {datetime.now(UTC).isoformat(timespec="seconds")} from {html.escape(source)}.
{totals["node_runs"]} node runs in {totals["runs"]} runs for {totals["customers"]} customers;
success rate {_cell(totals["success_rate"])}; {totals["tokens"]} tokens; ${totals["cost_usd"]:.6f}.</p>
{"".join(sections)}
</body></html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, default=str, indent=1), encoding="utf-8")
    return index
