"""Durable intake: a raw message is a committed row before anyone is told it was received.

The SMTP server (and the webhook) call `store_raw` and answer 250 only after it returns. The
row's ``dedupe_key`` is the Message-ID, or, for mail without one, a hash of the content that
does not change when a relay adds trace headers; the same mail delivered again finds the row
and only counts the delivery. Workers take rows with `claim_next`, a compare-and-set lease:
a row whose worker died is taken again when its lease runs out.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesHeaderParser

from sqlalchemy import ColumnElement, Engine, and_, or_, select, update

from mail.parse import first_message_id
from store.schema import mail_inbox
from store.sql import insert_ignore

_HASHED_HEADERS = ("from", "to", "cc", "subject", "date")


def dedupe_key(raw: bytes) -> tuple[str, str | None]:
    """(key, Message-ID): ``mid:<id>`` or ``sha256:<hash of the sender's headers and the body>``."""
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    message_id = first_message_id([str(v) for v in headers.get_all("Message-ID") or []])
    if message_id and len(message_id) <= 240:
        return f"mid:{message_id}", message_id
    split = raw.find(b"\r\n\r\n")
    split, gap = (split, 4) if split >= 0 else (raw.find(b"\n\n"), 2)
    body = raw[split + gap :] if split >= 0 else b""
    digest = hashlib.sha256()
    for name in _HASHED_HEADERS:  # not Received/Return-Path/DKIM: relays add those on the way
        for value in headers.get_all(name) or []:
            digest.update(f"{name}:{' '.join(str(value).split())}\n".encode("utf-8", "surrogateescape"))
    digest.update(body.replace(b"\r\n", b"\n"))
    return f"sha256:{digest.hexdigest()}", message_id


@dataclass(frozen=True)
class Stored:
    inbox_id: int
    duplicate: bool
    dedupe_key: str


def store_raw(
    engine: Engine,
    raw: bytes,
    *,
    envelope_from: str,
    envelope_to: list[str],
    source: str,
    now: datetime,
) -> Stored:
    """Commit the raw message (or count a repeated delivery of it); return its row id."""
    key, message_id = dedupe_key(raw)
    with engine.begin() as conn:
        inserted = insert_ignore(
            conn,
            mail_inbox,
            {
                "dedupe_key": key,
                "message_id": message_id[:255] if message_id else None,
                "source": source,
                "envelope_from": envelope_from[:320],
                "envelope_to": json.dumps(envelope_to),
                "raw": raw,
                "size_bytes": len(raw),
                "received_at": now,
                "available_at": now,
                "status": "received",
            },
            ["dedupe_key"],
        )
        if not inserted:
            conn.execute(
                update(mail_inbox).where(mail_inbox.c.dedupe_key == key).values(deliveries=mail_inbox.c.deliveries + 1)
            )
        inbox_id = conn.execute(select(mail_inbox.c.id).where(mail_inbox.c.dedupe_key == key)).scalar_one()
    return Stored(int(inbox_id), not inserted, key)


@dataclass(frozen=True)
class Claim:
    inbox_id: int
    token: str
    attempts: int
    dedupe_key: str
    raw: bytes
    envelope_from: str
    thread_id: str | None


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(mail_inbox.c.status == "received", mail_inbox.c.available_at <= now),
        and_(mail_inbox.c.status == "processing", mail_inbox.c.lease_until < now),
    )


def claim_next(engine: Engine, *, lease_s: float, now: datetime) -> Claim | None:
    """Take the oldest message that is due (new, or whose worker's lease ran out)."""
    token = uuid.uuid4().hex
    with engine.begin() as conn:
        for _ in range(5):  # another worker may win the race for a row: try the next
            row = conn.execute(
                select(mail_inbox.c.id).where(_claimable(now)).order_by(mail_inbox.c.id).limit(1)
            ).first()
            if row is None:
                return None
            took = conn.execute(
                update(mail_inbox)
                .where(mail_inbox.c.id == row.id, _claimable(now))
                .values(
                    status="processing",
                    claim_token=token,
                    lease_until=now + timedelta(seconds=lease_s),
                    attempts=mail_inbox.c.attempts + 1,
                )
            )
            if took.rowcount:
                got = conn.execute(select(mail_inbox).where(mail_inbox.c.id == row.id)).one()
                return Claim(
                    got.id,
                    token,
                    got.attempts,
                    got.dedupe_key,
                    got.raw,
                    got.envelope_from,
                    got.thread_id,
                )
    return None


def held_by(claim: Claim) -> ColumnElement[bool]:
    """The WHERE clause that is true only while this claim still holds its row."""
    return and_(
        mail_inbox.c.id == claim.inbox_id,
        mail_inbox.c.status == "processing",
        mail_inbox.c.claim_token == claim.token,
    )


def pending_count(engine: Engine) -> int:
    from sqlalchemy import func

    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(mail_inbox).where(mail_inbox.c.status.in_(("received", "processing")))
            ).scalar_one()
        )
