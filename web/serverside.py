"""What the pages do inside the server process, with the server's own settings.

Nothing here touches a thread's checkpoints (decisions and forks go through the server's API,
web/api.py). It reads and writes the store's tables (claims, compensation of effects, audit,
metrics) and reads the waiting-approvals index the gates keep in the server's LangGraph Store
(nodes/waiting.py). That Store is reached in-process because Aegra scopes its Store API by
caller, so the index the graph writes is not visible through the API to anyone.

The database calls are synchronous SQLAlchemy: callers run them with `to_thread`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from langgraph.store.base import BaseStore
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from core.settings import get_settings
from nodes.waiting import WAITING
from store.db import make_engine
from store.schema import audit_log, decision_claims
from tools.audit import write_audit
from tools.base import ToolContext
from tools.compensation import compensate_after, effects_after
from tools.registry import TOOLS

ORDER_READS = ("get_order", "get_shipment", "get_payment_status", "list_refunds")

_PAGE = 200


async def off_loop[**P, R](fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking call in a worker thread (the server's event loop keeps serving)."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


@functools.lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    engine = make_engine(url)
    decision_claims.create(engine, checkfirst=True)  # a deployment seeded before the table existed
    return engine


def engine() -> Engine:
    return _engine(get_settings().resolved_database_url())


# ---- the server's Store: the index of waiting approvals ------------------------------------------


async def hosting_store() -> BaseStore:
    """The LangGraph Store of the server these routes run in (Aegra or `langgraph dev`)."""
    if "aegra_api.core.database" in sys.modules:
        from aegra_api.core.database import db_manager

        store: BaseStore = db_manager.get_store()
        return store
    from langgraph_api.store import get_store

    return await get_store()


async def waiting_index() -> dict[str, dict[str, Any]]:
    """thread id -> {customer_id, since, request} for every thread the gates say is waiting."""
    store = await hosting_store()
    entries: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        page = await store.asearch(WAITING, limit=_PAGE, offset=offset)
        entries.update((item.key, dict(item.value)) for item in page)
        if len(page) < _PAGE:
            return entries
        offset += _PAGE


async def forget_waiting(thread_id: str) -> None:
    """Drop an index entry its thread no longer backs (a crash after the decision, a rollback)."""
    store = await hosting_store()
    await store.adelete(WAITING, thread_id)


# ---- claims: one decision per waiting approval, one rollback per head ----------------------------


def claim(
    subject: str, *, thread_id: str, customer_id: str, actor: str, decision: str, detail: str = ""
) -> dict[str, Any] | None:
    """Take `subject` for `actor`: None when this call took it, else the row of whoever did first."""
    try:
        with engine().begin() as conn:
            conn.execute(
                insert(decision_claims).values(
                    subject=subject,
                    thread_id=thread_id,
                    customer_id=customer_id,
                    actor=actor,
                    decision=decision,
                    at=datetime.now(UTC),
                    detail=detail[:2000],
                )
            )
        return None
    except IntegrityError:
        with engine().connect() as conn:
            row = conn.execute(select(decision_claims).where(decision_claims.c.subject == subject)).first()
        return dict(row._mapping) if row else {"actor": "someone", "decision": "?", "at": None}


def release(subject: str) -> None:
    """Give a claim back: the server refused the decision, so nothing was done."""
    with engine().begin() as conn:
        conn.execute(delete(decision_claims).where(decision_claims.c.subject == subject))


def claims_for(thread_id: str) -> list[dict[str, Any]]:
    with engine().connect() as conn:
        rows = conn.execute(
            select(decision_claims).where(decision_claims.c.thread_id == thread_id).order_by(decision_claims.c.at)
        ).all()
    return [dict(r._mapping) for r in rows]


# ---- effects, compensation and audit (the same functions the CLI's rollback uses) ---------------


def effects_of(thread_id: str) -> list[dict[str, Any]]:
    return effects_after(engine(), thread_id, None)


def compensate(thread_id: str, after: datetime | None, *, actor: str, checkpoint_id: str) -> list[dict[str, Any]]:
    return compensate_after(engine(), thread_id, after, actor=actor, checkpoint_id=checkpoint_id)


def audit(**fields: Any) -> None:
    write_audit(engine(), **fields)


def audit_rows(thread_id: str, actions: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    query = select(audit_log).where(audit_log.c.thread_id == thread_id)
    if actions:
        query = query.where(audit_log.c.action.in_(actions))
    with engine().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query.order_by(audit_log.c.id))]


def order_facts(customer_id: str, thread_id: str, order_id: int) -> list[dict[str, Any]]:
    """What the read tools say about an order now, in their own words (`ToolSpec.describe`).

    The same read functions the workflow's desks call, for the thread's customer (their ownership
    check applies); read-only, so nothing is written or audited."""
    ctx = ToolContext(customer_id=customer_id, thread_id=thread_id, node="console")
    out = []
    with engine().connect() as conn:
        for name in ORDER_READS:
            spec = TOOLS[name]
            try:
                facts = spec.describe(spec.fn(conn, ctx, order_id=order_id))
            except Exception as exc:  # a refusal (another customer's order) or an outage: say so
                facts = [f"could not read: {exc}"]
            out.append({"tool": name, "facts": facts})
    return out


def metrics() -> dict[str, Any]:
    from switchboard.metrics import metrics_summary

    return metrics_summary(engine())
