"""Invoices, payments, refunds and cancellation fees: what the billing specialist works with."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from store.schema import invoices, orders, payments, refunds
from tools.base import AmountUSD, Args, OrderId, ToolContext, ToolError, cents, usd
from tools.orders import owned_order

REFUNDABLE_STATUSES = ("shipped", "delivered")
OPEN_REFUND_STATUSES = ("pending", "completed")


def _day(value: Any) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else (value.isoformat() if value else None)


def get_invoice(conn: Connection, ctx: ToolContext, order_id: int) -> dict[str, Any]:
    owned_order(conn, ctx, order_id)
    row = conn.execute(select(invoices).where(invoices.c.order_id == order_id)).first()
    if row is None:
        raise ToolError(f"order {order_id} has no invoice yet")
    return {
        "invoice_id": row.id,
        "order_id": order_id,
        "amount": usd(row.amount_cents),
        "status": row.status,
        "issued_on": _day(row.issued_at),
        "due_on": _day(row.due_at),
    }


def describe_invoice(result: dict[str, Any]) -> list[str]:
    return [
        f"Invoice {result['invoice_id']} for order {result['order_id']} is {result['status']}: "
        f"{result['amount']}, issued on {result['issued_on']}."
    ]


class ListArgs(Args):
    limit: int = Field(default=5, ge=1, le=20)


def list_invoices(conn: Connection, ctx: ToolContext, limit: int = 5) -> dict[str, Any]:
    rows = conn.execute(
        select(invoices)
        .where(invoices.c.customer_id == ctx.customer_id)
        .order_by(invoices.c.issued_at.desc(), invoices.c.id.desc())
        .limit(limit)
    ).all()
    return {
        "invoices": [
            {
                "invoice_id": r.id,
                "order_id": r.order_id,
                "amount": usd(r.amount_cents),
                "status": r.status,
                "issued_on": _day(r.issued_at),
                "due_on": _day(r.due_at),
            }
            for r in rows
        ]
    }


def describe_invoices(result: dict[str, Any]) -> list[str]:
    if not result["invoices"]:
        return ["There are no invoices on your account."]
    return [line for inv in result["invoices"] for line in describe_invoice(inv)]


def get_payment_status(conn: Connection, ctx: ToolContext, order_id: int) -> dict[str, Any]:
    owned_order(conn, ctx, order_id)
    rows = conn.execute(
        select(payments).where(payments.c.order_id == order_id).order_by(payments.c.created_at, payments.c.id)
    ).all()
    return {
        "order_id": order_id,
        "payments": [
            {
                "amount": usd(r.amount_cents),
                "method": r.method,
                "card_last4": r.card_last4,
                "status": r.status,
                "on": _day(r.created_at),
            }
            for r in rows
        ],
    }


def describe_payments(result: dict[str, Any]) -> list[str]:
    if not result["payments"]:
        return [f"No payment has been taken for order {result['order_id']} yet."]
    facts = []
    for p in result["payments"]:
        method = f"card ending {p['card_last4']}" if p["card_last4"] else p["method"].replace("_", " ")
        facts.append(
            f"A payment of {p['amount']} by {method} on {p['on']} for order {result['order_id']} {p['status']}."
        )
    return facts


class RefundsArgs(Args):
    order_id: OrderId | None = None


def list_refunds(conn: Connection, ctx: ToolContext, order_id: int | None = None) -> dict[str, Any]:
    query = select(refunds).where(refunds.c.customer_id == ctx.customer_id)
    if order_id is not None:
        owned_order(conn, ctx, order_id)
        query = query.where(refunds.c.order_id == order_id)
    rows = conn.execute(query.order_by(refunds.c.created_at.desc(), refunds.c.id.desc()).limit(10)).all()
    return {
        "order_id": order_id,
        "refunds": [
            {
                "refund_id": r.id,
                "order_id": r.order_id,
                "amount": usd(r.amount_cents),
                "amount_cents": r.amount_cents,
                "status": r.status,
                "requested_on": _day(r.created_at),
            }
            for r in rows
        ],
    }


def describe_refunds(result: dict[str, Any]) -> list[str]:
    if not result["refunds"]:
        scope = f"order {result['order_id']}" if result["order_id"] else "your account"
        return [f"There are no refunds on {scope}."]
    return [
        f"Refund {r['refund_id']} of {r['amount']} for order {r['order_id']} requested on {r['requested_on']} is {r['status']}."
        for r in result["refunds"]
    ]


def _refunded_cents(conn: Connection, order_id: int) -> int:
    total = conn.execute(
        select(func.coalesce(func.sum(refunds.c.amount_cents), 0)).where(
            refunds.c.order_id == order_id, refunds.c.status.in_(OPEN_REFUND_STATUSES)
        )
    ).scalar_one()
    return int(total)


RETURN_LABEL_FEE_CENTS = 695  # change-of-mind returns (data/kb/cancellation-fees.md)


def get_cancellation_fee(conn: Connection, ctx: ToolContext, order_id: int) -> dict[str, Any]:
    """The store's policy: cancelling is free before shipping; afterwards only a return is possible."""
    order = owned_order(conn, ctx, order_id)
    cancellable = order.status == "pending"
    return {
        "order_id": order_id,
        "order_status": order.status,
        "cancellable": cancellable,
        "fee": usd(0) if cancellable else None,
        "return_label_fee": usd(RETURN_LABEL_FEE_CENTS) if order.status in REFUNDABLE_STATUSES else None,
    }


