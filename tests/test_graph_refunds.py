"""Refunds and approvals through the whole graph: issued once, held for a person, rejected, edited,
refused for another customer.

End to end on a real SQLite store, a real Chroma index and scripted models."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select

from core.models import ScriptedChatModel, register_fake
from store.schema import audit_log, order_items, orders, refunds
from switchboard.app import DecisionRefused, UserError, pending_interrupts, resume_turn, run_turn
from tests.graph_support import BIG, DEMO, calls, count, order_of


def test_small_refund_is_issued_once_and_recorded(graph, make_context) -> None:
    ctx = make_context()
    order = order_of(ctx, "delivered", below_cents=50000)
    before = count(ctx, refunds, refunds.c.order_id == order.id)
    result = run_turn(graph, ctx, f"I want a refund for order {order.id}, it arrived broken")
    assert result["department"] == "billing"
    assert ("issue_refund", "ok") in calls(result)
    assert count(ctx, refunds, refunds.c.order_id == order.id) == before + 1
    assert f"{order.total_cents / 100:,.2f}" in result["reply"]


def test_refund_above_threshold_waits_for_a_person_and_happens_once(graph, make_context) -> None:
    ctx = make_context(BIG)
    order = order_of(ctx, "delivered", above_cents=50000, newest=True)
    result = run_turn(graph, ctx, f"please refund order {order.id}")
    assert result["status"] == "awaiting_approval"
    assert ("issue_refund", "ok") not in calls(result)
    assert count(ctx, refunds, refunds.c.order_id == order.id) == 0

    decided = resume_turn(
        graph, ctx.with_(actor="operator:qa"), result["thread_id"], {"decisions": [{"type": "approve"}]}
    )
    assert decided["status"] == "answered"
    assert ("issue_refund", "ok") in calls(decided)
    assert count(ctx, refunds, refunds.c.order_id == order.id) == 1
    with pytest.raises(UserError):  # approving again: nothing is waiting, nothing happens
        resume_turn(graph, ctx.with_(actor="operator:qa"), result["thread_id"], {"type": "approve"})
    assert count(ctx, refunds, refunds.c.order_id == order.id) == 1
    assert count(ctx, audit_log, audit_log.c.action == "approval") == 1


def test_the_inbox_reads_the_gates_index_and_checks_it_against_the_checkpoints(graph, make_context) -> None:
    from nodes.waiting import WAITING, mark_decided, mark_waiting
    from switchboard.threads import inbox

    ctx = make_context(BIG)
    order = order_of(ctx, "delivered", above_cents=50000, newest=True)
    first = run_turn(graph, ctx, f"refund order {order.id} please")
    waiting = inbox(graph)
    assert [(w["thread_id"], w["customer_id"], w["action"]) for w in waiting] == [
        (first["thread_id"], BIG, "issue_refund")
    ]
    assert graph.store.get(WAITING, first["thread_id"]) is not None

    # A stale entry (its thread waits for nothing) is dropped, and removed from the index.
    answered = run_turn(graph, ctx, "what payment methods do you accept?")
    mark_waiting(graph.store, answered["thread_id"], BIG, {"action_requests": []})
    assert [w["thread_id"] for w in inbox(graph)] == [first["thread_id"]]
    assert graph.store.get(WAITING, answered["thread_id"]) is None

    # A thread missing from the index (paused before the index existed) is found by a scan,
    # which indexes it again.
    mark_decided(graph.store, first["thread_id"])
    assert inbox(graph) == []
    assert [w["thread_id"] for w in inbox(graph, scan=True)] == [first["thread_id"]]
    assert [w["thread_id"] for w in inbox(graph)] == [first["thread_id"]]

    resume_turn(graph, ctx.with_(actor="operator:qa"), first["thread_id"], {"type": "approve"})
    assert inbox(graph) == []
    assert graph.store.get(WAITING, first["thread_id"]) is None


def test_rejected_refund_changes_nothing(graph, make_context) -> None:
    ctx = make_context(BIG)
    order = order_of(ctx, "delivered", above_cents=50000, newest=True)
    result = run_turn(graph, ctx, f"refund order {order.id} now")
    decided = resume_turn(
        graph, ctx.with_(actor="operator:qa"), result["thread_id"], {"type": "reject", "message": "outside policy"}
    )
    assert count(ctx, refunds, refunds.c.order_id == order.id) == 0
    assert "did not approve" in decided["reply"]


def test_an_order_named_by_what_is_in_it_is_confirmed_then_refunded(graph, make_context) -> None:
    ctx = make_context()
    with create_engine(ctx.settings.resolved_database_url()).connect() as conn:
        (order_id,) = conn.execute(
            select(order_items.c.order_id)
            .join(orders)
            .where(
                orders.c.customer_id == DEMO,
                orders.c.status == "delivered",
                orders.c.total_cents <= 50000,
                order_items.c.name.like("%Headphones%"),
            )
        ).first()
    first = run_turn(graph, ctx, "I want my money back for the headphones")
    assert first["status"] == "needs_info" and f"order {order_id}?" in first["reply"]  # a guess is confirmed
    assert count(ctx, refunds, refunds.c.order_id == order_id) == 0
    done = run_turn(graph, ctx, str(order_id), first["thread_id"])
    assert ("issue_refund", "ok") in calls(done)


def test_a_share_of_an_order_is_refunded_and_another_card_waits_for_a_person(graph, make_context) -> None:
    ctx = make_context("C0068")  # 10987: $889.96, delivered 5 days ago: half is under the threshold
    big = order_of(ctx, "delivered", above_cents=50000, newest=True)
    half = run_turn(graph, ctx, f"refund half of order {big.id}")
    expected = f"{big.total_cents / 2 / 100:.2f}"
    assert [c["args"]["amount_usd"] for c in half["tool_calls"] if c["name"] == "issue_refund"] == [expected]
    # half again, from a plan: the order's refunds within 30 days would pass $500, so a person reviews it
    planned = run_turn(graph, ctx, f"refund half of order {big.id} and unsubscribe me from the newsletter")
    assert planned["status"] == "awaiting_approval" and expected in planned["reply"]
    (gate,) = pending_interrupts(graph, planned["thread_id"])
    assert "above $500 on one order within 30 days" in gate.value["description"]
    assert count(ctx, refunds, refunds.c.order_id == big.id) == 1
    other = run_turn(graph, ctx, f"refund $5 of order {big.id} to a different card")
    assert other["status"] == "awaiting_approval"
    assert count(ctx, refunds, refunds.c.order_id == big.id) == 1


def test_another_customers_order_is_refused_and_not_revealed(graph, make_context) -> None:
    ctx = make_context()
    foreign = order_of(ctx, "shipped", customer="C0002")
    result = run_turn(graph, ctx, f"where is order {foreign.id}?")
    assert ("get_order", "refused") in calls(result)
    assert f"{foreign.total_cents / 100:,.2f}" not in result["reply"]
    assert count(ctx, audit_log, audit_log.c.action == "tool_refused", audit_log.c.tool == "get_order") == 1


def test_a_tool_outside_the_nodes_permission_is_refused_audited_and_not_run(graph, make_context) -> None:
    ctx = make_context(smart_model="fake:planner")
    order = order_of(ctx, "delivered")
    plan = {
        "steps": [
            {"tool": "issue_refund", "args": {"order_id": order.id, "amount_usd": "10.00"}},
            {"tool": "get_account_status", "args": {}},
        ]
    }
    register_fake("planner", ScriptedChatModel(responder=lambda _: json.dumps(plan)))
    before = count(ctx, refunds)
    result = run_turn(graph, ctx, "I forgot my password and can't sign in")
    assert result["department"] == "technical"
    assert calls(result) == [("issue_refund", "refused"), ("get_account_status", "ok")]
    assert count(ctx, refunds) == before
    assert (
        count(
            ctx,
            audit_log,
            audit_log.c.action == "tool_refused",
            audit_log.c.tool == "issue_refund",
            audit_log.c.node == "technical",
        )
        == 1
    )


def test_an_edit_is_checked_again_before_anything_runs(graph, make_context) -> None:
    ctx = make_context(BIG)
    order = order_of(ctx, "delivered", above_cents=50000, newest=True)
    first = run_turn(graph, ctx, f"refund order {order.id} please")
    # more than is left on the order (still under the four-eyes threshold): the policy refuses the edit
    # before it counts, so the approval still waits and the operator is told why
    with pytest.raises(
        DecisionRefused, match=r"the policy refuses the edit: At most \$889\.96 can still be"
    ) as refused:
        resume_turn(
            graph,
            ctx.with_(actor="operator:eve"),
            first["thread_id"],
            {"type": "edit", "args": {"order_id": order.id, "amount_usd": f"{order.total_cents / 100 + 50:.2f}"}},
        )
    assert ("check_refund", "refused") in calls(refused.value.result)
    assert not [c for c in calls(refused.value.result) if c[0] == "issue_refund"]
    assert refused.value.result["status"] == "awaiting_approval"
    assert count(ctx, refunds, refunds.c.order_id == order.id) == 0

    second = run_turn(graph, ctx, f"refund order {order.id} please")
    edited = resume_turn(
        graph,
        ctx.with_(actor="operator:eve"),
        second["thread_id"],
        {"type": "edit", "args": {"order_id": order.id, "amount_usd": "300.00"}},
    )
    assert ("issue_refund", "ok") in calls(edited)
    with create_engine(ctx.settings.resolved_database_url()).connect() as conn:
        assert conn.execute(select(refunds.c.amount_cents).where(refunds.c.order_id == order.id)).scalars().all() == [
            30000
        ]
        actors = conn.execute(
            select(audit_log.c.actor, audit_log.c.outcome).where(audit_log.c.action == "approval")
        ).all()
    assert ("operator:eve", "edit") in actors
