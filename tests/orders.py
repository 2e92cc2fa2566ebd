"""Orders of the seeded store chosen by what the refund policy says about them, not by number.

Tests that need "a refund a person must approve" or "a refund two people must approve" ask here:
the store's own policy (return window, freezes, past refunds) picks the order, so a change to the
seed or to the policy moves the choice instead of turning a test about approvals into a test about
a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import create_engine, select

from core.context import Context
from core.settings import Settings
from nodes.policy import refund_limits
from store.schema import orders
from tools.base import ToolContext
from tools.billing import refund_facts
from tools.refund_policy import RefundAsk, decide


@dataclass(frozen=True)
class Order:
    customer_id: str
    id: int
    total_cents: int


def refundable_orders(
    where: Context | str,
    *,
    above_cents: int = 0,
    below_cents: int | None = None,
    customer_id: str | None = None,
    customers: Iterable[str] | None = None,
    at: datetime | None = None,
) -> list[Order]:
    """Delivered orders the policy would refund in full at ``at`` (with or without a person's approval),
    by id: of a context's store (at its clock) or of a database URL (at the settings' clock, as a
    server with the same environment sees it); optionally one customer's, or a set's, within a range."""
    settings = where.settings if isinstance(where, Context) else Settings()
    url = settings.resolved_database_url() if isinstance(where, Context) else where
    now = at or settings.now()
    limits = refund_limits(settings)
    query = select(orders.c.customer_id, orders.c.id, orders.c.total_cents).where(
        orders.c.status == "delivered", orders.c.total_cents > above_cents
    )
    if below_cents is not None:
        query = query.where(orders.c.total_cents < below_cents)
    if customer_id is not None:
        query = query.where(orders.c.customer_id == customer_id)
    if customers is not None:
        query = query.where(orders.c.customer_id.in_(list(customers)))
    found = []
    with create_engine(url).connect() as conn:
        for row in conn.execute(query.order_by(orders.c.id)).all():
            tool_ctx = ToolContext(str(row.customer_id), "probe", "billing", now=now, refund_limits=limits)
            facts = refund_facts(conn, tool_ctx, int(row.id))
            if decide(facts, RefundAsk(), limits, now).may_run:
                found.append(Order(str(row.customer_id), int(row.id), int(row.total_cents)))
    return found


def approval_order(ctx: Context, *, customer_id: str | None = None, at: datetime | None = None) -> Order:
    """An order whose full refund one person must approve (above $500, below the four-eyes $1,000)."""
    found = refundable_orders(ctx, above_cents=50000, below_cents=100000, customer_id=customer_id, at=at)
    assert found, f"the seeded store has a refundable order between $500 and $1,000 ({customer_id or 'anyone'})"
    return found[0]


def four_eyes_order(ctx: Context, *, customer_id: str | None = None, at: datetime | None = None) -> Order:
    """An order whose full refund two different people must approve (above $1,000)."""
    found = refundable_orders(ctx, above_cents=100000, customer_id=customer_id, at=at)
    assert found, "the seeded store has a refundable delivered order above $1,000"
    return found[0]
