"""The store's refund policy as code: one definition, used when a refund is planned and when it runs.

The help articles are the policy (data/kb: ``refund-policy``, ``return-policy``,
``refund-manual-approval``, ``disputed-charges``, ``refund-different-card``,
``warranty-and-protection-plans``, ``partial-refunds``); this module is what they say, rule by
rule, over facts read from the store (`tools.billing.refund_facts`). It reads nothing itself
and never looks at a clock: the caller hands in the facts, the limits (from `core.settings`,
via `nodes.policy.refund_limits`) and ``now``.

`decide` is asked twice for every refund: by the billing desk and the planner before anything
is proposed (the ``check_refund`` tool), and by ``issue_refund`` inside the transaction that
writes the refund. A person's approval lifts only the rules that ask for one (``approval=True``
rules); the rules that make a refund impossible hold whoever asks.

Rules, in the order they are applied (``RULES`` names them; a refusal carries its rule's name,
which the audit log records):

- eligibility: the order was delivered (``not_delivered``: pending, shipped, cancelled), and the
  refund is asked within the return window counted from the delivery date, the holiday exception
  included (``return_window``; after it: the warranty path, never a refund);
- freezes: a disputed payment (``payment_disputed``), a charged-back payment (``charged_back``),
  an order under investigation (``under_investigation``);
- limits: what is left to refund on the order (``refundable_remainder``) and on an item's line
  (``line_remainder``); an item the order does not hold, or names twice, is asked about;
- approval (a person decides): a refund to another card than the one that paid (``destination``),
  the order's refunds in the last ``approval_window_days`` above the threshold
  (``approval_threshold``: cumulative, so splitting does not skip it), and the customer's refunds
  in the last ``velocity_days`` above the velocity limits (``customer_velocity``).

Items: an item refund is the line's unit price times the units returned (or a stated amount up to
the line's remainder). The store's orders carry tax-inclusive item prices and no separate shipping
or tax lines (an order's total is the sum of its lines), so an item refund is that item's price and
nothing else; shipping is refunded only with a whole-order refund (there is none to refund today).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

Verdict = Literal["refund", "approval", "refuse", "ask"]
OPEN_REFUND_STATUSES = ("pending", "completed")  # money that is paid out or on its way
DISPUTED = "disputed"
CHARGED_BACK = "charged_back"


@dataclass(frozen=True)
class Rule:
    name: str
    kind: Literal["eligibility", "freeze", "limit", "approval"]
    says: str  # the written policy, in one line
    article: str  # the help article that states it


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        Rule("not_delivered", "eligibility", "only a delivered order is refunded; before that it is cancelled or refused",
             "refund-policy"),
        Rule("return_window", "eligibility", "refunds within the return window from the delivery date (holiday "
             "exception included); after it the warranty covers faults", "return-policy"),
        Rule("payment_disputed", "freeze", "while a payment dispute is open the order is frozen", "disputed-charges"),
        Rule("charged_back", "freeze", "a charged-back payment was already returned by the bank: never twice",
             "disputed-charges"),
        Rule("under_investigation", "freeze", "an order under investigation is frozen until it closes",
             "refund-policy"),
        Rule("refundable_remainder", "limit", "never more than what is left to refund on the order", "partial-refunds"),
        Rule("line_remainder", "limit", "an item is refunded once, up to its line's price", "partial-refunds"),
        Rule("amount_invalid", "limit", "an amount is dollars and cents above zero", "refund-policy"),
        Rule("destination", "approval", "refunds go to the method that paid; another card needs the Refunds team",
             "refund-different-card"),
        Rule("approval_threshold", "approval", "more than the threshold refunded on one order within the approval "
             "window waits for a person", "refund-manual-approval"),
        Rule("customer_velocity", "approval", "more refunds (or money) on one account than the velocity limits "
             "within their window waits for a person", "refund-manual-approval"),
    )
}  # fmt: skip


@dataclass(frozen=True)
class RefundLimits:
    """The policy's numbers. Built from `core.settings.Settings` by `nodes.policy.refund_limits`;
    no defaults here, so there is one source of them."""

    return_window_days: int
    approval_threshold_cents: int
    approval_window_days: int
    velocity_max_refunds: int
    velocity_max_cents: int
    velocity_days: int
    holiday_delivered_from: tuple[int, int]  # (month, day)
    holiday_delivered_to: tuple[int, int]
    holiday_returns_until: tuple[int, int]
    card_days: tuple[int, int]  # business days for a card refund to show


def month_day(text: str) -> tuple[int, int]:
    """ "11-01" -> (11, 1), checked against a leap year so "02-29" is a day."""
    match = re.fullmatch(r"(\d{1,2})-(\d{1,2})", text.strip())
    if not match:
        raise ValueError(f"expected MM-DD, got {text!r}")
    month, day = int(match.group(1)), int(match.group(2))
    date(2000, month, day)
    return month, day


def business_days(text: str) -> tuple[int, int]:
    """ "5-10" -> (5, 10)."""
    match = re.fullmatch(r"(\d+)\s*-\s*(\d+)", text.strip())
    if not match or int(match.group(1)) > int(match.group(2)):
        raise ValueError(f"expected a range like 5-10, got {text!r}")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class OrderLine:
    line_id: int
    name: str
    quantity: int
    unit_price_cents: int

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class PastRefund:
    order_id: int
    amount_cents: int
    status: str
    created_at: datetime
    line_id: int | None = None
    quantity: int = 0  # units of that line it returned (0: an amount, not whole units)

    @property
    def counts(self) -> bool:
        return self.status in OPEN_REFUND_STATUSES


@dataclass(frozen=True)
class RefundFacts:
    """What the store says about one order, read in one go (`tools.billing.refund_facts`)."""

    order_id: int
    status: str  # the order's status
    total_cents: int
    delivered_at: datetime | None
    payment_statuses: tuple[str, ...]
    payment_cards: tuple[str, ...]  # last four digits of the cards that paid
    investigation: str | None  # why the order is under investigation, when it is
    lines: tuple[OrderLine, ...]
    refunds: tuple[PastRefund, ...]  # on this order, every status
    customer_refunds: tuple[PastRefund, ...] = ()  # the customer's, every order, for velocity

    def refunded_cents(self) -> int:
        return sum(r.amount_cents for r in self.refunds if r.counts)

    def remaining_cents(self) -> int:
        return self.total_cents - self.refunded_cents()

    def line(self, line_id: int) -> OrderLine | None:
        return next((line for line in self.lines if line.line_id == line_id), None)

    def line_refunded(self, line_id: int) -> tuple[int, int]:
        """(cents, units) already refunded on a line."""
        mine = [r for r in self.refunds if r.counts and r.line_id == line_id]
        return sum(r.amount_cents for r in mine), sum(r.quantity for r in mine)


@dataclass(frozen=True)
class RefundAsk:
    """What is asked: an amount, an item's line (and how many of it), a card."""

    amount_cents: int | None = None  # None: the item's price, or what is left on the order
    line_id: int | None = None
    quantity: int | None = None  # units of the line; None: all that are left (or an amount)
    to_card_last4: str | None = None  # None: the method that paid; "other" or four digits


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    rule: str  # the rule that decided; "" when nothing stood in the way
    message: str  # for the customer: what was decided, why, and what they can do next
    amount_cents: int = 0
    next_step: str = ""  # cancel | wait_for_delivery | warranty | withdraw_dispute | bank | wait | amount | item
    approvals: tuple[str, ...] = ()  # every approval rule that applies, as reasons a reviewer reads
    approval_rules: tuple[str, ...] = ()
    line_id: int | None = None
    quantity: int = 0
    return_by: date | None = None
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def may_run(self) -> bool:
        return self.verdict in ("refund", "approval")


