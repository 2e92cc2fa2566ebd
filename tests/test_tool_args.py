"""Property-based tests of tool arguments: amounts and order numbers, through the real argument
models and `tools.gateway.ToolGateway` on a real store.

Whatever a model or a person writes, an amount that reaches a tool is a finite Decimal in
(0, 100000] with whole cents, and an order number is a positive 32-bit integer; a bool is
never a number. Anything else is refused, audited, and changes nothing.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from store.schema import audit_log, effects, orders, refunds
from tools.base import MAX_AMOUNT_USD, MAX_ORDER_ID
from tools.billing import RefundArgs
from tools.gateway import ToolGateway
from tools.orders import OrderArgs
from tools.registry import TOOLS

CENT = Decimal("0.01")
ME = "C0007"
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------------ strategies

decimals = st.decimals(allow_nan=True, allow_infinity=True, places=None)
amount_texts = st.one_of(
    st.text(max_size=24),
    st.text(alphabet="0123456789.,$-+eE _ \u0660\u0661\uff11\u00a0", max_size=16),
    st.sampled_from(
        [
            "NaN",
            "nan",
            "-nan",
            "sNaN",
            "inf",
            "Infinity",
            "-Infinity",
            "1e5",
            "1E-3",
            "0x10",
            "1_000",
            "10,00",
            "1,0000.00",
            "$-5",
            "-$5",
            "5-",
            "--5",
            "",
            " ",
            "$",
            "USD",
            "0",
            "0.00",
            "-0",
            "0.001",
            "100000.01",
            "99999999999",
            "١٢٣",
            "１２３",
            "12.345",
            "1.2.3",
            "+5",
            ".5",
            "5.",
        ]
    ),
    decimals.map(str),
    st.floats().map(repr),
)
any_amount = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.floats(allow_nan=True, allow_infinity=True),
    decimals,
    amount_texts,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
valid_cents = st.integers(min_value=1, max_value=int(MAX_AMOUNT_USD * 100))
any_order_id = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    decimals,
    st.text(max_size=14),
    st.text(alphabet="0123456789#_ -+.\u0661\uff11", max_size=14),
    st.integers(min_value=-5, max_value=2**40).map(str),
    st.lists(st.integers(), max_size=1),
)


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


# ------------------------------------------------------------------------ a store for the gateway


@pytest.fixture(scope="module")
def engine(seeded_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One copy of the seeded store for this module: Hypothesis runs many examples against it."""
    from store.db import make_engine, sqlite_url

    target = tmp_path_factory.mktemp("tool-args") / "store.sqlite"
    shutil.copy(seeded_sqlite, target)
    engine = make_engine(sqlite_url(target))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def own_orders(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(orders.c.id, orders.c.status).where(orders.c.customer_id == ME).order_by(orders.c.id)
        ).all()
        foreign = conn.execute(select(orders.c.id).where(orders.c.customer_id != ME).order_by(orders.c.id)).scalar()
    by_status = {status: order_id for order_id, status in rows}
    return {"refundable": by_status["delivered"], "pending": by_status["pending"], "foreign": int(foreign)}


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def gateway(engine: Engine, thread: str) -> ToolGateway:
    return ToolGateway(engine, customer_id=ME, thread_id=thread, backoff_s=0.0)


# ------------------------------------------------------------------------ the argument models


@PROPERTY
@given(any_amount)
def test_an_accepted_amount_is_a_finite_whole_cent_amount_in_range(value: Any) -> None:
    try:
        parsed = RefundArgs.model_validate({"order_id": 10001, "amount_usd": value}).amount_usd
    except ValidationError:
        return
    if value is None:
        assert parsed is None
        return
    assert not is_bool(value), "a bool is never an amount"
    assert isinstance(parsed, Decimal) and parsed.is_finite()
    assert Decimal(0) < parsed <= MAX_AMOUNT_USD
    assert parsed == parsed.quantize(CENT) and parsed.as_tuple().exponent == -2
    if isinstance(value, str):
        assert value.isascii(), "only plain ASCII digits are read as money"


@PROPERTY
@given(valid_cents)
def test_every_way_of_writing_a_valid_amount_reads_the_same(amount_cents: int) -> None:
    amount = (Decimal(amount_cents) / 100).quantize(CENT)
    forms: list[Any] = [amount, str(amount), f"${amount}", f"${amount:,.2f}", f"{amount:,.2f}", f" {amount} USD "]
    if math.isclose(float(amount), float(str(amount))) and Decimal(repr(float(amount))) == amount:
        forms.append(float(amount))
    if amount == amount.to_integral_value():
        forms.append(int(amount))
    for form in forms:
        assert RefundArgs.model_validate({"order_id": 10001, "amount_usd": form}).amount_usd == amount, form


@PROPERTY
@given(
    st.one_of(
        st.integers(max_value=0),
        st.decimals(max_value=0, allow_nan=False, allow_infinity=False),
        st.floats(max_value=0.0),
        st.floats(min_value=100000.001, allow_infinity=True),
        st.integers(min_value=100001),
        st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100"), places=3).filter(
            lambda d: d != d.quantize(CENT)
        ),
        st.sampled_from(
            [
                float("nan"),
                float("inf"),
                float("-inf"),
                Decimal("NaN"),
                Decimal("sNaN"),
                Decimal("Infinity"),
                True,
                False,
            ]
        ),
    )
)
def test_negative_zero_absurd_subcent_and_non_finite_amounts_are_rejected(value: Any) -> None:
    with pytest.raises(ValidationError):
        RefundArgs.model_validate({"order_id": 10001, "amount_usd": value})


