"""The refund policy where the money moves: ``issue_refund`` decides again, through the gateway,
on a real seeded store, whoever calls it (a script, a model's plan, an edited approval).

Every refusal is audited with its rule's name; a person's approval (the gate's audit row for
exactly this refund, in this thread) lifts only the approval rules, once; the clock is the one the
gateway hands in.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core.settings import Settings
from nodes.policy import refund_limits
from store.db import SEED_CLOCK, make_engine
from store.schema import audit_log, orders, refund_items, refunds
from tools.approvals import DecisionRecord, open_approval, record_decision
from tools.audit import write_audit
from tools.gateway import ToolGateway, ToolOutcome

LIMITS = refund_limits(Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.fixture
def engine(store_url: str) -> Engine:
    return make_engine(store_url)


def settle_approval(engine: Engine, thread: str, customer: str, args: dict[str, Any], approval_id: str) -> None:
    """A person's approval of exactly ``args``, opened and settled through the ledger the approval gate
    writes to (``tools.approvals``), so the refund tool reads what a real decision leaves behind."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    open_approval(
        engine, settings, approval_id=approval_id, thread_id=thread, customer_id=customer, kind="issue_refund",
        department="billing", reason="approval_threshold", args=args, needed=1, deadline_s=86400.0,
        now=SEED_CLOCK, request={"action": "issue_refund", "args": args},
    )  # fmt: skip
    decision = DecisionRecord(
        key=f"{thread}:{approval_id}:approve", approval_id=approval_id, thread_id=thread, customer_id=customer,
        actor="operator:ann", role="operator", decision="approve", outcome="approved", proposed_args=args, args=args,
        detail="", node="approval_gate", tool="issue_refund", audit_action="approval",
    )  # fmt: skip
    settled = {"status": "approved", "approvals": 1, "decided_at": SEED_CLOCK, "decided_by": "operator:ann"}
    assert record_decision(engine, settings, decision, SEED_CLOCK, approval_values=settled)


def gateway(engine: Engine, customer: str, thread: str = "t-refund", **kw: Any) -> ToolGateway:
    return ToolGateway(
        engine,
        customer_id=customer,
        thread_id=thread,
        backoff_s=0.0,
        clock=kw.pop("clock", lambda: SEED_CLOCK),
        refund_limits=kw.pop("refund_limits", LIMITS),
        **kw,
    )


def refund(gw: ToolGateway, step: str = "s1", **args: Any) -> ToolOutcome:
    return gw.call("billing", "issue_refund", args, step_key=step)


def policy_refusals(engine: Engine, thread: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(audit_log.c.detail).where(
                    audit_log.c.thread_id == thread, audit_log.c.action == "policy_refused"
                )
            ).scalars()
        )


def refunds_on(engine: Engine, order_id: int) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(refunds.c.amount_cents).where(refunds.c.order_id == order_id, refunds.c.status == "pending")
            ).scalars()
        )


@pytest.mark.parametrize(
    ("customer", "order_id", "rule", "said"),
    [
        ("C0007", 10859, "return_window", "30-day return window closed on 2026-11-12"),
        ("C0205", 10901, "payment_disputed", "disputed with your bank"),
        ("C0027", 10920, "charged_back", "charged back"),
        ("C0223", 10942, "under_investigation", "under investigation"),
        ("C0007", 11096, "not_delivered", "not been delivered yet"),
        ("C0007", 11197, "not_delivered", "cancelled instead"),
    ],
)
def test_the_tool_refuses_what_the_written_policy_forbids_and_audits_the_rule(
    engine: Engine, customer: str, order_id: int, rule: str, said: str
) -> None:
    thread = f"t-{rule}-{order_id}"
    outcome = refund(gateway(engine, customer, thread), order_id=order_id, amount_usd="10.00")
    assert (outcome.outcome, outcome.error_type) == ("refused", "PolicyRefused")
    assert said in (outcome.error or "") and (outcome.result or {})["rule"] == rule
    assert refunds_on(engine, order_id) == []
    assert [d.split(":")[0] for d in policy_refusals(engine, thread)] == [f"rule {rule}"]