def usd(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def dollars(cents: int) -> str:
    """$500 for a whole number of dollars, $500.50 otherwise (how the articles write a limit)."""
    return f"${cents // 100:,}" if cents % 100 == 0 else usd(cents)


def return_deadline(delivered_on: date, limits: RefundLimits) -> date:
    """The last day a return may be asked for: the window from delivery, or the holiday exception's day."""
    deadline = delivered_on + timedelta(days=limits.return_window_days)
    start = date(delivered_on.year, *limits.holiday_delivered_from)
    end = date(delivered_on.year, *limits.holiday_delivered_to)
    if start <= delivered_on <= end:
        until_month, until_day = limits.holiday_returns_until
        next_year = delivered_on.year + (1 if (until_month, until_day) < limits.holiday_delivered_from else 0)
        deadline = max(deadline, date(next_year, until_month, until_day))
    return deadline


def _refuse(
    rule: str, message: str, next_step: str = "", *, line_id: int | None = None, return_by: date | None = None
) -> Decision:
    return Decision("refuse", rule, message, next_step=next_step, line_id=line_id, return_by=return_by)


def decide(
    facts: RefundFacts, ask: RefundAsk, limits: RefundLimits, now: datetime, *, approved: bool = False
) -> Decision:
    """The policy's answer to one refund request. ``approved``: a person approved exactly this
    refund, which lifts the approval rules and nothing else."""
    order = facts.order_id
    today = now.date()
    # -- eligibility: delivered, within the window
    if facts.status == "pending":
        return _refuse("not_delivered", f"Order {order} has not shipped yet, so it cannot be refunded: it can be "
                       "cancelled instead, which releases the payment.", "cancel")  # fmt: skip
    if facts.status == "cancelled":
        return _refuse("not_delivered", f"Order {order} was cancelled before it shipped, so its payment was "
                       "released and there is nothing to refund.")  # fmt: skip
    if facts.status == "shipped" or (facts.status == "delivered" and facts.delivered_at is None):
        return _refuse(
            "not_delivered",
            f"Order {order} has not been delivered yet, so it cannot be refunded: refunds are for items returned "
            f"within {limits.return_window_days} days of delivery. Once it arrives you can start a return, or you "
            "can refuse the delivery and the parcel comes back to us.",
            "wait_for_delivery",
        )
    if facts.status == "refunded" or facts.remaining_cents() <= 0:
        return _refuse(
            "refundable_remainder",
            f"Order {order} has already been refunded in full ({usd(facts.refunded_cents())}), so it cannot be "
            "refunded again; ask me about that refund to see where it is.",
        )
    # -- freezes: the bank controls the money, or the order is being looked into
    statuses = set(facts.payment_statuses)
    if CHARGED_BACK in statuses:
        return _refuse(
            "charged_back",
            f"The payment for order {order} was charged back by your bank, so that money has already been "
            "returned to you through the bank; a refund on top of a chargeback would pay you twice, so we "
            "cannot refund it again. Your bank can tell you more about the chargeback.",
            "bank",
        )
    if DISPUTED in statuses:
        return _refuse(
            "payment_disputed",
            f"The payment for order {order} is disputed with your bank, so the order is frozen: while a dispute "
            "is open we cannot issue refunds, returns or replacements for it, because the bank now controls the "
            "money. If we can solve the problem with you, you can withdraw the dispute by calling your bank; "
            "once the bank confirms, the order can be refunded normally.",
            "withdraw_dispute",
        )
    if facts.investigation:
        return _refuse(
            "under_investigation",
            f"Order {order} is under investigation ({facts.investigation}), so it is frozen: we cannot give a "
            "refund, a return or a replacement for it until the investigation closes. We will contact you when "
            "it does.",
            "wait",
        )
    assert facts.delivered_at is not None
    delivered_on = facts.delivered_at.date()
    deadline = return_deadline(delivered_on, limits)
    if today > deadline:
        return _refuse(
            "return_window",
            f"Order {order} was delivered on {delivered_on.isoformat()}, so its {limits.return_window_days}-day "
            f"return window closed on {deadline.isoformat()} and it can no longer be refunded. If an item is "
            "faulty, it is covered by its warranty after the return window.",
            "warranty",
            return_by=deadline,
        )
    # -- limits: the amount, the item's line, what is left
    remaining = facts.remaining_cents()
    line: OrderLine | None = None
    units = 0
    if ask.line_id is not None:
        line = facts.line(ask.line_id)
        if line is None:
            return Decision("ask", "line_remainder", f"That item is not part of order {order}.", next_step="item")
        done_cents, done_units = facts.line_refunded(line.line_id)
        left_cents, left_units = line.total_cents - done_cents, line.quantity - done_units
        if left_cents <= 0:
            return _refuse(
                "line_remainder",
                f"The {line.name} on order {order} has already been refunded ({usd(done_cents)}), so it cannot "
                "be refunded again; another item of the order can still be.",
                line_id=line.line_id,
            )
        if ask.quantity is not None and (
            ask.quantity > left_units or ask.quantity * line.unit_price_cents > left_cents
        ):
            return _refuse(
                "line_remainder",
                f"Order {order} has {max(left_units, 0)} x {line.name} left to refund, not {ask.quantity}.",
                line_id=line.line_id,
            )
        if ask.amount_cents is None:  # whole units: those asked for, or all that are left
            units = ask.quantity if ask.quantity is not None else max(left_units, 0)
            amount = min(units * line.unit_price_cents, left_cents) if units else left_cents
        else:
            amount, units = ask.amount_cents, ask.quantity or 0
            if amount > left_cents:
                return _refuse(
                    "line_remainder",
                    f"At most {usd(left_cents)} can still be refunded for the {line.name} on order {order}: "
                    "tell me an amount up to that.",
                    line_id=line.line_id,
                )
    else:
        amount = remaining if ask.amount_cents is None else ask.amount_cents
    if amount <= 0:
        return Decision(
            "ask", "amount_invalid", "Refunds are in dollars and cents above zero.", next_step="amount"
        )  # a person writing "$0" or a model writing -5 is asked, never guessed
    if amount > remaining:
        return _refuse(
            "refundable_remainder",
            f"At most {usd(remaining)} can still be refunded on order {order}: tell me an amount up to that, "
            "or which item the refund is for.",
            line_id=line.line_id if line else None,
        )
    # -- approval: a person decides
    approvals: list[tuple[str, str]] = []
    card = ask.to_card_last4
    if card is not None and card not in facts.payment_cards:
        approvals.append(("destination", "a refund to a card other than the one that paid"))
    since = now - timedelta(days=limits.approval_window_days)
    earlier = sum(r.amount_cents for r in facts.refunds if r.counts and r.created_at >= since)
    if earlier + amount > limits.approval_threshold_cents:
        approvals.append(
            (
                "approval_threshold",
                f"a refund above {dollars(limits.approval_threshold_cents)}"
                + (
                    f" on one order within {limits.approval_window_days} days ({usd(earlier)} already refunded "
                    f"+ {usd(amount)} now = {usd(earlier + amount)})"
                    if earlier
                    else ""
                ),
            )
        )
    recent = [
        r for r in facts.customer_refunds if r.counts and r.created_at >= now - timedelta(days=limits.velocity_days)
    ]
    if len(recent) + 1 > limits.velocity_max_refunds or sum(r.amount_cents for r in recent) + amount > (
        limits.velocity_max_cents
    ):
        approvals.append(
            (
                "customer_velocity",
                f"more than {limits.velocity_max_refunds} refunds or {dollars(limits.velocity_max_cents)} on one "
                f"account within {limits.velocity_days} days ({len(recent)} refunds, "
                f"{usd(sum(r.amount_cents for r in recent))} so far)",
            )
        )
    line_id = line.line_id if line else None
    if approvals and not approved:
        return Decision(
            "approval",
            approvals[0][0],
            f"A refund of {usd(amount)} for order {order} needs approval from a member of our team.",
            amount_cents=amount,
            next_step="wait",
            approvals=tuple(reason for _, reason in approvals),
            approval_rules=tuple(rule for rule, _ in approvals),
            line_id=line_id,
            quantity=units,
            return_by=deadline,
        )
    return Decision("refund", "", "", amount_cents=amount, line_id=line_id, quantity=units, return_by=deadline)


def approval_reasons(amount_cents: int | None, to_card_last4: str | None, limits: RefundLimits) -> list[str]:
    """The approval rules that can be judged from a refund's arguments alone (no history: the
    order's earlier refunds are read by `decide`). A refund without an amount is the whole order,
    which a person decides when nothing was read first."""
    reasons = []
    if to_card_last4:
        reasons.append("a refund to a card other than the one that paid")
    if amount_cents is None:
        reasons.append("a refund without a stated amount")
    elif amount_cents > limits.approval_threshold_cents:
        reasons.append(f"a refund above {dollars(limits.approval_threshold_cents)}")
    return reasons


# -- items: which line of an order the customer's words name ----------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_NOT_NAMES = frozenset(
    [
        "the",
        "a",
        "an",
        "my",
        "of",
        "in",
        "on",
        "for",
        "from",
        "and",
        "with",
        "one",
        "two",
        "three",
        "pack",
        "x",
        "w",
        "in",
        "1",
        "2",
        "3",
        "4",
        "5",
        "7",
        "m",
        "l",
        "pro",
        "new",
        "just",
        "only",
        "item",
        "thing",
        "stuff",
        "order",
    ]
)
# what customers call a product -> a word of its name in the store's catalogue
SYNONYMS = {
    "laptop": "ultrabook",
    "notebook": "ultrabook",
    "television": "tv",
    "telly": "tv",
    "watch": "smartwatch",
    "ereader": "e",
    "kindle": "e",
    "bulbs": "bulb",
    "lights": "bulb",
    "plugs": "plug",
    "earphones": "earbuds",
    "buds": "earbuds",
    "doorbell": "doorbell",
    "cam": "camera",
    "coffee": "coffee",
    "hoover": "vacuum",
    "purifier": "purifier",
    "fryer": "fryer",
    "headset": "headphones",
    "screen": "monitor",
    "display": "monitor",
    "cord": "cable",
    "adapter": "charger",
    "powerbrick": "charger",
    "dongle": "hub",
}


