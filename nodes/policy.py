"""Approval policy as code: which actions wait for a person. Its numbers come from the settings.

Refunds follow the store's written refund policy, defined once in `tools.refund_policy` and
applied both here (plan time) and inside ``issue_refund`` (execution time). What can be judged
from a refund's arguments alone is judged here; what needs the store (the order's earlier refunds,
the return window, a disputed payment) is read by the ``check_refund`` tool before a refund is
proposed, and its approval reasons are passed in as ``checked``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from core.context import Context
from core.settings import Settings
from tools.base import cents
from tools.refund_policy import RefundLimits, approval_reasons, business_days, month_day


def refund_limits(settings: Settings) -> RefundLimits:
    """The refund policy's numbers, from the one settings source (the help articles state the same)."""
    return RefundLimits(
        return_window_days=settings.return_window_days,
        approval_threshold_cents=cents(Decimal(str(settings.refund_approval_threshold_usd))),
        approval_window_days=settings.refund_approval_window_days,
        velocity_max_refunds=settings.refund_velocity_max_refunds,
        velocity_max_cents=cents(Decimal(str(settings.refund_velocity_max_usd))),
        velocity_days=settings.refund_velocity_days,
        holiday_delivered_from=month_day(settings.holiday_delivered_from),
        holiday_delivered_to=month_day(settings.holiday_delivered_to),
        holiday_returns_until=month_day(settings.holiday_returns_until),
        card_days=business_days(settings.refund_card_days),
    )


def approval_reason(
    tool: str, args: dict[str, Any], ctx: Context, *, unsure: bool = False, checked: list[str] | None = None
) -> str | None:
    """Why this action needs a person, or None when the workflow may go ahead on its own.

    ``checked``: the approval reasons the refund policy gave after reading the store (cumulative
    threshold, velocity); without them only the arguments are judged."""
    if tool == "issue_refund":
        raw = args.get("amount_usd")
        amount: int | None = None
        if raw is not None:
            try:
                value = Decimal(str(raw))
            except InvalidOperation:
                return "a refund with an unreadable amount"
            if not value.is_finite():
                return "a refund with an unreadable amount"
            amount = cents(value)
        card = args.get("to_card_last4")
        reasons = list(
            dict.fromkeys(
                [*approval_reasons(amount, str(card) if card else None, refund_limits(ctx.settings)), *(checked or [])]
            )
        )
        if reasons:
            return "; ".join(reasons)
    if tool == "close_account":
        return "closing an account"
    if unsure and tool in {"issue_refund", "cancel_order", "update_shipping_address"}:
        return "the request was not understood with confidence"
    return None
