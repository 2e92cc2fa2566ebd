"""Which conversation thread a mail belongs to: In-Reply-To, References, then a subject tag.

Every Message-ID we send or receive is recorded with its thread (``mail_message_ids``). A reply
names its parent in ``In-Reply-To`` and its ancestors in ``References``; clients that drop both
still keep the subject, so our replies carry a tag such as ``[#t-1a2b3c4d5e6f]``. A thread is
only continued by the customer it belongs to: a match on another customer's (or on a known
customer's, for an unknown sender) thread starts a new thread instead.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from mail.parse import ParsedMail
from store.schema import mail_message_ids
from store.sql import insert_ignore

TAG_RE = re.compile(r"\[#([A-Za-z0-9][A-Za-z0-9_-]{3,63})\]")
PREFIX_RE = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|vs|antw|r|rif|tr|réf)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def new_thread_id() -> str:
    """The same shape as the app's thread ids (``switchboard.app.new_thread_id``)."""
    return f"t-{uuid.uuid4().hex[:12]}"


def subject_tag(thread_id: str) -> str:
    return f"[#{thread_id}]"


def clean_subject(subject: str) -> str:
    """The subject without Re:/Fwd: prefixes and our tag."""
    return re.sub(r"\s{2,}", " ", PREFIX_RE.sub("", TAG_RE.sub("", subject or ""))).strip()


def reply_subject(subject: str, thread_id: str) -> str:
    base = clean_subject(subject) or "Your message to us"
    return f"Re: {base} {subject_tag(thread_id)}"[:250]


@dataclass(frozen=True)
class ThreadMatch:
    thread_id: str
    how: str  # in-reply-to | references | subject-tag | new
    parent_id: str | None  # the Message-ID we continue from (ours or theirs)


def _owner(conn: Connection, message_id: str) -> tuple[str, str | None] | None:
    row = conn.execute(
        select(mail_message_ids.c.thread_id, mail_message_ids.c.customer_id).where(
            mail_message_ids.c.message_id == message_id[:255]
        )
    ).first()
    return (row.thread_id, row.customer_id) if row else None


def _thread_owner(conn: Connection, thread_id: str) -> tuple[bool, str | None]:
    row = conn.execute(
        select(mail_message_ids.c.customer_id).where(mail_message_ids.c.thread_id == thread_id).limit(1)
    ).first()
    return (row is not None, row.customer_id if row else None)


def resolve_thread(conn: Connection, parsed: ParsedMail, customer_id: str | None) -> ThreadMatch:
    """The thread this mail continues, or a new one."""
    if parsed.in_reply_to or parsed.references:
        for how, ids in (
            ("in-reply-to", parsed.in_reply_to),
            ("references", list(reversed(parsed.references))),
        ):
            for message_id in ids:
                owner = _owner(conn, message_id)
                if owner and owner[1] == customer_id:
                    return ThreadMatch(owner[0], how, message_id)
    for tag in TAG_RE.findall(parsed.subject or ""):
        known, owner_id = _thread_owner(conn, tag)
        if known and owner_id == customer_id:
            return ThreadMatch(tag, "subject-tag", None)
    return ThreadMatch(new_thread_id(), "new", None)


def remember(
    conn: Connection,
    message_id: str | None,
    thread_id: str,
    customer_id: str | None,
    direction: str,
    now: datetime,
) -> None:
    if message_id:
        insert_ignore(
            conn,
            mail_message_ids,
            {
                "message_id": message_id[:255],
                "thread_id": thread_id,
                "customer_id": customer_id,
                "direction": direction,
                "created_at": now,
            },
            ["message_id"],
        )


def thread_messages(conn: Connection, thread_id: str) -> list[str]:
    """The thread's Message-IDs, oldest first (for a References header)."""
    rows = conn.execute(
        select(mail_message_ids.c.message_id)
        .where(mail_message_ids.c.thread_id == thread_id)
        .order_by(mail_message_ids.c.created_at, mail_message_ids.c.message_id)
    )
    return [r.message_id for r in rows]
