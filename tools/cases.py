"""Cases: conversations handed to a person. The ledger of who holds a thread, what the customer
and the person said meanwhile, and the hand-over the escalation wrote.

A case is opened once per escalation step (its dedupe key), so an escalation node re-executed
after a crash opens one case. While its owner holds it (status ``assigned`` or
``waiting_on_customer``) the bot does not answer in its thread (`nodes.takeover`). Every change
is audited and notified (``case.opened``, ``case.updated``) in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from store.schema import audit_log, case_messages, cases, effects, orders, refunds
from store.sql import ensure_tables, insert_ignore
from tools.audit import mask_pii
from tools.webhooks import Settings, enqueue

HELD = ("assigned", "waiting_on_customer")  # a person holds the thread: the bot is silent
OPEN = ("open", "assigned", "waiting_on_customer")


def _audit(conn: Connection, case: dict[str, Any], actor: str, action: str, detail: str, now: datetime) -> None:
    conn.execute(
        insert(audit_log).values(
            at=now,
            thread_id=case["thread_id"],
            customer_id=case["customer_id"],
            node="case",
            actor=actor[:64],
            action=action,
            tool=None,
            args_json=json.dumps({"case_id": case["id"]}),
            outcome="ok",
            detail=mask_pii(detail)[:2000],
        )
    )


def _event(conn: Connection, settings: Settings, kind: str, key: str, case: dict[str, Any], now: datetime) -> None:
    data = {
        k: case[k] for k in ("id", "thread_id", "customer_id", "status", "owner", "urgency", "sentiment", "summary")
    }
    enqueue(conn, settings, kind, key, data, now)


def get_case(engine: Engine, case_id: int) -> dict[str, Any] | None:
    ensure_tables(engine)
    with engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
    return dict(row._mapping) if row is not None else None


def case_of_thread(engine: Engine, thread_id: str) -> dict[str, Any] | None:
    """The thread's latest case that is not resolved, else its latest case (None when it never had one)."""
    ensure_tables(engine)
    with engine.connect() as conn:
        found = conn.execute(
            select(cases)
            .where(cases.c.thread_id == thread_id)
            .order_by(cases.c.status == "resolved", cases.c.id.desc())
        ).first()
    return dict(found._mapping) if found is not None else None


