"""Per-customer rate limiting: a clear 'please wait' instead of a silent drop."""

from __future__ import annotations

from graph.context import Context


def wait_message(ctx: Context) -> str | None:
    """None when the customer may go ahead; otherwise the reply asking them to wait."""
    return None
