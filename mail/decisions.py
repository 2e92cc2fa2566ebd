"""Outcome emails: when a person decides an approval on a mail conversation, the customer hears.

A decision can be taken anywhere (the CLI, the console, a server, the sweep): the approvals
ledger (`approvals`, written by the approval gate) is where every one of them lands. The mail
service reads it: for each settled approval on a thread that is a mail conversation, once the
thread has finished acting on the decision, the thread's reply goes out in the same email thread
under the key ``<approval id>:<status>`` — a second pass, or a second mail service, sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from core.settings import Settings
from mail.channel import notify_thread
from store.schema import approvals, mail_message_ids, mail_outbox

SETTLED = ("approved", "rejected", "responded", "expired")
ThreadReader = Callable[[str], dict[str, Any] | None]  # thread id -> {"status", "reply"}, None if unknown


def notify_decisions(engine: Engine, settings: Settings, read_thread: ThreadReader, now: datetime, *,
                     limit: int = 50) -> int:  # fmt: skip
    """Send the outcome of every settled approval on a mail thread not told yet; how many were sent."""
    mail_threads = select(mail_message_ids.c.thread_id).where(mail_message_ids.c.customer_id.is_not(None))
    with engine.connect() as conn:
        settled = conn.execute(
            select(approvals.c.id, approvals.c.thread_id, approvals.c.status)
            .where(approvals.c.status.in_(SETTLED), approvals.c.thread_id.in_(mail_threads))
            .order_by(approvals.c.decided_at)
        ).all()
        told = set(
            conn.execute(
                select(mail_outbox.c.dedupe_key).where(mail_outbox.c.dedupe_key.in_(
                    [f"outcome:{row.id}:{row.status}" for row in settled] or [""]))
            ).scalars()
        )  # fmt: skip
    sent = 0
    for row in settled:
        if f"outcome:{row.id}:{row.status}" in told or sent >= limit:
            continue
        result = read_thread(row.thread_id)
        if not result or result.get("status") == "awaiting_approval" or not result.get("reply"):
            continue  # still acting on the decision (or waiting again): the next pass tells
        key = f"{row.id}:{row.status}"
        if notify_thread(engine, settings, thread_id=row.thread_id, text=str(result["reply"]), key=key, now=now):
            sent += 1
    return sent
