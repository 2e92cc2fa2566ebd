"""Intake: the first node of every turn. Validates and normalises the message, starts the turn."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command

from core.context import Context
from core.state import INPUT_REJECTED, NEW_TURN, SupportState
from nodes.entities import extract_entities
from nodes.guards.message import InputRejected, injection_flags, validate_message
from nodes.guards.ratelimit import wait_message
from nodes.guards.safety import screen_message
from nodes.instrument import instrumented
from nodes.memory import recall
from nodes.smalltalk import canned_reply
from nodes.takeover import takeover
from tools.audit import write_audit

PER_TURN_LISTS = (
    "tool_calls",
    "citations",
    "node_metrics",
    "facts",
    "evidence",
    "passages",
    "departments",
    "held_actions",
    "open_parts",
)


FOLLOW_UP_MAX_WORDS = 12
ANSWER_ENTITIES = ("order_id", "address", "amount_usd")


def follow_up_of(state: SupportState, text: str, ctx: Context) -> tuple[str, dict[str, Any]] | None:
    """(request, entities) when this message answers the question the last turn asked.

    "What is the new address for order 11197?" -> "12 Oak Ave, Portland, OR 97205": the answer
    alone means nothing, so it joins the earlier request and its details. A message that is a
    request of its own (the classifier is sure of it, and it is not a short answer) starts over.
    """
    previous = state.get("request")
    open_parts = [p for p in state.get("open_parts", []) if p != NEW_TURN]
    if state.get("status") != "needs_info" and len(open_parts) == 1:
        previous = open_parts[0]  # the one part of a multi-issue message that asked something
    elif state.get("status") != "needs_info":
        return None
    if not previous or len(previous) + len(text) > ctx.settings.max_message_chars:
        return None
    found = extract_entities(text, answering=True)
    short_answer = len(text.split()) <= FOLLOW_UP_MAX_WORDS and any(k in found for k in ANSWER_ENTITIES)
    if not short_answer and ctx.resources.classifier.predict(text).confidence >= ctx.settings.classifier_min_confidence:
        return None
    return f"{previous}\n{text}", {**state.get("entities", {}), **found}


def latest_customer_text(state: SupportState) -> str:
    for message in reversed(state.get("messages", [])):
        if isinstance(message, HumanMessage):
            return message.content if isinstance(message.content, str) else str(message.content)
    return ""


@instrumented("intake")
def intake(
    state: SupportState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["coordinator", "escalation", "finalize", "__end__"]]:
    ctx = runtime.context
    turn = state.get("turn", 0) + 1
    fresh: dict[str, Any] = {name: [NEW_TURN] for name in PER_TURN_LISTS}
    fresh.update(
        turn=turn,
        intent=None,
        department=None,
        confidence=0.0,
        question=None,
        pending_action=None,
        decision=None,
        draft="",
        draft_attempts=0,
        draft_problems=[],
        error=None,
        reply="",
        status="answered",
        entities={},
        injection_flags=[],
        fixed_reply=None,
        safety="ok",
    )
    if not ctx.customer_id:
        return Command(
            update={
                **fresh,
                "status": "error",
                "error": "no customer id in the run context",
                "reply": "I cannot help without knowing which customer you are.",
            },
            goto="finalize",
        )
    # the owner is fixed by the first turn; callers check it before a run (switchboard.app, server.auth)
    fresh["customer_id"] = state.get("customer_id") or ctx.customer_id
    try:
        text = validate_message(latest_customer_text(state), max_chars=ctx.settings.max_message_chars)
    except InputRejected as exc:
        return Command(
            update={
                **fresh,
                "status": "error",
                "error": f"{INPUT_REJECTED}{exc}",
                "reply": f"Sorry, I could not read that message: {exc}.",
            },
            goto="finalize",
        )
    wait = wait_message(ctx)
    if wait:
        return Command(update={**fresh, "status": "error", "error": "rate_limited", "reply": wait}, goto="finalize")
    fresh["case"], held = takeover(state, ctx, config, text)  # a person holds the thread: the bot stays silent
    if held is not None:
        return Command(update={**fresh, **held}, goto="__end__")
    flags = injection_flags(text)
    if flags:
        # Text that claims approval or a new role is data: flag it and carry on under the same policy.
        write_audit(
            ctx.resources.engine,
            action="injection_flagged",
            outcome="flagged",
            thread_id=config["configurable"].get("thread_id"),
            customer_id=ctx.customer_id,
            node="intake",
            detail=", ".join(flags) + ": " + text[:300],
        )
    memory = recall(runtime.store, ctx.customer_id, config["configurable"].get("thread_id"))
    request, entities = follow_up_of(state, text, ctx) or (text, extract_entities(text))
    update = {**fresh, "request": request, "entities": entities, "injection_flags": flags, "memory": memory}
    verdict = screen_message(text)
    if verdict.reply and verdict.escalate:
        return Command(
            update={
                **update,
                "safety": verdict.kind,
                "fixed_reply": verdict.reply,
                "department": "escalation",
                "departments": [NEW_TURN, "escalation"],
            },
            goto="escalation",
        )
    if verdict.reply:
        return Command(update={**update, "safety": verdict.kind, "reply": verdict.reply}, goto="finalize")
    canned = canned_reply(text)  # a greeting, a thank-you, a language we do not read: no department needed
    if canned:
        return Command(
            update={**update, "intent": canned.kind, "fixed_reply": canned.reply, "reply": canned.reply},
            goto="finalize",
        )
    return Command(update=update, goto="coordinator")
