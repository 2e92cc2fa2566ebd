"""The approvals ledger: each approval a gate opens, every decision taken on it, its audit row and
its notifications, written together.

`open_approval` is idempotent (a gate runs again from its start when resumed: the row keeps its
first ``created_at`` and deadline, and the ``approval.waiting`` event is enqueued once).
`record_decision` writes the decision under a dedupe key (thread, approval, the gate's step and
the decision), and only when that key is new also the audit row, the approval's new state and
the webhook event, in one transaction: a gate re-executed after a crash writes none of them twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from store.schema import approval_decisions, approvals
from store.sql import ensure_tables, insert_ignore
from tools.audit import mask_pii
from tools.webhooks import Settings, enqueue


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def args_diff(proposed: dict[str, Any], decided: dict[str, Any]) -> list[dict[str, Any]]:
    """Field by field: what the decision changed from the proposal (empty when nothing)."""
    keys = sorted(set(proposed) | set(decided))
    return [
        {"field": k, "proposed": proposed.get(k), "decided": decided.get(k)}
        for k in keys
        if proposed.get(k) != decided.get(k)
    ]


def describe_diff(diff: list[dict[str, Any]]) -> str:
    if not diff:
        return "arguments as proposed"
    return "; ".join(f"{d['field']}: {d['proposed']!r} -> {d['decided']!r}" for d in diff)


def describe_wait(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours) + [f"{minutes}m"] * bool(minutes)
    return " ".join(parts) or f"{secs}s"


def open_approval(
    engine: Engine,
    settings: Settings,
    *,
    approval_id: str,
    thread_id: str,
    customer_id: str,
    kind: str,
    department: str,
    reason: str,
    args: dict[str, Any],
    needed: int,
    deadline_s: float,
    now: datetime,
    request: dict[str, Any],
) -> dict[str, Any]:
    """The approval's row, created the first time the gate opens it (with its ``approval.waiting`` event)."""
    from datetime import timedelta

    ensure_tables(engine)
    with engine.begin() as conn:
        created = insert_ignore(
            conn,
            approvals,
            {
                "id": approval_id,
                "thread_id": thread_id,
                "customer_id": customer_id,
                "kind": kind,
                "department": department,
                "reason": reason[:2000],
                "proposed_args_json": _json(args),
                "args_json": _json(args),
                "needed": needed,
                "approvals": 0,
                "level": 1,
                "status": "waiting",
                "created_at": now,
                "deadline_at": now + timedelta(seconds=deadline_s),
            },
            ["id"],
        )
        row = dict(conn.execute(select(approvals).where(approvals.c.id == approval_id)).one()._mapping)
        if created:
            enqueue(
                conn,
                settings,
                "approval.waiting",
                f"{approval_id}:waiting",
                {**event_data(row, thread_id, customer_id), "request": request},
                now,
            )
    return row


def event_data(row: dict[str, Any], thread_id: str, customer_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "approval_id": row["id"],
        "thread_id": thread_id,
        "customer_id": customer_id,
        "kind": row["kind"],
        "department": row["department"],
        "reason": row["reason"],
        "args": json.loads(row["args_json"]),
        "approvals": row["approvals"],
        "needed": row["needed"],
        "level": row["level"],
        "status": row["status"],
        "since": row["created_at"].isoformat(),
        "deadline": row["deadline_at"].isoformat(),
        **extra,
    }


@dataclass(frozen=True)
class DecisionRecord:
    key: str  # dedupe key: thread, approval, the gate's step, the decision
    approval_id: str
    thread_id: str
    customer_id: str
    actor: str
    role: str
    decision: str  # approve | edit | reject | respond | escalate | expire | execute
    outcome: str  # recorded | approved | rejected | responded | refused | escalated | expired | failed
    proposed_args: dict[str, Any]
    args: dict[str, Any]
    detail: str
    node: str
    tool: str
    audit_action: str  # "approval", "decision_refused", "approval_overdue", "approval_failed"


def record_decision(
    engine: Engine,
    settings: Settings,
    record: DecisionRecord,
    now: datetime,
    *,
    approval_values: dict[str, Any] | None = None,
    event: str | None = None,
) -> bool:
    """Write the decision once; False when its key was already written (a re-executed gate)."""
    ensure_tables(engine)
    with engine.begin() as conn:
        row = conn.execute(select(approvals).where(approvals.c.id == record.approval_id)).first()
        since = row.created_at if row is not None else now
        waited_s = max(0.0, (now - since).total_seconds())
        diff = args_diff(record.proposed_args, record.args)
        detail = f"{describe_diff(diff)}; waited {describe_wait(waited_s)}"
        detail += f"; {record.detail}" if record.detail else ""
        inserted = insert_ignore(
            conn,
            approval_decisions,
            {
                "dedupe_key": record.key[:255],
                "approval_id": record.approval_id,
                "thread_id": record.thread_id,
                "at": now,
                "actor": record.actor[:64],
                "role": record.role[:16],
                "decision": record.decision,
                "outcome": record.outcome,
                "proposed_args_json": mask_pii(_json(record.proposed_args)),
                "args_json": mask_pii(_json(record.args)),
                "waited_s": round(waited_s, 3),
                "detail": mask_pii(detail)[:2000],
            },
            ["dedupe_key"],
        )
        if not inserted:
            return False
        from store.schema import audit_log

        conn.execute(
            insert(audit_log).values(
                at=now,
                thread_id=record.thread_id,
                customer_id=record.customer_id,
                node=record.node,
                actor=record.actor[:64],
                action=record.audit_action,
                tool=record.tool,
                args_json=mask_pii(_json(record.args)),
                outcome=record.decision if record.audit_action == "approval" else record.outcome,
                detail=mask_pii(f"{detail}; key {record.key}")[:2000],
            )
        )
        if approval_values and row is not None:
            conn.execute(update(approvals).where(approvals.c.id == record.approval_id).values(**approval_values))
        if event and row is not None:
            fresh = dict(conn.execute(select(approvals).where(approvals.c.id == record.approval_id)).one()._mapping)
            enqueue(
                conn,
                settings,
                event,
                f"{record.key}:{event}",
                event_data(
                    fresh,
                    record.thread_id,
                    record.customer_id,
                    decision=record.decision,
                    outcome=record.outcome,
                    actor=record.actor,
                    diff=diff,
                    waited_s=round(waited_s, 3),
                ),
                now,
            )
    return True


def approval_row(engine: Engine, approval_id: str) -> dict[str, Any] | None:
    ensure_tables(engine)
    with engine.connect() as conn:
        row = conn.execute(select(approvals).where(approvals.c.id == approval_id)).first()
    return dict(row._mapping) if row is not None else None


def overdue_approvals(engine: Engine, now: datetime) -> list[dict[str, Any]]:
    """Waiting approvals past their deadline, oldest deadline first."""
    ensure_tables(engine)
    query = (
        select(approvals)
        .where(approvals.c.status == "waiting", approvals.c.deadline_at <= now)
        .order_by(approvals.c.deadline_at)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def decision_log(engine: Engine, *, thread_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Decisions newest first, with the proposed and decided arguments side by side and their diff."""
    ensure_tables(engine)
    query = select(approval_decisions).order_by(approval_decisions.c.id.desc()).limit(limit)
    if thread_id:
        query = query.where(approval_decisions.c.thread_id == thread_id)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        proposed, decided = json.loads(row.pop("proposed_args_json")), json.loads(row.pop("args_json"))
        row.update(proposed_args=proposed, decided_args=decided, diff=args_diff(proposed, decided))
    return rows
