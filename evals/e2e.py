"""End-to-end scenarios: a customer's conversation played through the real graph, then graded.

Each trial runs on a fresh copy of the seeded store with its own in-memory
checkpointer, a real classifier and knowledge index, and the model under test.
Graded per trial (all must hold for the trial to pass):

- status and department of the last turn (``departments`` too, where given);
- the tool trajectory: names in order, each with its outcome (openevals strict trajectory
  match; tool arguments compared only where the scenario names them);
- the facts the final reply must contain (case-insensitive; a fact may list alternatives),
  and strings it must not contain;
- the world state: hash of the store's rows against the seeded state with the declared changes
  (``db``), or any of several declared outcomes (``db_any``), a ``"*"`` in a declared row
  matching any value of that field;
- where the scenario asks: tools that must not run (``forbidden_tools``), no sentence said twice in
  a reply (``no_repeated_sentences``), rows the audit log must hold (``audit``).

pass^k (tau-bench): a scenario counts for pass^k only when all k of its trials pass.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from core.context import Context
from evals.world import (
    SeededStore,
    apply_changes,
    audit_rows,
    state_diff,
    state_hash,
    states_match,
    validate_changes,
    world_state,
)
from graph.builder import build_graph
from nodes.guards import facts as grounding
from store.db import SEED_CLOCK, make_engine
from switchboard.app import UserError, pending_interrupts, resume_turn, run_turn

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios" / "e2e.v2.jsonl"  # v1 kept for the record; see scenarios/README.md
# Scenarios for behaviour not built yet (issues 15 and 16): reported by the `e2e_staged` suite,
# never gated; move a file into the gated set once its behaviour ships.
STAGED = (
    HERE / "scenarios" / "e2e.helpful.v1.jsonl",
    HERE / "scenarios" / "e2e.money.v1.jsonl",
    HERE / "scenarios" / "e2e.helpful.v2.jsonl",
)
# The seeded world's today (store.db.SEED_TODAY): dates in replies are read against it ("late").
STATUSES = {"answered", "awaiting_approval", "needs_info", "escalated", "error", "user_error"}
OUTCOMES = {"ok", "refused", "failed"}
Judge = Callable[[str, list[str]], "float | None"]  # (reply, evidence) -> score, None when it could not judge


@dataclass(frozen=True)
class Scenario:
    id: str
    customer: str
    turns: list[dict[str, Any]]
    expected: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    faults: str = ""
    notes: str = ""
    source: str = ""  # the file it was read from

    def messages(self) -> list[str]:
        return [turn_message(t) for t in self.turns]


def turn_message(turn: dict[str, Any]) -> str:
    return str(turn["message"]) * int(turn.get("repeat", 1))


def parse_step(step: Any) -> dict[str, Any]:
    """``"get_order"``, ``"get_order:refused"`` or ``{"name", "outcome", "args"}`` -> a step dict."""
    if isinstance(step, str):
        name, _, outcome = step.partition(":")
        return {"name": name, "outcome": outcome or "ok"}
    if isinstance(step, dict) and isinstance(step.get("name"), str):
        return {"outcome": "ok", **step}
    raise ValueError(f"bad trajectory step {step!r}")


def load_scenarios(path: Path = SCENARIOS) -> list[Scenario]:
    """Read and validate the scenario file; raises ValueError naming the bad line."""
    scenarios: list[Scenario] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                scenario = Scenario(
                    id=raw["id"],
                    customer=raw["customer"],
                    turns=raw["turns"],
                    expected=raw["expected"],
                    tags=list(raw.get("tags", [])),
                    faults=raw.get("faults", ""),
                    notes=raw.get("notes", ""),
                    source=path.name,
                )
                _validate(scenario)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path.name} line {number}: {exc}") from exc
            if scenario.id in seen:
                raise ValueError(f"{path.name} line {number}: duplicate id {scenario.id!r}")
            seen.add(scenario.id)
            scenarios.append(scenario)
    return scenarios


def load_staged(paths: Sequence[Path] = STAGED) -> list[Scenario]:
    """The staged files' scenarios, ids unique across them and the gated file."""
    taken = {s.id for s in load_scenarios()}
    out: list[Scenario] = []
    for path in paths:
        for scenario in load_scenarios(path):
            if scenario.id in taken:
                raise ValueError(f"{path.name}: id {scenario.id!r} is already used")
            taken.add(scenario.id)
            out.append(scenario)
    return out


