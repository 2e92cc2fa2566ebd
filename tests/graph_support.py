"""Helpers the graph tests share: the demo customers, an order of the seeded store by status, counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, func, select

from core.context import Context
from store.schema import orders

DEMO = "C0007"
# C0068's 10987 ($889.96) was delivered inside the 30-day return window and lies between the two
# approval thresholds: one person approves its refund. (C0007's 10859 is outside the window: refused.)
BIG = "C0068"


def order_of(
    ctx: Context,
    status: str,
    *,
    above_cents: int | None = None,
    below_cents: int | None = None,
    customer: str | None = None,
    newest: bool = False,
) -> Any:
    engine = create_engine(ctx.settings.resolved_database_url())
    query = select(orders).where(orders.c.customer_id == (customer or ctx.customer_id), orders.c.status == status)
    if above_cents is not None:
        query = query.where(orders.c.total_cents > above_cents)
    if below_cents is not None:
        query = query.where(orders.c.total_cents <= below_cents)
    with engine.connect() as conn:
        row = conn.execute(query.order_by(orders.c.id.desc() if newest else orders.c.id)).first()
    assert row is not None, f"seed has no {status} order for {customer or ctx.customer_id}"
    return row


def count(ctx: Context, table: Any, *where: Any) -> int:
    with create_engine(ctx.settings.resolved_database_url()).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def calls(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["name"], c["outcome"]) for c in result["tool_calls"]]
