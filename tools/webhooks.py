"""Signed webhook notifications, delivered from a transactional outbox at least once.

`enqueue` runs inside the caller's transaction (the decision, the case, the sweep's verdict), so
an event exists exactly when what it reports was committed: one row per receiving URL of
``webhook_urls``. `deliver_due` claims due rows with a lease and POSTs the stored body; a 2xx
marks it sent, anything else is retried with exponential backoff and jitter until
``webhook_attempts`` (a 4xx other than 408/425/429 is final: the receiver refused it for good).

The body is JSON ``{"id", "type", "created_at", "data"}``; ``X-Switchboard-Signature`` is
``sha256=`` + the hex HMAC-SHA256 of the body's bytes with ``webhook_secret``, and
``X-Switchboard-Event`` repeats the event id. Delivery is at least once (a receiver that timed
out after accepting gets the event again), so a receiver dedupes on ``id``: the same event
carries the same id on every attempt and to every URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, and_, or_, select, update

from store.schema import webhook_outbox
from store.sql import ensure_tables, insert_ignore

SIGNATURE_HEADER = "X-Switchboard-Signature"
EVENT_HEADER = "X-Switchboard-Event"
EVENT_TYPES = ("approval.waiting", "approval.decided", "approval.overdue", "case.opened", "case.updated")
RETRIABLE_4XX = (408, 425, 429)


class Settings(Protocol):
    """The settings webhooks read (`core.settings.Settings` has them; tools do not import core)."""

    @property
    def webhook_urls(self) -> str: ...
    @property
    def webhook_secret(self) -> str: ...
    @property
    def webhook_attempts(self) -> int: ...
    @property
    def webhook_backoff_s(self) -> float: ...
    @property
    def webhook_backoff_max_s(self) -> float: ...
    @property
    def webhook_timeout_s(self) -> float: ...


def event_id(key: str) -> str:
    """The id receivers dedupe on: the same for every attempt of an event, from its stable key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"switchboard:{key}"))


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str, secret: str) -> bool:
    """What a receiver does with the header (constant-time compare)."""
    return hmac.compare_digest(sign(body, secret), signature)


def urls(settings: Settings) -> list[str]:
    return [u.strip() for u in settings.webhook_urls.split(",") if u.strip()]


def enqueue(
    conn: Connection, settings: Settings, event_type: str, key: str, data: dict[str, Any], now: datetime
) -> str | None:
    """Add one event (one row per configured URL) in the caller's transaction; its id, or None
    when no URL is configured. The same ``key`` twice is one event."""
    targets = urls(settings)
    if not targets:
        return None
    assert event_type in EVENT_TYPES, event_type
    ident = event_id(key)
    body = json.dumps(
        {"id": ident, "type": event_type, "created_at": now.isoformat(), "data": data},
        sort_keys=True,
        default=str,
    )
    for url in targets:
        insert_ignore(
            conn,
            webhook_outbox,
            {
                "dedupe_key": f"{ident} {hashlib.sha256(url.encode()).hexdigest()[:32]}",
                "event_id": ident,
                "event_type": event_type,
                "url": url,
                "body": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
            ["dedupe_key"],
        )
    return ident


Poster = Callable[[str, bytes, dict[str, str], float], int]  # (url, body, headers, timeout) -> HTTP status


def http_post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - configured URLs
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass
class WebhookReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, settings: Settings) -> float:
    delay = min(settings.webhook_backoff_max_s, settings.webhook_backoff_s * 2 ** max(0, attempts - 1))
    return delay * (0.8 + 0.4 * random.random())


def _claim(engine: Engine, settings: Settings, now: datetime, limit: int) -> list[tuple[Any, str]]:
    due = or_(
        and_(webhook_outbox.c.status == "pending", webhook_outbox.c.next_attempt_at <= now),
        and_(webhook_outbox.c.status == "sending", webhook_outbox.c.lease_until < now),
    )
    claimed = []
    with engine.begin() as conn:
        ids = conn.execute(select(webhook_outbox.c.id).where(due).order_by(webhook_outbox.c.id).limit(limit)).all()
        for (row_id,) in ids:
            token = uuid.uuid4().hex
            done = conn.execute(
                update(webhook_outbox)
                .where(webhook_outbox.c.id == row_id, due)
                .values(
                    status="sending",
                    claim_token=token,
                    attempts=webhook_outbox.c.attempts + 1,
                    lease_until=now + timedelta(seconds=max(60.0, 3 * settings.webhook_timeout_s)),
                )
            )
            if done.rowcount:
                claimed.append((row_id, token))
    with engine.connect() as conn:
        return [(conn.execute(select(webhook_outbox).where(webhook_outbox.c.id == i)).one(), t) for i, t in claimed]


def deliver_due(
    engine: Engine, settings: Settings, now: datetime, *, post: Poster | None = None, limit: int = 50
) -> WebhookReport:
    """POST what is due now; each row ends sent, pending with a later attempt, or failed."""
    ensure_tables(engine)
    post = post or http_post
    report = WebhookReport()
    for row, token in _claim(engine, settings, now, limit):
        mine = and_(
            webhook_outbox.c.id == row.id, webhook_outbox.c.status == "sending", webhook_outbox.c.claim_token == token
        )
        body = row.body.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, settings.webhook_secret),
            EVENT_HEADER: row.event_id,
            "User-Agent": "switchboard-webhooks/1",
        }
        error = ""
        final = False
        try:
            status = post(row.url, body, headers, settings.webhook_timeout_s)
        except Exception as exc:  # connection refused, timeout: try again later
            status, error = 0, f"{type(exc).__name__}: {exc}"
        if 200 <= status < 300:
            values: dict[str, Any] = {"status": "sent", "sent_at": now, "lease_until": None, "last_error": ""}
            report.sent += 1
        else:
            error = error or f"HTTP {status}"
            final = (400 <= status < 500 and status not in RETRIABLE_4XX) or row.attempts >= settings.webhook_attempts
            values = {"lease_until": None, "last_error": error[:2000]}
            if final:
                values["status"] = "failed"
                report.failed += 1
            else:
                values.update(
                    status="pending", next_attempt_at=now + timedelta(seconds=backoff(row.attempts, settings))
                )
                report.retried += 1
            report.errors.append(f"{row.url}: {error}")
        with engine.begin() as conn:
            conn.execute(update(webhook_outbox).where(mine).values(**values))
    return report


def list_webhooks(engine: Engine, *, limit: int = 50) -> list[dict[str, Any]]:
    ensure_tables(engine)
    query = select(
        webhook_outbox.c.id,
        webhook_outbox.c.event_id,
        webhook_outbox.c.event_type,
        webhook_outbox.c.url,
        webhook_outbox.c.status,
        webhook_outbox.c.attempts,
        webhook_outbox.c.next_attempt_at,
        webhook_outbox.c.sent_at,
        webhook_outbox.c.last_error,
    ).order_by(webhook_outbox.c.id.desc())
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query.limit(limit))]