def describe_fee(result: dict[str, Any]) -> list[str]:
    order_id, status = result["order_id"], result["order_status"]
    if result["cancellable"]:
        return [f"Order {order_id} is {status}: cancelling it is free."]
    if result["return_label_fee"]:
        return [
            f"Order {order_id} is {status}, so it can no longer be cancelled; you can return it within 30 days, "
            f"with a {result['return_label_fee']} label fee for change-of-mind returns."
        ]
    return [f"Order {order_id} is {status}, so there is nothing left to cancel."]


class RefundArgs(Args):
    order_id: OrderId
    amount_usd: AmountUSD | None = None
    reason: str = Field(default="customer request", max_length=500)
    to_card_last4: str | None = Field(default=None, pattern=r"^(\d{4}|other)$")  # None: the original payment


def refundable_cents(conn: Connection, ctx: ToolContext, order_id: int) -> int:
    """What may still be refunded on an order (raises when the order cannot be refunded)."""
    order = owned_order(conn, ctx, order_id)
    if order.status not in REFUNDABLE_STATUSES:
        hint = " (cancel it instead)" if order.status == "pending" else ""
        raise ToolError(f"order {order_id} is {order.status} and cannot be refunded{hint}")
    return order.total_cents - _refunded_cents(conn, order_id)


def issue_refund(
    conn: Connection,
    ctx: ToolContext,
    order_id: int,
    amount_usd: Decimal | None = None,
    reason: str = "customer request",
    to_card_last4: str | None = None,
) -> dict[str, Any]:
    order = owned_order(conn, ctx, order_id)
    remaining = refundable_cents(conn, ctx, order_id)
    amount = remaining if amount_usd is None else cents(amount_usd)
    if remaining <= 0:
        raise ToolError(f"order {order_id} has already been refunded in full")
    if amount > remaining:
        raise ToolError(f"at most {usd(remaining)} can still be refunded on order {order_id}")
    now = datetime.now(UTC)
    refund_id = conn.execute(
        insert(refunds)
        .values(
            order_id=order_id,
            customer_id=ctx.customer_id,
            amount_cents=amount,
            status="pending",
            reason=reason if to_card_last4 is None else f"{reason} (to card {to_card_last4})",
            created_at=now,
            idempotency_key=ctx.idempotency_key,
        )
        .returning(refunds.c.id)
    ).scalar_one()
    full = amount == remaining
    if full:
        conn.execute(update(orders).where(orders.c.id == order_id).values(status="refunded"))
    return {
        "refund_id": refund_id,
        "order_id": order_id,
        "amount": usd(amount),
        "amount_cents": amount,
        "status": "pending",
        "previous_order_status": order.status,
        "full_refund": full,
        "destination": "the original payment method"
        if to_card_last4 is None
        else ("another card" if to_card_last4 == "other" else f"the card ending {to_card_last4}"),
    }


def describe_refund(result: dict[str, Any]) -> list[str]:
    return [
        f"Refund {result['refund_id']} of {result['amount']} for order {result['order_id']} has been issued.",
        f"Refunds reach {result.get('destination', 'the original payment method')} within 5 to 10 business days.",
    ]


def reverse_refund(conn: Connection, customer_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """Compensation for issue_refund: void the refund and put the order back as it was."""
    conn.execute(update(refunds).where(refunds.c.id == result["refund_id"]).values(status="reversed"))
    if result.get("full_refund"):
        conn.execute(
            update(orders).where(orders.c.id == result["order_id"]).values(status=result["previous_order_status"])
        )
    return {"reversed_refund": result["refund_id"], "at": datetime.now(UTC).isoformat()}
