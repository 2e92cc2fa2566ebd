"""Figure: one-issue turns on the embedded default model, end to end, and where the reply time goes.

One long-running process (what a server is): one compiled graph on a SQLite checkpointer, a fresh
copy of the seeded store, the shipped classifier and knowledge index, the default model
``embedded:smollm2-135m`` (SmolLM2-135M through llama.cpp, ``llama_threads`` 2) with the reply
cache off (``model_cache_ttl_s=0``: every turn really runs the model; a cached reply would hide
it). The clock is pinned to the seeded world's day. After a warm-up turn (the model, the
classifier and the index are loaded then: that first turn is quoted as ``warm_up_s``), each of
the one-issue messages below is played on a new thread, ``repeats`` times, once per arm (`ARMS`),
the arms interleaved so each meets the same load: ``default`` (what ships), ``opener_always`` (the
opener path without its rest after a missed budget or its load gate) and ``whole_drafts`` (the embedded model
drafting whole replies, as before issue 16). The headline figures are the default arm's; the
other arms are in the details.

Per turn: the wall time of ``switchboard.app.run_turn``; from the turn's checkpoints, every draft
the model wrote, the prompt it answered (``reply``: the first whole-reply draft; ``repair``: the
second, after the check rejected the first; ``opener``: the topic of a short opening sentence,
nodes/reply.py) and whether the reply check passed it; how many turns called the model at all, and
how many of those calls the time budget cut short (no draft); and the node latencies. "Model time" is the ``draft_reply`` node's time
(the node formats a prompt and calls the model, nothing else); "reply time" is the time of the
nodes after the specialist (``draft_reply``, ``check_reply``, ``fallback_reply``, ``finalize``).

The CLI's start-up (a new process: imports, the classifier, the index and the model loaded
before its one turn) is measured apart: ``switchboard ask --json`` in a child process on the same
store, its wall time minus the turn's own node time.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.common import PROJECT_ROOT, checkpoint_url, emit, graph_context, percentile, summary, workdir

MODEL = "embedded:smollm2-135m"
CLOCK = "2026-11-15T12:00:00Z"  # the seeded world's today (store.db.SEED_TODAY), at noon
REPLY_NODES = ("draft_reply", "check_reply", "fallback_reply", "finalize")
# (customer, message): one issue each, across the desks' intents; none changes an order or money,
# so every repeat meets the same world (a password reset only sends another link).
TURNS: list[tuple[str, str]] = [
    ("C0007", "Where is my order 11096?"),
    ("C0007", "track order 11197"),
    ("C0007", "how long will delivery take for order 11096?"),
    ("C0007", "can I get the invoice for order 10859?"),
    ("C0007", "what payment methods do you accept?"),
    ("C0007", "what is the cancellation fee for order 11197"),
    ("C0007", "what is your refund policy? how many days do i have"),
    ("C0007", "I forgot my password and can't sign in"),
    ("C0007", "how do I change the email on my account?"),
    ("C0007", "cancel order 11096"),
    ("C0007", "how do I return an item?"),
    ("C0007", "can you ship to Canada?"),
    ("C0007", "how do I contact customer service?"),
    ("C0007", "is the site down?"),
    ("C0008", "what's the status of my refund for order 10226?"),
    ("C0008", "I want a refund for order 10481"),
    ("C0015", "there is a problem with the payment of order 10144"),
    ("C0017", "when is order 11051 arriving?"),
]


def drafts_of(graph: Any, thread_id: str, kind_of: Any) -> list[dict[str, Any]]:
    """Every draft of the turn, oldest first: its prompt kind, whether the check passed it, why not."""
    history = list(graph.get_state_history({"configurable": {"thread_id": thread_id}}))[::-1]  # oldest first
    found: list[dict[str, Any]] = []
    for before, after in itertools.pairwise(history):
        if "check_reply" not in before.next:
            continue
        values = before.values
        passed = "finalize" in after.next and not after.values.get("draft_problems")
        found.append(
            {
                "kind": kind_of(values),
                "passed": passed,
                "problems": list(after.values.get("draft_problems") or [])[:3],
                "draft": str(values.get("draft", ""))[:160],
            }
        )
    return found


def _kind_of(ctx: Any) -> Any:
    from nodes import reply

    mode = getattr(reply, "writer_mode", None)
    opener = mode is not None and mode(ctx) == "opener"

    def kind(values: dict[str, Any]) -> str:
        if opener:
            return "opener"
        return "reply" if int(values.get("draft_attempts") or 1) <= 1 else "repair"

    return kind


def cli_start_up(ctx: Any, folder: Path) -> dict[str, Any]:
    """`switchboard ask --json` in a new process on the same store: wall time, and that minus the turn."""
    settings = ctx.settings
    env = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": settings.resolved_database_url(),
        "SWITCHBOARD_CHROMA_DIR": str(settings.resolved_chroma_dir()),
        "SWITCHBOARD_CLASSIFIER_PATH": str(settings.resolved_classifier_path()),
        "SWITCHBOARD_CHECKPOINT_URL": checkpoint_url(folder, "cli.sqlite"),
        "SWITCHBOARD_MODEL_CACHE_PATH": str(folder / "cli-cache.sqlite"),
        "SWITCHBOARD_MODEL": MODEL,
        "SWITCHBOARD_MODEL_CACHE_TTL_S": "0",
        "SWITCHBOARD_CLOCK": CLOCK,
        "SWITCHBOARD_RATE_LIMIT": settings.rate_limit,
    }
    cli = str(Path(sys.executable).with_name("switchboard"))
    started = time.perf_counter()
    done = subprocess.run(
        [cli, "ask", "--customer", "C0007", "--json", "Where is my order 11096?"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    wall_s = time.perf_counter() - started
    result = json.loads(done.stdout)
    node_s = sum(n["latency_ms"] for n in result["nodes"].values()) / 1000
    return {
        "wall_s": round(wall_s, 3),
        "turn_nodes_s": round(node_s, 3),
        "start_up_s": round(wall_s - node_s, 3),
        "status": result["status"],
    }


# What each arm changes in the settings. ``default``: what ships. ``opener_always``: the opener path
# with no rest after a missed budget and no load gate, so every eligible turn asks the model (its
# pass rate and cost show even on a busy machine). ``whole_drafts``: the embedded model drafting whole replies, as before
# issue 16 (check, repair once, fallback): the before figures, measured in the same run and load.
ARMS: dict[str, dict[str, Any]] = {
    "default": {},
    "opener_always": {"reply_writer": "opener", "opener_rest_s": 0.0, "opener_max_load": 0.0},
    "whole_drafts": {"reply_writer": "whole"},
}


def _arm_figures(turns: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [t["wall_ms"] for t in turns]
    drafts = [d for t in turns for d in t["drafts"]]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    by_intent: dict[str, list[bool]] = defaultdict(list)
    for turn in turns:
        for d in turn["drafts"]:
            by_kind[d["kind"]].append(d["passed"])
            by_intent[str(turn["intent"])].append(d["passed"])
    model_ms, reply_ms = sum(t["model_ms"] for t in turns), sum(t["reply_ms"] for t in turns)
    return {
        "p50_ms": round(statistics.median(walls), 1),
        "p95_ms": round(percentile(walls, 95), 1),
        "wall_ms": summary(walls, 1),
        # CPU time of this process per turn (all its threads): what the turn costs the cores, which a
        # busy machine does not inflate the way it inflates wall time (llama.cpp's threads spin while
        # they wait for each other, so with 2 threads it is up to twice the wall time of an idle machine)
        "cpu_ms": summary([t["cpu_ms"] for t in turns], 1),
        "slowest": sorted(((round(t["wall_ms"]), t["message"]) for t in turns), reverse=True)[:3],
        "draft_pass_rate": round(sum(d["passed"] for d in drafts) / len(drafts), 3) if drafts else None,
        "drafts": len(drafts),
        "per_prompt": {k: {"drafts": len(v), "passed": sum(v)} for k, v in sorted(by_kind.items())},
        "per_intent": {k: {"drafts": len(v), "passed": sum(v)} for k, v in sorted(by_intent.items())},
        "turns_with_model_text": round(sum(any(d["passed"] for d in t["drafts"]) for t in turns) / len(turns), 3),
        "turns_calling_the_model": sum(t["model_ran"] for t in turns),
        "calls_cut_short": sum(t["model_ran"] and not t["drafts"] for t in turns),
        "rejections": [d["problems"][:1] for d in drafts if not d["passed"]][:4],
        "model_share_of_reply": round(model_ms / reply_ms, 3) if reply_ms else 0.0,
        "model_share_of_turn": round(model_ms / sum(walls), 3),
        "model_ms_per_turn": round(model_ms / len(turns), 1),
        "openers": sorted({d["draft"] for t in turns for d in t["drafts"] if d["passed"]})[:8],
    }


def _timed_turn(graph: Any, ctx: Any, message: str, thread: str) -> tuple[dict[str, Any], float, float]:
    """One turn through ``switchboard.app.run_turn``: its result, wall ms and this process's CPU ms."""
    from switchboard.app import run_turn

    started, cpu_started = time.perf_counter(), time.process_time()
    result = run_turn(graph, ctx, message, thread)
    return result, (time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000


def run(quick: bool) -> None:
    from graph.builder import build_graph
    from switchboard.app import open_checkpointer, run_turn

    repeats = 1 if quick else 3
    # each arm stops taking turns once it has spent this much wall time (never before 6 turns):
    # whole drafts take seconds each, tens of seconds on a busy machine, and the run must end
    budget_s = 120.0 if quick else 240.0
    with workdir("reply") as folder:
        base = graph_context(folder, model=MODEL).with_(model_cache_ttl_s=0, clock=CLOCK)
        contexts = {arm: base.with_(**changes) if changes else base for arm, changes in ARMS.items()}
        with open_checkpointer(checkpoint_url(folder, "checkpoints.sqlite")) as saver:
            graph = build_graph().compile(checkpointer=saver)
            started = time.perf_counter()
            run_turn(graph, base.with_(customer_id="C0007"), "what payment methods do you accept?", "warm-up")
            warm_up_s = time.perf_counter() - started
            counter = itertools.count()
            turns: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
            for _ in range(repeats):
                for customer, message in TURNS:
                    for arm, ctx in contexts.items():  # interleaved: every arm meets the same load
                        spent = sum(t["wall_ms"] for t in turns[arm]) / 1000
                        if len(turns[arm]) >= 6 and spent > budget_s:
                            continue
                        thread = f"t{next(counter)}"
                        result, wall_ms, cpu_ms = _timed_turn(graph, ctx.with_(customer_id=customer), message, thread)
                        nodes = result["nodes"]
                        turns[arm].append(
                            {
                                "message": message,
                                "intent": result["intent"],
                                "wall_ms": wall_ms,
                                "cpu_ms": cpu_ms,
                                "model_ms": nodes.get("draft_reply", {}).get("latency_ms", 0.0),
                                "reply_ms": sum(nodes.get(n, {}).get("latency_ms", 0.0) for n in REPLY_NODES),
                                "model_ran": nodes.get("draft_reply", {}).get("tokens", 0) > 0,
                                "drafts": drafts_of(graph, thread, _kind_of(ctx)),
                                "reply": result["reply"],
                            }
                        )
            # The interleaving is fair to load but not to llama.cpp's prompt cache: a default turn
            # follows a whole-draft turn (another prompt: a cold cache), an opener_always turn follows
            # the default turn of the same message (the same prompt: a warm one). The shipped path in a
            # server meets neither: its turns follow each other, each on another message.
            alone = [
                _timed_turn(graph, contexts["default"].with_(customer_id=customer), message, f"t{next(counter)}")[1:]
                for customer, message in TURNS
            ]
        cli = cli_start_up(base, folder)

    figures = {arm: _arm_figures(arm_turns) for arm, arm_turns in turns.items()}
    default, others = figures["default"], {arm: f for arm, f in figures.items() if arm != "default"}
    common = {
        "model": MODEL,
        "turns_per_arm": {arm: len(arm_turns) for arm, arm_turns in turns.items()},
        "arm_budget_s": budget_s,
        "messages": len(TURNS),
        "repeats": repeats,
        "model_cache": "off",
        "clock": CLOCK,
        "long_running_process": True,
        "warm_up_s": round(warm_up_s, 3),
    }
    brief = ("p50_ms", "p95_ms", "cpu_ms", "draft_pass_rate", "calls_cut_short", "model_share_of_reply")
    emit(
        "reply_turn_p50_ms",
        default["p50_ms"],
        "ms",
        measure="median switchboard.app.run_turn of a one-issue message, embedded default model, warm process",
        wall_ms=default["wall_ms"],
        cpu_ms=default["cpu_ms"],
        arms={arm: {k: f[k] for k in brief} for arm, f in others.items()},
        default_turns_back_to_back={
            "p50_ms": round(statistics.median(w for w, _ in alone), 1),
            "p95_ms": round(percentile([w for w, _ in alone], 95), 1),
            "cpu_ms": summary([c for _, c in alone], 1),
        },
        **common,
    )
    emit(
        "reply_turn_p95_ms",
        default["p95_ms"],
        "ms",
        measure="95th percentile of the same turns",
        slowest=default["slowest"],
        arms={arm: {"p95_ms": f["p95_ms"], "slowest": f["slowest"]} for arm, f in others.items()},
        **common,
    )
    drafting = figures["opener_always"]
    emit(
        "reply_draft_pass_rate",
        drafting["draft_pass_rate"] if drafting["draft_pass_rate"] is not None else float("nan"),
        "share",
        measure="drafts the reply check passed / drafts the model wrote (arm opener_always; every arm in details)",
        arms={
            arm: {
                k: f[k]
                for k in (
                    "draft_pass_rate",
                    "drafts",
                    "per_prompt",
                    "per_intent",
                    "turns_with_model_text",
                    "turns_calling_the_model",
                    "calls_cut_short",
                    "rejections",
                    "openers",
                )
            }
            for arm, f in figures.items()
        },
        **common,
    )
    emit(
        "reply_model_share",
        default["model_share_of_reply"],
        "share",
        measure="draft_reply node time (the model call) / time of the reply nodes (draft, check, fallback, finalize)",
        arms={
            arm: {k: f[k] for k in ("model_share_of_reply", "model_share_of_turn", "model_ms_per_turn")}
            for arm, f in figures.items()
        },
        **common,
    )
    emit(
        "reply_cli_start_up_s",
        cli["start_up_s"],
        "s",
        measure="`switchboard ask --json` in a new process: wall time minus the turn's node time",
        **cli,
        model=MODEL,
    )
    samples = {t["message"]: t["reply"] for t in turns["opener_always"]}
    print(json.dumps({"replies": samples}, default=str)[:4000], file=sys.stderr)