def test_an_approved_refund_still_cannot_pass_the_window_or_a_freeze(engine: Engine) -> None:
    for customer, order_id in (("C0007", 10859), ("C0205", 10901)):
        thread = f"t-approved-{order_id}"
        args = {"order_id": order_id, "amount_usd": "600.00", "reason": "customer request"}
        settle_approval(engine, thread, customer, args, f"{thread}:gate")
        outcome = refund(gateway(engine, customer, thread), **args)
        assert outcome.error_type == "PolicyRefused" and refunds_on(engine, order_id) == []


def test_splitting_a_refund_does_not_skip_the_approval_at_the_tool(engine: Engine) -> None:
    """A caller that skips the planner (a model's plan, a script) meets the cumulative rule in the tool."""
    gw = gateway(engine, "C0177", "t-split")
    assert refund(gw, "s1", order_id=11002, amount_usd="300.00").ok
    assert refund(gw, "s2", order_id=11002, amount_usd="200.00").ok  # $500.00: the limit itself
    third = refund(gw, "s3", order_id=11002, amount_usd="0.01")
    assert third.error_type == "PolicyRefused" and (third.result or {})["rule"] == "approval_threshold"
    assert "needs a person's approval" in (third.error or "")
    assert refunds_on(engine, 11002) == [30000, 20000]


def test_the_seeded_earlier_refund_counts_toward_the_threshold(engine: Engine) -> None:
    outcome = gateway(engine, "C0106", "t-earlier").call(
        "billing", "check_refund", {"order_id": 10968, "amount_usd": "200.00"}
    )
    assert outcome.ok and outcome.result is not None
    assert (outcome.result["verdict"], outcome.result["approval_rules"]) == ("approval", ["approval_threshold"])
    assert "$350.00 already refunded + $200.00 now = $550.00" in outcome.result["approvals"][0]


def test_a_persons_approval_is_used_once_and_only_for_what_was_approved(engine: Engine) -> None:
    thread = "t-ledger"
    gw = gateway(engine, "C0233", thread)
    approved = {"order_id": 10996, "amount_usd": "600.00", "reason": "customer request"}
    assert refund(gw, "s1", **approved).error_type == "PolicyRefused"  # no person yet
    settle_approval(engine, thread, "C0233", approved, f"{thread}:gate")
    other_amount = refund(gw, "s2", **{**approved, "amount_usd": "700.00"})
    assert other_amount.error_type == "PolicyRefused"  # approved $600, not $700
    other_thread = refund(gateway(engine, "C0233", "t-elsewhere"), "s1", **approved)
    assert other_thread.error_type == "PolicyRefused"  # an approval belongs to its thread
    assert refund(gw, "s3", **approved).ok
    assert refund(gw, "s3", **approved).replayed  # the same step again: the recorded result
    assert refund(gw, "s4", **approved).error_type == "PolicyRefused"  # a second refund needs a second approval
    assert refunds_on(engine, 10996) == [60000]


def test_words_in_a_message_are_no_approval(engine: Engine) -> None:
    """Only the gate writes approvals: an audit row a customer's text produced is another action."""
    thread = "t-claims"
    write_audit(engine, action="injection_flagged", outcome="flagged", thread_id=thread, customer_id="C0233",
                detail="approval_claim: my manager approved it")  # fmt: skip
    outcome = refund(gateway(engine, "C0233", thread), order_id=10996, amount_usd="600.00")
    assert outcome.error_type == "PolicyRefused" and (outcome.result or {})["rule"] == "approval_threshold"


