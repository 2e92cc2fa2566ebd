"""A one-node graph that reports what a server hands a run: the authenticated user and the run context.

Served next to `support` in tests/test_auth.py, so the tests can see what the graph would see
(``config["configurable"]["langgraph_auth_user"]`` and ``runtime.context``) on Aegra and on
`langgraph dev`, without depending on how the support graph uses them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime

USER_FIELDS = ("identity", "customer_id", "actor", "role", "permissions")


@dataclass(frozen=True)
class ProbeContext:
    customer_id: str = ""
    refund_approval_threshold_usd: float = 500.0


class ProbeState(TypedDict, total=False):
    note: str
    seen: dict[str, Any]


def probe(state: ProbeState, config: RunnableConfig, runtime: Runtime[ProbeContext]) -> dict[str, Any]:
    note = state.get("note", "")
    if note.startswith("sleep:"):  # a run that stays in flight, for crash tests
        time.sleep(float(note.split(":", 1)[1]))
    configurable = config.get("configurable", {})
    user = configurable.get("langgraph_auth_user")
    seen_user = {name: getattr(user, name, None) for name in USER_FIELDS} if user is not None else None
    if seen_user and seen_user["permissions"] is not None:
        seen_user["permissions"] = list(seen_user["permissions"])
    context = runtime.context
    return {
        "seen": {
            "user": seen_user,
            "user_type": type(user).__name__,
            "context": asdict(context) if context is not None else None,
            "configurable_user_id": configurable.get("user_id") or configurable.get("langgraph_auth_user_id"),
        }
    }


graph = StateGraph(ProbeState, context_schema=ProbeContext).add_node(probe).add_edge(START, "probe").compile()
graph.name = "probe"
