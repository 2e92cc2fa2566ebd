"""Intake: the first node of every turn. Says whose turn it is, validates and normalises the
message, starts the turn.

Whose turn: on a server, the authenticated user (`core.identity.identity_of`), never a run's
context; in-process, the trusted caller's `Context`. A new thread belongs to that customer; an
existing thread keeps its owner (``state["customer_id"]``), and a run that names another
customer is refused (audited) before anything of the thread is read. The nodes after intake act
for the owner (graph/owner.py), so a resume needs nothing from its caller but the decision.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import HumanMessage, RemoveMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command

from core.context import Context
from core.identity import Identity, identity_of
from core.state import INPUT_REJECTED, NEW_TURN, UNREADABLE, SupportState
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


def latest_customer_message(state: SupportState) -> HumanMessage | None:
    for message in reversed(state.get("messages", [])):
        if isinstance(message, HumanMessage):
            return message
    return None


def message_text(message: HumanMessage | None) -> str:
    """The text of a customer's message; `InputRejected` when it has none that can be read.

    Content may be a string or a list of parts (what agent-chat-ui sends: ``[{"type": "text",
    "text": ...}]``); only text parts count. A message the state's reducer could not read
    (content 12345, an object) carries the reason (`core.state.UNREADABLE`)."""
    if message is None:
        return ""
    if why := message.additional_kwargs.get(UNREADABLE):
        raise InputRejected(str(why))
    content = message.content
    if isinstance(content, str):
        return content
    texts = [
        part if isinstance(part, str) else str(part.get("text", ""))
        for part in content
        if isinstance(part, str) or (isinstance(part, dict) and part.get("type") == "text")
    ]
    if not texts:
        kinds = sorted({str(p.get("type", "?")) if isinstance(p, dict) else type(p).__name__ for p in content})
        raise InputRejected(f"the message has no text (only {', '.join(kinds) or 'nothing'}); please write it as text")
    return "\n".join(texts)


def latest_customer_text(state: SupportState) -> str:
    return message_text(latest_customer_message(state))


def refuse_other_customer(
    state: SupportState, ctx: Context, config: RunnableConfig, who: Identity, owner: str
) -> Command[Literal["coordinator", "escalation", "finalize", "__end__"]]:
    """A run for another customer than the thread's owner: audited, its message taken out of the
    owner's conversation, nothing else of the thread touched (no turn, no reply to the owner)."""
    thread_id = config["configurable"].get("thread_id")
    write_audit(
        ctx.resources.engine,
        action="owner_mismatch",
        outcome="refused",
        thread_id=thread_id,
        customer_id=owner,
        node="intake",
        actor=who.actor,
        args={"run_customer_id": who.customer_id},
        detail=f"a run for {who.customer_id} on a thread of {owner}",
    )
    message = latest_customer_message(state)
    return Command(
        update={
            "status": "error",
            "error": f"owner_mismatch: this thread belongs to another customer than {who.customer_id}",
            "reply": "This conversation belongs to another customer. Please start a new conversation.",
            "messages": [RemoveMessage(id=message.id)] if message is not None and message.id else [],
        },
        goto="__end__",
    )


@instrumented("intake")
def intake(
    state: SupportState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["coordinator", "escalation", "finalize", "__end__"]]:
    ctx = runtime.context
    who = identity_of(config, ctx)  # the server's authenticated user, or the trusted caller
    owner = state.get("customer_id") or ""
    if owner and who.customer_id and who.customer_id != owner:
        return refuse_other_customer(state, ctx, config, who, owner)
    customer_id = owner or who.customer_id
    if customer_id != ctx.customer_id:  # the rate limit, memory and audit below count for the owner
        ctx = ctx.with_(customer_id=customer_id)
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
    if not customer_id:
        return Command(
            update={
                **fresh,
                "status": "error",
                "error": "no customer id in the run context",
                "reply": "I cannot help without knowing which customer you are.",
            },
            goto="finalize",
        )
    fresh["customer_id"] = customer_id  # fixed by the thread's first turn
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
            customer_id=customer_id,
            node="intake",
            detail=", ".join(flags) + ": " + text[:300],
        )
    memory = recall(runtime.store, customer_id, config["configurable"].get("thread_id"))
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
