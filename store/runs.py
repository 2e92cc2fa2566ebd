"""The ``node_runs`` table: one row per run of a graph node, wherever the graph runs.

The one writer is `record_node_run`, called by the node wrapper (`nodes/instrument.py`) as
each node finishes or fails, so the CLI, the servers and the evals all leave the same
figures. `read_node_runs` is what the metrics views and the report read.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from store.schema import node_runs

log = logging.getLogger(__name__)


def record_node_run(
    engine: Engine,
    *,
    thread_id: str,
    run_id: str | None,
    customer_id: str,
    node: str,
    outcome: str,
    error_type: str | None,
    latency_ms: float,
    tokens: int,
    cost_usd: float,
    model: str,
    cache_hit: bool = False,
) -> None:
    """Write one node run. A store that cannot take it is logged, never raised: the turn matters more."""
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(node_runs).values(
                    at=datetime.now(UTC),
                    thread_id=thread_id[:64],
                    run_id=(run_id or None),
                    customer_id=customer_id or None,
                    node=node,
                    outcome=outcome,
                    error_type=error_type,
                    latency_ms=round(latency_ms, 3),
                    tokens=tokens,
                    cost_usd=cost_usd,
                    model=model,
                    cache_hit=cache_hit,
                )
            )
    except Exception as exc:
        log.warning("could not record a run of node %s: %s", node, type(exc).__name__)


def read_node_runs(engine: Engine, *, customer: str | None = None) -> list[dict[str, Any]]:
    query = select(
        node_runs.c.at,
        node_runs.c.thread_id,
        node_runs.c.customer_id,
        node_runs.c.node,
        node_runs.c.outcome,
        node_runs.c.error_type,
        node_runs.c.latency_ms,
        node_runs.c.tokens,
        node_runs.c.cost_usd,
        node_runs.c.model,
        node_runs.c.cache_hit,
    )
    if customer:
        query = query.where(node_runs.c.customer_id == customer)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query.order_by(node_runs.c.id))]
