"""The ``node_runs`` table: one row per run of a graph node, wherever the graph runs.

The one writer is `record_node_run`, called by the node wrapper (`nodes/instrument.py`) as each
node finishes or fails, so the CLI, the servers and the evals all leave the same figures.
Rows are written off the turn's path: a background thread per engine inserts them in batches
(one transaction each, not one per node), and `flush()` waits until everything recorded so far
is in the table (callers that read the figures right away, and the process's exit, call it).
`read_node_runs` is what the metrics views and the report read.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from store.schema import node_runs

log = logging.getLogger(__name__)
BATCH = 200


class _Writer:
    """One daemon thread for the process: inserts queued rows in batches, one transaction per engine."""

    def __init__(self) -> None:
        self.rows: queue.Queue[tuple[Engine, dict[str, Any]]] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="node-runs-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            batch = [self.rows.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self.rows.get_nowait())
                except queue.Empty:
                    break
            by_engine: dict[int, tuple[Engine, list[dict[str, Any]]]] = {}
            for engine, row in batch:
                by_engine.setdefault(id(engine), (engine, []))[1].append(row)
            for engine, rows in by_engine.values():
                try:
                    with engine.begin() as conn:
                        conn.execute(insert(node_runs), rows)
                except Exception as exc:  # the figures must never take a turn down with them
                    log.warning("could not record %d node run(s): %s", len(rows), type(exc).__name__)
            for _ in batch:
                self.rows.task_done()


_writer: _Writer | None = None
_lock = threading.Lock()


def _queue() -> queue.Queue[tuple[Engine, dict[str, Any]]]:
    global _writer
    with _lock:
        if _writer is None:
            _writer = _Writer()
        return _writer.rows


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
    """Queue one node run for the table (written within milliseconds, in the background)."""
    _queue().put(
        (
            engine,
            {
                "at": datetime.now(UTC),
                "thread_id": thread_id[:64],
                "run_id": run_id or None,
                "customer_id": customer_id or None,
                "node": node,
                "outcome": outcome,
                "error_type": error_type,
                "latency_ms": round(latency_ms, 3),
                "tokens": tokens,
                "cost_usd": cost_usd,
                "model": model,
                "cache_hit": cache_hit,
            },
        )
    )


@atexit.register
def flush() -> None:
    """Wait until every node run recorded so far is in its table."""
    if _writer is not None:
        _writer.rows.join()


def read_node_runs(engine: Engine, *, customer: str | None = None) -> list[dict[str, Any]]:
    flush()
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
