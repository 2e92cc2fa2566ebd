"""Run the benchmarks: ``python -m benchmarks.run [--quick] [--only NAME[,NAME]] [--list]``.

Every benchmark runs in a fresh child process (so peak memory and warm caches belong to it
alone, and one failure does not stop the others). Each figure is printed as one JSON line,
``{"figure": NAME, "value": X, "unit": "...", ...details}``, and all of them are written to
``benchmarks/results/latest.jsonl`` plus a timestamped copy. The numbers are quoted, never
asserted: the exit code only says whether every benchmark ran.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks.common import PROJECT_ROOT, RESULTS_DIR, set_offline_env

# name -> (module, function, what it measures)
BENCHMARKS: dict[str, tuple[str, str, str]] = {
    "graph": ("benchmarks.graph_overhead", "run", "Switchboard turn vs bare LangGraph agent, same tool calls"),
    "throughput": ("benchmarks.throughput", "run", "turns/s with 1, 4, 8 concurrent threads"),
    "classifier": ("benchmarks.classifier", "run", "intent classifier us per message"),
    "retrieval": ("benchmarks.retrieval_bench", "run", "10k-chunk Chroma ingest and query p50/p95"),
    "llm": ("benchmarks.llm", "run", "embedded model tokens/s, Switchboard vs raw llama.cpp"),
    "reply": (
        "benchmarks.reply",
        "run",
        "one-issue turn on the embedded default: p50/p95, draft pass rate, model share",
    ),
    "inbox": ("benchmarks.inbox", "run", "switchboard inbox from the gates' Store index vs a scan of every checkpoint"),
    "mail": ("benchmarks.mail", "run", "email channel: inbound messages processed/s, outbox delivered/s"),
    "server": ("benchmarks.server", "run", "turns/s and p50/p95 through 1 vs 2 Aegra servers; recovery after kill -9"),
    "memory-graph": ("benchmarks.memory", "run_graph", "peak RSS of a process running graph turns"),
    "memory-model": ("benchmarks.memory", "run_model", "peak RSS of a process loading the embedded model"),
}
GROUPS = {"memory": ["memory-graph", "memory-model"]}
CHILD_TIMEOUT_S = 600


def _selected(only: list[str] | None) -> list[str]:
    if not only:
        return list(BENCHMARKS)
    names: list[str] = []
    for item in only:
        for name in filter(None, (part.strip() for part in item.split(","))):
            expanded = GROUPS.get(name, [name])
            for one in expanded:
                if one not in BENCHMARKS:
                    known = ", ".join([*BENCHMARKS, *GROUPS])
                    raise SystemExit(f"unknown benchmark {name!r} (known: {known})")
                if one not in names:
                    names.append(one)
    return names


def _run_child(name: str, quick: bool, stamp: str) -> tuple[list[dict[str, Any]], str | None]:
    """Run one benchmark in a fresh interpreter; echo and collect its figure lines."""
    cmd = [sys.executable, "-m", "benchmarks.run", "--child", name, *(["--quick"] if quick else [])]
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True, bufsize=1)
    timer = threading.Timer(CHILD_TIMEOUT_S, proc.kill)
    timer.start()
    figures: list[dict[str, Any]] = []
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.strip()
            try:
                data = json.loads(line) if line.startswith("{") else None
            except json.JSONDecodeError:
                data = None
            if not isinstance(data, dict) or "figure" not in data:
                if line:
                    print(f"[{name}] {line}", file=sys.stderr)
                continue
            data.update(benchmark=name, quick=quick, run_at=stamp)
            print(json.dumps(data, default=str), flush=True)
            figures.append(data)
        rc = proc.wait()
    finally:
        timer.cancel()
    if rc != 0:
        return figures, f"{name}: exit code {rc}" + (" (killed after timeout)" if rc == -9 else "")
    return figures, None


def _write(figures: list[dict[str, Any]], quick: bool, stamp: str) -> list[str]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(f, default=str) + "\n" for f in figures)
    latest = RESULTS_DIR / "latest.jsonl"
    dated = RESULTS_DIR / f"{stamp.replace(':', '').replace('-', '')}{'-quick' if quick else ''}.jsonl"
    for path in (latest, dated):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return [str(latest.relative_to(PROJECT_ROOT)), str(dated.relative_to(PROJECT_ROOT))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats: the whole run in about 2 minutes")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only these benchmarks (repeat or comma-separate; 'memory' = both memory parts)",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    set_offline_env()

    if args.list:
        for name, (_, _, what) in BENCHMARKS.items():
            print(f"{name:14} {what}")
        return 0
    if args.child:
        module, function, _ = BENCHMARKS[args.child]
        getattr(importlib.import_module(module), function)(args.quick)
        return 0

    names = _selected(args.only)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    started = time.perf_counter()
    figures: list[dict[str, Any]] = []
    failures: list[str] = []
    for name in names:
        t0 = time.perf_counter()
        got, error = _run_child(name, args.quick, stamp)
        figures.extend(got)
        print(f"[{name}] {len(got)} figures in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        if error:
            failures.append(error)
    paths = _write(figures, args.quick, stamp)
    print(
        f"{len(figures)} figures in {time.perf_counter() - started:.1f} s ({os.cpu_count()} cpus), "
        f"written to {' and '.join(paths)}",
        file=sys.stderr,
    )
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
