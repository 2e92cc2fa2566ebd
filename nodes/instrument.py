"""Per-node metrics: latency, tokens and cost of every node run, added to the turn's state."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from langgraph.types import Command

from nodes.llm import begin_usage, end_usage


def instrumented(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a node so its latency, tokens and cost land in ``node_metrics``."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def node(state: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            token = begin_usage()
            started = time.perf_counter()
            try:
                result = fn(state, *args, **kwargs)
            finally:
                usage = end_usage(token)
            metric = {
                "turn": _turn_of(state, result),
                "node": name,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                "tokens": usage.tokens,
                "cost_usd": round(usage.cost_usd, 8),
                "outcome": "ok",
                "cache_hit": usage.cache_hits > 0 and usage.calls == 0,
                "cache_lookups": usage.cache_lookups,
            }
            return _with_metric(result, metric)

        return node

    return wrap


def _turn_of(state: dict[str, Any], result: Any) -> int:
    update = result.update if isinstance(result, Command) else result
    if isinstance(update, dict) and "turn" in update:
        return int(update["turn"])
    return int(state.get("turn", 0))


def _with_metric(result: Any, metric: dict[str, Any]) -> Any:
    cost = {"spent_usd": metric["cost_usd"]} if metric["cost_usd"] else {}
    if isinstance(result, Command):
        update = dict(result.update or {})
        update["node_metrics"] = [*update.get("node_metrics", []), metric]
        return Command(update={**update, **cost}, goto=result.goto, graph=result.graph, resume=result.resume)
    update = dict(result or {})
    update["node_metrics"] = [*update.get("node_metrics", []), metric]
    return {**update, **cost}