def _validate(s: Scenario) -> None:
    if not s.turns or not all(isinstance(t, dict) and "message" in t for t in s.turns):
        raise ValueError(f"{s.id}: every turn needs a message")
    exp = s.expected
    statuses = exp.get("status") if isinstance(exp.get("status"), list) else [exp.get("status")]
    if not statuses or any(status not in STATUSES for status in statuses):
        raise ValueError(f"{s.id}: expected.status must be one (or a list) of {sorted(STATUSES)}")
    for step in exp.get("trajectory", []):
        if parse_step(step)["outcome"] not in OUTCOMES:
            raise ValueError(f"{s.id}: bad outcome in {step!r}")
    validate_changes(exp.get("db", {}))
    if "db_any" in exp and ("db" in exp or not isinstance(exp["db_any"], list) or not exp["db_any"]):
        raise ValueError(f"{s.id}: db_any is a non-empty list of declarations, instead of db")
    for changes in exp.get("db_any", []):
        validate_changes(changes)
    for step in exp.get("forbidden_tools", []):
        parse_step(step)
    if not all(isinstance(row, dict) and row for row in exp.get("audit", [])):
        raise ValueError(f"{s.id}: audit is a list of non-empty objects (fields an audit row must have)")
    for turn in s.turns:
        for decision in turn.get("decisions", []):
            if decision.get("type") not in ("approve", "reject", "edit", "respond"):
                raise ValueError(f"{s.id}: bad decision {decision!r}")


@dataclass
class Trial:
    """What one play of a scenario produced."""

    status: str
    department: str | None
    departments: list[str]
    reply: str
    replies: list[str]  # every reply the customer read, interim ones at an approval gate too
    tool_calls: list[dict[str, Any]]
    turns: list[dict[str, Any]]  # per turn: reply, evidence, done tools, whether the model wrote it
    problems: list[str]
    nodes: dict[str, dict[str, float]]
    seconds: float
    citations: list[str] = field(default_factory=list)


def model_wrote(values: dict[str, Any]) -> bool:
    """The model's draft went out as written: the whole reply, or its opening sentence (nodes/reply.py)."""
    draft, reply = str(values.get("draft") or ""), str(values.get("reply") or "")
    return bool(draft) and (reply == draft or reply.startswith(f"{draft} "))


