"""One-time confirmation codes: proof that a request comes from the mailbox on file.

When an emailed request would change the world and the mail carries no trusted DKIM/SPF pass,
the channel sends a code to the address on file (never to the From or Reply-To of the
request). Whoever returns the code by replying has read that mailbox, so the request is theirs.
Only a salted hash of the code is stored; a code expires, is used once, and a few wrong tries
retire it. `check_code` is the function the lead's wiring calls with an incoming text; a match
is turned into an ``approve`` decision by the identity ``service:mail`` (see `mail.channel`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update

from store.schema import mail_confirmations

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: codes are read and typed by people
CODE_RE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{4})[- ]?([0-9]{4})(?![A-Za-z0-9])")  # e.g. KQZD-4827
SERVICE_ACTOR = "service:mail"


def new_code() -> str:
    letters = "".join(secrets.choice(LETTERS) for _ in range(4))
    return f"{letters}-{secrets.randbelow(10_000):04d}"  # 24^4 * 10^4: 3.3e9 codes, 5 tries


def code_hash(code: str, salt: str) -> str:
    normal = re.sub(r"[^A-Z0-9]", "", code.upper())
    return hashlib.sha256(f"{salt}|{normal}".encode()).hexdigest()


def codes_in(text: str) -> list[str]:
    """Code-shaped tokens in a text (what the customer typed, not the quoted history)."""
    return [f"{a.upper()}-{b}" for a, b in CODE_RE.findall(text or "")]


@dataclass(frozen=True)
class Confirmation:
    id: int
    thread_id: str
    customer_id: str
    inbox_id: int  # the request that needed proof
    request_text: str


def issue_code(
    conn: Connection,
    *,
    thread_id: str,
    customer_id: str,
    address: str,
    inbox_id: int,
    request_text: str,
    now: datetime,
    ttl_s: float,
) -> str:
    """A new code for this request (earlier pending codes of the thread are superseded)."""
    conn.execute(
        update(mail_confirmations)
        .where(mail_confirmations.c.thread_id == thread_id, mail_confirmations.c.status == "pending")
        .values(status="superseded")
    )
    code = new_code()
    conn.execute(
        mail_confirmations.insert().values(
            thread_id=thread_id,
            customer_id=customer_id,
            address=address.lower(),
            inbox_id=inbox_id,
            request_text=request_text,
            code_hash=code_hash(code, f"{customer_id}|{inbox_id}"),
            status="pending",
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    return code


def pending_for(conn: Connection, customer_id: str, now: datetime) -> list[dict]:
    rows = conn.execute(
        select(mail_confirmations)
        .where(
            mail_confirmations.c.customer_id == customer_id,
            mail_confirmations.c.status == "pending",
            mail_confirmations.c.expires_at > now,
        )
        .order_by(mail_confirmations.c.id.desc())
    )
    return [dict(r._mapping) for r in rows]


@dataclass(frozen=True)
class CodeCheck:
    match: Confirmation | None
    tried: bool  # the text had a code-shaped token while a code was pending
    pending: bool


def check_code(conn: Connection, *, customer_id: str, text: str, now: datetime) -> CodeCheck:
    """Match a returned code against the customer's pending confirmations; changes nothing.

    The caller marks the match used (`mark_used`) or counts a wrong try (`record_wrong_code`) in
    the transaction that commits the outcome, so a crash between the two leaves the code valid.
    Comparison is constant-time.
    """
    pending = pending_for(conn, customer_id, now)
    tokens = codes_in(text)
    if not pending or not tokens:
        return CodeCheck(None, bool(tokens and pending), bool(pending))
    for row in pending:
        salt = f"{row['customer_id']}|{row['inbox_id']}"
        if any(hmac.compare_digest(code_hash(t, salt), row["code_hash"]) for t in tokens):
            return CodeCheck(
                Confirmation(
                    row["id"],
                    row["thread_id"],
                    row["customer_id"],
                    row["inbox_id"],
                    row["request_text"],
                ),
                True,
                True,
            )
    return CodeCheck(None, True, True)


def mark_used(conn: Connection, confirmation: Confirmation, *, inbox_id: int, now: datetime) -> bool:
    done = conn.execute(
        update(mail_confirmations)
        .where(mail_confirmations.c.id == confirmation.id, mail_confirmations.c.status == "pending")
        .values(status="used", used_at=now, used_by_inbox_id=inbox_id)
    )
    return bool(done.rowcount)


def record_wrong_code(conn: Connection, customer_id: str, *, now: datetime, max_tries: int) -> None:
    """One failed try on each of the customer's pending codes; a code is retired after ``max_tries``."""
    for row in pending_for(conn, customer_id, now):
        tries = row["failed_tries"] + 1
        conn.execute(
            update(mail_confirmations)
            .where(mail_confirmations.c.id == row["id"])
            .values(failed_tries=tries, status="expired" if tries >= max_tries else "pending")
        )


def approve_decision(confirmation: Confirmation) -> dict[str, str]:
    """The decision the channel resumes a waiting thread with once the code matched."""
    return {
        "type": "approve",
        "actor": SERVICE_ACTOR,
        "message": f"identity confirmed: the one-time code sent to the address on file was returned "
        f"(confirmation {confirmation.id})",
    }
