"""The store's refund policy as code (`tools.refund_policy.decide`), held to the written policy
with property-based tests: whatever the amounts, dates, items and earlier refunds, no refund is
allowed outside the return window, on a frozen order, beyond what is left, or past the
cumulative approval threshold without a person; a person's approval lifts only the approval rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.settings import Settings
from nodes.policy import approval_reason, refund_limits
from tools.refund_policy import (
    RULES,
    OrderLine,
    PastRefund,
    RefundAsk,
    RefundFacts,
    RefundLimits,
    decide,
    match_lines,
    return_deadline,
)

LIMITS = refund_limits(Settings(_env_file=None))  # type: ignore[call-arg]
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # outside the holiday exception's months
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

lines_st = st.lists(
    st.builds(
        OrderLine,
        line_id=st.integers(1, 10**6),
        name=st.sampled_from(["Robot Vacuum", "Electric Kettle", "7-in-1 USB-C Hub", "Smartwatch", '55" 4K TV']),
        quantity=st.integers(1, 3),
        unit_price_cents=st.integers(1, 150_000),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda line: line.line_id,
)


@st.composite
def facts_st(draw: st.DrawFn) -> RefundFacts:
    lines = draw(lines_st)
    total = sum(line.total_cents for line in lines)
    delivered_days = draw(st.one_of(st.none(), st.integers(0, 400)))
    refunds = draw(
        st.lists(
            st.builds(
                PastRefund,
                order_id=st.just(1),
                amount_cents=st.integers(1, max(1, total)),
                status=st.sampled_from(["pending", "completed", "rejected", "reversed"]),
                created_at=st.integers(0, 90).map(lambda d: NOW - timedelta(days=d, hours=1)),
                line_id=st.one_of(st.none(), st.sampled_from([line.line_id for line in lines])),
                quantity=st.integers(0, 1),
            ),
            max_size=4,
        )
    )
    return RefundFacts(
        order_id=1,
        status=draw(st.sampled_from(["delivered", "delivered", "delivered", "shipped", "pending", "cancelled"])),
        total_cents=total,
        delivered_at=None if delivered_days is None else NOW - timedelta(days=delivered_days, hours=3),
        payment_statuses=tuple(draw(st.lists(st.sampled_from(["succeeded", "disputed", "charged_back"]), max_size=2))),
        payment_cards=("4242",),
        investigation=draw(st.one_of(st.none(), st.just("a missing-parcel trace"))),
        lines=tuple(lines),
        refunds=tuple(refunds),
        customer_refunds=tuple(refunds),
    )


@st.composite
def ask_st(draw: st.DrawFn, facts: RefundFacts) -> RefundAsk:
    return RefundAsk(
        amount_cents=draw(st.one_of(st.none(), st.integers(-(10**6), 10**7))),
        line_id=draw(st.one_of(st.none(), st.sampled_from([line.line_id for line in facts.lines]), st.just(-5))),
        quantity=draw(st.one_of(st.none(), st.integers(1, 4))),
        to_card_last4=draw(st.sampled_from([None, None, "4242", "other", "1111"])),
    )


def frozen(facts: RefundFacts) -> bool:
    return bool({"disputed", "charged_back"} & set(facts.payment_statuses) or facts.investigation)


@PROPERTY
@given(data=st.data())
def test_no_input_yields_a_refund_outside_the_written_policy(data: st.DataObject) -> None:
    facts = data.draw(facts_st())
    ask = data.draw(ask_st(facts))
    approved = data.draw(st.booleans())
    decision = decide(facts, ask, LIMITS, NOW, approved=approved)
    if decision.verdict not in ("refund", "approval"):
        assert decision.amount_cents == 0 or decision.verdict == "ask"
        assert decision.rule in RULES or decision.rule == "item"
        if decision.verdict == "refuse":
            assert decision.message  # says which rule and what next, in words
        return
    # money may move (now, or after a person): every eligibility, freeze and limit rule held
    assert facts.status == "delivered" and facts.delivered_at is not None
    assert not frozen(facts)
    assert NOW.date() <= return_deadline(facts.delivered_at.date(), LIMITS)
    assert 0 < decision.amount_cents <= facts.remaining_cents()
    if decision.line_id is not None:
        line = facts.line(decision.line_id)
        assert line is not None
        assert decision.amount_cents + facts.line_refunded(line.line_id)[0] <= line.total_cents
    if decision.verdict == "refund" and not approved:  # no person: under every approval rule
        recent = sum(
            r.amount_cents
            for r in facts.refunds
            if r.counts and r.created_at >= NOW - timedelta(days=LIMITS.approval_window_days)
        )
        assert recent + decision.amount_cents <= LIMITS.approval_threshold_cents
        assert ask.to_card_last4 in (None, *facts.payment_cards)


@PROPERTY
@given(data=st.data())
def test_a_persons_approval_lifts_the_approval_rules_and_nothing_else(data: st.DataObject) -> None:
    facts = data.draw(facts_st())
    ask = data.draw(ask_st(facts))
    alone = decide(facts, ask, LIMITS, NOW)
    approved = decide(facts, ask, LIMITS, NOW, approved=True)
    if alone.verdict in ("refund", "approval"):
        assert approved.verdict == "refund" and approved.amount_cents == alone.amount_cents
    else:  # a refusal or a question stays what it was, whoever approved
        assert (approved.verdict, approved.rule) == (alone.verdict, alone.rule)


@PROPERTY
@given(
    splits=st.lists(st.integers(1, 60_000), min_size=1, max_size=12),
    total=st.integers(50_001, 500_000),
    days_apart=st.integers(0, 3),
)
def test_the_cumulative_threshold_holds_for_any_split(splits: list[int], total: int, days_apart: int) -> None:
    """Refunds that go ahead without a person never add up to more than the threshold on one order
    within the approval window, however the amount is split."""
    limits = RefundLimits(**{**LIMITS.__dict__, "velocity_max_refunds": 10**6, "velocity_max_cents": 10**12})
    done: list[PastRefund] = []
    at = NOW - timedelta(days=days_apart * len(splits))
    for amount in splits:
        at += timedelta(days=days_apart)
        facts = RefundFacts(
            order_id=1,
            status="delivered",
            total_cents=total,
            delivered_at=at - timedelta(days=1),
            payment_statuses=("succeeded",),
            payment_cards=("4242",),
            investigation=None,
            lines=(OrderLine(1, "Robot Vacuum", 1, total),),
            refunds=tuple(done),
        )
        decision = decide(facts, RefundAsk(amount_cents=amount), limits, at)
        if decision.verdict == "refund":
            done.append(PastRefund(1, amount, "pending", at))
        within = [r.amount_cents for r in done if r.created_at >= at - timedelta(days=limits.approval_window_days)]
        assert sum(within) <= limits.approval_threshold_cents


@PROPERTY
@given(days=st.integers(0, 120), hour=st.integers(0, 23))
def test_eligibility_around_the_windows_edges(days: int, hour: int) -> None:
    """A change-of-mind refund goes ahead up to the 30th day after delivery and never after it
    (delivered in June: the holiday exception does not apply)."""
    delivered = NOW - timedelta(days=days, hours=hour % 12)
    facts = RefundFacts(
        1, "delivered", 10_000, delivered, ("succeeded",), ("4242",), None, (OrderLine(1, "Kettle", 1, 10_000),), ()
    )
    decision = decide(facts, RefundAsk(), LIMITS, NOW)
    inside = (NOW.date() - delivered.date()).days <= LIMITS.return_window_days
    assert (decision.verdict == "refund") == inside
    if not inside:
        assert decision.rule == "return_window" and decision.next_step == "warranty"
        assert f"{LIMITS.return_window_days}-day return window" in decision.message


@pytest.mark.parametrize(
    ("delivered", "last_day"),
    [
        (date(2026, 10, 31), date(2026, 11, 30)),  # the day before the exception: 30 days
        (date(2026, 11, 1), date(2027, 1, 31)),  # the first day of it: January 31 of the next year
        (date(2026, 12, 24), date(2027, 1, 31)),  # the last day of it
        (date(2026, 12, 25), date(2027, 1, 24)),  # the day after: 30 days again
        (date(2026, 1, 5), date(2026, 2, 4)),
    ],
)
def test_the_holiday_exception_is_the_written_one(delivered: date, last_day: date) -> None:
    assert return_deadline(delivered, LIMITS) == last_day


@PROPERTY
@given(data=st.data(), freeze=st.sampled_from(["disputed", "charged_back", "investigation"]))
def test_a_frozen_order_is_never_refunded_whoever_approves(data: st.DataObject, freeze: str) -> None:
    facts = data.draw(facts_st())
    facts = RefundFacts(
        **{
            **facts.__dict__,
            "status": "delivered",
            "delivered_at": NOW - timedelta(days=data.draw(st.integers(0, 29))),
            "refunds": (),
            "payment_statuses": (*facts.payment_statuses, freeze)
            if freeze != "investigation"
            else facts.payment_statuses,
            "investigation": "a fraud check" if freeze == "investigation" else facts.investigation,
        }
    )
    decision = decide(facts, data.draw(ask_st(facts)), LIMITS, NOW, approved=True)
    assert decision.verdict == "refuse"
    assert decision.rule in ("payment_disputed", "charged_back", "under_investigation")


@PROPERTY
@given(data=st.data())
def test_item_refunds_never_exceed_the_line(data: st.DataObject) -> None:
    """Item by item, a line is never refunded past its price, and a whole line comes back once."""
    facts = data.draw(facts_st())
    facts = RefundFacts(
        **{**facts.__dict__, "status": "delivered", "delivered_at": NOW - timedelta(days=2), "payment_statuses": (),
           "investigation": None, "refunds": (), "customer_refunds": ()}
    )  # fmt: skip
    line = data.draw(st.sampled_from(facts.lines))
    done: list[PastRefund] = []
    for _ in range(data.draw(st.integers(1, 6))):
        rest = line.total_cents - sum(r.amount_cents for r in done)
        amount = data.draw(
            st.one_of(st.none(), st.integers(1, line.total_cents + 100), st.sampled_from([rest, rest + 1]))
        )  # the edges: exactly what is left, and a cent more
        ask = RefundAsk(
            amount_cents=amount if amount is None or amount > 0 else None,
            line_id=line.line_id,
            quantity=data.draw(st.one_of(st.none(), st.integers(1, line.quantity + 1))),
        )
        now_facts = RefundFacts(**{**facts.__dict__, "refunds": tuple(done)})
        decision = decide(now_facts, ask, LIMITS, NOW, approved=True)
        if decision.verdict == "refund":
            done.append(PastRefund(1, decision.amount_cents, "pending", NOW, line.line_id, decision.quantity))
        assert sum(r.amount_cents for r in done) <= line.total_cents
        assert sum(r.quantity for r in done) <= line.quantity


def test_a_second_refund_of_the_same_line_is_refused_as_already_refunded() -> None:
    kettle = OrderLine(7, "Electric Kettle", 1, 4999)
    facts = RefundFacts(1, "delivered", 4999 + 24999, NOW - timedelta(days=1), ("succeeded",), ("4242",), None,
                        (kettle, OrderLine(8, "Smartwatch", 1, 24999)), (PastRefund(1, 4999, "pending", NOW, 7, 1),))  # fmt: skip
    decision = decide(facts, RefundAsk(line_id=7), LIMITS, NOW)
    assert (decision.verdict, decision.rule) == ("refuse", "line_remainder")
    assert "already been refunded" in decision.message
    assert decide(facts, RefundAsk(line_id=8), LIMITS, NOW).amount_cents == 24999  # the other line is still there


def test_the_velocity_limit_asks_for_a_person_after_three_refunds_in_seven_days() -> None:
    earlier = tuple(PastRefund(n, 1000, "completed", NOW - timedelta(days=n)) for n in (1, 2, 3))
    facts = RefundFacts(9, "delivered", 5000, NOW - timedelta(days=1), ("succeeded",), ("4242",), None,
                        (OrderLine(1, "Kettle", 1, 5000),), (), customer_refunds=earlier)  # fmt: skip
    decision = decide(facts, RefundAsk(amount_cents=100), LIMITS, NOW)
    assert (decision.verdict, decision.approval_rules) == ("approval", ("customer_velocity",))
    older = tuple(PastRefund(n, 1000, "completed", NOW - timedelta(days=8 + n)) for n in (1, 2, 3))
    assert (
        decide(RefundFacts(**{**facts.__dict__, "customer_refunds": older}), RefundAsk(100), LIMITS, NOW).verdict
        == "refund"
    )


def test_words_for_an_item_find_its_line() -> None:
    lines = [OrderLine(1, "65 W GaN Charger", 1, 4499), OrderLine(2, "Aluminium Laptop Stand", 1, 4999),
             OrderLine(3, '27" QHD Monitor', 1, 32999), OrderLine(4, "7-in-1 USB-C Hub", 2, 3999)]  # fmt: skip
    assert [line.line_id for line in match_lines("laptop stand", lines)] == [2]
    assert [line.line_id for line in match_lines("USB-C hubs", lines)] == [4]
    assert [line.line_id for line in match_lines("monitor", lines)] == [3]
    assert match_lines("webcam", lines) == []


def test_the_approval_reasons_of_the_arguments_are_the_policys() -> None:
    ctx_settings = Settings(_env_file=None)  # type: ignore[call-arg]

    class Ctx:
        settings = ctx_settings

    assert approval_reason("issue_refund", {"order_id": 1, "amount_usd": "500.00"}, Ctx()) is None  # type: ignore[arg-type]
    assert approval_reason("issue_refund", {"order_id": 1, "amount_usd": "500.01"}, Ctx()) == "a refund above $500"  # type: ignore[arg-type]
    checked = ["a refund above $500 on one order within 30 days ($350.00 already refunded + $200.00 now = $550.00)"]
    reason = approval_reason("issue_refund", {"order_id": 1, "amount_usd": "200.00"}, Ctx(), checked=checked)  # type: ignore[arg-type]
    assert reason == checked[0]


def test_every_rule_names_the_article_that_states_it() -> None:
    from pathlib import Path

    kb = Path(__file__).resolve().parent.parent / "data" / "kb"
    for rule in RULES.values():
        assert (kb / f"{rule.article}.md").is_file(), rule
