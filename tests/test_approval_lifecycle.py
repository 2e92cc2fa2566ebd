"""The approval lifecycle: four-eyes review, roles, edits that raise an amount, deadlines with a
moved clock, signed webhooks to a real receiver, and a decision audited once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langgraph.types import Command
from sqlalchemy import create_engine, func, select

from core.context import Context
from store.schema import accounts, approval_decisions, approvals, audit_log, refunds
from switchboard.app import DecisionRefused, UserError, resume_turn, run_turn
from switchboard.sweep import sweep
from switchboard.threads import inbox
from tests.orders import approval_order, refundable_orders
from tests.webhook_sink import webhook_sink
from tools.approvals import decision_log

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def big_order(ctx: Context, above_cents: int = 100000) -> tuple[str, int, int]:
    """(customer, order id, total cents) of the first order above the four-eyes threshold the policy would refund."""
    found = refundable_orders(ctx, above_cents=above_cents, at=T0)
    assert found, "the seeded store has refundable delivered orders above $1,000"
    return found[0].customer_id, found[0].id, found[0].total_cents


def rows(ctx: Context, query: Any) -> list[Any]:
    with create_engine(ctx.settings.resolved_database_url()).connect() as conn:
        return list(conn.execute(query).all())


def refund_count(ctx: Context, order_id: int) -> int:
    return int(rows(ctx, select(func.count()).select_from(refunds).where(refunds.c.order_id == order_id))[0][0])


def as_(ctx: Context, actor: str, at: datetime) -> Context:
    return ctx.with_(actor=actor, clock=at)


def test_a_refund_above_the_four_eyes_threshold_needs_two_different_operators_and_notifies(graph, make_context) -> None:
    probe = make_context()
    customer, order, total = big_order(probe)
    with webhook_sink(fail_first=2) as sink:
        ctx = make_context(customer, clock=T0, webhook_urls=sink.url, webhook_secret=sink.secret)
        first = run_turn(graph, ctx, f"please refund order {order}")
        thread = first["thread_id"]
        assert first["status"] == "awaiting_approval"
        assert (first["approval"]["approvals"], first["approval"]["needed"]) == (0, 2)

        one = resume_turn(graph, as_(ctx, "operator:ann", T0 + timedelta(hours=1)), thread, {"type": "approve"})
        assert one["status"] == "awaiting_approval" and refund_count(ctx, order) == 0  # still waiting
        assert one["approval"]["approved_by"] == ["operator:ann"]
        (listed,) = inbox(graph)
        assert (listed["thread_id"], listed["approvals"], listed["needed"]) == (thread, 1, 2)

        with pytest.raises(DecisionRefused, match="operator:ann has already approved this"):
            resume_turn(graph, as_(ctx, "operator:ann", T0 + timedelta(hours=2)), thread, {"type": "approve"})
        assert refund_count(ctx, order) == 0

        done = resume_turn(graph, as_(ctx, "operator:bob", T0 + timedelta(hours=3)), thread, {"type": "approve"})
        assert done["status"] == "answered"
        assert [c["outcome"] for c in done["tool_calls"] if c["name"] == "issue_refund"] == ["ok"]
        assert f"{total / 100:,.2f}" in done["reply"]  # the customer is told
        with pytest.raises(UserError):  # nothing waits any more
            resume_turn(graph, as_(ctx, "operator:cy", T0 + timedelta(hours=4)), thread, {"type": "approve"})
        assert refund_count(ctx, order) == 1
        actions = rows(ctx, select(audit_log.c.action, audit_log.c.actor).where(audit_log.c.thread_id == thread))
        decided = [(a, who) for a, who in actions if a in ("approval", "decision_refused")]
        assert decided == [
            ("approval", "operator:ann"),
            ("decision_refused", "operator:ann"),
            ("approval", "operator:bob"),
        ]
        ((status, waited, by),) = rows(
            ctx,
            select(approvals.c.status, approvals.c.approvals, approvals.c.decided_by).where(
                approvals.c.thread_id == thread
            ),
        )
        assert (status, waited, by) == ("approved", 2, "operator:bob")

        # The receiver fails the first two deliveries: they are retried with backoff until accepted.
        first_sweep = sweep(graph, ctx.settings, T0 + timedelta(hours=5))
        assert first_sweep.webhooks == {"sent": 1, "retried": 2, "failed": 0}
        second_sweep = sweep(graph, ctx.settings, T0 + timedelta(hours=6))
        assert second_sweep.webhooks == {"sent": 2, "retried": 0, "failed": 0}
        assert sweep(graph, ctx.settings, T0 + timedelta(hours=7)).webhooks["sent"] == 0
    assert len(sink.deliveries) == 5 and all(d["signed"] for d in sink.deliveries)
    assert all(d["event_header"] == d["event"]["id"] for d in sink.deliveries)
    events = sink.events()  # each event once, after deduping on its id
    assert sorted((e["type"], e["data"]["approvals"]) for e in events.values()) == [
        ("approval.decided", 1),
        ("approval.decided", 2),
        ("approval.waiting", 0),
    ]
    assert {e["data"].get("actor") for e in events.values()} == {None, "operator:ann", "operator:bob"}


def test_an_edit_that_raises_the_amount_past_the_threshold_needs_a_second_operator_not_the_editor(
    graph, make_context
) -> None:
    customer, order, _ = big_order(make_context(), above_cents=150000)
    ctx = make_context(customer, clock=T0)
    first = run_turn(graph, ctx, f"please refund $600 of order {order}")
    thread = first["thread_id"]
    assert first["status"] == "awaiting_approval" and first["approval"]["needed"] == 1

    raised = {"order_id": order, "amount_usd": "1200.00", "reason": "customer request"}
    edited = resume_turn(graph, as_(ctx, "operator:ann", T0), thread, {"type": "edit", "args": raised})
    assert edited["status"] == "awaiting_approval" and refund_count(ctx, order) == 0
    assert (edited["approval"]["approvals"], edited["approval"]["needed"]) == (1, 2)
    assert inbox(graph)[0]["args"]["amount_usd"] == "1200.00"  # the second reviewer sees the edited amount
    with pytest.raises(DecisionRefused, match="already approved this \\(or edited it\\)"):
        resume_turn(graph, as_(ctx, "operator:ann", T0), thread, {"type": "approve"})

    done = resume_turn(graph, as_(ctx, "operator:bob", T0 + timedelta(minutes=30)), thread, {"type": "approve"})
    assert done["status"] == "answered"
    assert rows(ctx, select(refunds.c.amount_cents).where(refunds.c.order_id == order)) == [(120000,)]
    log = decision_log(ctx.resources.engine, thread_id=thread)
    assert [(d["actor"], d["decision"], d["outcome"]) for d in reversed(log)] == [
        ("operator:ann", "edit", "recorded"),
        ("operator:ann", "approve", "refused"),
        ("operator:bob", "approve", "approved"),
    ]
    assert log[0]["diff"] == [{"field": "amount_usd", "proposed": "600.00", "decided": "1200.00"}]
    assert log[0]["waited_s"] == 1800.0
    from switchboard.admin import view_approvals  # `switchboard admin approvals`: who, when, waited, the diff

    shown = view_approvals(ctx, None, 10)[0]
    assert (shown["actor"], shown["waited"], shown["diff"]) == (
        "operator:bob",
        "30m",
        "amount_usd: '600.00' -> '1200.00'",
    )


def test_only_operators_and_supervisors_decide_and_the_audit_names_the_authenticated_operator(
    graph, make_context
) -> None:
    order = approval_order(make_context(), at=T0)
    ctx = make_context(order.customer_id, clock=T0)
    first = run_turn(graph, ctx, f"please refund order {order.id}")
    thread = first["thread_id"]

    def decide(user: dict[str, str] | None, decision: dict[str, Any], actor: str = "workflow") -> None:
        configurable: dict[str, Any] = {"thread_id": thread}
        if user is not None:
            configurable["langgraph_auth_user"] = user
        graph.invoke(Command(resume=decision), {"configurable": configurable}, context=ctx.with_(actor=actor))

    approve_as_mallory = {"decisions": [{"type": "approve", "actor": "operator:mallory"}]}
    decide(
        {"actor": f"customer:{order.customer_id}", "role": "customer", "customer_id": order.customer_id},
        approve_as_mallory,
    )
    decide({"actor": "", "role": "", "customer_id": order.customer_id}, approve_as_mallory)  # an unknown caller
    with pytest.raises(DecisionRefused, match="only an operator or a supervisor"):
        resume_turn(graph, ctx, thread, {"type": "approve"})  # a trusted caller that names no operator
    assert refund_count(ctx, order.id) == 0
    (waiting,) = inbox(graph)
    assert waiting["thread_id"] == thread and "only an operator or a supervisor" in waiting["note"]

    decide({"actor": "operator:ann", "role": "operator", "customer_id": order.customer_id}, approve_as_mallory)
    assert refund_count(ctx, order.id) == 1 and inbox(graph) == []
    audited = rows(ctx, select(audit_log.c.action, audit_log.c.actor).where(audit_log.c.thread_id == thread))
    assert [a for a in audited if a[0] in ("approval", "decision_refused")] == [
        ("decision_refused", f"customer:{order.customer_id}"),
        ("decision_refused", "unknown"),
        ("decision_refused", "workflow"),
        ("approval", "operator:ann"),
    ]


def test_a_deadline_sweep_escalates_then_rejects_and_the_customer_is_told(graph, make_context) -> None:
    order = approval_order(make_context(), at=T0)
    ctx = make_context(order.customer_id, clock=T0)
    first = run_turn(graph, ctx, f"please refund order {order.id}")
    thread = first["thread_id"]
    assert first["approval"]["deadline"] == (T0 + timedelta(hours=24)).isoformat()  # refunds: 24 h

    assert sweep(graph, ctx.settings, T0 + timedelta(hours=23)).escalated == []
    report = sweep(graph, ctx.settings, T0 + timedelta(hours=25))
    assert [(e["thread_id"], e["queue"]) for e in report.escalated] == [(thread, "supervisors")]
    (waiting,) = inbox(graph, now=T0 + timedelta(hours=25))
    assert (waiting["queue"], waiting["overdue"]) == ("supervisors", False)
    told = [m.content for m in graph.get_state({"configurable": {"thread_id": thread}}).values["messages"]]
    assert any("passed to a senior member of our team" in str(t) for t in told)
    # an operator may not decide it now; a sweep before the new deadline changes nothing
    with pytest.raises(DecisionRefused, match="supervisors' queue"):
        resume_turn(graph, as_(ctx, "operator:ann", T0 + timedelta(hours=26)), thread, {"type": "approve"})
    assert sweep(graph, ctx.settings, T0 + timedelta(hours=40)).rejected == []

    report = sweep(graph, ctx.settings, T0 + timedelta(hours=50))  # 24 h more in the supervisors' queue
    assert [r["thread_id"] for r in report.rejected] == [thread] and inbox(graph) == []
    state = graph.get_state({"configurable": {"thread_id": thread}}).values
    assert state["status"] == "answered" and "could not review your request in time" in state["reply"]
    assert isinstance(state["messages"][-1], AIMessage)
    assert refund_count(ctx, order.id) == 0
    assert rows(ctx, select(approvals.c.status, approvals.c.level).where(approvals.c.thread_id == thread)) == [
        ("expired", 2)
    ]
    audited = rows(
        ctx, select(audit_log.c.action, audit_log.c.actor, audit_log.c.outcome).where(audit_log.c.thread_id == thread)
    )
    assert ("approval_overdue", "service:sweep", "escalated") in audited
    assert ("approval", "service:sweep", "expire") in audited


def test_a_supervisor_decides_an_escalated_approval(graph, make_context) -> None:
    order = approval_order(make_context(), at=T0)
    ctx = make_context(order.customer_id, clock=T0)
    thread = run_turn(graph, ctx, f"please refund order {order.id}")["thread_id"]
    sweep(graph, ctx.settings, T0 + timedelta(hours=25))
    done = resume_turn(graph, as_(ctx, "supervisor:sue", T0 + timedelta(hours=26)), thread, {"type": "approve"})
    assert done["status"] == "answered" and refund_count(ctx, order.id) == 1


def test_the_reject_path_rejects_an_overdue_approval_at_once(graph, make_context) -> None:
    ctx = make_context("C0007", clock=T0)
    first = run_turn(graph, ctx, "please close my account")
    assert first["status"] == "awaiting_approval"
    assert sweep(graph, ctx.settings, T0 + timedelta(hours=47)).rejected == []  # others: 48 h
    report = sweep(graph, ctx.settings, T0 + timedelta(hours=49))
    assert [r["thread_id"] for r in report.rejected] == [first["thread_id"]] and report.escalated == []
    state = graph.get_state({"configurable": {"thread_id": first["thread_id"]}}).values
    assert "could not review your request in time" in state["reply"]
    assert rows(ctx, select(accounts.c.status).where(accounts.c.customer_id == "C0007")) == [("active",)]


def test_a_decision_re_executed_after_a_crash_is_audited_and_notified_once(graph, make_context) -> None:
    order = approval_order(make_context(), at=T0)
    with webhook_sink() as sink:
        ctx = make_context(order.customer_id, clock=T0, webhook_urls=sink.url, webhook_secret=sink.secret)
        first = run_turn(graph, ctx, f"please refund order {order.id}")
        config = {"configurable": {"thread_id": first["thread_id"]}}
        interrupted = graph.get_state(config).config  # the checkpoint the gate waits at
        resume_turn(graph, as_(ctx, "operator:ann", T0), first["thread_id"], {"type": "approve"})
        # the same decision executed again from the same checkpoint, as after a crash before it was saved
        graph.invoke(Command(resume={"type": "approve"}), interrupted, context=as_(ctx, "operator:ann", T0))
        ids = rows(
            ctx, select(approval_decisions.c.dedupe_key).where(approval_decisions.c.thread_id == first["thread_id"])
        )
        sweep(graph, ctx.settings, T0)
    assert len(ids) == 1
    assert len(rows(ctx, select(audit_log.c.id).where(audit_log.c.action == "approval"))) == 1
    assert refund_count(ctx, order.id) == 1
    assert sorted(e["type"] for e in sink.events().values()) == ["approval.decided", "approval.waiting"]
    assert len(sink.deliveries) == 2


def test_webhook_bodies_are_signed_with_the_secret(make_context) -> None:
    from tools.webhooks import sign, verify

    body = json.dumps({"id": "x"}).encode()
    assert verify(body, sign(body, "k1"), "k1") and not verify(body, sign(body, "k1"), "k2")
    assert sign(body, "k1").startswith("sha256=") and len(sign(body, "k1")) == 7 + 64


def test_a_plan_with_a_four_eyes_refund_needs_two_operators_too(graph, make_context) -> None:
    customer, order, _ = big_order(make_context())
    ctx = make_context(customer, clock=T0)
    first = run_turn(graph, ctx, f"refund order {order} and close my account")
    thread = first["thread_id"]
    assert first["status"] == "awaiting_approval"
    assert (first["approval"]["needed"], first["approval"]["id"].endswith(":plan")) == (2, True)
    one = resume_turn(graph, as_(ctx, "operator:ann", T0), thread, {"decisions": [{"type": "approve"}]})
    assert one["status"] == "awaiting_approval" and one["approval"]["approved_by"] == ["operator:ann"]
    with pytest.raises(DecisionRefused, match="different operator"):
        resume_turn(graph, as_(ctx, "operator:ann", T0), thread, {"type": "approve"})
    done = resume_turn(graph, as_(ctx, "operator:bob", T0), thread, {"type": "approve"})
    ran = [(c["name"], c["outcome"]) for c in done["tool_calls"] if c["name"] in ("issue_refund", "close_account")]
    assert done["status"] == "answered" and ran == [("issue_refund", "ok"), ("close_account", "ok")]
    assert refund_count(ctx, order) == 1
