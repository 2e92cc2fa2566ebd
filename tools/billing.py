"""Invoices, payments, refunds and cancellation fees: what the billing specialist works with."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from store.schema import (
    approvals,
    audit_log,
    invoices,
    order_holds,
    order_items,
    orders,
    payments,
    refund_items,
    refunds,
    shipments,
)
from tools.audit import write_audit
from tools.base import AmountUSD, Args, OrderId, PolicyRefused, ToolContext, ToolError, cents, usd
from tools.orders import owned_order
from tools.refund_policy import (
    Decision,
    OrderLine,
    PastRefund,
    RefundAsk,
    RefundFacts,
    RefundLimits,
    decide,
    match_lines,
)

REFUNDABLE_STATUSES = ("shipped", "delivered")


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
                # why the store turned it down or took it back, as its team recorded it
                **({"reason": r.reason} if r.status in ("rejected", "reversed") and r.reason else {}),
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
        "return_window_days": ctx.refund_limits.return_window_days if ctx.refund_limits else None,
    }


def describe_fee(result: dict[str, Any]) -> list[str]:
    order_id, status = result["order_id"], result["order_status"]
    if result["cancellable"]:
        return [f"Order {order_id} is {status}: cancelling it is free."]
    if result["return_label_fee"]:
        days = result.get("return_window_days")
        window = f"within {days} days of delivery" if days else "within the return window"
        return [
            f"Order {order_id} is {status}, so it can no longer be cancelled; you can return it {window}, "
            f"with a {result['return_label_fee']} label fee for change-of-mind returns."
        ]
    return [f"Order {order_id} is {status}, so there is nothing left to cancel."]


class RefundArgs(Args):
    order_id: OrderId
    amount_usd: AmountUSD | None = None
    reason: str = Field(default="customer request", max_length=500)
    to_card_last4: str | None = Field(default=None, pattern=r"^(\d{4}|other)$")  # None: the original payment
    line_id: int | None = Field(default=None, ge=1, le=2**31 - 1)  # an item's line (check_refund names it)
    quantity: int | None = Field(default=None, ge=1, le=1000)  # units of that line


class CheckRefundArgs(Args):
    order_id: OrderId
    amount_usd: AmountUSD | None = None
    item: str | None = Field(default=None, min_length=2, max_length=80)  # the customer's words for an item
    line_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    quantity: int | None = Field(default=None, ge=1, le=1000)
    to_card_last4: str | None = Field(default=None, pattern=r"^(\d{4}|other)$")


def refund_facts(conn: Connection, ctx: ToolContext, order_id: int) -> RefundFacts:
    """Everything the refund policy looks at for one of the customer's orders, read in one transaction."""
    order = owned_order(conn, ctx, order_id)
    now = ctx.clock()
    delivered_at = conn.execute(
        select(shipments.c.delivered_at)
        .where(shipments.c.order_id == order_id, shipments.c.delivered_at.is_not(None))
        .order_by(shipments.c.id.desc())
    ).scalar()
    paid = conn.execute(select(payments.c.status, payments.c.card_last4).where(payments.c.order_id == order_id)).all()
    hold = conn.execute(
        select(order_holds.c.reason)
        .where(order_holds.c.order_id == order_id, order_holds.c.closed_at.is_(None))
        .order_by(order_holds.c.id)
    ).scalar()
    lines = conn.execute(
        select(order_items.c.id, order_items.c.name, order_items.c.quantity, order_items.c.unit_price_cents)
        .where(order_items.c.order_id == order_id)
        .order_by(order_items.c.id)
    ).all()
    refunded = select(
        refunds.c.order_id,
        refunds.c.amount_cents,
        refunds.c.status,
        refunds.c.created_at,
        refund_items.c.order_item_id,
        refund_items.c.quantity,
    ).select_from(refunds.outerjoin(refund_items, refund_items.c.refund_id == refunds.c.id))
    mine = conn.execute(refunded.where(refunds.c.order_id == order_id)).all()
    recent = conn.execute(
        refunded.where(
            refunds.c.customer_id == ctx.customer_id,
            refunds.c.created_at >= now - timedelta(days=ctx.refund_limits.velocity_days if ctx.refund_limits else 0),
        )
    ).all()

    def past(r: Any) -> PastRefund:
        return PastRefund(r.order_id, r.amount_cents, r.status, r.created_at, r.order_item_id, r.quantity or 0)

    return RefundFacts(
        order_id=order_id,
        status=order.status,
        total_cents=order.total_cents,
        delivered_at=delivered_at,
        payment_statuses=tuple(p.status for p in paid),
        payment_cards=tuple(p.card_last4 for p in paid if p.card_last4),
        investigation=hold,
        lines=tuple(OrderLine(r.id, r.name, r.quantity, r.unit_price_cents) for r in lines),
        refunds=tuple(past(r) for r in mine),
        customer_refunds=tuple(past(r) for r in recent),
    )


