"""Read-only operator views for `switchboard admin`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from core.context import Context
from intents.catalog import INTENT_DEPARTMENT
from store.schema import audit_log, customers, orders, refunds, tickets
from tools.registry import permission_matrix

View = Callable[[Context, str | None, int], list[dict[str, Any]]]


def _rows(ctx: Context, query: Any) -> list[dict[str, Any]]:
    with ctx.resources.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _scoped(query: Any, column: Any, customer: str | None) -> Any:
    return query.where(column == customer) if customer else query


def view_customers(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    order_count = select(func.count()).where(orders.c.customer_id == customers.c.id).scalar_subquery()
    query = select(customers.c.id, customers.c.name, customers.c.status, order_count.label("orders"))
    return _rows(ctx, _scoped(query, customers.c.id, customer).order_by(customers.c.id).limit(limit))


def view_orders(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(orders.c.id, orders.c.customer_id, orders.c.status, orders.c.placed_at, orders.c.total_cents)
    return _rows(ctx, _scoped(query, orders.c.customer_id, customer).order_by(orders.c.placed_at.desc()).limit(limit))


def view_refunds(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(
        refunds.c.id,
        refunds.c.order_id,
        refunds.c.customer_id,
        refunds.c.amount_cents,
        refunds.c.status,
        refunds.c.created_at,
        refunds.c.idempotency_key,
    )
    return _rows(ctx, _scoped(query, refunds.c.customer_id, customer).order_by(refunds.c.id.desc()).limit(limit))


def view_tickets(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(
        tickets.c.id,
        tickets.c.customer_id,
        tickets.c.subject,
        tickets.c.status,
        tickets.c.priority,
        tickets.c.queue,
        tickets.c.department,
        tickets.c.thread_id,
        tickets.c.created_at,
    )
    return _rows(ctx, _scoped(query, tickets.c.customer_id, customer).order_by(tickets.c.id.desc()).limit(limit))


def view_audit(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(audit_log)
    return _rows(ctx, _scoped(query, audit_log.c.customer_id, customer).order_by(audit_log.c.id.desc()).limit(limit))


def view_tools(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    return permission_matrix()


def view_intents(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    return [{"intent": i, "department": d} for i, d in sorted(INTENT_DEPARTMENT.items())]


def view_metrics(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    from switchboard.metrics import metrics_summary, node_table

    return node_table(metrics_summary(ctx.resources.engine, customer=customer))


def view_outbox(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    from mail.outbox import list_outbox
    from store.db import create_schema

    engine = ctx.resources.engine
    create_schema(engine)  # a store from before the mail channel has no outbox yet
    return list_outbox(engine, limit=limit, customer_id=customer)


def view_approvals(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    """Decisions on approvals, newest first: who, when, how long it had waited, proposed vs decided arguments."""
    from tools.approvals import decision_log, describe_diff, describe_wait

    rows = decision_log(ctx.resources.engine, limit=limit)
    return [
        {
            "at": r["at"],
            "thread_id": r["thread_id"],
            "actor": r["actor"],
            "role": r["role"],
            "decision": r["decision"],
            "outcome": r["outcome"],
            "waited": describe_wait(r["waited_s"]),
            "diff": describe_diff(r["diff"]),
            "proposed_args": r["proposed_args"],
            "decided_args": r["decided_args"],
            "detail": r["detail"],
        }
        for r in rows
    ]


def view_webhooks(ctx: Context, customer: str | None, limit: int) -> list[dict[str, Any]]:
    from tools.webhooks import list_webhooks

    return list_webhooks(ctx.resources.engine, limit=limit)


VIEWS: dict[str, View] = {
    "approvals": view_approvals,
    "webhooks": view_webhooks,
    "customers": view_customers,
    "orders": view_orders,
    "refunds": view_refunds,
    "tickets": view_tickets,
    "audit": view_audit,
    "tools": view_tools,
    "intents": view_intents,
    "metrics": view_metrics,
    "outbox": view_outbox,
}


def print_table(console: Console, title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print(f"no {title}")
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else ", ".join(v) if isinstance(v, list) else str(v) for v in row.values()))
    console.print(table)
