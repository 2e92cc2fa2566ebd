"""Outreach messages handed to the outbox as they fall due (the throttle is their `due_at`).

The approved outreach step (`tools/outreach.py`) queues one row per recipient; here each due row
becomes one outgoing mail, in one transaction with its status change and its audit row, under the
key ``outreach:<id>:<customer>`` — so a crash or a second deliverer can never send it twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, update

from core.settings import Settings
from mail.compose import Outgoing
from mail.outbox import enqueue
from store.schema import outreach_recipients
from tools.audit import write_audit


def hand_over_due(engine: Engine, settings: Settings, now: datetime, *, limit: int = 100) -> int:
    """Move up to ``limit`` due outreach rows into the mail outbox; how many were handed over."""
    r = outreach_recipients.c
    with engine.connect() as conn:
        due = (
            conn.execute(
                select(r.id).where(r.status == "queued", r.due_at <= now).order_by(r.due_at, r.id).limit(limit)
            )
            .scalars()
            .all()
        )
    handed = 0
    for row_id in due:
        with engine.begin() as conn:
            claimed = conn.execute(
                update(outreach_recipients)
                .where(r.id == row_id, r.status == "queued")
                .values(status="handed", handed_at=now)
            ).rowcount
            if not claimed:  # another deliverer took it first
                continue
            row = conn.execute(select(outreach_recipients).where(r.id == row_id)).one()
            outgoing = Outgoing(
                key=f"outreach:{row.outreach_id}:{row.customer_id}", kind="outreach", to_addr=row.email,
                to_name=row.name, subject=row.subject, text=row.body, thread_id=None, customer_id=row.customer_id,
            )  # fmt: skip
            outbox_id = enqueue(conn, outgoing, settings, now)
            conn.execute(update(outreach_recipients).where(r.id == row_id).values(outbox_id=outbox_id))
            write_audit(
                conn, action="outreach_sent", outcome="ok", thread_id=row.outreach_id, customer_id=row.customer_id,
                node="outreach", actor="service:mail", detail=f"outbox {outbox_id}",
            )  # fmt: skip
            handed += 1
    return handed
