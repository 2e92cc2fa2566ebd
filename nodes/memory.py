"""Long-term memory per customer (LangGraph `Store`): the last conversations, summarised.

Each finished turn writes a short summary of its thread under the customer's
own namespace; the next conversation reads the last three, so an order number
given yesterday or a preferred language is not asked for again. Nodes only
ever read and write the namespace of the run's customer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import BaseStore

from core.state import SupportState

RECENT_CONVERSATIONS = 3
LANGUAGE = re.compile(
    r"\b(?:prefer|in|speak|answer in|reply in|write in)\s+(english|spanish|french|german|italian|portuguese|dutch)\b",
    re.I,
)


def namespace(customer_id: str) -> tuple[str, ...]:
    return ("customers", customer_id, "conversations")


def recall(store: BaseStore | None, customer_id: str, thread_id: str | None = None) -> dict[str, Any]:
    """What the latest conversations left (this thread's earlier turns included): summaries,
    order numbers mentioned, preferred language; ``thread_order_ids``: the orders of this
    conversation's earlier turns alone ("cancel it" means the order just discussed)."""
    if store is None or not customer_id:
        return {}
    items = list(store.search(namespace(customer_id), limit=50))
    items.sort(key=lambda i: i.value.get("updated_at", ""), reverse=True)
    recent = [i.value for i in items[:RECENT_CONVERSATIONS]]
    if not recent:
        return {}
    order_ids = [o for conv in recent for o in conv.get("order_ids", [])]
    language = next((c["language"] for c in recent if c.get("language")), None)
    # by key, not from the search above: that returns 50 conversations, not necessarily this one
    this_thread = store.get(namespace(customer_id), thread_id) if thread_id else None
    return {
        "summaries": [c["summary"] for c in recent],
        "order_ids": list(dict.fromkeys(order_ids)),
        "language": language,
        "thread_order_ids": list(this_thread.value.get("order_ids", []) if this_thread else []),
        "thread_intent": this_thread.value.get("intent") if this_thread else None,  # what its last turn asked
    }


def remember(store: BaseStore | None, customer_id: str, thread_id: str, state: SupportState, reply: str) -> None:
    """Write (overwrite) this thread's summary after a turn."""
    if store is None or not customer_id or state.get("status") == "error":
        return
    previous = store.get(namespace(customer_id), thread_id)
    earlier = previous.value if previous else {}
    # Newest first: what this turn used, then what it named, then what the thread had before.
    # An order a tool refused (another customer's, or no such order) is not remembered: the next
    # conversation would otherwise look it up again on its own.
    refused = _order_ids_refused(state)
    order_ids = list(
        dict.fromkeys(
            o
            for o in [
                *_order_ids_used(state),
                *state.get("entities", {}).get("order_ids", []),
                *earlier.get("order_ids", []),
            ]
            if o not in refused
        )
    )
    language = _language(state.get("request", "")) or earlier.get("language")
    topic = (state.get("intent") or "question").replace("_", " ")
    summary = f"{topic}: {state.get('request', '')[:120]} -> {reply[:160]}"
    store.put(
        namespace(customer_id),
        thread_id,
        {
            "summary": summary,
            "order_ids": order_ids[:5],
            "language": language,
            "intent": state.get("intent"),
            "updated_at": datetime.now(UTC).isoformat(),
        },
    )


def _order_ids_used(state: SupportState) -> list[int]:
    return [
        int(c["args"]["order_id"])
        for c in state.get("tool_calls", [])
        if c["outcome"] == "ok" and isinstance(c.get("args", {}).get("order_id"), int)
    ]


def _order_ids_refused(state: SupportState) -> set[int]:
    calls = [c for c in state.get("tool_calls", []) if isinstance(c.get("args", {}).get("order_id"), int)]
    return {int(c["args"]["order_id"]) for c in calls if c.get("error_type") == "AccessDenied"} - set(
        _order_ids_used(state)
    )


def _language(text: str) -> str | None:
    match = LANGUAGE.search(text)
    return match.group(1).lower() if match else None
