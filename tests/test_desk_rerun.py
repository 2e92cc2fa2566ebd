"""A desk node re-executed after a crash between its effect and the checkpoint (LangGraph re-runs the
whole node) says what it did the first time, from the recorded result; it neither acts again nor reads
its own effect as the world's ("order N is already cancelled, so there is nothing to cancel")."""

from __future__ import annotations

from typing import Any

from langgraph.graph.state import CompiledStateGraph

from store.schema import effects, orders
from switchboard.app import finish, run_turn
from tests.graph_support import DEMO, calls, count, order_of


def rerun_desk(graph: CompiledStateGraph, ctx: Any, thread_id: str, desk: str) -> dict[str, Any]:
    """Run the turn again from the checkpoint taken just before ``desk``: what a restarted process does
    when the crash came after the desk's effect and before its checkpoint."""
    history = graph.get_state_history({"configurable": {"thread_id": thread_id}})
    before = next(s for s in history if desk in s.next)
    graph.invoke(None, before.config, context=ctx)
    return finish(graph, thread_id)


def test_a_cancel_re_run_after_a_crash_replays_the_cancel(graph, make_context) -> None:
    ctx = make_context(customer_id=DEMO)
    pending = order_of(ctx, "pending")
    first = run_turn(graph, ctx, f"please cancel order {pending.id}")
    assert ("cancel_order", "ok") in calls(first), first["tool_calls"]
    again = rerun_desk(graph, ctx, first["thread_id"], "general")
    assert "already cancelled" not in again["reply"], again["reply"]
    assert again["reply"] == first["reply"]
    assert [c["name"] for c in again["tool_calls"] if c["name"] == "cancel_order"] == ["cancel_order"]
    assert count(ctx, effects, effects.c.thread_id == first["thread_id"], effects.c.tool == "cancel_order") == 1
    assert count(ctx, orders, orders.c.id == pending.id, orders.c.status == "cancelled") == 1


def test_an_address_change_re_run_after_a_crash_replays_the_change(graph, make_context) -> None:
    ctx = make_context(customer_id=DEMO)
    pending = order_of(ctx, "pending")
    message = f"please ship order {pending.id} to 12 Elm Street, Springfield, IL 62704"
    first = run_turn(graph, ctx, message)
    assert ("update_shipping_address", "ok") in calls(first), first["tool_calls"]
    again = rerun_desk(graph, ctx, first["thread_id"], "general")
    assert again["reply"] == first["reply"]
    tool = effects.c.tool == "update_shipping_address"
    assert count(ctx, effects, effects.c.thread_id == first["thread_id"], tool) == 1
