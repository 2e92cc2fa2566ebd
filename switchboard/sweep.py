"""The deadline sweep: what `switchboard sweep` and the server's schedule run.

1. Approvals past their deadline (the ledger's ``approvals`` rows, checked against the thread's
   pending interrupt, which stays the truth) are escalated to the supervisors' queue or rejected,
   as `nodes.approval_rules.overdue_action` says. The sweep decides through the graph, as
   ``service:sweep`` with a clock pinned to the sweep's ``now``: the gate itself checks that the
   approval is overdue, writes the audit row and the ``approval.overdue`` notification, and tells
   the customer (an escalation adds a message to the thread; a rejection runs the reply path).
2. Pending webhook notifications that are due are delivered (`tools.webhooks.deliver_due`).

Time is injected (``now``): tests and `--now` move the clock instead of sleeping.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from langgraph.types import Command

from core.context import Context
from core.settings import Settings
from graph.builder import SupportGraph
from nodes.approval_rules import overdue_decision
from switchboard.app import approval_of, pending_interrupts
from tools.approvals import overdue_approvals
from tools.webhooks import Poster, deliver_due

SWEEP_ACTOR = "service:sweep"


@dataclass
class SweepReport:
    now: str
    escalated: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # ledger rows whose thread no longer waits on them
    webhooks: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply_deadlines(graph: SupportGraph, settings: Settings, now: datetime, report: SweepReport) -> None:
    """Escalate or reject every approval past its deadline as of ``now`` (in this process's graph)."""
    pinned = settings.with_(clock=now)
    engine = Context(settings=pinned).resources.engine
    for row in overdue_approvals(engine, now):
        thread_id = row["thread_id"]
        pending = pending_interrupts(graph, thread_id)
        if (approval_of(pending) or {}).get("id") != row["id"]:
            report.stale.append(row["id"])  # decided meanwhile, or a rollback took the thread elsewhere
            continue
        decision = overdue_decision(row["kind"], int(row["level"]), settings)
        ctx = Context(customer_id=row["customer_id"] or "", actor=SWEEP_ACTOR, settings=pinned)
        graph.invoke(Command(resume=decision), {"configurable": {"thread_id": thread_id}}, context=ctx)
        after = approval_of(pending_interrupts(graph, thread_id)) or {}
        entry = {
            "approval_id": row["id"],
            "thread_id": thread_id,
            "customer_id": row["customer_id"],
            "kind": row["kind"],
            "deadline": row["deadline_at"].isoformat(),
        }
        if decision["type"] == "escalate":
            report.escalated.append({**entry, "queue": after.get("queue"), "new_deadline": after.get("deadline")})
        else:
            report.rejected.append(entry)


def sweep(graph: SupportGraph, settings: Settings, now: datetime, *, post: Poster | None = None) -> SweepReport:
    """Apply deadlines as of ``now``, then deliver the notifications due (those just written too)."""
    report = SweepReport(now=now.isoformat())
    apply_deadlines(graph, settings, now, report)
    delivered = deliver_due(Context(settings=settings).resources.engine, settings, now, post=post)
    report.webhooks = {"sent": delivered.sent, "retried": delivered.retried, "failed": delivered.failed}
    return report
