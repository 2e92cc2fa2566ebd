"""Several requests in one message: split into parts run under their own desks, or planned, reviewed
and executed step by step.

End to end on a real SQLite store, a real Chroma index and scripted models."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select

from store.schema import effects, orders, refunds
from switchboard.app import UserError, resume_turn, run_turn
from tests.graph_support import BIG, calls, count, order_of


@pytest.mark.parametrize(
    ("text", "actions"),
    [
        ("refund order 10956 and cancel my newsletter", ["issue_refund", "set_newsletter"]),
        ("cancel order 11197 and refund 10956", ["cancel_order", "issue_refund"]),
        ("stop the emails and close my account", ["set_newsletter", "close_account"]),
        ("is there a cancellation fee?", []),
        ("what is the fee to cancel order 10859? also refund it", ["issue_refund"]),
    ],
)
def test_the_actions_a_multi_step_message_asks_for(text: str, actions: list[str]) -> None:
    from nodes.planning import detect_actions

    assert detect_actions(text) == actions


def test_a_part_no_intent_covers_is_answered_from_the_articles_not_dropped(graph, make_context) -> None:
    ctx = make_context()
    order = order_of(ctx, "shipped")
    result = run_turn(
        graph, ctx, f"My invoice for order {order.id} is wrong, and also how do I turn on two factor authentication?"
    )
    assert set(result["departments"]) == {"billing", "general"}
    assert ("get_invoice", "ok") in calls(result) and "two-factor-authentication" in result["citations"]


def test_the_question_one_part_of_a_multi_issue_message_asked_can_be_answered_next(graph, make_context) -> None:
    ctx = make_context()
    shipped = order_of(ctx, "delivered", below_cents=50000)  # 10956: delivered 6 days ago, refundable
    first = run_turn(graph, ctx, f"what is the fee to cancel order {shipped.id}? also refund it")
    assert {"check_cancellation_fee", "get_refund"} >= {first["intent"]}
    assert f"Do you mean order {shipped.id}?" in first["reply"]  # the refund part's "it" is confirmed first
    assert count(ctx, refunds, refunds.c.order_id == shipped.id) == 0
    done = run_turn(graph, ctx, str(shipped.id), first["thread_id"])
    assert done["intent"] == "get_refund" and ("issue_refund", "ok") in calls(done)
    assert count(ctx, refunds, refunds.c.order_id == shipped.id) == 1


def test_a_message_with_several_issues_is_split_and_answered_part_by_part(graph, make_context) -> None:
    ctx = make_context()
    order = order_of(ctx, "delivered", below_cents=50000)
    result = run_turn(
        graph,
        ctx,
        f"My invoice for order {order.id} is wrong, I can't log in since yesterday, "
        "and what are your delivery options to Canada?",
    )
    assert {"billing", "general"} <= set(result["departments"])
    by_node = {(c["node"], c["name"]) for c in result["tool_calls"] if c["outcome"] == "ok"}
    assert ("billing", "get_invoice") in by_node
    assert ("general", "search_knowledge_base") in by_node
    assert f"INV-{order.id}" in result["reply"] and "Canada" in result["reply"]
    assert "international-shipping" in result["citations"]


def test_a_part_that_needs_approval_opens_the_gate_and_the_other_parts_are_answered(graph, make_context) -> None:
    ctx = make_context(BIG)
    large = order_of(ctx, "delivered", above_cents=50000, newest=True)
    shipped = order_of(ctx, "shipped")
    result = run_turn(graph, ctx, f"please refund order {large.id}, and when will order {shipped.id} arrive?")
    assert set(result["departments"]) == {"billing", "general"}
    assert result["status"] == "awaiting_approval"
    assert ("get_shipment", "ok") in calls(result)  # the other part is answered now
    assert count(ctx, refunds, refunds.c.order_id == large.id) == 0

    decided = resume_turn(
        graph, ctx.with_(actor="operator:qa"), result["thread_id"], {"decisions": [{"type": "approve"}]}
    )
    assert decided["status"] == "answered"
    refund_calls = [c for c in decided["tool_calls"] if c["name"] == "issue_refund"]
    assert [(c["node"], c["outcome"]) for c in refund_calls] == [("billing", "ok")]
    assert count(ctx, refunds, refunds.c.order_id == large.id) == 1
    # the approved step runs under the key of the part that proposed it
    keys = [
        k
        for (k,) in create_engine(ctx.settings.resolved_database_url())
        .connect()
        .execute(select(effects.c.idempotency_key).where(effects.c.thread_id == result["thread_id"]))
    ]
    assert len(keys) == 1 and ":billing-part" in keys[0] and keys[0].endswith(":issue_refund")


def test_each_part_runs_under_its_own_departments_permissions(graph, make_context) -> None:
    ctx = make_context()
    result = run_turn(graph, ctx, "where is my order 11096 and can you unsubscribe me from the newsletter")
    for call in result["tool_calls"]:
        from tools.registry import allowed

        assert allowed(call["node"], call["name"]) or call["outcome"] == "refused"


def test_a_multi_step_request_is_planned_reviewed_and_executed_step_by_step(graph, make_context) -> None:
    ctx = make_context()
    pending = order_of(ctx, "pending")
    first = run_turn(graph, ctx, f"cancel my order {pending.id}, refund it to a different card and close my account")
    assert first["status"] == "awaiting_approval"
    assert {"general", "technical"} <= set(first["departments"])
    assert "cancel order" in first["reply"] and "close account" in first["reply"]
    assert count(ctx, orders, orders.c.id == pending.id, orders.c.status == "cancelled") == 0  # nothing ran yet
    from switchboard.threads import inbox

    steps = [(w["thread_id"], w["action"]) for w in inbox(graph)]
    assert (first["thread_id"], "cancel_order") in steps and (first["thread_id"], "close_account") in steps

    done = resume_turn(graph, ctx.with_(actor="operator:qa"), first["thread_id"], {"decisions": [{"type": "approve"}]})
    assert inbox(graph) == []
    assert [(c["node"], c["name"], c["outcome"]) for c in done["tool_calls"]] == [
        ("general", "cancel_order", "ok"),
        ("technical", "close_account", "ok"),
    ]
    assert count(ctx, orders, orders.c.id == pending.id, orders.c.status == "cancelled") == 1
    # Approving again finds nothing waiting, and the steps' idempotency keys stop any replay.
    with pytest.raises(UserError):
        resume_turn(graph, ctx.with_(actor="operator:qa"), first["thread_id"], {"type": "approve"})


def test_a_planned_refund_without_an_amount_gets_the_refundable_amount_and_small_ones_run(graph, make_context) -> None:
    ctx = make_context()
    pending = order_of(ctx, "pending")
    small = order_of(ctx, "delivered", below_cents=50000)
    result = run_turn(graph, ctx, f"cancel order {pending.id} and refund order {small.id}")
    assert result["status"] == "answered", result["reply"]
    by_tool = {c["name"]: c for c in result["tool_calls"] if c["outcome"] == "ok"}
    assert by_tool["issue_refund"]["args"]["amount_usd"] == f"{small.total_cents / 100:.2f}"
    assert {"check_refund", "cancel_order"} <= set(by_tool)  # the policy, read at plan time
    assert count(ctx, refunds, refunds.c.order_id == small.id) == 1
    assert count(ctx, orders, orders.c.id == pending.id, orders.c.status == "cancelled") == 1

    # the same again: nothing is left to refund or cancel, and nothing runs twice
    again = run_turn(graph, ctx, f"cancel order {pending.id} and refund order {small.id}")
    assert count(ctx, refunds, refunds.c.order_id == small.id) == 1
    assert "already been refunded in full" in again["reply"]


def test_a_rejected_plan_changes_nothing_and_an_invalid_plan_is_not_run(graph, make_context) -> None:
    ctx = make_context()
    pending = order_of(ctx, "pending")
    first = run_turn(graph, ctx, f"cancel order {pending.id} and close my account")
    done = resume_turn(
        graph,
        ctx.with_(actor="operator:qa"),
        first["thread_id"],
        {"type": "reject", "message": "customer must confirm by phone"},
    )
    assert done["tool_calls"] == []
    assert "did not approve" in done["reply"]
    assert count(ctx, orders, orders.c.id == pending.id, orders.c.status == "pending") == 1

    no_order = run_turn(graph, make_context("C0002"), "cancel my order and change the shipping address")
    assert no_order["status"] == "needs_info" and no_order["tool_calls"] == []
