"""The same graph on PostgreSQL: store and checkpoints in a throwaway database (required, never skipped)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

from graph.context import Context
from store.db import ensure_store, make_engine
from store.schema import orders, refunds
from switchboard.app import open_checkpointer, resume_turn, run_turn

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    name = f"switchboard_graph_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the project requires PostgreSQL here: fail, never skip
        pytest.fail(f"PostgreSQL is required at {ADMIN_URL}: {exc}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    ensure_store(url)
    yield url
    make_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_refund_with_approval_on_postgres_store_and_checkpointer(pg_url: str, kb_dir: str, classifier_path: str) -> None:
    from graph.builder import build_graph

    ctx = Context(customer_id="C0007", model="fake:facts", database_url=pg_url, chroma_dir=kb_dir,
                  classifier_path=classifier_path)
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        big = conn.execute(select(orders.c.id).where(orders.c.customer_id == "C0007", orders.c.status == "delivered",
                                                     orders.c.total_cents > 50000)).scalar_one()
    with open_checkpointer(pg_url) as saver:
        graph = build_graph().compile(checkpointer=saver)
        first = run_turn(graph, ctx, f"I need a refund for order {big}")
        assert first["status"] == "awaiting_approval"
    # A fresh checkpointer connection, as another process would open it.
    with open_checkpointer(pg_url) as saver:
        graph = build_graph().compile(checkpointer=saver)
        done = resume_turn(graph, ctx, first["thread_id"], {"type": "approve", "actor": "operator:test"})
    assert ("issue_refund", "ok") in [(c["name"], c["outcome"]) for c in done["tool_calls"]]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(refunds).where(refunds.c.order_id == big)).scalar_one() == 1
