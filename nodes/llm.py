"""Calling a model from a node: token and cost accounting, and failures turned into `None`.

A node never lets a model failure crash the turn: it gets `None` and falls back
to a deterministic path.
"""

from __future__ import annotations

import contextvars
import logging
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.load import dumps
from langchain_core.messages import BaseMessage
from langchain_core.outputs import Generation
from langgraph.constants import TAG_NOSTREAM

from core.context import Context
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
    cache_hits: int = 0
    cache_lookups: int = 0
    fallback: str | None = None  # why the node fell back to its deterministic path, if it did


_usage: contextvars.ContextVar[Usage | None] = contextvars.ContextVar("node_usage", default=None)


def begin_usage() -> contextvars.Token[Usage | None]:
    return _usage.set(Usage())


def note_fallback(reason: str) -> None:
    """Mark the running node as having fallen back (its run is then counted as an error)."""
    usage = _usage.get()
    if usage is not None:
        usage.fallback = reason


def end_usage(token: contextvars.Token[Usage | None]) -> Usage:
    usage = _usage.get() or Usage()
    _usage.reset(token)
    return usage


def _cache_key(name: str, ctx: Context, options: dict[str, Any] | None = None) -> str:
    opts = options or {}
    extra = "".join(f"|{k}={opts[k]}" for k in sorted(opts) if k != "max_seconds")
    return f"{name}|max_tokens={ctx.settings.model_max_tokens}{extra}"


def _cached(ctx: Context, name: str, prompt: str, options: dict[str, Any] | None = None) -> str | None:
    """A reply written before for exactly this prompt (same facts) within the TTL."""
    if ctx.settings.model_cache_ttl_s <= 0 or name.startswith("fake:"):
        return None
    hit = ctx.resources.reply_cache.lookup(prompt, _cache_key(name, ctx, options))
    if not hit:
        return None
    written = float((hit[0].generation_info or {}).get("written_at", 0))
    return hit[0].text if time.time() - written <= ctx.settings.model_cache_ttl_s else None


def _remember(ctx: Context, name: str, prompt: str, text: str, options: dict[str, Any] | None = None) -> None:
    if ctx.settings.model_cache_ttl_s > 0 and not name.startswith("fake:"):
        generation = Generation(text=text, generation_info={"written_at": time.time()})
        ctx.resources.reply_cache.update(prompt, _cache_key(name, ctx, options), [generation])


def ask_model(ctx: Context, messages: list[BaseMessage], *, spec: str | None = None, **options: Any) -> str | None:
    """The model's text, or None when it failed or timed out (the caller falls back).

    The same prompt (the same question over the same facts) is answered from a
    cache within ``model_cache_ttl_s``, without calling the model again. ``options`` go to the
    model's call (``max_tokens``; for the embedded model also ``grammar`` and ``max_seconds``)
    and into the cache key (but the time budget: it changes no finished text). A text the time
    budget cut short is returned but never cached.

    The call is tagged ``nostream``: LangGraph's `messages` stream mode skips it, so no draft
    leaves a server before the reply check has passed it (the checked reply streams instead).
    """
    name = spec or ctx.settings.model
    usage = _usage.get()
    prompt = dumps(messages)
    cached = _cached(ctx, name, prompt, options)
    if usage is not None and ctx.settings.model_cache_ttl_s > 0 and not name.startswith("fake:"):
        usage.cache_lookups += 1
        usage.cache_hits += cached is not None
    if cached is not None:
        return cached
    started = time.perf_counter()
    try:
        maybe_fail(parse_faults(ctx.settings.faults), "model", f"{name}|{messages[-1].content}")
        message = ctx.resources.chat_model(name).invoke(messages, config={"tags": [TAG_NOSTREAM]}, **options)
    except Exception as exc:  # any provider error: the workflow has a deterministic path
        log.warning("model %s failed after %.0f ms: %s", name, (time.perf_counter() - started) * 1000, exc)
        note_fallback(f"model_failed:{type(exc).__name__}")
        return None
    meta = getattr(message, "usage_metadata", None) or {}
    if usage is not None:
        tokens_in, tokens_out = meta.get("input_tokens", 0), meta.get("output_tokens", 0)
        price_in, price_out = PRICES_PER_MTOK.get(name, (0.0, 0.0))
        usage.tokens += meta.get("total_tokens", tokens_in + tokens_out)
        usage.cost_usd += (tokens_in * price_in + tokens_out * price_out) / 1_000_000
        usage.calls += 1
    text = str(message.content).strip()
    if not (getattr(message, "response_metadata", None) or {}).get("truncated"):
        _remember(ctx, name, prompt, text, options)
    return text


def smart_model_allowed(ctx: Context, spent_usd: float) -> str | None:
    """The smart model for a hard step, unless none is configured or the thread's budget is spent."""
    planner = ctx.settings.planner_model
    if not planner:
        return None
    return planner if spent_usd < ctx.settings.thread_budget_usd else None
