"""Wiring for callers outside the graph (CLI, demo, benchmarks): set-up, checkpointer, one turn.

The graph's builder knows nothing of files and URLs; this module opens the
checkpointer the settings name and runs turns for a customer.
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
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command
from sqlalchemy import insert, select

from graph.builder import build_graph
from graph.context import Context, Settings
from graph.resources import store_engine
from nodes.guardrails import InputRejected, validate_message
from store.schema import customers, node_runs


class UserError(ValueError):
    """A mistake of the caller's (bad input, unknown customer or thread): exit code 2, one line."""


@dataclass
class SetupReport:
    store: dict[str, Any]
    classifier: str
    knowledge_base: dict[str, Any]


def set_up(settings: Settings) -> SetupReport:
    """Create what is missing: the store database, the classifier, the knowledge index. Idempotent."""
    from nodes.routing.classifier import load_or_train
    from retrieval import get_knowledge_base
    from store.db import ensure_store

    settings.home.mkdir(parents=True, exist_ok=True)
    store = ensure_store(settings.resolved_database_url())
    ctx = Context()
    load_or_train(Path(ctx.classifier_path))
    report = get_knowledge_base(ctx.chroma_dir).ingest()
    return SetupReport(store=asdict(store), classifier=ctx.classifier_path, knowledge_base=report.to_dict())


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

        with PostgresSaver.from_conn_string(dsn) as saver:
            saver.setup()
            yield saver
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

        with PostgresStore.from_conn_string(dsn) as store:
            store.setup()
            yield store
        return
    from langgraph.store.sqlite import SqliteStore

    with _sqlite_connection(url, isolation_level=None) as conn:
        store = SqliteStore(conn)
        store.setup()
        yield store


@contextmanager
def open_graph(settings: Settings) -> Iterator[CompiledStateGraph]:
    url = settings.resolved_checkpoint_url()
    with open_checkpointer(url) as saver, open_store(url) as store:
        yield build_graph().compile(checkpointer=saver, store=store)


def new_thread_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def check_customer(ctx: Context) -> None:
    with store_engine(ctx).connect() as conn:
        if conn.execute(select(customers.c.id).where(customers.c.id == ctx.customer_id)).first() is None:
            raise UserError(f"unknown customer {ctx.customer_id!r} (see `switchboard admin customers`)")


def pending_interrupts(graph: CompiledStateGraph, thread_id: str) -> list[Any]:
    snapshot = graph.get_state({"configurable": {"thread_id": thread_id}})
    return [i for task in snapshot.tasks for i in task.interrupts]


def run_turn(graph: CompiledStateGraph, ctx: Context, message: str, thread_id: str | None = None) -> dict[str, Any]:
    """One customer turn: validate, run the graph, and return the caller's view of the result."""
    try:
        text = validate_message(message, max_chars=ctx.max_message_chars)
    except InputRejected as exc:
        raise UserError(str(exc)) from exc
    check_customer(ctx)
    thread_id = thread_id or new_thread_id()
    # The owner also goes into checkpoint metadata: a crash before intake still says whose thread it is.
    config = {"configurable": {"thread_id": thread_id}, "metadata": {"customer_id": ctx.customer_id}}
    snapshot = graph.get_state(config)
    owner = snapshot.values.get("customer_id") or (snapshot.metadata or {}).get("customer_id") or ctx.customer_id
    if owner != ctx.customer_id:
        raise UserError("this thread belongs to another customer")
    if pending_interrupts(graph, thread_id):
        values = snapshot.values
        return turn_result(thread_id, {**values, "reply": "Your earlier request is still waiting for a person "
                                       "to approve it; I will answer as soon as it is decided.",
                                       "status": "awaiting_approval", "tool_calls": [], "node_metrics": []})
    graph.invoke({"messages": [HumanMessage(text)]}, config, context=ctx)
    return finish(graph, ctx, thread_id)


def resume_turn(graph: CompiledStateGraph, ctx: Context, thread_id: str, decision: Any) -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread_id}}
    if not pending_interrupts(graph, thread_id):
        raise UserError(f"thread {thread_id} is not waiting for a decision")
    recorded = metrics_count(graph, thread_id)
    graph.invoke(Command(resume=decision), config, context=ctx)
    return finish(graph, ctx, thread_id, recorded=recorded)


def metrics_count(graph: CompiledStateGraph, thread_id: str) -> int:
    """How many of the turn's node metrics were already written (a resumed turn adds to them)."""
    return len(graph.get_state({"configurable": {"thread_id": thread_id}}).values.get("node_metrics", []))


def finish(graph: CompiledStateGraph, ctx: Context, thread_id: str, *, recorded: int = 0) -> dict[str, Any]:
    values = dict(graph.get_state({"configurable": {"thread_id": thread_id}}).values)
    record_node_runs(ctx, thread_id, values.get("node_metrics", [])[recorded:])
    waiting = pending_interrupts(graph, thread_id)
    if waiting:  # a gate inside a subgraph: its reply lives in the subgraph until it finishes
        values["status"] = "awaiting_approval"
        if not values.get("reply"):
            values["reply"] = describe_waiting(waiting)
    return turn_result(thread_id, values)


def describe_waiting(waiting: list[Any]) -> str:
    requests = [r for i in waiting if isinstance(i.value, dict) for r in i.value.get("action_requests", [])]
    steps = "; ".join(f"{n}. {r['name'].replace('_', ' ')} {json.dumps(r['args'])}" for n, r in enumerate(requests, 1))
    return (f"Here is my plan: {steps}. A member of our team reviews it first; "
            "I will go ahead as soon as it is approved.")


def record_node_runs(ctx: Context, thread_id: str, metrics: list[dict[str, Any]]) -> None:
    if not metrics:
        return
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    rows = [{"at": now, "thread_id": thread_id, "customer_id": ctx.customer_id, "node": m["node"],
             "outcome": m.get("outcome", "ok"), "error_type": m.get("error_type"), "latency_ms": m["latency_ms"],
             "tokens": m["tokens"], "cost_usd": m["cost_usd"], "model": ctx.model,
             "cache_hit": bool(m.get("cache_hit"))} for m in metrics]
    with store_engine(ctx).begin() as conn:
        conn.execute(insert(node_runs), rows)


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
        "tool_calls": [{"name": c["name"], "args": c["args"], "outcome": c["outcome"], "node": c["node"],
                        **({"error": c["error"]} if c.get("error") else {})} for c in values.get("tool_calls", [])],
        "citations": list(values.get("citations", [])),
        "nodes": nodes,
    }


def thread_customer(graph: CompiledStateGraph, thread_id: str) -> str:
    """The customer a thread belongs to (decisions act for that customer, not the operator)."""
    snapshot = graph.get_state({"configurable": {"thread_id": thread_id}})
    owner = snapshot.values.get("customer_id") or (snapshot.metadata or {}).get("customer_id")
    if not owner:
        raise UserError(f"unknown thread {thread_id!r}")
    return str(owner)
