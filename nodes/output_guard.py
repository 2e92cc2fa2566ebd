"""Output guardrails: the last look at a reply before it reaches the customer.

`screen_reply` returns the reply to send: the draft itself when it is clean,
or a safe replacement when it would leak what it must not.
"""

from __future__ import annotations

from graph.context import Context
from graph.state import SupportState


def screen_reply(reply: str, state: SupportState, ctx: Context) -> str:
    return reply
