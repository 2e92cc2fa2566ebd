"""A conversation over several turns: the order it is about, what memory carries to the next one,
answers to our own questions.

End to end on a real SQLite store, a real Chroma index and scripted models."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, select

from store.schema import orders
from switchboard.app import UserError, run_turn
from tests.graph_support import calls, count, order_of


def test_a_remembered_order_that_does_not_fit_the_request_is_not_used(graph, make_context) -> None:
    ctx = make_context()
    delivered = order_of(ctx, "delivered")
    run_turn(graph, ctx, f"can I get an invoice for order {delivered.id}?")
    later = run_turn(graph, ctx, "where is my package?")  # a new conversation: track a parcel in transit
    assert all(c["args"].get("order_id") != delivered.id or c["name"] == "get_order" for c in later["tool_calls"])
    assert ("get_shipment", "ok") not in [
        (c["name"], c["outcome"]) for c in later["tool_calls"] if c["args"].get("order_id") == delivered.id
    ]


def test_the_order_list_read_to_choose_an_order_is_not_read_out(graph, make_context) -> None:
    with create_engine(
        make_context().settings.resolved_database_url()
    ).connect() as conn:  # a customer with one parcel on its way
        rows = conn.execute(select(orders.c.customer_id, orders.c.id, orders.c.status)).all()
    by_customer: dict[str, list[Any]] = {}
    for row in rows:
        by_customer.setdefault(row.customer_id, []).append(row)
    customer, mine = next(
        (c, o)
        for c, o in sorted(by_customer.items())
        if len(o) >= 3 and [r.status for r in o if r.status in ("pending", "shipped")] == ["shipped"]
    )
    result = run_turn(graph, make_context(customer), "my order hasn't arrived")
    shipped = next(r.id for r in mine if r.status == "shipped")
    assert ("get_shipment", "ok") in calls(result) and str(shipped) in result["reply"]
    assert not [r.id for r in mine if r.id != shipped and str(r.id) in result["reply"]]


def test_it_means_the_order_this_conversation_is_about(graph, make_context) -> None:
    ctx = make_context()
    pending = order_of(ctx, "pending")
    first = run_turn(graph, ctx, f"where is order {pending.id}?")
    asked = run_turn(graph, ctx, "cancel it please", first["thread_id"])
    assert f"order {pending.id}?" in asked["reply"]  # confirmed before it changes anything
    assert count(ctx, orders, orders.c.id == pending.id, orders.c.status == "pending") == 1
    invoice = run_turn(graph, ctx, "and can you send me the invoice for it?", first["thread_id"])
    assert [c["args"] for c in invoice["tool_calls"] if c["name"] == "get_invoice"] == [{"order_id": pending.id}]


def test_bad_input_is_a_clear_user_error(graph, make_context) -> None:
    for bad in ["", "   \n\t", "x" * 10_000, "abc\x00def", "\ud800 broken"]:
        with pytest.raises(UserError):
            run_turn(graph, make_context(), bad)


def test_a_thread_cannot_be_continued_by_another_customer(graph, make_context) -> None:
    first = run_turn(graph, make_context(), "what payment methods do you accept?")
    with pytest.raises(UserError):
        run_turn(graph, make_context("C0002"), "and what about my orders?", first["thread_id"])


def test_memory_carries_an_order_number_to_the_next_conversation_of_the_same_customer_only(graph, make_context) -> None:
    ctx = make_context()
    order = order_of(ctx, "shipped")
    run_turn(graph, ctx, f"hi, where is my order {order.id}? please answer in Spanish next time")
    later = run_turn(graph, ctx, "hello again, where is my package now?")  # a new thread, no order number
    assert later["status"] == "answered"
    assert ("get_shipment", "ok") in calls(later)
    assert later["tool_calls"][-1]["args"] == {"order_id": order.id}

    other = make_context("C0002")
    stranger = run_turn(graph, other, "hello again, where is my package now?")
    assert all(c["args"].get("order_id") != order.id for c in stranger["tool_calls"])
    store = graph.store
    from nodes.memory import namespace, recall

    assert recall(store, "C0002")["order_ids"] != [order.id]
    assert all(item.value["order_ids"] != [order.id] for item in store.search(namespace("C0002")))
    assert recall(store, "C0007")["language"] == "spanish"


def test_memory_keeps_no_order_number_that_was_refused(graph, make_context) -> None:
    from nodes.memory import recall

    ctx = make_context("C0023")
    foreign = order_of(ctx, "shipped", customer="C0007")
    first = run_turn(graph, ctx, f"where is my order {foreign.id}?")
    assert ("get_order", "refused") in calls(first)
    assert foreign.id not in recall(graph.store, "C0023").get("order_ids", [])
    later = run_turn(graph, ctx, "is it shipped yet?")  # a new conversation does not try it again
    assert all(c["args"].get("order_id") != foreign.id for c in later["tool_calls"])


def test_an_answer_to_our_question_continues_the_request_it_answers(graph, make_context) -> None:
    ctx = make_context()
    pending = order_of(ctx, "pending")
    first = run_turn(graph, ctx, f"I need to change the shipping address for order {pending.id}")
    assert first["status"] == "needs_info" and "address" in first["reply"]
    second = run_turn(graph, ctx, "12 Oak Ave, Portland, OR 97205", thread_id=first["thread_id"])
    assert second["status"] == "answered", second["reply"]
    assert calls(second) == [("update_shipping_address", "ok")]
    assert (
        count(ctx, orders, orders.c.id == pending.id, orders.c.shipping_address == "12 Oak Ave, Portland, OR 97205")
        == 1
    )

    # a new request of its own after a question is not glued to the old one
    third = run_turn(graph, ctx, f"I need to change the shipping address for order {pending.id}")
    fourth = run_turn(graph, ctx, "how do i reset my password", thread_id=third["thread_id"])
    assert fourth["department"] == "technical"
    assert ("update_shipping_address", "ok") not in calls(fourth)
