"""A person working a case: take it, reply in the customer's thread, return it to the bot, resolve it.

The person's replies are written into the conversation thread itself (a message in the thread's
checkpoint, as the assistant's are), so the customer reads them where they wrote, and the bot,
once the thread is released, continues with everything said. Every change is in the case
ledger (tools/cases.py): audited, and notified by webhook.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from sqlalchemy import update

from core.context import Context
from graph.builder import SupportGraph
from store.schema import tickets
from switchboard.app import UserError, pending_interrupts
from tools.cases import HELD, OPEN, case_messages_of, change_case, get_case, list_cases

STAFF = ("operator:", "supervisor:")


def _staff(actor: str) -> str:
    if not actor.startswith(STAFF) or len(actor.split(":", 1)[1]) == 0:
        raise UserError(f"--as must name a person, e.g. operator:ann or supervisor:bo (got {actor!r})")
    return actor


def _case(ctx: Context, case_id: int) -> dict[str, Any]:
    case = get_case(ctx.resources.engine, case_id)
    if case is None:
        raise UserError(f"unknown case {case_id} (see `switchboard cases`)")
    return case


def _holder_check(case: dict[str, Any], actor: str) -> None:
    """A held case is worked by its owner (a supervisor may step in)."""
    if case["status"] == "resolved":
        raise UserError(f"case {case['id']} is resolved")
    if case["owner"] and case["owner"] != actor and not actor.startswith("supervisor:"):
        raise UserError(f"case {case['id']} is held by {case['owner']}")


def _post(graph: SupportGraph, thread_id: str, text: str, author: str) -> None:
    """Write a person's message into the customer's thread (as a message of the conversation)."""
    if pending_interrupts(graph, thread_id):
        raise UserError(
            f"thread {thread_id} waits for an approval decision; decide it first (`switchboard inbox`), then reply"
        )
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    name = author.split(":", 1)[-1]
    graph.update_state(config, {"messages": [AIMessage(content=text, name=name)]}, as_node="finalize")


def cases_view(ctx: Context, *, owner: str | None = None, include_resolved: bool = False) -> list[dict[str, Any]]:
    statuses = (*OPEN, "resolved") if include_resolved else OPEN
    found = list_cases(ctx.resources.engine, owner=owner, statuses=statuses)
    return [
        {
            "case_id": c["id"],
            "status": c["status"],
            "owner": c["owner"],
            "urgency": c["urgency"],
            "sentiment": c["sentiment"],
            "customer_id": c["customer_id"],
            "thread_id": c["thread_id"],
            "ticket_id": c["ticket_id"],
            "unanswered": c["unanswered"],
            "created_at": c["created_at"],
            "summary": c["summary"],
        }
        for c in found
    ]


def show(ctx: Context, case_id: int) -> dict[str, Any]:
    case = _case(ctx, case_id)
    handover = json.loads(case.pop("handover_json") or "{}")
    messages = case_messages_of(ctx.resources.engine, case_id)
    return {**case, "handover": handover, "messages": messages}


def assign(ctx: Context, case_id: int, actor: str) -> dict[str, Any]:
    """Take the case: from now on the bot does not answer in its thread."""
    actor = _staff(actor)
    case = _case(ctx, case_id)
    _holder_check(case, actor)
    now = ctx.settings.now()
    return change_case(
        ctx.resources.engine,
        ctx.settings,
        case_id,
        actor=actor,
        action="case_assign",
        values={"status": "assigned", "owner": actor, "assigned_at": case["assigned_at"] or now},
        now=now,
    )


def reply(graph: SupportGraph, ctx: Context, case_id: int, actor: str, text: str) -> dict[str, Any]:
    """Answer the customer in their thread; an unassigned case is taken by whoever replies."""
    actor = _staff(actor)
    if not text.strip():
        raise UserError("the reply is empty")
    case = _case(ctx, case_id)
    _holder_check(case, actor)
    _post(graph, case["thread_id"], text.strip(), actor)
    now = ctx.settings.now()
    return change_case(
        ctx.resources.engine,
        ctx.settings,
        case_id,
        actor=actor,
        action="case_reply",
        values={
            "status": "waiting_on_customer",
            "owner": case["owner"] or actor,
            "assigned_at": case["assigned_at"] or now,
            "first_reply_at": case["first_reply_at"] or now,
        },
        now=now,
        message=("out", f"{case['thread_id']}:out:{uuid.uuid4().hex}", text.strip()),
    )


def release(graph: SupportGraph, ctx: Context, case_id: int, actor: str) -> dict[str, Any]:
    """Return the thread to the bot, which continues with everything said in it."""
    actor = _staff(actor)
    case = _case(ctx, case_id)
    _holder_check(case, actor)
    if case["status"] not in HELD:
        raise UserError(f"case {case_id} is not held by a person (status {case['status']})")
    _post(
        graph,
        case["thread_id"],
        "You are back with our virtual assistant; everything said in this conversation is kept. "
        "Write here any time, and a person can join again if needed.",
        actor,
    )
    now = ctx.settings.now()
    return change_case(
        ctx.resources.engine,
        ctx.settings,
        case_id,
        actor=actor,
        action="case_release",
        values={"status": "open", "owner": None, "released_at": now},
        now=now,
    )


def resolve(graph: SupportGraph, ctx: Context, case_id: int, actor: str, text: str | None = None) -> dict[str, Any]:
    """Close the case (and its ticket), optionally with a last message to the customer."""
    actor = _staff(actor)
    case = _case(ctx, case_id)
    _holder_check(case, actor)
    if text and text.strip():
        _post(graph, case["thread_id"], text.strip(), actor)
    now = ctx.settings.now()
    values: dict[str, Any] = {"status": "resolved", "resolved_at": now, "owner": case["owner"] or actor}
    if text and text.strip():
        values["first_reply_at"] = case["first_reply_at"] or now
    resolved = change_case(
        ctx.resources.engine,
        ctx.settings,
        case_id,
        actor=actor,
        action="case_resolve",
        values=values,
        now=now,
        message=("out", f"{case['thread_id']}:out:{uuid.uuid4().hex}", text.strip()) if text and text.strip() else None,
    )
    if case["ticket_id"]:
        with ctx.resources.engine.begin() as conn:
            conn.execute(
                update(tickets)
                .where(tickets.c.id == case["ticket_id"], tickets.c.status != "closed")
                .values(status="closed", closed_at=now)
            )
    return resolved
