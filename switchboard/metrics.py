"""Per-node, per-run and per-customer figures from the ``node_runs`` table.

`store.runs.record_node_run` writes one row per node run, wherever the graph runs.
`metrics_summary` reads them back (SQLite or PostgreSQL; percentiles are computed here,
not in SQL, so both backends agree) and returns plain data for the admin view and the report.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from store.runs import read_node_runs


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def metrics_summary(engine: Engine, *, customer: str | None = None, top_errors: int = 3) -> dict[str, Any]:
    """Node runs summarised per node, per run (thread), per customer and per model.

    ``nodes``: runs, successes, success_rate, p50/p95/mean/max latency (ms), tokens, cost_usd and the
    most common error types. ``runs``: per thread, most expensive first (cost, then tokens, then
    latency): customer, turns, node runs, latency, tokens, cost, errors. ``customers``: threads,
    node runs, tokens, cost. ``totals``: the whole table (or the one customer asked for).
    """
    rows = read_node_runs(engine, customer=customer)
    by_node: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_thread: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_node[row["node"]].append(row)
        by_thread[row["thread_id"]].append(row)
        by_customer[row["customer_id"] or ""].append(row)
        by_model[row["model"] or ""].append(row)

    nodes = []
    for node, runs in sorted(by_node.items()):
        latencies = [r["latency_ms"] for r in runs]
        ok = sum(r["outcome"] == "ok" for r in runs)
        errors = Counter(r["error_type"] or "unknown" for r in runs if r["outcome"] != "ok")
        nodes.append(
            {
                "node": node,
                "runs": len(runs),
                "successes": ok,
                "success_rate": round(ok / len(runs), 4),
                "p50_ms": _round(percentile(latencies, 50)),
                "p95_ms": _round(percentile(latencies, 95)),
                "mean_ms": _round(sum(latencies) / len(latencies)),
                "max_ms": _round(max(latencies)),
                "tokens": sum(r["tokens"] for r in runs),
                "cost_usd": round(sum(r["cost_usd"] for r in runs), 8),
                "cache_hits": sum(bool(r["cache_hit"]) for r in runs),
                "top_errors": [{"error_type": e, "count": n} for e, n in errors.most_common(top_errors)],
            }
        )

    threads = []
    for thread, runs in by_thread.items():
        threads.append(
            {
                "thread_id": thread,
                "customer_id": runs[0]["customer_id"],
                "turns": sum(r["node"] == "intake" for r in runs),  # every turn starts at intake
                "node_runs": len(runs),
                "latency_ms": round(sum(r["latency_ms"] for r in runs), 3),
                "tokens": sum(r["tokens"] for r in runs),
                "cost_usd": round(sum(r["cost_usd"] for r in runs), 8),
                "errors": sum(r["outcome"] != "ok" for r in runs),
                "models": sorted({r["model"] for r in runs if r["model"]}),
            }
        )
    threads.sort(key=lambda t: (-t["cost_usd"], -t["tokens"], -t["latency_ms"], t["thread_id"]))

    customers = [
        {
            "customer_id": cid or None,
            "threads": len({r["thread_id"] for r in runs}),
            "node_runs": len(runs),
            "latency_ms": round(sum(r["latency_ms"] for r in runs), 3),
            "tokens": sum(r["tokens"] for r in runs),
            "cost_usd": round(sum(r["cost_usd"] for r in runs), 8),
        }
        for cid, runs in by_customer.items()
    ]
    customers.sort(key=lambda c: (-c["cost_usd"], -c["tokens"], c["customer_id"] or ""))

    models = [
        {
            "model": m or None,
            "node_runs": len(runs),
            "tokens": sum(r["tokens"] for r in runs),
            "cost_usd": round(sum(r["cost_usd"] for r in runs), 8),
        }
        for m, runs in sorted(by_model.items())
    ]

    run_costs = [t["cost_usd"] for t in threads]
    return {
        "customer": customer,
        "totals": {
            "node_runs": len(rows),
            "runs": len(threads),
            "customers": len(by_customer),
            "success_rate": round(sum(r["outcome"] == "ok" for r in rows) / len(rows), 4) if rows else None,
            "tokens": sum(r["tokens"] for r in rows),
            "cost_usd": round(sum(r["cost_usd"] for r in rows), 8),
            "cache_hits": sum(bool(r["cache_hit"]) for r in rows),
            "model_cache_hit_rate": _cache_hit_rate(rows),
            "cost_per_run_p50": percentile(run_costs, 50),
            "cost_per_run_p95": percentile(run_costs, 95),
            "first_at": rows[0]["at"].isoformat() if rows else None,
            "last_at": max(r["at"] for r in rows).isoformat() if rows else None,
        },
        "nodes": nodes,
        "runs": threads,
        "customers": customers,
        "models": models,
    }


def _cache_hit_rate(rows: list[dict[str, Any]]) -> float | None:
    """Share of reply drafts served from the reply cache (None before any draft was written)."""
    drafts = [r for r in rows if r["node"] == "draft_reply" and (r["tokens"] or r["cache_hit"])]
    return round(sum(bool(r["cache_hit"]) for r in drafts) / len(drafts), 4) if drafts else None


def node_table(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-node part as flat rows (for `switchboard admin metrics` and the report's table)."""
    return [
        {
            **{k: v for k, v in n.items() if k != "top_errors"},
            "top_errors": ", ".join(f"{e['error_type']} ×{e['count']}" for e in n["top_errors"]),
        }
        for n in summary["nodes"]
    ]