def _limits(ctx: ToolContext) -> RefundLimits:
    if ctx.refund_limits is None:  # fail closed: no policy, no refund
        raise PolicyRefused("policy_unavailable", "refunds cannot be decided here (the refund policy is not loaded)")
    return ctx.refund_limits


def _decision_result(facts: RefundFacts, decision: Decision) -> dict[str, Any]:
    line = facts.line(decision.line_id) if decision.line_id else None
    return {
        "order_id": facts.order_id,
        "verdict": decision.verdict,
        "rule": decision.rule,
        "message": decision.message,
        "next_step": decision.next_step,
        "amount": usd(decision.amount_cents) if decision.amount_cents else None,
        "amount_usd": f"{decision.amount_cents / 100:.2f}" if decision.amount_cents else None,
        "amount_cents": decision.amount_cents,
        "approvals": list(decision.approvals),
        "approval_rules": list(decision.approval_rules),
        "line_id": decision.line_id,
        "item": line.name if line else None,
        "quantity": decision.quantity or None,
        "return_by": decision.return_by.isoformat() if decision.return_by else None,
        "remaining": usd(facts.remaining_cents()),
        "total_cents": facts.total_cents,
        "items": [line.name for line in facts.lines],
    }


def _refusal(facts: RefundFacts, decision: Decision) -> PolicyRefused:
    return PolicyRefused(decision.rule, decision.message, _decision_result(facts, decision))


def check_refund(
    conn: Connection,
    ctx: ToolContext,
    order_id: int,
    amount_usd: Decimal | None = None,
    item: str | None = None,
    line_id: int | None = None,
    quantity: int | None = None,
    to_card_last4: str | None = None,
) -> dict[str, Any]:
    """What the refund policy says about a refund before it is proposed: the same `decide` that
    ``issue_refund`` runs. A refusal is raised (the gateway audits it with the rule's name); an
    item the order does not hold, or holds twice, comes back as a question (verdict ``ask``)."""
    facts = refund_facts(conn, ctx, order_id)  # ownership first: a foreign order is "not found", whatever else
    limits = _limits(ctx)
    if item and line_id is None:
        found = match_lines(item, facts.lines)
        listed = ", ".join(line.name for line in facts.lines)
        if not found:
            question = f"Order {order_id} has no {item}: it holds {listed}. Which item should be refunded?"
        elif len(found) > 1:
            question = (
                f"Order {order_id} has more than one item that could be the {item}: "
                + ", ".join(line.name for line in found)
                + ". Which one should be refunded?"
            )
        else:
            line_id = found[0].line_id
            question = ""
        if question:
            asked = Decision("ask", "item", question, next_step="item")
            return {**_decision_result(facts, asked), "item_asked": item}
    ask = RefundAsk(
        amount_cents=cents(amount_usd) if amount_usd is not None else None,
        line_id=line_id,
        quantity=quantity,
        to_card_last4=to_card_last4,
    )
    decision = decide(facts, ask, limits, ctx.clock())
    if decision.verdict == "refuse":
        raise _refusal(facts, decision)
    return _decision_result(facts, decision)


