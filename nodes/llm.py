"""Calling a model from a node: token and cost accounting, and failures turned into `None`.

A node never lets a model failure crash the turn: it gets `None` and falls back
to a deterministic path.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():  # langchain-community warns on import that it is being sunset
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.cache import SQLiteCache
from langchain_core._api import LangChainBetaWarning
from langchain_core.load import dumps, loads
from langchain_core.messages import BaseMessage
from langchain_core.outputs import Generation
from sqlalchemy import select
from sqlalchemy.orm import Session

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
    cache_hits: int = 0
    cache_lookups: int = 0


_usage: contextvars.ContextVar[Usage | None] = contextvars.ContextVar("node_usage", default=None)


def begin_usage() -> contextvars.Token[Usage | None]:
    return _usage.set(Usage())


def end_usage(token: contextvars.Token[Usage | None]) -> Usage:
    usage = _usage.get() or Usage()
    _usage.reset(token)
    return usage


class _ReplyCache(SQLiteCache):
    """LangChain's SQLite cache, reading back only the one class it stores (`Generation`): the
    default `loads` warns that it will stop trusting stored objects, and a cache file is data."""

    def lookup(self, prompt: str, llm_string: str) -> list[Generation] | None:
        stmt = (select(self.cache_schema.response).where(self.cache_schema.prompt == prompt)
                .where(self.cache_schema.llm == llm_string).order_by(self.cache_schema.idx))
        with Session(self.engine) as session:
            rows = session.execute(stmt).fetchall()
        try:
            with warnings.catch_warnings():  # `loads` announces that it is in beta on every call
                warnings.simplefilter("ignore", LangChainBetaWarning)
                return [loads(row[0], allowed_objects=[Generation]) for row in rows] or None
        except Exception:  # written by another version, or not ours: a miss, never a crash
            return None


@functools.lru_cache(maxsize=4)
def _reply_cache(path: str) -> SQLiteCache:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return _ReplyCache(database_path=path)


def _cache_key(name: str, ctx: Context) -> str:
    return f"{name}|max_tokens={ctx.model_max_tokens}"


def _cached(ctx: Context, name: str, prompt: str) -> str | None:
    """A reply written before for exactly this prompt (same facts) within the TTL."""
    if ctx.model_cache_ttl_s <= 0 or name.startswith("fake:"):
        return None
    hit = _reply_cache(ctx.model_cache_path).lookup(prompt, _cache_key(name, ctx))
    if not hit:
        return None
    written = float((hit[0].generation_info or {}).get("written_at", 0))
    return hit[0].text if time.time() - written <= ctx.model_cache_ttl_s else None


def _remember(ctx: Context, name: str, prompt: str, text: str) -> None:
    if ctx.model_cache_ttl_s > 0 and not name.startswith("fake:"):
        generation = Generation(text=text, generation_info={"written_at": time.time()})
        _reply_cache(ctx.model_cache_path).update(prompt, _cache_key(name, ctx), [generation])


def ask_model(ctx: Context, messages: list[BaseMessage], *, spec: str | None = None) -> str | None:
    """The model's text, or None when it failed or timed out (the caller falls back).

    The same prompt (the same question over the same facts) is answered from a
    cache within ``model_cache_ttl_s``, without calling the model again.
    """
    name = spec or ctx.model
    usage = _usage.get()
    prompt = dumps(messages)
    cached = _cached(ctx, name, prompt)
    if usage is not None and ctx.model_cache_ttl_s > 0 and not name.startswith("fake:"):
        usage.cache_lookups += 1
        usage.cache_hits += cached is not None
    if cached is not None:
        return cached
    started = time.perf_counter()
    try:
        maybe_fail(parse_faults(ctx.faults), "model", f"{name}|{messages[-1].content}")
        message = chat_model(ctx, name).invoke(messages)
    except Exception as exc:  # any provider error: the workflow has a deterministic path
        log.warning("model %s failed after %.0f ms: %s", name, (time.perf_counter() - started) * 1000, exc)
        return None
    meta = getattr(message, "usage_metadata", None) or {}
    if usage is not None:
        tokens_in, tokens_out = meta.get("input_tokens", 0), meta.get("output_tokens", 0)
        price_in, price_out = PRICES_PER_MTOK.get(name, (0.0, 0.0))
        usage.tokens += meta.get("total_tokens", tokens_in + tokens_out)
        usage.cost_usd += (tokens_in * price_in + tokens_out * price_out) / 1_000_000
        usage.calls += 1
    text = str(message.content).strip()
    _remember(ctx, name, prompt, text)
    return text


def smart_model_allowed(ctx: Context, spent_usd: float) -> str | None:
    """The smart model for a hard step, unless none is configured or the thread's budget is spent."""
    if not ctx.planner_model:
        return None
    return ctx.planner_model if spent_usd < ctx.thread_budget_usd else None