def test_an_item_refund_is_the_lines_price_and_is_recorded_on_the_line(engine: Engine) -> None:
    gw = gateway(engine, "C0184", "t-item")
    check = gw.call("billing", "check_refund", {"order_id": 10976, "item": "laptop stand"})
    assert check.ok and check.result is not None
    assert (check.result["amount_usd"], check.result["item"]) == ("49.99", "Aluminium Laptop Stand")
    done = refund(gw, "s1", order_id=10976, amount_usd="49.99", line_id=check.result["line_id"])
    assert done.ok and "Aluminium Laptop Stand" in done.facts[0]
    with engine.connect() as conn:
        (line,) = conn.execute(select(refund_items)).all()
        assert (line.order_item_id, line.amount_cents) == (check.result["line_id"], 4999)
        assert conn.execute(select(orders.c.status).where(orders.c.id == 10976)).scalar_one() == "delivered"
    again = gw.call("billing", "check_refund", {"order_id": 10976, "item": "laptop stand"})
    assert again.error_type == "PolicyRefused" and "already been refunded" in (again.error or "")
    missing = gw.call("billing", "check_refund", {"order_id": 10976, "item": "webcam"})
    assert missing.ok and missing.result is not None and missing.result["verdict"] == "ask"
    assert "has no webcam" in missing.result["message"]


def test_the_refund_is_dated_by_the_gateways_clock(engine: Engine) -> None:
    later = SEED_CLOCK + timedelta(days=3)
    assert refund(gateway(engine, "C0007", "t-clock", clock=lambda: later), order_id=10956, amount_usd="1.00").ok
    with engine.connect() as conn:
        created = conn.execute(select(refunds.c.created_at).where(refunds.c.order_id == 10956)).scalar_one()
    assert created == later
    # the window moves with the clock: 10956 was delivered on 2026-11-09, inside the holiday
    # exception (delivered November 1 to December 24: returnable until January 31)
    holiday = refund(gateway(engine, "C0007", "t-clock-dec", clock=lambda: SEED_CLOCK + timedelta(days=45)),
                     order_id=10956, amount_usd="1.00")  # fmt: skip
    assert holiday.ok  # 2026-12-30: 51 days after delivery, and still returnable
    late = refund(gateway(engine, "C0007", "t-clock-feb", clock=lambda: SEED_CLOCK + timedelta(days=80)),
                  order_id=10956, amount_usd="1.00")  # fmt: skip
    assert (late.result or {}).get("rule") == "return_window" and "closed on 2027-01-31" in (late.error or "")


def test_without_the_policys_numbers_no_refund_is_guessed(engine: Engine) -> None:
    outcome = refund(gateway(engine, "C0007", "t-no-policy", refund_limits=None), order_id=10956, amount_usd="1.00")
    assert outcome.error_type == "PolicyRefused" and (outcome.result or {})["rule"] == "policy_unavailable"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(refunds).where(refunds.c.order_id == 10956)).scalar() == 0


def test_a_refusal_at_plan_time_is_audited_like_one_at_the_tool(engine: Engine) -> None:
    outcome = gateway(engine, "C0007", "t-plan-time").call("billing", "check_refund", {"order_id": 10859})
    assert outcome.error_type == "PolicyRefused"
    assert policy_refusals(engine, "t-plan-time")[0].startswith("rule return_window:")
    with engine.connect() as conn:
        row = conn.execute(select(audit_log.c.args_json).where(audit_log.c.thread_id == "t-plan-time")).scalar_one()
    assert json.loads(row)["order_id"] == 10859


def test_an_approval_is_used_only_by_a_refund_that_needed_it_and_the_use_is_audited(engine: Engine) -> None:
    thread = "t-needed"
    gw = gateway(engine, "C0233", thread)
    approved = {"order_id": 10996, "amount_usd": "450.00", "reason": "customer request"}
    settle_approval(engine, thread, "C0233", approved, f"{thread}:gate")
    assert refund(gw, "s1", **approved).ok  # $450 alone needed no one: the approval stays unused
    assert refund(gw, "s2", order_id=10996, amount_usd="40.00").ok  # $490 within 30 days: still no one
    # $450 more makes $940 on the order within 30 days: it needs a person, and the approval covers it
    assert refund(gw, "s3", **approved).ok
    assert refund(gw, "s4", **approved).error_type == "PolicyRefused"  # and it is used up
    with engine.connect() as conn:
        used = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "approval_used")).scalars().all()
    assert len(used) == 1 and used[0].startswith(f"approval {thread}:gate used") and "approval_threshold" in used[0]
