"""What every tool shares: its declaration, the context the gateway injects, its errors."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from tools.refund_policy import RefundLimits

MAX_AMOUNT_USD = Decimal("100000")


class ToolError(Exception):
    """A tool could not do what was asked, for a reason the customer may read."""


class AccessDenied(ToolError):
    """The record is not the context customer's (or does not exist: the two look the same)."""


class PolicyRefused(ToolError):
    """The store's written policy does not allow this (`tools.refund_policy`): the message says which
    rule and what the customer can do next; ``rule`` is the rule's name, which the audit log records."""

    def __init__(self, rule: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.details = details or {}


@dataclass(frozen=True)
class ToolContext:
    """Injected by the gateway, never chosen by the model or taken from the message."""

    customer_id: str
    thread_id: str
    node: str
    idempotency_key: str | None = None
    kb_search: Callable[[str, int], list[dict[str, Any]]] | None = None
    now: datetime | None = None  # the workflow's clock (Settings.now), handed in by the gateway
    refund_limits: RefundLimits | None = None  # the refund policy's numbers; None: refunds are refused

    def clock(self) -> datetime:
        """The present as the run sees it: the gateway's clock; the real time only for a bare context."""
        return self.now if self.now is not None else datetime.now(UTC)


ToolFn = Callable[..., dict[str, Any]]
Describe = Callable[[dict[str, Any]], list[str]]
Compensate = Callable[[Connection, str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the registry knows it."""

    name: str
    fn: ToolFn
    args_model: type[BaseModel]
    changes_world: bool
    description: str
    describe: Describe
    compensate: Compensate | None = None


class Args(BaseModel):
    """Base for tool arguments: unknown keys (like a model-supplied customer_id) are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Plain ASCII digits only ("١٢٣" and "１２３" are digits to Python, not to a ledger); commas only as
# thousands separators ("10,00" is a European 10.00, never 1000).
_AMOUNT_TEXT = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")
_ORDER_TEXT = re.compile(r"#?\s*(\d{1,10})")
CENT = Decimal("0.01")
MAX_ORDER_ID = 2**31 - 1  # the store's order ids are 32-bit integers (PostgreSQL INTEGER)


def _as_decimal(value: Any) -> Any:
    """Amounts arrive as JSON numbers or text from a model or a person: accept only what reads unambiguously."""
    if isinstance(value, bool):  # bool is an int subclass: True is not $1
        raise ValueError("amount must be a number, not true/false")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("amount must be a finite number")
        return Decimal(repr(value))  # the shortest text that round-trips: 19.99, not 19.989999...
    if isinstance(value, str):
        if not value.isascii():  # checked before strip(): it would drop a no-break space or other Unicode
            raise ValueError("amount must be written like 19.99")
        text = value.strip()
        text = text[1:].strip() if text.startswith("$") else text
        text = text[:-3].strip() if text.upper().endswith("USD") else text
        if not text.isascii() or not _AMOUNT_TEXT.fullmatch(text):
            raise ValueError("amount must be written like 19.99")
        return Decimal(text.replace(",", ""))
    raise ValueError("amount must be a number")


def _check_amount(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    if value <= 0:
        raise ValueError("amount must be positive")
    if value > MAX_AMOUNT_USD:
        raise ValueError(f"amount above ${MAX_AMOUNT_USD} is not accepted")
    if value != value.quantize(CENT):
        raise ValueError("amount cannot have fractions of a cent")
    return value.quantize(CENT)


AmountUSD = Annotated[Decimal, BeforeValidator(_as_decimal), AfterValidator(_check_amount)]


def _as_order_id(value: Any) -> Any:
    """An order number: an int, or text like "10956" / "#10956"; never a bool, a fraction or odd digits."""
    if isinstance(value, bool):
        raise ValueError("order number must be a number, not true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        if not math.isfinite(value) or value != int(value):
            raise ValueError("order number must be a whole number")
        return int(value)
    if isinstance(value, str):
        match = _ORDER_TEXT.fullmatch(value.strip())
        if not value.isascii() or match is None:
            raise ValueError("order number must be written with digits only, like 10956")
        return int(match.group(1))
    raise ValueError("order number must be a number")


def _check_order_id(value: int) -> int:
    if not 1 <= value <= MAX_ORDER_ID:
        raise ValueError("order number out of range")
    return value


OrderId = Annotated[int, BeforeValidator(_as_order_id), AfterValidator(_check_order_id)]


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def usd(amount_cents: int) -> str:
    return f"${amount_cents / 100:,.2f}"
