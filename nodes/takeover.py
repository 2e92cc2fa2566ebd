"""Takeover: while a person holds a conversation, the bot does not answer in it.

A case (tools/cases.py) opened by an escalation is held once a person takes it (``assigned``,
or ``waiting_on_customer`` after they replied). Intake calls `takeover` first thing each turn:
for a held thread the customer's message goes to that person's queue and the turn ends at once
with status ``with_agent``, no reply and no tool call. Every turn also carries the case's status
as the customer may see it ("a person is looking at this"). Releasing or resolving the case
returns the thread to the bot, which continues with everything said in it.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig

from core.context import Context
from core.state import CaseView, SupportState
from nodes.desk import thread_id_of
from tools.cases import HELD, case_of_thread, change_case

NOTES = {
    "open": "Your case {id} is open: a person from our team will pick it up here soon.",
    "assigned": "A person from our team is looking at this (case {id}); they will reply here.",
    "waiting_on_customer": "A person from our team replied and is waiting for your answer (case {id}).",
    "resolved": "Your case {id} is resolved.",
}


def case_view(case: dict[str, Any]) -> CaseView:
    return {
        "id": int(case["id"]),
        "status": str(case["status"]),
        "with_agent": case["status"] in HELD and bool(case["owner"]),
        "note": NOTES.get(case["status"], "").format(id=case["id"]),
    }


def takeover(
    state: SupportState, ctx: Context, config: RunnableConfig, text: str
) -> tuple[CaseView | None, dict[str, Any] | None]:
    """(the case as the customer sees it, or None; the turn's update when a person holds the thread, or None)."""
    thread_id = thread_id_of(config)
    case = case_of_thread(ctx.resources.engine, thread_id)
    if case is None:
        return None, None
    view = case_view(case)
    if not view["with_agent"]:
        return view, None
    latest = next((m for m in reversed(state.get("messages", [])) if isinstance(m, HumanMessage)), None)
    key = f"{thread_id}:in:{latest.id if latest is not None and latest.id else state.get('turn', 0) + 1}"
    case = change_case(
        ctx.resources.engine,
        ctx.settings,
        int(case["id"]),
        actor=f"customer:{state.get('customer_id') or ctx.customer_id}",
        action="case_customer_message",
        values={"status": "assigned"},  # the person's turn to answer
        now=ctx.settings.now(),
        message=("in", key, text),
    )
    view = case_view(case)
    view["note"] = "Your message went to the person handling your case; they will reply here."
    return view, {"status": "with_agent", "reply": "", "case": view}