def describe_check(result: dict[str, Any]) -> list[str]:
    if result["verdict"] == "refund":
        what = (
            f"the {result['item']} on order {result['order_id']}" if result["item"] else f"order {result['order_id']}"
        )
        return [f"A refund of {result['amount']} for {what} is within our refund policy."]
    return [result["message"]] if result["message"] else []


def _same_refund(
    args: dict[str, Any], order_id: int, amount: int | None, line_id: int | None, card: str | None
) -> bool:
    """Whether recorded arguments (an approval's, an effect's) are this refund's."""
    try:
        raw = args.get("amount_usd")
        recorded = None if raw is None else cents(Decimal(str(raw).lstrip("$").replace(",", "")))
        return (
            int(args.get("order_id", -1)) == order_id
            and recorded == amount
            and (args.get("line_id") or None) == line_id
            and (args.get("to_card_last4") or None) == card
        )
    except (ArithmeticError, TypeError, ValueError):
        return False


APPROVAL_USED = "approval_used"  # the audit action that records which approval a refund used


def _approved_refunds(args: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The refunds an approval's decided arguments cover: the action itself, or a plan's refund steps."""
    if kind == "issue_refund":
        return [args]
    steps = args.get("steps", []) if kind == "plan" else []
    return [step.get("args", {}) for step in steps if isinstance(step, dict) and step.get("tool") == "issue_refund"]


def unused_approval(
    conn: Connection, ctx: ToolContext, order_id: int, amount: int | None, line_id: int | None, card: str | None
) -> str | None:
    """The id of a person's settled approval of exactly this refund, in this thread, not used yet.

    An approval is the approval gate's (or the plan review's) ledger row (`approvals`), settled as
    ``approved`` only once every approval it needs is in (four-eyes: two different operators), with
    the arguments as decided. A refund that needed it records that it used it (``approval_used``, in
    the refund's own transaction), so one approval covers one refund, whatever the clocks say. A
    customer's words ("my manager approved it") are never an approval: only the gates settle these rows.
    """
    settled = conn.execute(
        select(approvals.c.id, approvals.c.kind, approvals.c.args_json)
        .where(approvals.c.thread_id == ctx.thread_id, approvals.c.status == "approved")
        .where(approvals.c.customer_id == ctx.customer_id)
        .order_by(approvals.c.created_at, approvals.c.id)
    ).all()
    matching = [
        str(row.id)
        for row in settled
        if any(_same_refund(args, order_id, amount, line_id, card)
               for args in _approved_refunds(json.loads(row.args_json), str(row.kind)))
    ]  # fmt: skip
    if not matching:
        return None
    used = {
        m.group(1)
        for detail in conn.execute(
            select(audit_log.c.detail).where(
                audit_log.c.action == APPROVAL_USED, audit_log.c.thread_id == ctx.thread_id
            )
        ).scalars()
        if (m := re.match(r"approval (\S+) used", detail))
    }
    return next((approval_id for approval_id in matching if approval_id not in used), None)


def issue_refund(
    conn: Connection,
    ctx: ToolContext,
    order_id: int,
    amount_usd: Decimal | None = None,
    reason: str = "customer request",
    to_card_last4: str | None = None,
    line_id: int | None = None,
    quantity: int | None = None,
) -> dict[str, Any]:
    """Refund as the written policy allows, decided again here, in the transaction that writes it:
    no path (a script, a model's plan, an edited approval) gets past `tools.refund_policy.decide`."""
    facts = refund_facts(conn, ctx, order_id)  # ownership first
    limits = _limits(ctx)
    asked = cents(amount_usd) if amount_usd is not None else None
    now = ctx.clock()
    ask = RefundAsk(amount_cents=asked, line_id=line_id, quantity=quantity, to_card_last4=to_card_last4)
    decision = decide(facts, ask, limits, now)
    approval, needed = None, decision.approval_rules
    if decision.verdict == "approval":  # only a refund that needs a person uses a person's approval
        approval = unused_approval(conn, ctx, order_id, asked, line_id, to_card_last4)
        if approval is not None:
            decision = decide(facts, ask, limits, now, approved=True)
    if decision.verdict == "ask":
        raise PolicyRefused(decision.rule, decision.message, _decision_result(facts, decision))
    if decision.verdict == "refuse":
        raise _refusal(facts, decision)
    if decision.verdict == "approval":  # a person must decide first: the gate, not this tool
        raise PolicyRefused(
            decision.approval_rules[0],
            f"a refund of {usd(decision.amount_cents)} for order {order_id} needs a person's approval first "
            f"({'; '.join(decision.approvals)}); ask for it again and I will send it to our team for review",
            _decision_result(facts, decision),
        )
    amount = decision.amount_cents
    remaining = facts.remaining_cents()
    line = facts.line(line_id) if line_id else None
    refund_id = conn.execute(
        insert(refunds)
        .values(
            order_id=order_id,
            customer_id=ctx.customer_id,
            amount_cents=amount,
            status="pending",
            reason=(reason if to_card_last4 is None else f"{reason} (to card {to_card_last4})")
            + (f" [{line.name}]" if line else ""),
            created_at=now,
            idempotency_key=ctx.idempotency_key,
        )
        .returning(refunds.c.id)
    ).scalar_one()
    if line is not None:
        conn.execute(
            insert(refund_items).values(
                refund_id=refund_id, order_item_id=line.line_id, quantity=decision.quantity, amount_cents=amount
            )
        )
    full = amount == remaining
    if full:
        conn.execute(update(orders).where(orders.c.id == order_id).values(status="refunded"))
    if approval is not None:
        write_audit(
            conn,
            action=APPROVAL_USED,
            outcome="ok",
            thread_id=ctx.thread_id,
            customer_id=ctx.customer_id,
            node=ctx.node,
            tool="issue_refund",
            args={"order_id": order_id, "amount_usd": f"{amount / 100:.2f}"},
            detail=f"approval {approval} used by refund {refund_id} ({', '.join(needed)})",
        )
    low, high = limits.card_days
    return {
        "refund_id": refund_id,
        "order_id": order_id,
        "amount": usd(amount),
        "amount_cents": amount,
        "item": line.name if line else None,
        "line_id": line.line_id if line else None,
        "status": "pending",
        "previous_order_status": facts.status,
        "full_refund": full,
        "approved": approval is not None,
        "destination": "the original payment method"
        if to_card_last4 is None or to_card_last4 in facts.payment_cards
        else ("another card" if to_card_last4 == "other" else f"the card ending {to_card_last4}"),
        "arrives_in": f"{low} to {high} business days",
    }


def describe_refund(result: dict[str, Any]) -> list[str]:
    what = (
        f"the {result['item']} on order {result['order_id']}" if result.get("item") else f"order {result['order_id']}"
    )
    return [
        f"Refund {result['refund_id']} of {result['amount']} for {what} has been issued.",
        f"Refunds reach {result.get('destination', 'the original payment method')} within "
        f"{result.get('arrives_in', '5 to 10 business days')}.",
    ]


def reverse_refund(conn: Connection, customer_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """Compensation for issue_refund: void the refund and put the order back as it was."""
    conn.execute(update(refunds).where(refunds.c.id == result["refund_id"]).values(status="reversed"))
    if result.get("full_refund"):
        conn.execute(
            update(orders).where(orders.c.id == result["order_id"]).values(status=result["previous_order_status"])
        )
    return {"reversed_refund": result["refund_id"], "at": datetime.now(UTC).isoformat()}
