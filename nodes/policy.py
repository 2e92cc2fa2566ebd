"""Approval policy as code: which actions wait for a person. Thresholds come from the context."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from core.context import Context


def approval_reason(tool: str, args: dict[str, Any], ctx: Context, *, unsure: bool = False) -> str | None:
    """Why this action needs a person, or None when the workflow may go ahead on its own."""
    if tool == "issue_refund":
        if args.get("to_card_last4"):
            return "a refund to a card other than the one that paid"
        raw = args.get("amount_usd")
        if raw is None:
            return "a refund without a stated amount"
        try:
            amount = Decimal(str(raw))
        except InvalidOperation:
            return "a refund with an unreadable amount"
        if not amount.is_finite():
            return "a refund with an unreadable amount"
        if amount > Decimal(str(ctx.settings.refund_approval_threshold_usd)):
            return f"a refund above ${ctx.settings.refund_approval_threshold_usd:,.0f}"
    if tool == "close_account":
        return "closing an account"
    if unsure and tool in {"issue_refund", "cancel_order", "update_shipping_address"}:
        return "the request was not understood with confidence"
    return None