def play(scenario: Scenario, base: Context, store_url: str, *, check_replies: bool = True) -> Trial:
    """Run the scenario's turns and scripted decisions on a fresh graph; never raises for the system's errors."""
    graph = build_graph(check_replies=check_replies).compile(checkpointer=InMemorySaver())
    thread_id: str | None = None
    problems: list[str] = []
    turns: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    citations: list[str] = []
    nodes: dict[str, dict[str, float]] = {}
    result: dict[str, Any] = {"status": "error", "department": None, "departments": [], "reply": ""}
    seen: list[str] = []  # every reply the customer read, in order
    started = time.perf_counter()
    for turn in scenario.turns:
        ctx = base.with_(customer_id=turn.get("customer", scenario.customer), database_url=store_url)
        try:
            result = run_turn(graph, ctx, turn_message(turn), thread_id)
            thread_id = result["thread_id"]
            for number, decision in enumerate(turn.get("decisions", []), 1):
                if not pending_interrupts(graph, thread_id):
                    problems.append(f"scripted decision {decision['type']!r} but no approval gate was open")
                    break
                seen.append(result["reply"])  # what the customer read while the gate was open
                # each scripted decision by its own operator (a four-eyes refund needs two)
                result = resume_turn(graph, ctx.with_(actor=f"operator:eval{number}"), thread_id, decision)
        except UserError as exc:
            result = {
                "status": "user_error",
                "department": None,
                "departments": [],
                "reply": str(exc),
                "tool_calls": [],
                "nodes": {},
            }
            turns.append(
                {
                    "reply": str(exc),
                    "evidence": [],
                    "done_tools": [],
                    "model_wrote": False,
                    "fixed_text": True,
                    "customer_text": turn_message(turn),
                }
            )
            seen.append(str(exc))
            break
        except Exception as exc:  # a crash is a failed trial, reported with its type
            problems.append(f"crashed: {type(exc).__name__}: {exc}")
            result = {
                "status": "crash",
                "department": None,
                "departments": [],
                "reply": "",
                "tool_calls": [],
                "nodes": {},
            }
            break
        values = graph.get_state({"configurable": {"thread_id": thread_id}}).values
        calls.extend(result["tool_calls"])
        citations.extend(c for c in result.get("citations", []) if c not in citations)
        for name, metric in result.get("nodes", {}).items():
            entry = nodes.setdefault(name, {"latency_ms": 0.0, "tokens": 0, "cost_usd": 0.0})
            for key in entry:
                entry[key] += metric[key]
        seen.append(result["reply"])
        turns.append(
            {
                "reply": result["reply"],
                "evidence": list(values.get("evidence", [])),
                "done_tools": sorted({c["name"] for c in values.get("tool_calls", []) if c["outcome"] == "ok"}),
                "model_wrote": model_wrote(values),
                # a question or a fixed safety reply states no facts, so there is nothing to ground
                "fixed_text": bool(values.get("question") or values.get("fixed_reply"))
                or values.get("safety", "ok") != "ok",
                "customer_text": turn_message(turn),
            }
        )
    return Trial(
        status=result["status"],
        department=result.get("department"),
        departments=list(result.get("departments") or []),
        reply=result.get("reply", ""),
        replies=seen,
        tool_calls=calls,
        turns=turns,
        problems=problems,
        nodes=nodes,
        seconds=round(time.perf_counter() - started, 3),
        citations=citations,
    )


# ---------------------------------------------------------------------------- grading


