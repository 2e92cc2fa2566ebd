"""Every node after intake acts for the thread's owner, whoever resumed the run.

A run's context says who called, not whose conversation it is: a server hands the graph the
context of the run that is executing, and a resume (an operator's decision, a re-queued run
after a crash, `switchboard resume`) may carry an operator's, or none. The thread's owner is in
its state (``customer_id``, fixed by intake on the first turn), so `acting_for_owner` gives a
node a context for that owner: the approval gate, the decision it executes, the plan's steps and
the reply all act for the customer whose thread it is.

It also hands the node the id of the checkpoint the node runs from (``checkpoint_id`` in its
config): LangGraph leaves that key empty inside a task, so an audit row that quotes it would say
``checkpoint None``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from core.context import Context

Node = Callable[..., Any]


def owner_context(state: Any, context: Context) -> Context:
    """The run's context for the thread's owner (the same object when it already is)."""
    owner = state.get("customer_id") if isinstance(state, dict) else None
    if not owner or owner == context.customer_id:
        return context
    return context.with_(customer_id=str(owner))


def with_checkpoint_id(config: RunnableConfig, runtime: Runtime[Context]) -> RunnableConfig:
    configurable = config.get("configurable") or {}
    info = runtime.execution_info
    if configurable.get("checkpoint_id") or info is None:
        return config
    return {**config, "configurable": {**configurable, "checkpoint_id": info.checkpoint_id}}


def acting_for_owner(node: Node) -> Node:
    """`node`, run with its thread owner's context and its checkpoint id (see the module doc).

    The wrapper keeps what LangGraph reads off a node: its name, the type of its state (the
    node's input schema) and its return type (the `Command[Literal[...]]` edges)."""
    params = inspect.signature(node).parameters
    wants = {name for name in ("runtime", "config") if name in params}
    unknown = set(params) - {next(iter(params)), "runtime", "config"}
    if unknown:
        raise TypeError(f"{node.__name__}: acting_for_owner passes state, runtime and config, not {unknown}")
    hints = get_type_hints(node)
    first = next(iter(params))

    def run(state: Any, runtime: Runtime[Context], config: RunnableConfig) -> Any:
        kwargs: dict[str, Any] = {}
        if "runtime" in wants:
            context = owner_context(state, runtime.context) if runtime.context is not None else None
            kwargs["runtime"] = runtime if context is runtime.context else runtime.override(context=context)
        if "config" in wants:
            kwargs["config"] = with_checkpoint_id(config, runtime)
        return node(state, **kwargs)

    run.__name__ = node.__name__
    run.__qualname__ = node.__qualname__
    run.__doc__ = node.__doc__
    run.__annotations__ = {
        "state": hints.get(first, Any),
        "runtime": Runtime[Context],
        "config": RunnableConfig,
        "return": hints.get("return", Any),
    }
    return run
