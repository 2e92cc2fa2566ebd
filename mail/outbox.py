"""The transactional outbox: rows written with the result they report, delivered over SMTP later.

`enqueue` runs inside the caller's transaction, so a reply exists exactly when the processing
result that produced it was committed. The deliverer claims due rows with a lease, sends the
stored bytes (the same Message-ID and Date on every attempt) to ``smtp_url``, and retries
transient failures with exponential backoff and jitter; a permanent refusal (5xx) marks the row
failed and, for a refused recipient, the address undeliverable.

Delivery is at least once: a crash after the relay accepted a message and before the row is
marked sent sends it again after the lease, with the same Message-ID, which relays and mail
clients use to drop the copy. Mail to an address a bounce marked undeliverable is not sent
(status ``suppressed``).
"""

from __future__ import annotations

import random
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, Engine, and_, func, or_, select, update

from core.settings import Settings
from mail.compose import Outgoing, render
from mail.conversation import remember
from store.schema import mail_outbox, mail_undeliverable
from store.sql import insert_ignore


class PermanentFailure(Exception):
    """The relay refused the message for good (5xx): retrying cannot help."""

    def __init__(self, message: str, *, refused: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.refused = refused


def is_undeliverable(conn: Connection, address: str) -> bool:
    return (
        conn.execute(
            select(mail_undeliverable.c.address).where(mail_undeliverable.c.address == address.lower())
        ).first()
        is not None
    )


def enqueue(conn: Connection, mail: Outgoing, settings: Settings, now: datetime) -> int | None:
    """Add one outgoing message in the caller's transaction; None when its key was already there."""
    message_id, raw = render(mail, settings, now)
    suppressed = is_undeliverable(conn, mail.to_addr)
    inserted = insert_ignore(
        conn,
        mail_outbox,
        {
            "dedupe_key": mail.key[:255],
            "message_id": message_id,
            "kind": mail.kind,
            "inbox_id": mail.inbox_id,
            "thread_id": mail.thread_id,
            "customer_id": mail.customer_id,
            "to_addr": mail.to_addr.lower(),
            "subject": mail.subject[:255],
            "raw": raw,
            "status": "suppressed" if suppressed else "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "last_error": "the address is marked undeliverable" if suppressed else "",
        },
        ["dedupe_key"],
    )
    if not inserted:
        return None
    if mail.thread_id:
        remember(conn, message_id, mail.thread_id, mail.customer_id, "out", now)
    return int(conn.execute(select(mail_outbox.c.id).where(mail_outbox.c.dedupe_key == mail.key[:255])).scalar_one())


def sent_recently(conn: Connection, address: str, since: datetime, kinds: tuple[str, ...] | None = None) -> int:
    query = (
        select(func.count())
        .select_from(mail_outbox)
        .where(mail_outbox.c.to_addr == address.lower(), mail_outbox.c.created_at >= since)
    )
    if kinds:
        query = query.where(mail_outbox.c.kind.in_(kinds))
    return int(conn.execute(query).scalar_one())


# -- SMTP --------------------------------------------------------------------------------------


def smtp_send(url: str, envelope_from: str, to_addr: str, raw: bytes, *, timeout_s: float = 30.0) -> None:
    """One message to the relay at ``smtp://host:port`` (``smtps://``, ``smtp+starttls://``; user:pass@)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, port or 465, timeout=timeout_s, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port or 25, timeout=timeout_s)
    try:
        if parts.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        try:
            refused = client.sendmail(envelope_from, [to_addr], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused: {exc.recipients}", refused=tuple(exc.recipients)) from exc
            raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise
        if refused:
            raise PermanentFailure(f"recipient refused: {refused}", refused=tuple(refused))
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()


Sender = Callable[[str, str, str, bytes], None]  # (smtp_url, envelope_from, to_addr, raw)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, settings: Settings) -> float:
    delay = min(settings.mail_send_backoff_max_s, settings.mail_send_backoff_s * 2 ** max(0, attempts - 1))
    return delay * (0.8 + 0.4 * random.random())


def claim_due(engine: Engine, settings: Settings, now: datetime, *, limit: int = 20) -> list[tuple[Any, str]]:
    """Take up to ``limit`` due rows with a lease; each comes back with the lease token it holds."""
    due = or_(
        and_(mail_outbox.c.status == "pending", mail_outbox.c.next_attempt_at <= now),
        and_(mail_outbox.c.status == "sending", mail_outbox.c.lease_until < now),
    )
    claimed = []
    with engine.begin() as conn:
        rows = conn.execute(select(mail_outbox.c.id).where(due).order_by(mail_outbox.c.id).limit(limit)).all()
        for row in rows:
            token = uuid.uuid4().hex
            lease = now + timedelta(seconds=max(60.0, settings.mail_lease_s))
            done = conn.execute(
                update(mail_outbox)
                .where(mail_outbox.c.id == row.id, due)
                .values(
                    status="sending",
                    lease_until=lease,
                    attempts=mail_outbox.c.attempts + 1,
                    claim_token=token,
                )
            )
            if done.rowcount:
                claimed.append((row.id, token))
    with engine.connect() as conn:
        return [(conn.execute(select(mail_outbox).where(mail_outbox.c.id == i)).one(), token) for i, token in claimed]


def deliver_due(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    send: Sender | None = None,
    limit: int = 20,
) -> DeliveryReport:
    """Send what is due now; each row ends sent, back to pending with a later attempt, or failed."""
    send = send or (lambda url, sender, to, raw: smtp_send(url, sender, to, raw))
    report = DeliveryReport()
    for row, token in claim_due(engine, settings, now, limit=limit):
        mine = and_(
            mail_outbox.c.id == row.id,
            mail_outbox.c.status == "sending",
            mail_outbox.c.claim_token == token,
        )
        try:
            send(settings.smtp_url, settings.support_address, row.to_addr, row.raw)
        except PermanentFailure as exc:
            with engine.begin() as conn:
                conn.execute(
                    update(mail_outbox)
                    .where(mine)
                    .values(status="failed", lease_until=None, last_error=str(exc)[:2000])
                )
                for address in exc.refused:
                    mark_undeliverable(conn, address, "5.1.1", f"refused by the relay: {exc}"[:500], now, None)
            report.failed += 1
            report.errors.append(str(exc))
        except Exception as exc:  # transient: connection refused, 4xx, timeout
            final = row.attempts >= settings.mail_send_attempts
            values: dict[str, Any] = {
                "lease_until": None,
                "last_error": f"{type(exc).__name__}: {exc}"[:2000],
            }
            if final:
                values["status"] = "failed"
            else:
                values.update(
                    status="pending",
                    next_attempt_at=now + timedelta(seconds=backoff(row.attempts, settings)),
                )
            with engine.begin() as conn:
                conn.execute(update(mail_outbox).where(mine).values(**values))
            report.failed += final
            report.retried += not final
            report.errors.append(f"{type(exc).__name__}: {exc}")
        else:
            with engine.begin() as conn:
                conn.execute(
                    update(mail_outbox)
                    .where(mine)
                    .values(
                        status="sent",
                        sent_at=now,
                        lease_until=None,
                        claim_token=None,
                        last_error="",
                    )
                )
            report.sent += 1
    return report


def mark_undeliverable(
    conn: Connection,
    address: str,
    status: str,
    diagnostic: str,
    now: datetime,
    inbox_id: int | None,
) -> None:
    address = address.lower()
    if not insert_ignore(
        conn,
        mail_undeliverable,
        {
            "address": address,
            "status_code": status,
            "diagnostic": diagnostic,
            "bounces": 1,
            "first_at": now,
            "last_at": now,
            "inbox_id": inbox_id,
        },
        ["address"],
    ):
        conn.execute(
            update(mail_undeliverable)
            .where(mail_undeliverable.c.address == address)
            .values(
                bounces=mail_undeliverable.c.bounces + 1,
                last_at=now,
                status_code=status,
                diagnostic=diagnostic,
            )
        )


def list_outbox(
    engine: Engine, *, limit: int = 50, status: str | None = None, customer_id: str | None = None
) -> list[dict[str, Any]]:
    """Outgoing messages, newest first, for ``switchboard admin outbox``."""
    query = select(
        mail_outbox.c.id,
        mail_outbox.c.kind,
        mail_outbox.c.status,
        mail_outbox.c.to_addr,
        mail_outbox.c.subject,
        mail_outbox.c.thread_id,
        mail_outbox.c.inbox_id,
        mail_outbox.c.attempts,
        mail_outbox.c.message_id,
        mail_outbox.c.created_at,
        mail_outbox.c.sent_at,
        mail_outbox.c.next_attempt_at,
        mail_outbox.c.last_error,
    )
    if status:
        query = query.where(mail_outbox.c.status == status)
    if customer_id:
        query = query.where(mail_outbox.c.customer_id == customer_id)
    if customer_id:
        query = query.where(mail_outbox.c.customer_id == customer_id)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query.order_by(mail_outbox.c.id.desc()).limit(limit))]
    return rows
