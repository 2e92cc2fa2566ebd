"""Running the graph for callers outside it (CLI, demo, evals, benchmarks): set-up, the
checkpointer and Store the settings name, one turn, one decision.

The graph's builder knows nothing of files and URLs; this module opens what the settings
name and runs turns for a customer.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore
from langgraph.types import Command, Interrupt, StateSnapshot
from sqlalchemy import select

from core.context import Context
from core.settings import Settings
from core.state import INPUT_REJECTED
from graph.builder import SupportGraph, build_graph
from store.schema import customers


class UserError(ValueError):
    """A mistake of the caller's (bad input, unknown customer or thread): exit code 2, one line."""


class DecisionRefused(UserError):
    """The decision was refused (role, four-eyes) or could not be carried out: the approval still waits."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class SetupReport:
    store: dict[str, Any]
    classifier: str
    knowledge_base: dict[str, Any]


def set_up(settings: Settings) -> SetupReport:
    """Create what is missing: the store database, the classifier, the knowledge index. Idempotent."""
    from store.db import ensure_store

    settings.home.mkdir(parents=True, exist_ok=True)
    # seeded as of the workflow's today (the real date unless the clock is pinned), so the demo's
    # "delivered 6 days ago" is 6 days before the day it runs; tests and evals pin the clock
    store = ensure_store(settings.resolved_database_url(), today=settings.now().date())
    resources = Context(settings=settings).resources
    resources.classifier  # noqa: B018 - loads it, training it first when the file is missing
    report = resources.knowledge_base.ingest()
    return SetupReport(
        store=asdict(store), classifier=str(settings.resolved_classifier_path()), knowledge_base=report.to_dict()
    )


def _postgres_dsn(url: str) -> str | None:
    """The libpq DSN for a PostgreSQL URL, or None for a SQLite one."""
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return url.replace("postgresql+psycopg://", "postgresql://")
    return None


@contextmanager
def _sqlite_connection(url: str, **kwargs: Any) -> Iterator[sqlite3.Connection]:
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30, **kwargs)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def open_checkpointer(url: str) -> Iterator[BaseCheckpointSaver]:
    """SQLite file (shared by every process of the app) or PostgreSQL, by URL."""
    if dsn := _postgres_dsn(url):
        from langgraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(dsn) as pg_saver:
            pg_saver.setup()
            yield pg_saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    with _sqlite_connection(url) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver


@contextmanager
def open_store(url: str) -> Iterator[BaseStore]:
    """Long-term memory beside the checkpoints: the same SQLite file, or the same PostgreSQL database."""
    if dsn := _postgres_dsn(url):
        from langgraph.store.postgres import PostgresStore

        with PostgresStore.from_conn_string(dsn) as pg_store:
            pg_store.setup()
            yield pg_store
        return
    from langgraph.store.sqlite import SqliteStore

    with _sqlite_connection(url, isolation_level=None) as conn:
        store = SqliteStore(conn)
        store.setup()
        yield store


@contextmanager
def open_graph(settings: Settings) -> Iterator[SupportGraph]:
    url = settings.resolved_checkpoint_url()
    with open_checkpointer(url) as saver, open_store(url) as store:
        yield build_graph().compile(checkpointer=saver, store=store)


def new_thread_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def check_customer(ctx: Context) -> None:
    """The CLI's `--customer` names a customer of the store (argument checking, not authorisation)."""
    with ctx.resources.engine.connect() as conn:
        if conn.execute(select(customers.c.id).where(customers.c.id == ctx.customer_id)).first() is None:
            raise UserError(f"unknown customer {ctx.customer_id!r} (see `switchboard admin customers`)")


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def waiting_on(snapshot: StateSnapshot) -> list[Interrupt]:
    """The interrupts a thread waits on, from a snapshot already read."""
    return [i for task in snapshot.tasks for i in task.interrupts]


def pending_interrupts(graph: SupportGraph, thread_id: str) -> list[Interrupt]:
    return waiting_on(graph.get_state(_config(thread_id)))


def run_turn(
    graph: SupportGraph,
    ctx: Context,
    message: str,
    thread_id: str | None = None,
    *,
    message_id: str | None = None,
) -> dict[str, Any]:
    """One customer turn: run the graph, return the caller's view of the result.

    The checkpoint is read once before (whose thread, is a decision pending, was this message
    seen?) and once after. The graph's intake validates the message; a message it refuses as
    unreadable is a `UserError` here (exit code 2 in the CLI). ``message_id`` makes the turn
    idempotent: a message already in the thread (a retried email, a double submit) is finished
    if its run was cut short, never started again.
    """
    if not isinstance(message, str):  # bytes are the transport's to decode (the CLI reads stdin as UTF-8)
        raise UserError("the message must be text (UTF-8), not binary data")
    thread_id = thread_id or new_thread_id()
    config: RunnableConfig = {**_config(thread_id), "metadata": {"customer_id": ctx.customer_id}}
    before = graph.get_state(config)
    owner = before.values.get("customer_id") or (before.metadata or {}).get("customer_id")
    if owner is None:  # a new thread: its owner must be a customer of the store
        check_customer(ctx)
    elif owner != ctx.customer_id:  # the turn's one ownership check (a server's is in server.auth)
        raise UserError("this thread belongs to another customer")
    if message_id and any(m.id == message_id for m in before.values.get("messages", [])):
        if not waiting_on(before) and (before.next or before.tasks):  # cut short by a crash: finish it
            graph.invoke(None, config, context=ctx)
        return finish(graph, thread_id)
    if waiting_on(before):
        return turn_result(
            thread_id,
            {
                **before.values,
                "reply": "Your earlier request is still waiting for a person "
                "to approve it; I will answer as soon as it is decided.",
                "status": "awaiting_approval",
                "tool_calls": [],
                "node_metrics": [],
            },
        )
    graph.invoke({"messages": [HumanMessage(message, id=message_id)]}, config, context=ctx)
    return finish(graph, thread_id)


