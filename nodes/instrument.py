"""Per-node metrics: latency, tokens and cost of every node run, added to the turn's state."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
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
            except GraphBubbleUp:  # an interrupt is not a failure
                raise
            except Exception as exc:
                _record_failure(name, (*args, *kwargs.values()), exc, (time.perf_counter() - started) * 1000)
                raise
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


def _record_failure(node: str, args: tuple[Any, ...], exc: Exception, latency_ms: float) -> None:
    """A node that raised leaves no state update, so its failure goes straight to `node_runs`."""
    runtime = next((a for a in args if isinstance(a, Runtime)), None)
    config = next((a for a in args if isinstance(a, dict) and "configurable" in a), {})
    if runtime is None or runtime.context is None:
        return
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from graph.resources import store_engine
    from store.schema import node_runs

    try:
        with store_engine(runtime.context).begin() as conn:
            conn.execute(insert(node_runs).values(
                at=datetime.now(UTC), thread_id=str(config.get("configurable", {}).get("thread_id", "")),
                customer_id=runtime.context.customer_id, node=node, outcome="error",
                error_type=type(exc).__name__, latency_ms=round(latency_ms, 3), tokens=0, cost_usd=0.0,
                model=runtime.context.model))
    except Exception:  # the store itself may be what failed; the original error matters more
        pass


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
