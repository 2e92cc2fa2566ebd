"""Calling a model from a node: token and cost accounting, and failures turned into `None`.

A node never lets a model failure crash the turn: it gets `None` and falls back
to a deterministic path.
"""

from __future__ import annotations

import contextvars
import logging
import time
from dataclasses import dataclass

from langchain_core.messages import BaseMessage

from graph.context import Context
from graph.resources import chat_model
from tools.faults import maybe_fail, parse_faults

log = logging.getLogger(__name__)

# USD per million tokens (input, output). Local and scripted models cost nothing.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "openai:gpt-4o-mini": (0.15, 0.60),
    "openai:gpt-4o": (2.50, 10.00),
    "openai:gpt-4.1-mini": (0.40, 1.60),
    "openai:gpt-4.1-nano": (0.10, 0.40),
}


@dataclass
class Usage:
    tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0


_usage: contextvars.ContextVar[Usage | None] = contextvars.ContextVar("node_usage", default=None)


def begin_usage() -> contextvars.Token[Usage | None]:
    return _usage.set(Usage())


def end_usage(token: contextvars.Token[Usage | None]) -> Usage:
    usage = _usage.get() or Usage()
    _usage.reset(token)
    return usage


def ask_model(ctx: Context, messages: list[BaseMessage], *, spec: str | None = None) -> str | None:
    """The model's text, or None when it failed or timed out (the caller falls back)."""
    name = spec or ctx.model
    started = time.perf_counter()
    try:
        maybe_fail(parse_faults(ctx.faults), "model", f"{name}|{messages[-1].content}")
        message = chat_model(ctx, name).invoke(messages)
    except Exception as exc:  # any provider error: the workflow has a deterministic path
        log.warning("model %s failed after %.0f ms: %s", name, (time.perf_counter() - started) * 1000, exc)
        return None
    usage = _usage.get()
    meta = getattr(message, "usage_metadata", None) or {}
    if usage is not None:
        tokens_in, tokens_out = meta.get("input_tokens", 0), meta.get("output_tokens", 0)
        price_in, price_out = PRICES_PER_MTOK.get(name, (0.0, 0.0))
        usage.tokens += meta.get("total_tokens", tokens_in + tokens_out)
        usage.cost_usd += (tokens_in * price_in + tokens_out * price_out) / 1_000_000
        usage.calls += 1
    return str(message.content).strip()
