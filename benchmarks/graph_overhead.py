"""Figure 1: one Switchboard turn versus bare LangGraph agents making the same tool calls.

Four arms, interleaved in one process (the order rotates every repeat), each turn on a new
conversation thread, each arm with its own SQLite checkpointer file opened by
``switchboard.app.open_checkpointer`` (WAL, synchronous=NORMAL), all on one fresh copy of the
seeded store, all with zero-latency scripted models:

- ``run_turn``: ``switchboard.app.run_turn``, what the CLI and server do (input validation,
  customer check, state reads, the graph, node metrics written to the store);
- ``invoke``: ``graph.invoke`` on the compiled Switchboard graph only;
- ``bare``: ``benchmarks.bare_agent`` with LangGraph's ``ToolNode`` (create_react_agent-style);
- ``minimal``: the same loop with a plain-function tools node (the floor).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable
from typing import Any

from benchmarks.common import (
    BENCH_RATE_LIMIT,
    CUSTOMER,
    EXPECTED_TOOLS,
    ORDER_ID,
    QUESTION,
    check_turn,
    checkpoint_url,
    emit,
    graph_context,
    peak_rss_mb,
    summary,
    time_ms,
    workdir,
)


def run(quick: bool) -> None:
    from langchain_core.messages import HumanMessage

    from benchmarks.bare_agent import build_bare_agent, tool_calls_of
    from graph.builder import build_graph
    from switchboard.app import open_checkpointer, run_turn

    repeats = 40 if quick else 300
    warmup = 5 if quick else 20
    with workdir("graph") as folder:
        ctx = graph_context(folder)
        with (
            open_checkpointer(checkpoint_url(folder, "switchboard.sqlite")) as sb_saver,
            open_checkpointer(checkpoint_url(folder, "switchboard-invoke.sqlite")) as inv_saver,
            open_checkpointer(checkpoint_url(folder, "bare.sqlite")) as bare_saver,
            open_checkpointer(checkpoint_url(folder, "minimal.sqlite")) as minimal_saver,
        ):
            app_graph = build_graph().compile(checkpointer=sb_saver)
            invoke_graph = build_graph().compile(checkpointer=inv_saver)
            bare = build_bare_agent(ctx.settings.resolved_database_url(), CUSTOMER, bare_saver, variant="toolnode")
            minimal = build_bare_agent(ctx.settings.resolved_database_url(), CUSTOMER, minimal_saver, variant="minimal")
            counter = itertools.count()

            def fresh(prefix: str) -> dict[str, Any]:
                return {"configurable": {"thread_id": f"{prefix}-{next(counter)}"}}

            def sb_turn() -> Any:
                return run_turn(app_graph, ctx, QUESTION)

            def sb_invoke() -> Any:
                return invoke_graph.invoke({"messages": [HumanMessage(QUESTION)]}, fresh("inv"), context=ctx)

            def bare_turn() -> Any:
                return bare.invoke({"messages": [HumanMessage(QUESTION)]}, fresh("bare"))

            def minimal_turn() -> Any:
                return minimal.invoke({"messages": [HumanMessage(QUESTION)]}, fresh("min"))

            # Every arm must do the same work, every time: checked on each result, outside the timing.
            def problem(name: str, result: Any) -> str | None:
                if name in ("run_turn", "invoke"):  # run_turn's result, or the graph's OutputState
                    return check_turn(result)
                calls = tool_calls_of(result)
                if calls != [tool for tool, _ in EXPECTED_TOOLS] or str(ORDER_ID) not in str(
                    result["messages"][-1].content
                ):
                    return f"bare agent called {calls}"
                return None

            arms: dict[str, Callable[[], Any]] = {
                "run_turn": sb_turn,
                "invoke": sb_invoke,
                "bare": bare_turn,
                "minimal": minimal_turn,
            }
            names = list(arms)
            wrong: list[str] = []
            for _ in range(warmup):
                for name in names:
                    found = problem(name, arms[name]())
                    if found:
                        raise RuntimeError(f"{name} did not do the expected turn: {found}")
            samples: dict[str, list[float]] = {name: [] for name in names}
            for i in range(repeats):
                shift = i % len(names)
                for name in names[shift:] + names[:shift]:
                    ms, result = time_ms(arms[name])
                    samples[name].append(ms)
                    found = problem(name, result)
                    if found:
                        wrong.append(f"{name}: {found}")
            if wrong:
                raise RuntimeError(f"{len(wrong)} timed turns went wrong, e.g. {wrong[:3]}")

    stats = {name: summary(values) for name, values in samples.items()}
    med = {name: statistics.median(values) for name, values in samples.items()}
    common = {
        "question": QUESTION,
        "customer": CUSTOMER,
        "repeats": repeats,
        "interleaved": True,
        "store": "sqlite",
        "checkpointer": "SqliteSaver (WAL, synchronous=NORMAL)",
        "every_turn_checked": True,
        "rate_limit": BENCH_RATE_LIMIT,
    }
    emit(
        "graph_turn_ms",
        round(med["run_turn"], 3),
        "ms",
        measure="median switchboard.app.run_turn, fake:facts model, new thread per turn",
        run_turn=stats["run_turn"],
        invoke_only=stats["invoke"],
        supersteps=6,
        **common,
    )
    emit(
        "bare_agent_turn_ms",
        round(med["bare"], 3),
        "ms",
        measure="median bare agent<->ToolNode StateGraph turn (create_react_agent-style), scripted tool calls",
        bare=stats["bare"],
        minimal_tools_node=stats["minimal"],
        supersteps=5,
        model_calls=3,
        **common,
    )
    emit(
        "graph_overhead_ratio",
        round(med["run_turn"] / med["bare"], 2),
        "x",
        measure="median run_turn / median bare ToolNode agent turn",
        invoke_ratio=round(med["invoke"] / med["bare"], 2),
        ratio_vs_minimal=round(med["run_turn"] / med["minimal"], 2),
        invoke_ratio_vs_minimal=round(med["invoke"] / med["minimal"], 2),
        medians_ms={name: round(value, 3) for name, value in med.items()},
        extra_ms_per_turn=round(med["run_turn"] - med["bare"], 3),
        extra_ms_vs_minimal=round(med["run_turn"] - med["minimal"], 3),
        peak_rss_mb=peak_rss_mb(),
        **common,
    )
