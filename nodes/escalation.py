"""Escalation: a person takes over. Opens a ticket with the conversation and says so."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import SupportState
from nodes.desk import Desk
from nodes.instrument import instrumented


@instrumented("escalation")
def escalation(state: SupportState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    ctx = runtime.context
    desk = Desk.open("escalation", state.get("turn", 0), ctx, config, branch=state.get("branch", 0))
    safety = state.get("safety", "ok")
    complaint = state.get("intent") == "complaint"
    if safety != "ok":
        subject, priority = f"Safety ({safety}): needs a person now", "urgent"
    else:
        subject = ("Complaint: " if complaint else "Customer asks for a person: ") + state["request"][:80]
        priority = "high" if complaint else "normal"
    ticket = desk.call("create_ticket", subject=subject, body=state["request"], priority=priority)
    if safety != "ok":
        if not ticket.ok:  # the reply promised a person: keep that true another way
            return {**desk.update(), "status": "escalated", "fixed_reply": f"{state.get('fixed_reply') or ''} "
                    "If you are in danger, please call your local emergency number now.".strip()}
    elif ticket.ok:
        desk.tell("A member of our support team will reply within one business day.")
    else:
        desk.tell("I could not open a ticket just now; please write to support@northwind.example and a person will reply.")
    return {**desk.update(), "status": "escalated"}
