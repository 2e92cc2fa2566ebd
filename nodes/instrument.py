"""Per-node metrics: latency, tokens, cost and outcome of every node run.

Each run of a wrapped node is added to the turn's state (``node_metrics``, what `ask --json`
reports) and written to the store's ``node_runs`` table (`store.runs`), wherever the graph
runs: the CLI, a server, an eval. A node that fell back because its model failed, or whose
draft the check rejected, counts as an error of that node (``error_type`` says which).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from langgraph.config import get_config
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import get_runtime
from langgraph.types import Command

from core.context import Context
from nodes.llm import Usage, begin_usage, end_usage
from store.runs import record_node_run


def instrumented(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a node so its latency, tokens and cost land in ``node_metrics``."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def node(state: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            token = begin_usage()
            started = time.perf_counter()
            try:
                result = fn(state, *args, **kwargs)
            except GraphBubbleUp:  # an interrupt is not a failure
                raise
            except Exception as exc:  # no state update survives a raise: the table is its only trace
                _record(name, (time.perf_counter() - started) * 1000, end_usage(token), type(exc).__name__)
                raise
            usage = end_usage(token)
            latency_ms = round((time.perf_counter() - started) * 1000, 3)
            metric = {
                "turn": _turn_of(state, result),
                "node": name,
                "latency_ms": latency_ms,
                "tokens": usage.tokens,
                "cost_usd": round(usage.cost_usd, 8),
                "outcome": "error" if usage.fallback else "ok",
                "error_type": usage.fallback,
                "cache_hit": usage.cache_hits > 0 and usage.calls == 0,
                "cache_lookups": usage.cache_lookups,
            }
            _record(name, latency_ms, usage, usage.fallback)
            return _with_metric(result, metric)

        return node

    return wrap


def _record(node: str, latency_ms: float, usage: Usage, error_type: str | None) -> None:
    config = get_config()
    context = get_runtime(Context).context
    if context is None:  # a graph run without a context has no store to write to
        return
    record_node_run(
        context.resources.engine,
        thread_id=str(config.get("configurable", {}).get("thread_id", "")),
        run_id=str(config.get("run_id") or "") or None,
        customer_id=context.customer_id,
        node=node,
        outcome="error" if error_type else "ok",
        error_type=error_type,
        latency_ms=latency_ms,
        tokens=usage.tokens,
        cost_usd=round(usage.cost_usd, 8),
        model=context.settings.model,
        cache_hit=usage.cache_hits > 0 and usage.calls == 0,
    )


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
