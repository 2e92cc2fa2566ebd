"""Figure 2: turns per second through the full graph with N concurrent threads (N = 1, 4, 8).

One compiled graph on one SQLite checkpointer (``open_checkpointer``), one fresh copy of the
seeded store, the ``fake:facts`` model. N worker threads each call ``switchboard.app.run_turn``
with the tracking question, every turn on its own new conversation thread, so no two requests
ever share a thread. Requests per second = all turns / wall time from the first start to the
last finish. On a 2-core machine under the GIL this mostly shows contention, not scaling.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.common import (
    BENCH_RATE_LIMIT,
    QUESTION,
    check_turn,
    checkpoint_url,
    emit,
    graph_context,
    summary,
    workdir,
)

CONCURRENCY = (1, 4, 8)


def run(quick: bool) -> None:
    from graph.builder import build_graph
    from switchboard.app import open_checkpointer, run_turn

    turns_per_worker = {1: 40, 4: 12, 8: 6} if quick else {1: 200, 4: 60, 8: 30}
    with workdir("throughput") as folder:
        ctx = graph_context(folder)
        with open_checkpointer(checkpoint_url(folder, "checkpoints.sqlite")) as saver:
            graph = build_graph().compile(checkpointer=saver)
            for i in range(10):  # warm-up: imports, caches, engines
                run_turn(graph, ctx, QUESTION, f"warm-{i}")
            for n in CONCURRENCY:
                per_worker = turns_per_worker[n]
                barrier = threading.Barrier(n)
                latencies: list[list[float]] = [[] for _ in range(n)]
                failures: list[str] = []

                def worker(
                    index: int,
                    n: int = n,
                    per_worker: int = per_worker,
                    barrier: threading.Barrier = barrier,
                    latencies: list[list[float]] = latencies,
                    failures: list[str] = failures,
                ) -> None:
                    barrier.wait()
                    for turn in range(per_worker):
                        started = time.perf_counter()
                        result = run_turn(graph, ctx, QUESTION, f"n{n}-w{index}-t{turn}")
                        latencies[index].append((time.perf_counter() - started) * 1000.0)
                        problem = check_turn(result)
                        if problem:
                            failures.append(problem)

                with ThreadPoolExecutor(max_workers=n) as pool:
                    started = time.perf_counter()
                    futures = [pool.submit(worker, i) for i in range(n)]
                    for future in futures:
                        future.result()
                    wall = time.perf_counter() - started
                total = n * per_worker
                flat = [ms for worker_ms in latencies for ms in worker_ms]
                emit(
                    f"throughput_rps_{n}",
                    round(total / wall, 2),
                    "turns/s",
                    measure=f"run_turn from {n} concurrent threads, each turn a new conversation thread",
                    threads=n,
                    turns=total,
                    wall_s=round(wall, 3),
                    latency_ms=summary(flat),
                    wrong_results=len(failures),
                    question=QUESTION,
                    store="sqlite",
                    checkpointer="SqliteSaver (one connection, shared)",
                    model="fake:facts",
                    rate_limit=BENCH_RATE_LIMIT,
                )
                if failures:
                    raise RuntimeError(f"{len(failures)} turns went wrong under {n} threads: {failures[:3]}")
