"""Who is acting in a run: from the server's authentication, or the trusted in-process caller.

On a server (`langgraph dev`, Aegra) the authenticated user rides in the run's config
(``configurable["langgraph_auth_user"]``, set by `server/auth.py`): that, and nothing a caller
puts in the run's context, says who acts. In-process callers (the CLI, tests, Python code)
are trusted: their `Context` says who they act for and as.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig

from core.context import Context

OPERATOR_ROLES = ("operator", "supervisor")


@dataclass(frozen=True)
class Identity:
    actor: str  # "customer:C0007", "operator:ann", "service:mail", "operator:cli", "workflow"
    role: str  # customer | operator | supervisor | service | local
    customer_id: str  # the customer this run acts for ("" when none is named)
    authenticated: bool  # True: from a server's authentication; False: a trusted in-process caller

    @property
    def is_operator(self) -> bool:
        return self.role in OPERATOR_ROLES or (not self.authenticated and self.actor.startswith("operator:"))


def _field(user: Any, name: str) -> str:
    value = user.get(name) if isinstance(user, Mapping) else getattr(user, name, None)
    return str(value or "")


def identity_of(config: RunnableConfig, ctx: Context) -> Identity:
    user = (config.get("configurable") or {}).get("langgraph_auth_user")
    if user is None:
        local_role = ctx.actor.split(":", 1)[0] if ":" in ctx.actor else "local"
        return Identity(actor=ctx.actor, role=local_role, customer_id=ctx.customer_id, authenticated=False)
    return Identity(
        actor=_field(user, "actor") or _field(user, "identity"),
        role=_field(user, "role"),
        customer_id=_field(user, "customer_id"),
        authenticated=True,
    )
