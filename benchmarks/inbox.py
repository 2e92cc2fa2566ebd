"""Figure 7: `switchboard inbox` from the gates' index vs from a scan of every checkpoint.

One SQLite checkpoint file and store (``open_checkpointer`` / ``open_store``, as the CLI opens
them), ``fake:facts``. Many answered conversations (the tracking question, one thread each) and
a few waiting for a person (a refund over the approval limit). Then ``switchboard.threads.inbox``
is timed both ways, interleaved: reading the index the gates keep in the Store
(`nodes.waiting`), and ``scan=True``, which lists every checkpoint of every thread (what the
inbox did before the index). Both must return the same waiting threads.
"""

from __future__ import annotations

import time

from benchmarks.common import (
    QUESTION,
    check_turn,
    checkpoint_url,
    emit,
    graph_context,
    summary,
    workdir,
)


def run(quick: bool) -> None:

    from graph.builder import build_graph
    from switchboard.app import open_checkpointer, open_store, run_turn
    from switchboard.threads import inbox
    from tests.orders import approval_order

    answered_threads, waiting_threads, repeats = (100, 5, 3) if quick else (600, 20, 7)
    with workdir("inbox") as folder:
        ctx = graph_context(folder)
        # a refund one person must approve: inside the return window, between $500 and $1,000
        big = approval_order(ctx)
        waiting_ctx = ctx.with_(customer_id=big.customer_id)
        url = checkpoint_url(folder, "checkpoints.sqlite")
        with open_checkpointer(url) as saver, open_store(url) as store:
            graph = build_graph().compile(checkpointer=saver, store=store)
            started = time.perf_counter()
            for i in range(answered_threads):
                problem = check_turn(run_turn(graph, ctx, QUESTION, f"answered-{i}"))
                if problem:
                    raise RuntimeError(f"a tracking turn went wrong: {problem}")
            for i in range(waiting_threads):
                if (
                    run_turn(graph, waiting_ctx, f"I want a refund for order {big.id}", f"waiting-{i}")["status"]
                    != "awaiting_approval"
                ):
                    raise RuntimeError("a refund over the limit did not wait for a person")
            filled_s = time.perf_counter() - started
            checkpoints = sum(1 for _ in saver.list(None))
            index_ms: list[float] = []
            scan_ms: list[float] = []
            for _ in range(repeats):
                for scan, times in ((False, index_ms), (True, scan_ms)):
                    t0 = time.perf_counter()
                    rows = inbox(graph, scan=scan)
                    times.append((time.perf_counter() - t0) * 1000)
                    if sorted(r["thread_id"] for r in rows) != sorted(f"waiting-{i}" for i in range(waiting_threads)):
                        raise RuntimeError(f"inbox(scan={scan}) returned {len(rows)} rows")
    details = {
        "threads": answered_threads + waiting_threads,
        "waiting": waiting_threads,
        "checkpoints": checkpoints,
        "fill_s": round(filled_s, 1),
    }
    index, scan = summary(index_ms), summary(scan_ms)
    emit(
        "inbox_index_ms",
        index["median"],
        "ms",
        measure="median switchboard.threads.inbox from the Store index",
        index=index,
        **details,
    )
    emit(
        "inbox_scan_ms",
        scan["median"],
        "ms",
        measure="median switchboard.threads.inbox(scan=True), every checkpoint",
        scan=scan,
        **details,
    )
    emit(
        "inbox_scan_vs_index_ratio",
        round(scan["median"] / index["median"], 1),
        "x",
        measure="median scan / median index",
        **details,
    )
