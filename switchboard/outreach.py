"""Running the outreach graph for the CLI: start one, decide one, read where it stands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from core.context import Context
from core.settings import Settings
from core.state import OutreachInput
from graph.outreach import OutreachGraph, build_outreach_graph
from nodes.outreach import new_outreach_id
from switchboard.app import UserError, open_checkpointer, open_store

OUTREACH_PREFIX = "o-"


def is_outreach(thread_id: str) -> bool:
    return thread_id.startswith(OUTREACH_PREFIX)


@contextmanager
def open_outreach_graph(settings: Settings) -> Iterator[OutreachGraph]:
    url = settings.resolved_checkpoint_url()
    with open_checkpointer(url) as saver, open_store(url) as store:
        yield build_outreach_graph().compile(checkpointer=saver, store=store)


def _config(outreach_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": outreach_id}}


def outcome(graph: OutreachGraph, outreach_id: str) -> dict[str, Any]:
    """Where an outreach stands: status, recipients, the text, what a person is asked to decide."""
    snapshot = graph.get_state(_config(outreach_id))
    if not snapshot.values:
        raise UserError(f"unknown outreach {outreach_id!r}")
    values = snapshot.values
    waiting = [i.value for task in snapshot.tasks for i in task.interrupts]
    return {
        "outreach_id": outreach_id,
        "status": "awaiting_approval" if waiting else values.get("status", "error"),
        "recipients": len(values.get("recipients", [])),
        "audience": values.get("audience", ""),
        "subject": values.get("subject"),
        "body": values.get("body"),
        "written_by": values.get("written_by"),
        "reply": (f"Outreach {outreach_id} to {len(values.get('recipients', []))} customers waits for a person "
                  f"({values.get('reason') or waiting[0]['action_requests'][0]['description']}).")
        if waiting else values.get("reply", ""),
        "request": waiting[0] if waiting else None,
    }  # fmt: skip


def start_outreach(graph: OutreachGraph, ctx: Context, request: OutreachInput) -> dict[str, Any]:
    outreach_id = request.get("outreach_id") or new_outreach_id()
    graph.invoke({**request, "outreach_id": outreach_id}, _config(outreach_id), context=ctx)
    return outcome(graph, outreach_id)


def decide_outreach(graph: OutreachGraph, ctx: Context, outreach_id: str, decision: dict[str, Any]) -> dict[str, Any]:
    snapshot = graph.get_state(_config(outreach_id))
    if not any(task.interrupts for task in snapshot.tasks):
        raise UserError(f"outreach {outreach_id} is not waiting for a decision")
    graph.invoke(Command(resume=decision), _config(outreach_id), context=ctx)
    return outcome(graph, outreach_id)
