"""Outreach: an operator's message to many customers, chosen by rule, reviewed when policy says so.

    choose_audience -> write_message -> review_outreach (interrupt, above the threshold) -> queue_messages

The audience comes from the store (`find_audience`), never from a list a model wrote. The text is
the operator's, a template's, or a capable model's draft checked to state only the incident's
facts. Above `outreach_approval_threshold` recipients a person approves, edits or rejects it
first; a rejection queues nothing, an edit queues the edited text. Queuing is one idempotent
tool call (`queue_outreach`): a replayed or resumed run never queues a recipient twice.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from core.context import Context
from core.identity import OPERATOR_ROLES, identity_of
from core.state import OutreachState
from nodes import prompts
from nodes.approval import parse_decision
from nodes.desk import Desk
from nodes.instrument import instrumented
from nodes.llm import ask_model
from tools.audit import write_audit

NODE = "outreach"
TEMPLATE_SUBJECT = "An update from Northwind about {title}"
TEMPLATE_BODY = (
    "Hello {{name}},\n\nWe are writing because you may have been affected by a problem on our side: {title}. "
    "{body}\n\nYou do not need to do anything unless a payment or an order of yours is still not right; in that "
    "case, reply to this email and we will sort it out."
)
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_LINK_OR_MONEY = re.compile(r"https?://|www\.|\$\s?\d", re.I)


def new_outreach_id() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


def _desk(ctx: Context, config: RunnableConfig) -> Desk:
    return Desk.open(NODE, 0, ctx, config)


@instrumented("choose_audience")
def choose_audience(
    state: OutreachState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["write_message", "__end__"]]:
    desk = _desk(runtime.context, config)
    criteria: dict[str, Any] = {
        "incident_id": state.get("incident_id"),
        "order_statuses": list(state.get("order_statuses") or []),
        "customer_ids": list(state.get("customer_ids") or []),
    }
    args: dict[str, Any] = {k: v for k, v in criteria.items() if v}
    if state.get("limit"):
        args["limit"] = state["limit"]
    found = desk.call("find_audience", **args)
    if not found.ok or not found.result:
        return Command(
            update={"status": "error", "reply": f"No outreach: {found.error}", "tool_calls": desk.records},
            goto="__end__",
        )
    recipients = [c["customer_id"] for c in found.result["customers"]]
    if not recipients:
        return Command(
            update={"status": "nobody", "reply": "No customer matches these criteria: nothing to send.",
                    "recipients": [], "tool_calls": desk.records},
            goto="__end__",
        )  # fmt: skip
    update = {"recipients": recipients, "audience": found.result["criteria"], "incident": found.result.get("incident"),
              "tool_calls": desk.records}  # fmt: skip
    return Command(update=update, goto="write_message")


def checked_model_body(draft: str | None, facts: dict[str, str]) -> str | None:
    """A model's draft is used only when it greets by {name}, has no other placeholder, and states no
    link or amount: the review shows the text, but nothing unchecked should reach 100 inboxes."""
    if not draft or not draft.startswith("Hello {name},"):
        return None
    if set(_PLACEHOLDER.findall(draft)) - {"{name}"} or _LINK_OR_MONEY.search(draft):
        return None
    return draft.strip()


@instrumented("write_message")
def write_message(state: OutreachState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    if state.get("body"):
        subject = state.get("subject") or "A message from Northwind support"
        return {"subject": subject, "body": state["body"], "written_by": "operator"}
    facts = state.get("incident") or {
        "title": "your recent orders", "body": "We wanted to let you know about a problem we have fixed."}  # fmt: skip
    subject = state.get("subject") or TEMPLATE_SUBJECT.format(title=facts["title"].lower())
    planner = ctx.settings.planner_model
    if planner:
        fact_text = f"- Problem: {facts['title']}\n- What happened: {facts['body']}"
        drafted = ask_model(
            ctx,
            [SystemMessage(prompts.OUTREACH_SYSTEM), HumanMessage(prompts.OUTREACH_USER.format(facts=fact_text))],
            spec=planner,
        )
        body = checked_model_body(drafted, facts)
        if body:
            return {"subject": subject, "body": body, "written_by": "model"}
    return {"subject": subject, "body": TEMPLATE_BODY.format(**facts), "written_by": "template"}


def review_request(state: OutreachState, reason: str) -> dict[str, Any]:
    return {
        "action_requests": [
            {
                "name": "queue_outreach",
                "args": {
                    "outreach_id": state["outreach_id"],
                    "recipients": len(state["recipients"]),
                    "subject": state["subject"],
                    "body": state["body"],
                },  # fmt: skip
                "description": f"{reason}: {state.get('audience', '')}",
            }
        ],
        "review_configs": [{"action_name": "queue_outreach", "allowed_decisions": ["approve", "edit", "reject"]}],
    }


def needs_review(state: OutreachState, ctx: Context) -> str | None:
    """Policy: a message that would reach more than the threshold waits for a person."""
    threshold = ctx.settings.outreach_approval_threshold
    count = len(state.get("recipients", []))
    return f"a message to {count} customers (more than {threshold})" if count > threshold else None


@instrumented("review_outreach")
def review_outreach(
    state: OutreachState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["queue_messages", "review_outreach", "__end__"]]:
    ctx = runtime.context
    reason = needs_review(state, ctx)
    if reason is None:
        return Command(update={"reason": None}, goto="queue_messages")
    raw = interrupt(review_request(state, reason))
    who = identity_of(config, ctx)
    if who.role not in OPERATOR_ROLES:  # only a person on the support team decides
        write_audit(
            ctx.resources.engine, action="decision_refused", outcome="refused", thread_id=state["outreach_id"],
            node=NODE, actor=who.actor, tool="queue_outreach", detail="only operators decide an outreach",
        )  # fmt: skip
        return Command(goto="review_outreach")  # still waiting, for an operator
    try:
        decision = parse_decision(raw)
    except ValueError as exc:
        decision = {"type": "reject", "message": f"invalid decision: {exc}"}
    actor = who.actor  # who decides comes from the run's identity, never from the decision
    decision["actor"] = actor
    write_audit(
        ctx.resources.engine, action="approval", outcome=decision["type"], thread_id=state["outreach_id"],
        node=NODE, actor=actor, tool="queue_outreach",
        args={"recipients": len(state["recipients"]), **decision.get("args", {})},
        detail=f"outreach review ({reason}) {decision.get('message', '')}".strip(),
    )  # fmt: skip
    if decision["type"] == "reject":
        why = decision.get("message") or "not approved"
        return Command(
            update={"decision": decision, "status": "rejected", "reply": f"Outreach rejected ({why}): nothing sent."},
            goto="__end__",
        )
    edited = decision.get("args", {}) if decision["type"] == "edit" else {}
    update: dict[str, Any] = {"decision": decision, "reason": reason}
    for key in ("subject", "body"):
        if isinstance(edited.get(key), str) and edited[key].strip():
            update[key] = edited[key].strip()
    return Command(update=update, goto="queue_messages")


@instrumented("queue_messages")
def queue_messages(state: OutreachState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    ctx = runtime.context
    desk = _desk(ctx, config)
    outcome = desk.call(
        "queue_outreach",
        outreach_id=state["outreach_id"],
        subject=state["subject"],
        body=state["body"],
        customer_ids=list(state["recipients"]),
        per_minute=ctx.settings.outreach_per_minute,
        start_at=ctx.settings.now().isoformat(),
    )
    if not outcome.ok or not outcome.result:
        return {"status": "error", "reply": f"Outreach not queued: {outcome.error}", "tool_calls": desk.records}
    queued = outcome.result["queued"]
    return {
        "status": "queued",
        "reply": f"Outreach {state['outreach_id']}: {queued} messages queued for {state.get('audience', '')}.",
        "tool_calls": desk.records,
    }
