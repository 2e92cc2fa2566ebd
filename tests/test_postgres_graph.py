"""The same graph on PostgreSQL: store and checkpoints in a throwaway database (required, never skipped)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from core.context import Context
from store.db import ensure_store, make_engine
from store.schema import orders, refunds
from switchboard.app import open_checkpointer, open_store, resume_turn, run_turn
from switchboard.threads import inbox
from tests.pg import throwaway_postgres


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with throwaway_postgres("switchboard_graph") as url:
        ensure_store(url)
        yield url


def test_refund_with_approval_on_postgres_store_and_checkpointer(
    pg_url: str, kb_dir: str, classifier_path: str
) -> None:
    from graph.builder import build_graph

    # C0068's 10987 ($889.96): one person approves it (above $500, below four-eyes $1,000, inside the window)
    ctx = Context(customer_id="C0068").with_(
        model="fake:facts", database_url=pg_url, chroma_dir=kb_dir, classifier_path=classifier_path
    )
    engine = make_engine(pg_url)
    big = 10987
    with engine.connect() as conn:
        assert conn.execute(select(orders.c.total_cents).where(orders.c.id == big)).scalar_one() > 50000
    with open_checkpointer(pg_url) as saver, open_store(pg_url) as store:
        graph = build_graph().compile(checkpointer=saver, store=store)
        first = run_turn(graph, ctx, f"I need a refund for order {big}")
        assert first["status"] == "awaiting_approval"
    # A fresh checkpointer connection, as another process would open it; the inbox reads the
    # index the gate wrote to the PostgreSQL store.
    with open_checkpointer(pg_url) as saver, open_store(pg_url) as store:
        graph = build_graph().compile(checkpointer=saver, store=store)
        assert [(w["thread_id"], w["action"]) for w in inbox(graph)] == [(first["thread_id"], "issue_refund")]
        done = resume_turn(graph, ctx.with_(actor="operator:test"), first["thread_id"], {"type": "approve"})
        assert inbox(graph) == []
    assert ("issue_refund", "ok") in [(c["name"], c["outcome"]) for c in done["tool_calls"]]
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(refunds).where(refunds.c.order_id == big)).scalar_one() == 1
        )
