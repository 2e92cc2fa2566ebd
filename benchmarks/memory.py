"""Figure 6: peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``).

Each part runs in its own fresh process (``benchmarks.run`` starts one per benchmark), so the
peak belongs to that workload alone:

- ``graph``: import the app, open a fresh seeded SQLite store, the knowledge index, the
  classifier and a SQLite checkpointer, then run tracking turns through ``run_turn``;
- ``model``: import ``core.models``, then load the embedded model (SmolLM2-135M, through
  ``load_chat_model(...).invoke``, which loads it on first use) and generate one short reply.
"""

from __future__ import annotations

import time

from benchmarks.common import (
    QUESTION,
    check_turn,
    checkpoint_url,
    current_rss_mb,
    emit,
    graph_context,
    peak_rss_mb,
    workdir,
)


def run_graph(quick: bool) -> None:
    from graph.builder import build_graph
    from switchboard.app import open_checkpointer, run_turn

    after_import = peak_rss_mb()
    turns = 50 if quick else 300
    with workdir("memory") as folder:
        ctx = graph_context(folder)
        with open_checkpointer(checkpoint_url(folder, "checkpoints.sqlite")) as saver:
            graph = build_graph().compile(checkpointer=saver)
            after_setup = peak_rss_mb()
            for i in range(turns):
                problem = check_turn(run_turn(graph, ctx, QUESTION, f"mem-{i}"))
                if problem:
                    raise RuntimeError(f"turn {i} went wrong: {problem}")
    emit(
        "rss_peak_graph_mb",
        peak_rss_mb(),
        "MiB",
        measure=f"ru_maxrss of a fresh process after {turns} run_turn calls on SQLite (fake:facts)",
        after_imports_mb=after_import,
        after_setup_mb=after_setup,
        current_rss_mb=current_rss_mb(),
        turns=turns,
    )


def run_model(quick: bool) -> None:
    from langchain_core.messages import HumanMessage

    from core.models import load_chat_model

    before = peak_rss_mb()
    started = time.perf_counter()
    model = load_chat_model("embedded:smollm2-135m", max_tokens=16)
    message = model.invoke([HumanMessage("Say hello.")])
    seconds = time.perf_counter() - started
    emit(
        "rss_peak_model_load_mb",
        peak_rss_mb(),
        "MiB",
        measure="ru_maxrss of a fresh process after loading the embedded model and one 16-token reply",
        before_load_mb=before,
        added_mb=round(peak_rss_mb() - before, 1),
        current_rss_mb=current_rss_mb(),
        load_and_first_reply_s=round(seconds, 3),
        output_tokens=(message.usage_metadata or {}).get("output_tokens"),
        model="embedded:smollm2-135m",
    )