def _stem(word: str) -> str:
    word = SYNONYMS.get(word, word)
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "buds")):
        word = word[:-1]
    return word


def name_words(text: str) -> set[str]:
    words = _WORD.findall(text.lower().replace("e-reader", "ereader").replace("e reader", "ereader"))
    return {_stem(w) for w in words if w not in _NOT_NAMES}


def match_lines(item: str, lines: Sequence[OrderLine]) -> list[OrderLine]:
    """The order's lines the words name best: [] when none shares a word, several when it is a tie."""
    wanted = name_words(item)
    if not wanted:
        return []
    scored = [(len(wanted & name_words(line.name)), line) for line in lines]
    best = max((score for score, _ in scored), default=0)
    return [line for score, line in scored if score == best and best > 0]


# -- the articles state these numbers: tests/test_policy_documents.py holds them to the limits ----------

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def spoken_day(month_and_day: tuple[int, int]) -> str:
    return f"{_MONTHS[month_and_day[0] - 1]} {month_and_day[1]}"


def article_claims(limits: RefundLimits) -> list[tuple[str, str]]:
    """(article id, sentence fragment) pairs: each article must contain its fragment, written from
    the limits. Change a number in the settings without changing the article (or the reverse) and
    the documents test fails."""
    window = limits.return_window_days
    threshold = limits.approval_threshold_cents // 100
    low, high = limits.card_days
    return [
        ("refund-policy", f"within the {window}-day return window"),
        ("refund-policy", f"Items returned after {window} days"),
        ("refund-policy", f"Refunds above ${threshold} go through a manual approval step"),
        ("return-policy", f"You can return most items within {window} days of delivery"),
        ("return-policy", f"The {window} days start on the delivery date"),
        (
            "return-policy",
            f"Items delivered between {spoken_day(limits.holiday_delivered_from)} and "
            f"{spoken_day(limits.holiday_delivered_to)} can be returned until "
            f"{spoken_day(limits.holiday_returns_until)} of the next year",
        ),
        ("refund-manual-approval", f"Any refund of more than {usd(limits.approval_threshold_cents)}"),
        (
            "refund-manual-approval",
            f"the threshold is applied to the total refunded on one order within {limits.approval_window_days} days",
        ),
        (
            "refund-manual-approval",
            f"More than {limits.velocity_max_refunds} refunds, or more than {usd(limits.velocity_max_cents)} "
            f"refunded, on one account within {limits.velocity_days} days",
        ),
        ("refund-timelines", f"| Visa, Mastercard, Discover | {low} to {high} business days |"),
        ("refund-timelines", f"Refunds over ${threshold} add up to"),
        ("refund-different-card", f"Allow the normal {low} to {high} business days"),
        ("exchanges", f"within the same {window}-day return window"),
        ("warranty-and-protection-plans", f"After the {window}-day return window"),
        ("damaged-or-defective-items", f"report within {window} days of delivery"),
        ("cancellation-fees", f"return the item within {window} days"),
        ("cancel-order", f"start a return within {window} days"),
    ]
