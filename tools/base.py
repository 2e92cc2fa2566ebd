"""What every tool shares: its declaration, the context the gateway injects, its errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from sqlalchemy.engine import Connection

MAX_AMOUNT_USD = Decimal("100000")


class ToolError(Exception):
    """A tool could not do what was asked, for a reason the customer may read."""


class AccessDenied(ToolError):
    """The record is not the context customer's (or does not exist: the two look the same)."""


@dataclass(frozen=True)
class ToolContext:
    """Injected by the gateway, never chosen by the model or taken from the message."""

    customer_id: str
    thread_id: str
    node: str
    idempotency_key: str | None = None
    kb_search: Callable[[str, int], list[dict[str, Any]]] | None = None


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


def _as_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("amount must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("amount must be a finite number")
    if isinstance(value, str):
        value = value.replace("$", "").replace(",", "").strip()
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("amount must be a number") from exc


def _check_amount(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    if value <= 0:
        raise ValueError("amount must be positive")
    if value > MAX_AMOUNT_USD:
        raise ValueError(f"amount above ${MAX_AMOUNT_USD} is not accepted")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("amount cannot have fractions of a cent")
    return value


AmountUSD = Annotated[Decimal, BeforeValidator(_as_decimal), AfterValidator(_check_amount)]


def _check_order_id(value: int) -> int:
    if isinstance(value, bool) or not (1 <= value <= 10**12):
        raise ValueError("order number out of range")
    return value


OrderId = Annotated[int, AfterValidator(_check_order_id)]


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def usd(amount_cents: int) -> str:
    return f"${amount_cents / 100:,.2f}"
