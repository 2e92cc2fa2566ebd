"""Escalation: a person takes over. Opens a ticket, and a case with a structured hand-over
(nodes/handover.py) that a person can act on without reading the transcript, and says so.

A complaint is acknowledged first. A customer writing again about the same problem (the
coordinator's ``repeat_contact``) gets an apology for having to, a high-priority ticket, and,
when the message reports a faulty or damaged item, what the store's policy offers for it.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from core.context import Context
from core.state import SupportState
from nodes.desk import Desk, public_article, tell_section, thread_id_of
from nodes.handover import build_handover, write_summary
from nodes.instrument import instrumented
from nodes.takeover import case_view
from tools.cases import open_case

DEFECT_ARTICLE = "damaged-or-defective-items"
_DEFECT = re.compile(
    r"\b(?:broken|broke|cracked|damaged|dented|smashed|faulty|defective|dead|leak\w*|stopped working|"
    r"doesn'?t work|does not work|won'?t (?:turn|switch|power|charge|work)|not working|no power|dead keys)\b",
    re.IGNORECASE,
)
_TICKET_NUMBER = re.compile(r"\b(?:ticket|case)\s*(?:number\s*|no\.?\s*|#\s*)?(\d{1,9})\b", re.IGNORECASE)


def ticket_status(desk: Desk, request: str) -> dict[str, Any]:
    """The customer's tickets (or the one they name), read; nothing is opened."""
    listed = desk.call("list_tickets", limit=20, quiet=True)
    named = _TICKET_NUMBER.search(request)
    tickets = (listed.result or {}).get("tickets", []) if listed.ok else []
    if named:
        wanted = [t for t in tickets if t["ticket_id"] == int(named.group(1))]
        if wanted:
            t = wanted[0]
            desk.tell(f'Ticket {t["ticket_id"]} "{t["subject"]}" is {t["status"]}.')
        elif listed.ok:
            desk.tell(f"I could not find ticket {named.group(1)} on your account.")
    elif listed.ok:
        for fact in listed.facts[:5]:
            desk.tell(fact)
    return {**desk.update(), "status": "answered"}


@instrumented("escalation")
def escalation(state: SupportState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    ctx = runtime.context
    desk = Desk.open("escalation", state.get("turn", 0), ctx, config, branch=state.get("branch", 0))
    if state.get("intent") == "ticket_status":
        return ticket_status(desk, state["request"])
    safety = state.get("safety", "ok")
    complaint = state.get("intent") == "complaint"
    repeat = bool(state.get("entities", {}).get("repeat_contact"))
    body = state["request"]
    if safety != "ok":
        # the subject may be read back to the customer ("any news on my ticket?"): the kind goes in the body
        subject, priority, body = "A person will contact you", "urgent", f"[safety: {safety}] {body}"
    else:
        kind = "Complaint (not the first contact): " if repeat else "Complaint: " if complaint else None
        subject = (kind or "Customer asks for a person: ") + state["request"][:80]
        priority = "high" if complaint else "normal"
        if repeat:
            desk.tell("I'm sorry you have had to write to us again about this, and that it has not been put right yet.")
        elif complaint:
            desk.tell("I'm sorry about this.")
    ticket = desk.call("create_ticket", subject=subject, body=body, priority=priority)
    case = hand_over(state, ctx, config, desk, ticket.result["ticket_id"] if ticket.ok and ticket.result else None)
    if safety != "ok":
        if not ticket.ok:  # the reply promised a person: keep that true another way
            return {
                **desk.update(),
                "status": "escalated",
                "case": case,
                "fixed_reply": f"{state.get('fixed_reply') or ''} "
                "If you are in danger, please call your local emergency number now.".strip(),
            }
    elif ticket.ok:
        desk.tell("A member of our support team will reply within one business day.")
        if complaint and _DEFECT.search(state["request"]):  # what the person can offer, from the policy
            article = public_article(ctx, DEFECT_ARTICLE)
            if article:
                tell_section(
                    desk,
                    article,
                    DEFECT_ARTICLE,
                    "What happens next",
                    keep=lambda s: bool(re.search(r"replacement|refund|Return shipping", s)),
                    lead="For an item that arrived damaged or does not work, you can choose: ",
                )
    else:
        desk.tell(
            "I could not open a ticket just now; please write to support@northwind.example and a person will reply."
        )
    return {**desk.update(), "status": "escalated", "case": case}


def hand_over(state: SupportState, ctx: Context, config: RunnableConfig, desk: Desk, ticket_id: int | None) -> Any:
    """Open the case a person picks up, with the hand-over (once per escalation step)."""
    thread_id = thread_id_of(config)
    handover = write_summary(ctx, state, build_handover(state, ctx, thread_id, ticket_id=ticket_id, facts=desk.facts))
    case = open_case(
        ctx.resources.engine,
        ctx.settings,
        key=f"{thread_id}:b{state.get('branch', 0)}:t{state.get('turn', 0)}:escalation",
        thread_id=thread_id,
        customer_id=state.get("customer_id") or ctx.customer_id,
        ticket_id=ticket_id,
        urgency=handover["urgency"],
        sentiment=handover["sentiment"],
        summary=handover["summary"],
        handover=handover,
        now=ctx.settings.now(),
    )
    return case_view(case)