def resume_turn(graph: SupportGraph, ctx: Context, thread_id: str, decision: Any) -> dict[str, Any]:
    """Decide what a thread waits on, as ``ctx.actor`` (the trusted caller's operator: the CLI's ``--as``).

    A decision that leaves the approval waiting because it was refused or could not be carried
    out raises `DecisionRefused` with the reason; one that is recorded but does not settle it yet
    (the first of two approvals) returns the result, still ``awaiting_approval``."""
    pending = pending_interrupts(graph, thread_id)
    if not pending:
        raise UserError(f"thread {thread_id} is not waiting for a decision")
    seen = int((approval_of(pending) or {}).get("decisions", 0))
    graph.invoke(Command(resume=decision), _config(thread_id), context=ctx)
    result = finish(graph, thread_id)
    approval = result.get("approval") or {}
    settled_nothing = result["status"] == "awaiting_approval" and approval.get("decisions", 0) > seen
    if settled_nothing and approval.get("outcome") in ("refused", "failed"):
        raise DecisionRefused(str(approval.get("note") or "the decision was refused"), result)
    return result


def approval_of(waiting: list[Interrupt]) -> dict[str, Any] | None:
    """Where the review a thread waits on stands (approvals had and needed, deadline, last outcome)."""
    for item in waiting:
        if isinstance(item.value, dict) and isinstance(item.value.get("approval"), dict):
            return dict(item.value["approval"])
    return None


def finish(graph: SupportGraph, thread_id: str) -> dict[str, Any]:
    """The caller's view of the thread after a run (one read of the checkpoint)."""
    snapshot = graph.get_state(_config(thread_id))
    values = dict(snapshot.values)
    rejected = str(values.get("error") or "")
    if values.get("status") == "error" and rejected.startswith(INPUT_REJECTED):
        raise UserError(rejected.removeprefix(INPUT_REJECTED))
    waiting = waiting_on(snapshot)
    if waiting:  # a gate inside a subgraph: its reply lives in the subgraph until it finishes
        values["status"] = "awaiting_approval"
        if not values.get("reply"):
            values["reply"] = describe_waiting(waiting)
    result = turn_result(thread_id, values)
    if waiting and (approval := approval_of(waiting)):
        result["approval"] = approval
    return result


def describe_waiting(waiting: list[Interrupt]) -> str:
    requests = [r for i in waiting if isinstance(i.value, dict) for r in i.value.get("action_requests", [])]
    steps = "; ".join(f"{n}. {r['name'].replace('_', ' ')} {json.dumps(r['args'])}" for n, r in enumerate(requests, 1))
    return (
        f"Here is my plan: {steps}. A member of our team reviews it first; I will go ahead as soon as it is approved."
    )


def turn_result(thread_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """The one JSON object `switchboard ask --json` prints."""
    nodes: dict[str, dict[str, float]] = {}
    for metric in values.get("node_metrics", []):
        entry = nodes.setdefault(metric["node"], {"latency_ms": 0.0, "tokens": 0, "cost_usd": 0.0})
        entry["latency_ms"] = round(entry["latency_ms"] + metric["latency_ms"], 3)
        entry["tokens"] += metric["tokens"]
        entry["cost_usd"] = round(entry["cost_usd"] + metric["cost_usd"], 8)
    departments = values.get("departments") or ([values["department"]] if values.get("department") else [])
    return {
        "thread_id": thread_id,
        "status": values.get("status", "error"),
        "reply": values.get("reply", ""),
        "intent": values.get("intent"),
        "department": values.get("department"),
        "departments": departments,
        "confidence": round(float(values.get("confidence") or 0.0), 4),
        "tool_calls": [
            {
                "name": c["name"],
                "args": c["args"],
                "outcome": c["outcome"],
                "node": c["node"],
                **({"error": c["error"]} if c.get("error") else {}),
            }
            for c in values.get("tool_calls", [])
        ],
        "citations": list(values.get("citations", [])),
        "nodes": nodes,
        **({"case": values["case"]} if values.get("case") else {}),
    }


def thread_customer(graph: SupportGraph, thread_id: str) -> str:
    """The customer a thread belongs to (decisions act for that customer, not the operator)."""
    snapshot = graph.get_state({"configurable": {"thread_id": thread_id}})
    owner = snapshot.values.get("customer_id") or (snapshot.metadata or {}).get("customer_id")
    if not owner:
        raise UserError(f"unknown thread {thread_id!r}")
    return str(owner)