def _trajectory_messages(steps: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One assistant message per call (so order counts), the outcome carried as an argument."""
    return [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "function": {
                        "name": s["name"],
                        "arguments": json.dumps({**s.get("args", {}), "outcome": s["outcome"]}, default=str),
                    }
                }
            ],
        }
        for s in steps
    ]


_trajectory_evaluators: dict[str, Callable[..., Any]] = {}


def trajectory_match(actual: Sequence[dict[str, Any]], expected: Sequence[Any], mode: str = "strict") -> bool:
    """openevals trajectory match; arguments: the actual call must contain what the step names."""
    if mode not in _trajectory_evaluators:
        from openevals.trajectory.match import create_trajectory_match_evaluator

        _trajectory_evaluators[mode] = create_trajectory_match_evaluator(
            trajectory_match_mode=mode, tool_args_match_mode="superset"
        )  # type: ignore[arg-type]
    wanted = [parse_step(s) for s in expected]
    got = [{"name": c["name"], "outcome": c["outcome"], "args": c.get("args", {})} for c in actual]
    outcome = _trajectory_evaluators[mode](
        outputs=_trajectory_messages(got), reference_outputs=_trajectory_messages(wanted)
    )
    return bool(outcome["score"])


def _found(fact: str | list[str], text: str) -> bool:
    options = fact if isinstance(fact, list) else [fact]
    return any(option.lower() in text.lower() for option in options)


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def repeated_sentences(reply: str) -> list[str]:
    """Sentences of three words or more that a reply says twice (case and spacing ignored)."""
    seen: set[str] = set()
    repeats: list[str] = []
    for sentence in _SENTENCE.split(reply):
        key = " ".join(sentence.lower().split()).rstrip(".!?")
        if len(key.split()) < 3:
            continue
        if key in seen and key not in repeats:
            repeats.append(key)
        seen.add(key)
    return repeats


def _forbidden_calls(calls: Sequence[dict[str, Any]], forbidden: Sequence[str]) -> list[str]:
    """``"issue_refund"`` forbids any call of it, ``"issue_refund:ok"`` only one that succeeded."""
    hits = []
    for step in forbidden:
        name, _, outcome = step.partition(":")
        if any(c["name"] == name and (not outcome or c["outcome"] == outcome) for c in calls):
            hits.append(step)
    return hits


def grounded(turn: dict[str, Any]) -> tuple[bool, list[str]]:
    """Every number, date and action the reply states is backed by the turn's tool results
    (the customer's own words count as backing: repeating their order number is fine)."""
    problems = grounding.check_reply(
        turn["reply"], [*turn["evidence"], turn["customer_text"]], done_tools=set(turn["done_tools"])
    )
    return not problems, problems


def grade(scenario: Scenario, trial: Trial, store: SeededStore, store_url: str) -> dict[str, Any]:
    exp = scenario.expected
    checks: dict[str, bool] = {"completed": not trial.problems}
    statuses = exp["status"] if isinstance(exp["status"], list) else [exp["status"]]
    checks["status"] = trial.status in statuses  # a list: any of these (a question or a person)
    if "department" in exp:
        # a list: any of these desks is right (returns sit between billing and general)
        wanted = exp["department"]
        checks["department"] = trial.department in (wanted if isinstance(wanted, list) else [wanted])
    if "departments" in exp:
        checks["departments"] = sorted(trial.departments) == sorted(exp["departments"])
    checks["trajectory"] = trajectory_match(
        trial.tool_calls, exp.get("trajectory", []), exp.get("trajectory_mode", "strict")
    )
    if "citations" in exp:  # each a document id, or a list of ids any of which will do
        checks["citations"] = all(
            set(c if isinstance(c, list) else [c]) & set(trial.citations) for c in exp["citations"]
        )
    # ``facts``: in the final reply; ``facts_seen``: in any reply of the conversation (a part
    # answered while another waited at an approval gate)
    facts = [*exp.get("facts", []), *exp.get("facts_seen", [])]
    final_only = len(exp.get("facts", []))
    everything = " ".join(trial.replies)
    found = [_found(f, trial.reply if n < final_only else everything) for n, f in enumerate(facts)]
    checks["facts"] = all(found)
    leaked = [s for s in exp.get("forbidden", []) if _found(s, " ".join(trial.replies))]
    checks["forbidden"] = not leaked
    called = _forbidden_calls(trial.tool_calls, exp.get("forbidden_tools", []))
    if "forbidden_tools" in exp:
        checks["forbidden_tools"] = not called
    repeats = [r for reply in trial.replies for r in repeated_sentences(reply)]
    if exp.get("no_repeated_sentences"):
        checks["no_repeated_sentences"] = not repeats
    engine = make_engine(store_url)
    missing_audit: list[dict[str, Any]] = []
    if "audit" in exp:
        logged = audit_rows(engine)
        missing_audit = [
            want for want in exp["audit"] if not any(all(row.get(k) == v for k, v in want.items()) for row in logged)
        ]
        checks["audit"] = not missing_audit
    # ``db``: one declared outcome; ``db_any``: any of several (a ticket, or none)
    outcomes = exp.get("db_any") or [exp.get("db", {})]
    actual_state = world_state(engine)
    got = state_hash(actual_state)
    expected_states = [
        apply_changes(store.base_state, c, scenario.customer) if c else store.base_state for c in outcomes
    ]
    matched = [states_match(e, actual_state) for e in expected_states]
    checks["db"] = any(matched)
    expected_state = expected_states[0]
    want = state_hash(expected_state) if outcomes[0] else store.base_hash
    ground = [grounded(t) for t in trial.turns if not t["fixed_text"]]
    reasons = [f"{name} mismatch" for name, ok in checks.items() if not ok]
    extra = {"forbidden_calls": called, "repeated_sentences": repeats, "missing_audit": missing_audit}
    return {
        "id": scenario.id,
        "tags": scenario.tags,
        "passed": all(checks.values()),
        "checks": checks,
        "reasons": reasons + trial.problems,
        "facts_found": sum(found),
        "facts_total": len(facts),
        "missing_facts": [f for f, ok in zip(facts, found, strict=True) if not ok],
        "leaked": leaked,
        **{k: v for k, v in extra.items() if v},
        "grounded_replies": sum(ok for ok, _ in ground),
        "checked_replies": len(ground),
        "replies": len(trial.turns),
        "grounding_problems": sorted({p for _, problems in ground for p in problems}),
        "model_replies": sum(t["model_wrote"] for t in trial.turns),
        "db_hash": {"expected": want[:16], "actual": got[:16]},
        "db_diff": {} if checks["db"] else state_diff(expected_state, actual_state),
        "got": {
            "status": trial.status,
            "department": trial.department,
            "departments": trial.departments,
            "trajectory": [f"{c['name']}:{c['outcome']}" for c in trial.tool_calls],
            "citations": trial.citations,
            "reply": trial.reply,
        },
        "seconds": trial.seconds,
        "nodes": trial.nodes,
    }


# ---------------------------------------------------------------------------- the suite


def base_context(model: str, *, kb_dir: str, classifier_path: str | None = None) -> Context:
    """The eval's run context: the model under test, a policy pinned to the documented defaults."""
    ctx = Context().with_(
        model=model,
        smart_model=None,
        chroma_dir=kb_dir,
        faults="",
        clock=SEED_CLOCK,  # the seeded store's today: return windows and approval windows repeat
        refund_approval_threshold_usd=500.0,
        max_message_chars=4000,
        reply_max_attempts=2,
        tool_backoff_s=0.0,
    )
    return ctx.with_(classifier_path=classifier_path) if classifier_path else ctx


def run_trials(
    scenarios: Sequence[Scenario],
    store: SeededStore,
    base: Context,
    k: int,
    *,
    check_replies: bool = True,
    progress: Callable[[str], None] | None = None,
    judge: Judge | None = None,
) -> list[list[dict[str, Any]]]:
    """k graded trials per scenario, each on its own copy of the seeded store."""
    graded: list[list[dict[str, Any]]] = []
    for n, scenario in enumerate(scenarios, start=1):
        trials = []
        for _ in range(k):
            url = store.fresh_copy()
            try:
                trial = play(scenario, base.with_(faults=scenario.faults), url, check_replies=check_replies)
                graded_trial = grade(scenario, trial, store, url)
                if judge is not None and trial.turns:
                    graded_trial["judge"] = judge(trial.reply, trial.turns[-1]["evidence"])
                trials.append(graded_trial)
            finally:
                store.discard(url)
        graded.append(trials)
        if progress:
            passed = sum(t["passed"] for t in trials)
            progress(
                f"[{n}/{len(scenarios)}] {scenario.id}: {passed}/{k} passed "
                f"({statistics.fmean(t['seconds'] for t in trials):.1f} s)"
            )
    return graded


def judged(trials: Sequence[dict[str, Any]]) -> list[float]:
    return [t["judge"] for t in trials if t.get("judge") is not None]


def _rate(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def summarise(scenarios: Sequence[Scenario], graded: Sequence[Sequence[dict[str, Any]]], k: int) -> dict[str, Any]:
    """Metrics over the trials (pass^1 and the check rates average every trial)."""
    trials = [t for ts in graded for t in ts]
    n = len(trials)

    def check_rate(name: str) -> float | None:
        relevant = [t["checks"][name] for t in trials if name in t["checks"]]
        return _rate(sum(relevant), len(relevant))

    return {
        "scenarios": len(scenarios),
        "trials": n,
        "k": k,
        "pass_rate": _rate(sum(t["passed"] for t in trials), n),
        f"pass^{k}": _rate(sum(all(t["passed"] for t in ts) for ts in graded), len(graded)),
        "db_state_match": check_rate("db"),
        "trajectory_match": check_rate("trajectory"),
        "status_match": check_rate("status"),
        "department_match": check_rate("department"),
        "required_facts": _rate(sum(t["facts_found"] for t in trials), sum(t["facts_total"] for t in trials)),
        "forbidden_clean": check_rate("forbidden"),
        "citations": check_rate("citations"),
        "grounded_replies": _rate(
            sum(t["grounded_replies"] for t in trials), sum(t["checked_replies"] for t in trials)
        ),
        "model_written_replies": _rate(sum(t["model_replies"] for t in trials), sum(t["replies"] for t in trials)),
        **({"judge_grounded": _rate(sum(scores), len(scores))} if (scores := judged(trials)) else {}),
        "mean_seconds": round(statistics.fmean(t["seconds"] for t in trials), 3) if trials else None,
    }
