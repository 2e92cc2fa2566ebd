"""What every benchmark shares: a seeded store, a run context, timing statistics, output lines."""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# The customer and the tracking question every graph figure uses: order 11096 is one of C0007's
# shipped orders in the deterministic seed, so the turn calls get_order and get_shipment.
CUSTOMER = "C0007"
ORDER_ID = 11096
QUESTION = f"Where is my order {ORDER_ID}?"
EXPECTED_TOOLS = [("get_order", "ok"), ("get_shipment", "ok")]

OFFLINE_ENV = {
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TEST_TRACKING": "false",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_OFFLINE": "1",
}


def set_offline_env() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


# -- output -------------------------------------------------------------------------------


def emit(figure: str, value: float, unit: str, **details: Any) -> dict[str, Any]:
    """Print one figure as a JSON line on stdout (the parent process collects these lines)."""
    line = {
        "figure": figure,
        "value": value,
        "unit": unit,
        **details,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(line, default=str), flush=True)
    return line


# -- statistics ---------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in 0..100."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary(values: Sequence[float], digits: int = 3) -> dict[str, float]:
    """median, p95, min, max, mean and count of a sample."""
    return {
        "median": round(statistics.median(values), digits),
        "p95": round(percentile(values, 95), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "mean": round(statistics.fmean(values), digits),
        "n": len(values),
    }


def time_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000.0, result


# -- memory -------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports ``ru_maxrss`` in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kib / 1024.0 if sys.platform != "darwin" else kib / 1024.0 / 1024.0, 1)


def current_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return float("nan")


# -- the world a graph run needs ----------------------------------------------------------


@contextmanager
def workdir(prefix: str) -> Any:
    path = Path(tempfile.mkdtemp(prefix=f"switchboard-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def seeded_store_copy(folder: Path) -> str:
    """A fresh copy of a freshly seeded SQLite store in ``folder``; returns its URL."""
    from sqlalchemy import text

    from store.db import ensure_store, make_engine, sqlite_url

    seed = folder / "seed.sqlite"
    ensure_store(sqlite_url(seed))
    engine = make_engine(sqlite_url(seed))
    with engine.connect() as conn:  # fold the WAL into the file so a plain copy holds everything
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    target = folder / "store.sqlite"
    shutil.copy(seed, target)
    return sqlite_url(target)


def classifier_path() -> str:
    """Where `switchboard setup` puts the classifier; ``core.resources.classifier`` loads it
    (through ``load_or_train``, which trains it first if it is missing or stale)."""
    from core.settings import get_settings

    return str(get_settings().resolved_classifier_path())


# The per-customer rate limit (30/minute by default) would turn most benchmark turns into
# "please wait" replies: keep the limiter in the path (every turn still counts a hit) but
# set it far above anything a benchmark sends.
BENCH_RATE_LIMIT = "10000000/minute"


def graph_context(folder: Path, *, model: str = "fake:facts") -> Any:
    """A run context on a fresh store copy and a knowledge index of data/kb, both under ``folder``."""
    from core.context import Context
    from retrieval import get_knowledge_base
    from store.db import SEED_CLOCK

    chroma = folder / "chroma"
    get_knowledge_base(chroma).ingest()
    ctx = Context(customer_id=CUSTOMER).with_(
        model=model,
        smart_model=None,
        database_url=seeded_store_copy(folder),
        chroma_dir=str(chroma),
        classifier_path=classifier_path(),
        rate_limit=BENCH_RATE_LIMIT,
        clock=SEED_CLOCK,  # the seeded store's today: on the real date its "expected on" dates are late
    )
    ctx.resources.classifier  # noqa: B018 - load (or train) it once, before anything is timed
    return ctx


def check_turn(result: dict[str, Any]) -> str | None:
    """None when a tracking turn answered with get_order + get_shipment; otherwise what went wrong."""
    got = [(c["name"], c["outcome"]) for c in result.get("tool_calls", [])]
    if result.get("status") == "answered" and got == EXPECTED_TOOLS and str(ORDER_ID) in result.get("reply", ""):
        return None
    return f"{result.get('status')} {got} {str(result.get('reply', ''))[:120]!r}"


def checkpoint_url(folder: Path, name: str) -> str:
    return f"sqlite:///{folder / name}"


def bitext_utterances() -> list[str]:
    """The customer messages of the Bitext sample that ships with the repo (4,514 of them)."""
    from intents.classifier import DEFAULT_CSV, read_bitext

    texts, _ = read_bitext(DEFAULT_CSV)
    return texts
