"""The figures a support manager reads, computed from the records themselves (never from counters
that could drift): the store's ``node_runs``, ``approvals`` and ``cases`` tables and each thread's
latest checkpoint.

A *conversation* is a thread. Its day is the UTC date of its first node run and its department
the first specialist it was routed to (billing, technical, general, escalation; ``plan`` for a
planned multi-step request; ``none`` when no specialist ran, e.g. small talk). Its status, and its
number of customer turns, come from its latest checkpoint. Approvals and cases count toward the
day and department of their conversation.

- resolved: the conversation's latest status is ``answered``;
- containment: resolved with no person involved (no case, no approval) / conversations;
- escalation rate: conversations with a case / conversations;
- first-contact resolution: resolved in its first customer message, without a case / conversations;
- approval turnaround: created -> decided by a person (approved, rejected, responded; an approval the
  sweep expired has no turnaround), p50 / p95 in hours, nearest-rank percentiles;
- overdue: approvals that went past their deadline (the sweep marked them) or wait past it now;
- handoff time to first human reply: case opened -> a person's first reply, p50 / p95 in minutes;
- cost per resolved conversation: the model cost of all the group's conversations / resolved ones.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from graph.builder import SupportGraph
from store.runs import flush
from store.schema import approvals, cases, node_runs
from store.sql import ensure_tables

DEPARTMENT_NODES = {
    "billing": "billing",
    "technical": "technical",
    "general": "general",
    "escalation": "escalation",
    "make_plan": "plan",
}
DECIDED_BY_A_PERSON = ("approved", "rejected", "responded")


@dataclass
class Conversation:
    thread_id: str
    customer_id: str
    day: str
    department: str
    turns: int
    status: str
    cost_usd: float
    has_case: bool
    has_approval: bool

    @property
    def resolved(self) -> bool:
        return self.status == "answered"


def nearest_rank(values: list[float], percent: float) -> float | None:
    """The nearest-rank percentile (the smallest value with at least ``percent`` % at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def conversations(engine: Engine, graph: SupportGraph) -> list[Conversation]:
    """Every thread with node runs, with what its latest checkpoint says."""
    ensure_tables(engine)
    flush()  # node runs are written in the background
    with engine.connect() as conn:
        runs = conn.execute(
            select(node_runs.c.thread_id, node_runs.c.customer_id, node_runs.c.node, node_runs.c.at).order_by(
                node_runs.c.thread_id, node_runs.c.at, node_runs.c.id
            )
        ).all()
        costs = dict(
            conn.execute(
                select(node_runs.c.thread_id, func.sum(node_runs.c.cost_usd)).group_by(node_runs.c.thread_id)
            ).all()
        )
        with_case = set(conn.execute(select(cases.c.thread_id).distinct()).scalars())
        with_approval = set(conn.execute(select(approvals.c.thread_id).distinct()).scalars())
    first: dict[str, dict[str, Any]] = {}
    for thread_id, customer_id, node, at in runs:
        entry = first.setdefault(thread_id, {"customer_id": customer_id or "", "at": at, "department": None})
        if entry["department"] is None and node in DEPARTMENT_NODES:
            entry["department"] = DEPARTMENT_NODES[node]
    found = []
    for thread_id, entry in first.items():
        values = graph.get_state({"configurable": {"thread_id": thread_id}}).values
        found.append(
            Conversation(
                thread_id=thread_id,
                customer_id=entry["customer_id"],
                day=entry["at"].date().isoformat(),
                department=entry["department"] or "none",
                turns=int(values.get("turn", 0)),
                status=str(values.get("status", "unknown")) if values else "unknown",
                cost_usd=float(costs.get(thread_id) or 0.0),
                has_case=thread_id in with_case,
                has_approval=thread_id in with_approval,
            )
        )
    return found


def _figures(
    group: list[Conversation], approval_rows: list[dict[str, Any]], case_rows: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    n = len(group)
    resolved = [c for c in group if c.resolved]
    contained = [c for c in resolved if not (c.has_case or c.has_approval)]
    fcr = [c for c in resolved if c.turns == 1 and not c.has_case]
    escalated = [c for c in group if c.has_case]
    turnaround_h = [
        (a["decided_at"] - a["created_at"]).total_seconds() / 3600
        for a in approval_rows
        if a["status"] in DECIDED_BY_A_PERSON and a["decided_at"] is not None
    ]
    overdue = [
        a
        for a in approval_rows
        if a["overdue_at"] is not None or (a["status"] == "waiting" and a["deadline_at"] <= now)
    ]
    replied_min = [
        (c["first_reply_at"] - c["created_at"]).total_seconds() / 60
        for c in case_rows
        if c["first_reply_at"] is not None
    ]
    cost = sum(c.cost_usd for c in group)

    def share(part: list[Any]) -> float | None:
        return round(len(part) / n, 4) if n else None

    def rounded(value: float | None, places: int = 3) -> float | None:
        return None if value is None else round(value, places)

    return {
        "conversations": n,
        "resolved": len(resolved),
        "containment": share(contained),
        "escalation_rate": share(escalated),
        "first_contact_resolution": share(fcr),
        "approvals": len(approval_rows),
        "approvals_decided": len(turnaround_h),
        "approval_turnaround_p50_h": rounded(nearest_rank(turnaround_h, 50)),
        "approval_turnaround_p95_h": rounded(nearest_rank(turnaround_h, 95)),
        "approvals_overdue": len(overdue),
        "handoffs": len(case_rows),
        "handoffs_replied": len(replied_min),
        "handoff_first_reply_p50_min": rounded(nearest_rank(replied_min, 50), 1),
        "handoff_first_reply_p95_min": rounded(nearest_rank(replied_min, 95), 1),
        "cost_usd": round(cost, 6),
        "cost_per_resolved_usd": round(cost / len(resolved), 6) if resolved else None,
    }


def kpi_report(engine: Engine, graph: SupportGraph, now: datetime) -> dict[str, Any]:
    """The figures overall, by day and by department, as of ``now`` (for the overdue count)."""
    ensure_tables(engine)
    found = conversations(engine, graph)
    by_thread = {c.thread_id: c for c in found}
    with engine.connect() as conn:
        approval_rows = [dict(r._mapping) for r in conn.execute(select(approvals))]
        case_rows = [dict(r._mapping) for r in conn.execute(select(cases))]

    def report(key: str) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[Conversation]] = defaultdict(list)
        for conversation in found:
            groups[getattr(conversation, key)].append(conversation)
        out = {}
        for name, group in sorted(groups.items()):
            threads = {c.thread_id for c in group}
            out[name] = _figures(
                group,
                [a for a in approval_rows if a["thread_id"] in threads],
                [c for c in case_rows if c["thread_id"] in threads],
                now,
            )
        return out

    known = set(by_thread)
    return {
        "as_of": now.isoformat(),
        "overall": _figures(
            found,
            [a for a in approval_rows if a["thread_id"] in known],
            [c for c in case_rows if c["thread_id"] in known],
            now,
        ),
        "by_day": report("day"),
        "by_department": report("department"),
        "conversations": [asdict(c) for c in found],
    }
