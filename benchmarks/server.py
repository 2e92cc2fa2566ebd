"""Turns through the deployed server: 1 vs 2 Aegra processes, and recovery after `kill -9`.

The production shape of `make up` on a throwaway PostgreSQL database and a Redis prefix of its
own (the test harness, tests/servers.py, with its short leases): Aegra serves graph/server.py on
the ``fake:facts`` model. A client with a customer token streams turns (``stream_mode="values"``;
`runs.wait` polls every 2 s with Redis) from ``CONCURRENCY`` tasks at once, every turn the
tracking question on a new thread, each one checked (`benchmarks.common.check_turn`).

1. one server process: turns/s and p50/p95 of a turn as the client sees it;
2. a second process started beside it, the same load spread over both: turns/s, p50/p95 and the
   ratio to (1), measured in the same run;
3. recovery: `RECOVERY_RUNS` runs of the probe graph that sleep 3 s, the server executing most of
   them killed with SIGKILL: seconds from the kill until every run has finished on the other
   (lease 5 s + reaper 2 s here; Aegra's defaults are 30 s + 15 s).

On a 2-core machine both servers, PostgreSQL, Redis and the client share the same cores: the
ratio shows what a second process buys there, not what a second machine would.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks.common import CUSTOMER, QUESTION, check_turn, classifier_path, emit, summary, workdir

CONCURRENCY = 8
RECOVERY_RUNS = 4
DONE = ("success", "error", "interrupted", "timeout")


async def _turn(client: Any) -> tuple[float, dict[str, Any], bool]:
    """One streamed turn on a new thread: (seconds, final values, whether the stream lost its end)."""
    started = time.perf_counter()
    thread = (await client.threads.create())["thread_id"]
    values: dict[str, Any] = {}
    ended = False
    message = {"messages": [{"role": "human", "content": QUESTION}]}
    async for chunk in client.runs.stream(thread, "support", input=message, stream_mode="values"):
        if chunk.event == "values":
            values = chunk.data
        ended = ended or chunk.event == "end"
    if not ended:  # Aegra 0.11 can drop a stream's last events (see tests/test_aegra_graph.py)
        for run in await client.runs.list(thread, limit=1):
            await client.runs.join(thread, run["run_id"])
        values = (await client.threads.get_state(thread))["values"]
    return time.perf_counter() - started, values, not ended


async def _load(urls: list[str], token: str, turns: int) -> dict[str, Any]:
    from langgraph_sdk import get_client

    clients = [get_client(url=url, api_key=token) for url in urls]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> tuple[float, dict[str, Any], bool]:
        async with gate:
            return await _turn(clients[i % len(clients)])

    started = time.perf_counter()
    done = await asyncio.gather(*(one(i) for i in range(turns)))
    wall = time.perf_counter() - started
    problems = [p for _, values, _ in done if (p := check_turn(_as_result(values)))]
    if problems:
        raise RuntimeError(f"{len(problems)} wrong turns, e.g. {problems[0]}")
    return {
        "turns_per_s": round(turns / wall, 2),
        "latency_ms": summary([s * 1000 for s, _, _ in done], digits=1),
        "wall_s": round(wall, 2),
        "turns": turns,
        "streams_without_end": sum(lost for _, _, lost in done),
    }


def _as_result(values: dict[str, Any]) -> dict[str, Any]:
    """The served graph's output values as `check_turn` reads a turn result."""
    return {
        "status": values.get("status"),
        "reply": values.get("reply", ""),
        "tool_calls": [{"name": c["name"], "outcome": c["outcome"]} for c in values.get("tool_calls", [])],
    }


def _recovery(servers: Any) -> dict[str, Any]:
    token = servers.token(customer=CUSTOMER)
    client = servers.client(0, token)
    runs = []
    for _ in range(RECOVERY_RUNS):
        thread = client.threads.create()["thread_id"]
        runs.append((thread, client.runs.create(thread, "probe", input={"note": "sleep:3"})["run_id"]))
    deadline = time.monotonic() + 60
    while any(client.runs.get(t, r)["status"] == "pending" for t, r in runs):
        if time.monotonic() > deadline:
            raise RuntimeError("the probe runs never started")
        time.sleep(0.1)
    picked = [
        sum(
            1
            for line in servers.log_text(i).splitlines()
            if "Worker picked up run" in line and any(r in line for _, r in runs)
        )
        for i in range(len(servers.urls))
    ]
    victim = picked.index(max(picked))
    survivor = servers.client(1 - victim, token)
    killed_at = time.monotonic()
    servers.kill(victim)
    finished: dict[str, str] = {}
    while len(finished) < len(runs):
        if time.monotonic() - killed_at > 120:
            raise RuntimeError(f"runs not finished 120 s after kill -9: {finished}")
        for thread, run in runs:
            if run not in finished and (status := survivor.runs.get(thread, run)["status"]) in DONE:
                finished[run] = status
        time.sleep(0.1)
    if set(finished.values()) != {"success"}:
        raise RuntimeError(f"runs after the kill: {finished}")
    return {"recovery_s": round(time.monotonic() - killed_at, 2), "runs": len(runs), "on_killed_server": picked[victim]}


def run(quick: bool) -> None:
    from retrieval import get_knowledge_base
    from store.db import SEED_CLOCK
    from tests.servers import SHORT_LEASES, aegra_servers, write_config

    turns = 24 if quick else 80
    with workdir("server") as folder:
        chroma = folder / "chroma"
        get_knowledge_base(chroma).ingest()
        config = write_config(
            folder / "aegra.json", {"support": "graph/server.py:graph", "probe": "tests/probe_graph.py:graph"}
        )
        with aegra_servers(
            1,
            kb_dir=str(chroma),
            classifier_path=classifier_path(),
            home=folder,
            config=config,
            # the seeded store's today, as in the in-process figures (on the real date the order reads as late)
            extra_env={"SWITCHBOARD_RATE_LIMIT": "10000000/minute", "SWITCHBOARD_CLOCK": SEED_CLOCK.isoformat()},
        ) as servers:
            token = servers.token(customer=CUSTOMER)
            asyncio.run(_load(servers.urls, token, CONCURRENCY))  # warm-up: imports, classifier, pools
            one = asyncio.run(_load(servers.urls, token, turns))
            servers.start_one()
            asyncio.run(_load(servers.urls[1:], token, CONCURRENCY))  # warm the second one
            two = asyncio.run(_load(servers.urls, token, turns))
            recovery = _recovery(servers)
    measure = f"streamed tracking turns, each on a new thread, {CONCURRENCY} at a time, fake:facts model"
    for n, figures in ((1, one), (2, two)):
        emit(f"server_turns_per_s_{n}", figures["turns_per_s"], "turns/s", measure=measure, servers=n, **figures)
        emit(f"server_turn_p50_ms_{n}", figures["latency_ms"]["median"], "ms", servers=n)
        emit(f"server_turn_p95_ms_{n}", figures["latency_ms"]["p95"], "ms", servers=n)
    emit(
        "server_scaling_ratio",
        round(two["turns_per_s"] / one["turns_per_s"], 2),
        "x",
        measure="turns/s with 2 server processes / with 1, same run, same load",
    )
    emit(
        "server_recovery_s",
        recovery["recovery_s"],
        "s",
        measure="kill -9 of the server executing sleeping runs until all finished on the other",
        lease_s=SHORT_LEASES["LEASE_DURATION_SECONDS"],
        reaper_s=SHORT_LEASES["REAPER_INTERVAL_SECONDS"],
        **{k: v for k, v in recovery.items() if k != "recovery_s"},
    )
