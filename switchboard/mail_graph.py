"""The mail channel wired to the graph in this process, for a standalone `switchboard mail serve`.

This is the seam the merge replaces (see the mail channel's report): `mail/` only knows the
`TurnRunner` / `Resumer` protocols, and this module keeps their contract with today's graph.

- Idempotent per mail: the customer's message enters the thread as a HumanMessage whose id is
  the mail's dedupe key (`run_turn(message_id=...)`), so a retry after a crash finds it and
  finishes or returns that turn instead of starting a second one.
- No proof, no turn: today's graph cannot make every world-changing tool wait, so a mail
  without a trusted DKIM/SPF pass is held (``waiting_for="proof"``) and run only once the code
  sent to the address on file comes back. When the graph gets a proof gate (a Context flag that
  makes world-changing steps interrupt), `run` passes ``verified`` on and reads become possible
  without a code.
- ``service:mail`` never decides an operator's gate: a thread already waiting for a person
  answers "still waiting" whatever the mail says.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import Any

from core.context import Context
from core.settings import Settings
from graph.builder import SupportGraph
from mail.channel import Resumer, ResumeRequest, Search, TurnRequest, TurnRunner
from mail.decisions import ThreadReader
from switchboard.app import UserError, open_graph, run_turn

HELD_REPLY = "Thank you for your email: we have your request."


def _turn_once(graph: SupportGraph, ctx: Context, text: str, thread_id: str, key: str) -> dict[str, Any]:
    """One turn per mail; a refusal the customer should read (bad input) is a result, not an error."""
    try:
        return _turn(graph, ctx, text, thread_id, key)
    except UserError as exc:  # raising would make the channel retry a mail that cannot change
        return {
            "thread_id": thread_id,
            "status": "rejected",
            "reply": f"We could not take this message: {exc}",
            "tool_calls": [],
            "intent": None,
            "department": None,
            "departments": [],
            "confidence": 0.0,
            "citations": [],
            "nodes": {},
        }


def _turn(graph: SupportGraph, ctx: Context, text: str, thread_id: str, key: str) -> dict[str, Any]:
    # the mail's dedupe key is the message's id in the thread: a retry finishes that turn, never repeats it
    return run_turn(graph, ctx, text, thread_id, message_id=key)


def graph_parts(settings: Settings, stack: ExitStack) -> tuple[TurnRunner, Resumer, Search, ThreadReader]:
    """(runner, resumer, help search) over one graph opened for the life of ``stack``."""
    graph = stack.enter_context(open_graph(settings))
    lock = threading.Lock()  # one turn at a time: the SQLite checkpointer shares one connection

    def run(request: TurnRequest) -> dict[str, Any]:
        if not request.verified:
            return {
                "thread_id": request.thread_id,
                "status": "awaiting_approval",
                "waiting_for": "proof",
                "reply": HELD_REPLY,
                "tool_calls": [],
                "intent": None,
                "department": None,
                "departments": [],
                "confidence": 0.0,
                "citations": [],
                "nodes": {},
            }
        with lock:
            ctx = Context(customer_id=request.customer_id, actor=request.actor, settings=settings)
            return _turn_once(graph, ctx, request.text, request.thread_id, request.message_key)

    def resume(request: ResumeRequest) -> dict[str, Any]:
        with lock:  # the held request runs now, under its own key: a retry cannot run it twice
            ctx = Context(
                customer_id=request.customer_id, actor=request.decision.get("actor", "service:mail"), settings=settings
            )
            return _turn_once(graph, ctx, request.request_text, request.thread_id, request.request_key)

    def read(thread_id: str) -> dict[str, Any] | None:
        """Where a thread stands after a person's decision (for the outcome email)."""
        with lock:
            snapshot = graph.get_state({"configurable": {"thread_id": thread_id}})
        if not snapshot.values:
            return None
        waiting = any(task.interrupts for task in snapshot.tasks)
        running = bool(snapshot.next) and not waiting
        status = "awaiting_approval" if waiting or running else snapshot.values.get("status", "")
        return {"status": status, "reply": snapshot.values.get("reply", "")}

    return run, resume, Context(settings=settings).resources.kb_search(), read