def open_case(
    engine: Engine,
    settings: Settings,
    *,
    key: str,
    thread_id: str,
    customer_id: str,
    ticket_id: int | None,
    urgency: str,
    sentiment: str,
    summary: str,
    handover: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Open the case for this escalation step (once), audited and notified; an open case of the
    same thread is brought up to date instead of opening a second one."""
    ensure_tables(engine)
    with engine.begin() as conn:
        existing = conn.execute(
            select(cases).where(cases.c.thread_id == thread_id, cases.c.status.in_(OPEN)).order_by(cases.c.id.desc())
        ).first()
        if existing is not None and existing.dedupe_key != key:
            conn.execute(
                update(cases)
                .where(cases.c.id == existing.id)
                .values(
                    summary=summary,
                    handover_json=json.dumps(handover, default=str),
                    urgency=urgency,
                    sentiment=sentiment,
                    updated_at=now,
                )
            )
            return dict(conn.execute(select(cases).where(cases.c.id == existing.id)).one()._mapping)
        created = insert_ignore(
            conn,
            cases,
            {
                "dedupe_key": key[:255],
                "thread_id": thread_id,
                "customer_id": customer_id,
                "ticket_id": ticket_id,
                "status": "open",
                "urgency": urgency,
                "sentiment": sentiment,
                "summary": summary,
                "handover_json": json.dumps(handover, default=str),
                "created_at": now,
                "updated_at": now,
            },
            ["dedupe_key"],
        )
        case = dict(conn.execute(select(cases).where(cases.c.dedupe_key == key[:255])).one()._mapping)
        if created:
            _audit(conn, case, "workflow", "case_opened", f"case {case['id']} ({urgency}): {summary[:300]}", now)
            _event(conn, settings, "case.opened", f"case:{case['id']}:opened", case, now)
    return case


def change_case(
    engine: Engine,
    settings: Settings,
    case_id: int,
    *,
    actor: str,
    action: str,
    values: dict[str, Any],
    now: datetime,
    message: tuple[str, str, str] | None = None,  # (direction, dedupe key, body)
) -> dict[str, Any]:
    """Apply one change (assign, reply, release, resolve, a customer message), audited and notified."""
    ensure_tables(engine)
    with engine.begin() as conn:
        before = conn.execute(select(cases).where(cases.c.id == case_id)).first()
        if before is None:
            raise LookupError(f"no case {case_id}")
        if message is not None:
            direction, key, body = message
            fresh = insert_ignore(
                conn,
                case_messages,
                {
                    "dedupe_key": key[:255],
                    "case_id": case_id,
                    "thread_id": before.thread_id,
                    "direction": direction,
                    "author": actor[:64],
                    "body": body,
                    "at": now,
                },
                ["dedupe_key"],
            )
            if not fresh:  # this message was recorded before (a re-executed turn): nothing changes twice
                return dict(before._mapping)
        conn.execute(update(cases).where(cases.c.id == case_id).values(updated_at=now, **values))
        case = dict(conn.execute(select(cases).where(cases.c.id == case_id)).one()._mapping)
        _audit(conn, case, actor, action, f"case {case_id}: {before.status} -> {case['status']}", now)
        key = message[1] if message is not None else uuid.uuid4().hex  # an operator's command runs once
        _event(conn, settings, "case.updated", f"case:{case_id}:{action}:{key}", case, now)
    return case


def case_messages_of(engine: Engine, case_id: int) -> list[dict[str, Any]]:
    ensure_tables(engine)
    with engine.connect() as conn:
        query = select(case_messages).where(case_messages.c.case_id == case_id).order_by(case_messages.c.id)
        return [dict(r._mapping) for r in conn.execute(query)]


def list_cases(
    engine: Engine, *, owner: str | None = None, statuses: tuple[str, ...] = OPEN, limit: int = 100
) -> list[dict[str, Any]]:
    """Cases newest first, with how many customer messages wait since the person last replied."""
    ensure_tables(engine)
    query = select(cases).where(cases.c.status.in_(statuses)).order_by(cases.c.id.desc()).limit(limit)
    if owner:
        query = query.where(cases.c.owner == owner)
    with engine.connect() as conn:
        found = [dict(r._mapping) for r in conn.execute(query)]
        for case in found:
            last_out = conn.execute(
                select(func.max(case_messages.c.id)).where(
                    case_messages.c.case_id == case["id"], case_messages.c.direction == "out"
                )
            ).scalar()
            case["unanswered"] = int(
                conn.execute(
                    select(func.count())
                    .select_from(case_messages)
                    .where(
                        case_messages.c.case_id == case["id"],
                        case_messages.c.direction == "in",
                        case_messages.c.id > (last_out or 0),
                    )
                ).scalar_one()
            )
    return found


# -- what the hand-over is built from ------------------------------------------------------------


def thread_record(engine: Engine, thread_id: str) -> dict[str, list[dict[str, Any]]]:
    """The thread's tool calls as audited (oldest first) and its world-changing effects with results."""
    with engine.connect() as conn:
        calls = [
            dict(r._mapping)
            for r in conn.execute(
                select(
                    audit_log.c.action, audit_log.c.node, audit_log.c.tool, audit_log.c.args_json, audit_log.c.outcome
                )
                .add_columns(audit_log.c.detail)
                .where(
                    audit_log.c.thread_id == thread_id,
                    audit_log.c.action.in_(("tool_call", "tool_refused", "tool_failed")),
                )
                .order_by(audit_log.c.id)
            )
        ]
        done = [
            dict(r._mapping)
            for r in conn.execute(
                select(effects.c.tool, effects.c.args_json, effects.c.result_json, effects.c.compensated_at)
                .where(effects.c.thread_id == thread_id)
                .order_by(effects.c.created_at)
            )
        ]
    return {"calls": calls, "effects": done}


def orders_snapshot(engine: Engine, customer_id: str, order_ids: list[int]) -> list[dict[str, Any]]:
    """The customer's own orders among ``order_ids``: status, total and what was refunded (for staff)."""
    if not order_ids:
        return []
    with engine.connect() as conn:
        found = conn.execute(
            select(orders.c.id, orders.c.status, orders.c.total_cents, orders.c.placed_at).where(
                orders.c.id.in_(order_ids), orders.c.customer_id == customer_id
            )
        ).all()
        refunded = dict(
            conn.execute(
                select(refunds.c.order_id, func.sum(refunds.c.amount_cents))
                .where(refunds.c.order_id.in_(order_ids), refunds.c.status.in_(("pending", "completed")))
                .group_by(refunds.c.order_id)
            ).all()
        )
    return [
        {
            "order_id": int(r.id),
            "status": r.status,
            "total_usd": f"{r.total_cents / 100:.2f}",
            "refunded_usd": f"{int(refunded.get(r.id) or 0) / 100:.2f}",
            "placed": r.placed_at.date().isoformat(),
        }
        for r in found
    ]