@PROPERTY
@given(any_order_id)
def test_an_accepted_order_number_is_a_positive_32_bit_integer(value: Any) -> None:
    try:
        parsed = OrderArgs.model_validate({"order_id": value}).order_id
    except ValidationError:
        return
    assert not is_bool(value), "True is not order 1"
    assert type(parsed) is int and 1 <= parsed <= MAX_ORDER_ID
    if isinstance(value, float | Decimal):
        assert value == parsed
    if isinstance(value, str):
        assert value.isascii() and "_" not in value


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        "10956.5",
        10956.5,
        "1_0956",
        "١٠٩٥٦",
        "１０９５６",
        "10956abc",
        "",
        -10956,
        0,
        2**31,
        float("nan"),
        float("inf"),
        None,
        [10956],
        {"id": 10956},
    ],
)
def test_order_numbers_that_are_not_order_numbers(value: Any) -> None:
    with pytest.raises(ValidationError):
        OrderArgs.model_validate({"order_id": value})


@pytest.mark.parametrize("value", [10956, "10956", " 10956 ", "#10956", 10956.0, Decimal("10956")])
def test_order_numbers_as_people_and_models_write_them(value: Any) -> None:
    assert OrderArgs.model_validate({"order_id": value}).order_id == 10956


def test_every_order_number_argument_of_every_tool_rejects_a_bool() -> None:
    models = {spec.args_model for spec in TOOLS.values() if "order_id" in spec.args_model.model_fields}
    assert len(models) >= 3
    for model in models:
        required = {name: "x" * 10 for name, f in model.model_fields.items() if f.is_required() and name != "order_id"}
        with pytest.raises(ValidationError):
            model.model_validate({**required, "order_id": True})


# ------------------------------------------------------------------------ through the gateway


@PROPERTY
@given(amount=any_amount)
def test_the_gateway_never_refunds_an_invalid_amount(engine: Engine, own_orders: dict[str, int], amount: Any) -> None:
    order_id = own_orders["refundable"]
    before_refunds, before_effects = count(engine, refunds), count(engine, effects)
    outcome = gateway(engine, "args-amount").call(
        "billing", "issue_refund", {"order_id": order_id, "amount_usd": amount}
    )
    try:
        valid = RefundArgs.model_validate({"order_id": order_id, "amount_usd": amount}).amount_usd
    except ValidationError:
        assert outcome.outcome == "refused" and outcome.error_type == "InvalidArguments", outcome
        assert count(engine, refunds) == before_refunds and count(engine, effects) == before_effects
        return
    if outcome.ok and not outcome.replayed:  # a valid amount within what is left on the order: done once
        assert outcome.result is not None
        assert valid is None or outcome.result["amount_cents"] == int(valid * 100)
        assert count(engine, refunds) == before_refunds + 1
    else:
        assert count(engine, refunds) == before_refunds


@PROPERTY
@given(order_id=any_order_id)
def test_the_gateway_reads_only_the_customers_own_orders(
    engine: Engine, own_orders: dict[str, int], order_id: Any
) -> None:
    outcome = gateway(engine, "args-order").call("general", "get_order", {"order_id": order_id})
    if outcome.ok:
        assert outcome.result is not None
        with engine.connect() as conn:
            owner = conn.execute(select(orders.c.customer_id).where(orders.c.id == outcome.result["order_id"])).scalar()
        assert owner == ME and not is_bool(order_id)
    else:
        assert outcome.outcome == "refused"
        assert outcome.error_type in ("InvalidArguments", "AccessDenied")


@pytest.mark.parametrize("amount", [True, "NaN", float("inf"), "-5", "0.001", "100000.01", "1e9", "10,00", "١٢٣"])
def test_a_refused_refund_is_audited_and_changes_nothing(
    engine: Engine, own_orders: dict[str, int], amount: Any
) -> None:
    thread = f"args-audit-{amount!r}"
    before = count(engine, refunds)
    outcome = gateway(engine, thread).call(
        "billing", "issue_refund", {"order_id": own_orders["refundable"], "amount_usd": amount}
    )
    assert (outcome.outcome, outcome.error_type) == ("refused", "InvalidArguments")
    assert "amount_usd" in (outcome.error or "")
    assert count(engine, refunds) == before
    assert count(engine, audit_log, audit_log.c.thread_id == thread, audit_log.c.action == "tool_refused") == 1


def test_a_foreign_order_is_refused_whatever_the_amount(engine: Engine, own_orders: dict[str, int]) -> None:
    before = count(engine, refunds)
    outcome = gateway(engine, "args-foreign").call(
        "billing", "issue_refund", {"order_id": own_orders["foreign"], "amount_usd": "1.00"}
    )
    assert (outcome.outcome, outcome.error_type) == ("refused", "AccessDenied")
    assert count(engine, refunds) == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("refund half of order 10859", {"refund_share": "0.5"}),
        ("refund 10% of order 10859", {"refund_share": "0.1"}),
        ("50 percent refund on 10859", {"refund_share": "0.5"}),
        ("refund $25 for order 10859", {"amount_usd": "25"}),  # a stated amount wins over any share
        ("refund 0% of order 10859", {"amount_unreadable": True}),
        ("refund 150% of order 10859", {"amount_unreadable": True}),
        ("refund $20 of order 11096 to a different card", {"amount_usd": "20", "to_card_last4": "other"}),
        ("refund order 10859 to my card ending 4242", {"to_card_last4": "4242"}),
    ],
)
def test_amounts_shares_and_cards_are_read_from_the_message(text: str, expected: dict) -> None:
    from nodes.entities import extract_entities

    found = extract_entities(text)
    assert {k: found.get(k) for k in expected} == expected, found
