"""Operating on conversation threads: inbox, resume, history, rollback.

Every function reads the checkpoint, so each can run in a fresh process
(another terminal, another machine on the same database) from the one that
started the thread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from core.context import Context
from core.state import NEW_TURN
from graph.builder import SupportGraph
from nodes.waiting import mark_decided, mark_waiting, waiting_threads
from switchboard.app import UserError, finish, pending_interrupts, thread_customer, waiting_on
from tools.audit import write_audit
from tools.compensation import compensate_after, effects_after

DEPARTMENTS = ("billing", "technical", "general", "escalation")


def _config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable = {"thread_id": thread_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def inbox(graph: SupportGraph, *, scan: bool = False, now: datetime | None = None) -> list[dict[str, Any]]:
    """Threads waiting for a person, newest first, with what they wait on and where the review
    stands: approvals had and needed (four-eyes), who approved, the deadline, the queue
    (operators, or supervisors once overdue) and whether it is overdue as of ``now``.

    Reads the index the gates keep in the graph's Store (`nodes.waiting`). ``scan`` (or a graph
    without a Store) lists every checkpoint instead, the way to find threads paused before the
    index existed; it adds what it finds to the index."""
    store = graph.store
    if store is None or scan:
        # Collect first: the SQLite saver holds its lock while a listing is open.
        candidates: dict[str, str] = {}
        saver = graph.checkpointer
        assert isinstance(saver, BaseCheckpointSaver), "the inbox reads a graph compiled with a checkpointer"
        for item in saver.list(None):
            candidates.setdefault(item.config["configurable"]["thread_id"], item.checkpoint["ts"])
    else:
        candidates = {thread_id: str(entry.get("since", "")) for thread_id, entry in waiting_threads(store).items()}
    waiting = []
    for thread_id, since in candidates.items():
        pending = pending_interrupts(graph, thread_id)
        if not pending:
            if not scan:
                mark_decided(store, thread_id)  # left behind by a crash or a rollback
            continue
        customer_id = thread_customer(graph, thread_id)
        for interrupt_ in pending:
            value = interrupt_.value if isinstance(interrupt_.value, dict) else {}
            if scan:
                mark_waiting(store, thread_id, customer_id, value)
            approval = value.get("approval") or {}
            review = {
                "approvals": approval.get("approvals", 0),
                "needed": approval.get("needed", 1),
                "approved_by": approval.get("approved_by", []),
                "deadline": approval.get("deadline"),
                "queue": approval.get("queue", "operators"),
                "overdue": bool(
                    now and approval.get("deadline") and datetime.fromisoformat(approval["deadline"]) <= now
                ),
                "note": approval.get("note", ""),
            }
            for request, config in zip(value.get("action_requests", []), value.get("review_configs", []), strict=False):
                waiting.append(
                    {
                        "thread_id": thread_id,
                        "customer_id": customer_id,
                        "action": request["name"],
                        "args": request["args"],
                        "description": request["description"],
                        "allowed_decisions": config["allowed_decisions"],
                        "since": approval.get("since") or since,
                        **review,
                    }
                )
    waiting.sort(key=lambda row: row["since"], reverse=True)
    return waiting


def resume(graph: SupportGraph, base: Context, thread_id: str) -> dict[str, Any]:
    """Continue a thread from its last checkpoint (after a crash or a kill)."""
    snapshot = graph.get_state(_config(thread_id))
    owner = snapshot.values.get("customer_id") or (snapshot.metadata or {}).get("customer_id")
    if not owner:
        raise UserError(f"unknown thread {thread_id!r}")
    ctx = base.with_(customer_id=str(owner))
    if waiting_on(snapshot):
        return {**finish(graph, thread_id), "resumed": False, "note": "waiting for a decision"}
    # `next` omits tasks whose writes were saved before the crash; they still need their successors run.
    if snapshot.next or snapshot.tasks:
        graph.invoke(None, _config(thread_id), context=ctx)
        return {**finish(graph, thread_id), "resumed": True}
    return {**finish(graph, thread_id), "resumed": False, "note": "nothing to resume"}


def history(graph: SupportGraph, base: Context, thread_id: str) -> list[dict[str, Any]]:
    """Checkpoints oldest first: step, the node that runs next, and the effects made after it."""
    snapshots = list(graph.get_state_history(_config(thread_id)))
    if not snapshots:
        raise UserError(f"unknown thread {thread_id!r}")
    effects = effects_after(base.resources.engine, thread_id, None)
    rows = []
    for snap in reversed(snapshots):
        created = datetime.fromisoformat(snap.created_at) if snap.created_at else None
        rows.append(
            {
                "checkpoint_id": snap.config["configurable"]["checkpoint_id"],
                "step": snap.metadata.get("step") if snap.metadata else None,
                "turn": snap.values.get("turn"),
                "next": list(snap.next),
                "created_at": snap.created_at,
                "effects_after": [
                    {"tool": e["tool"], "key": e["idempotency_key"], "compensated": e["compensated_at"] is not None}
                    for e in effects
                    if created is None or _aware(e["created_at"]) > created
                ],
            }
        )
    return rows


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def rollback(
    graph: SupportGraph,
    base: Context,
    thread_id: str,
    checkpoint_id: str,
    *,
    route: str | None = None,
    actor: str = "operator:cli",
) -> dict[str, Any]:
    """Fork the thread at a checkpoint, compensate the effects made after it, then continue.

    With ``route`` the fork continues at that department's specialist; without it,
    the thread re-runs from the checkpoint. Either way the new path gets fresh
    idempotency keys (the ``branch`` counter), so its effects are real, once.
    """
    if route is not None and route not in DEPARTMENTS:
        raise UserError(f"--route must be one of {', '.join(DEPARTMENTS)}")
    target = next(
        (
            s
            for s in graph.get_state_history(_config(thread_id))
            if s.config["configurable"]["checkpoint_id"] == checkpoint_id
        ),
        None,
    )
    if target is None:
        raise UserError(f"checkpoint {checkpoint_id!r} is not in thread {thread_id!r} (see `switchboard history`)")
    ctx = base.with_(customer_id=thread_customer(graph, thread_id), actor=actor)
    engine = ctx.resources.engine
    after = datetime.fromisoformat(target.created_at) if target.created_at else None
    compensated = compensate_after(engine, thread_id, after, actor=actor, checkpoint_id=checkpoint_id)
    write_audit(
        engine,
        action="rollback",
        outcome="ok",
        thread_id=thread_id,
        customer_id=ctx.customer_id,
        node="rollback",
        actor=actor,
        args={"checkpoint_id": checkpoint_id, "route": route},
        detail=f"{len(compensated)} effect(s) compensated",
    )
    latest_branch = int(graph.get_state(_config(thread_id)).values.get("branch", 0))
    update: dict[str, Any] = {"branch": latest_branch + 1}
    goto = route or (target.next[0] if target.next else None)
    if route:
        update.update(department=route, departments=[NEW_TURN, route], pending_action=None, decision=None)
    # update_state records the fork (a new head for the thread); Command(goto) continues it.
    forked = graph.update_state(target.config, update, as_node="coordinator")
    if goto and goto != "__start__":
        graph.invoke(Command(goto=goto), forked, context=ctx)
    result = finish(graph, thread_id)
    return {**result, "rolled_back_to": checkpoint_id, "compensated": compensated}
