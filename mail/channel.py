"""The email channel: from a stored raw message to one committed outcome and at most one reply.

One message, in order (`MailChannel.process_next`):

1. claim the oldest due row of ``mail_inbox`` with a lease (a crashed worker's row comes back);
2. parse it; never answer noise (our own mail, bounces, auto-replies, bulk); a bounce that
   quotes one of our Message-IDs marks the failed recipient undeliverable;
3. identity: the From address is a customer only if it equals the address on file;
4. thread: In-Reply-To / References / subject tag, else a new thread; the thread id is written
   to the row before the turn runs, so a retry continues the same thread;
5. understand: unknown senders get a general-help reply built from the help articles (no turn
   runs, so nothing can be looked up or changed); a returned confirmation code resumes the
   waiting thread with an ``approve`` by ``service:mail``; anything else is a turn for the
   customer, marked ``verified`` only with a trusted DKIM/SPF/DMARC pass;
6. commit, in one transaction: the row is done (only if our lease still holds), the reply is
   in ``mail_outbox`` under the key ``reply:<inbox id>`` (so no retry can add a second one),
   the Message-IDs are mapped to the thread, and a confirmation code is stored when one was sent.

Replies about a customer's account go only to the address on file, never to From or Reply-To.
The graph is not imported here: the turn runner and the resumer are handed in (see the
`TurnRunner` and `Resumer` protocols for the contract they must keep).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, select, update

from core.settings import Settings
from mail.compose import Outgoing
from mail.conversation import (
    ThreadMatch,
    clean_subject,
    remember,
    reply_subject,
    resolve_thread,
    thread_messages,
)
from mail.identity import Customer, customer_by_id, find_customer, sender_proof
from mail.inbox import Claim, Stored, claim_next, held_by, store_raw
from mail.noise import Noise, classify_noise
from mail.outbox import (
    DeliveryReport,
    Sender,
    deliver_due,
    enqueue,
    is_undeliverable,
    mark_undeliverable,
    sent_recently,
)
from mail.parse import ParsedMail, parse_message
from mail.proof import (
    SERVICE_ACTOR,
    approve_decision,
    check_code,
    issue_code,
    mark_used,
    record_wrong_code,
)
from store.schema import mail_inbox, mail_message_ids, mail_outbox

log = logging.getLogger("switchboard.mail")


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- what the channel needs from the rest of the app ------------------------------------------


@dataclass(frozen=True)
class TurnRequest:
    """One customer turn that arrived by email."""

    text: str  # what the customer wrote this time (quotes and signature removed)
    thread_id: str
    customer_id: str  # matched by the address on file; never taken from the message
    message_key: str  # the inbound mail's dedupe key: the SAME on every retry of this mail
    verified: bool  # a trusted DKIM/SPF/DMARC pass vouches for the sender
    proof: dict[str, Any] = field(default_factory=dict)
    actor: str = SERVICE_ACTOR
    channel: str = "email"


class TurnRunner(Protocol):
    """Runs one customer turn; returns the dict `switchboard.app.turn_result` builds.

    Contract: (1) a second call with the same ``message_key`` must not start a second turn (a
    crash after the turn and before the channel's commit retries the mail): return the first
    turn's result, finishing it if it was cut short. (2) With ``verified=False`` no
    world-changing action may happen: such a step must wait, and the result must say
    ``status="awaiting_approval", waiting_for="proof"``; the channel then sends a code and,
    when it comes back, calls the `Resumer`. (3) A step that waits for a person returns
    ``status="awaiting_approval"`` (``waiting_for="person"`` or absent).
    """

    def __call__(self, request: TurnRequest) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ResumeRequest:
    """Continue a thread that waited for proof, now that the code came back."""

    thread_id: str
    customer_id: str
    decision: dict[str, Any]  # {"type": "approve", "actor": "service:mail", "message": ...}
    message_key: str  # the dedupe key of the mail that returned the code (same on a retry)
    request_key: str  # the dedupe key of the mail whose request waited
    request_text: str  # that request's text, for a runner that held it instead of pausing the graph


class Resumer(Protocol):
    """Resumes a thread waiting for proof; returns a `turn_result` dict. Must be idempotent per
    ``message_key`` like the runner, and must accept ``service:mail`` only for a proof wait,
    never for a step that waits for a person."""

    def __call__(self, request: ResumeRequest) -> dict[str, Any]: ...


Search = Callable[[str, int], list[dict[str, Any]]]  # graph.resources.kb_search(ctx): (query, k) -> passages


# -- texts ----------------------------------------------------------------------------------------


def general_help_reply(text: str, address: str, search: Search | None, settings: Settings) -> str:
    """The answer to an unknown sender: what the help articles say, and nothing about any account."""
    intro = (
        f"Thank you for writing to us. We could not find a customer account with the address {address}, "
        "so by email we can only help with general questions: we cannot look up or change orders, "
        "refunds or account details for this address. If you have an account, please write from the email "
        "address on your account, or use chat or phone."
    )
    passages: list[dict[str, Any]] = []
    if search and text.strip():
        try:
            passages = [p for p in search(text[:1000], 2) if float(p.get("score", 0.0)) >= 0.25]
        except Exception as exc:  # the help articles are a bonus here, never a reason to fail
            log.warning("general help search failed: %s", exc)
    parts = [intro]
    for passage in passages[:1]:
        snippet = re.sub(r"(?m)^#+\s*", "", str(passage.get("text", ""))).strip()
        if len(snippet) > 700:
            snippet = snippet[:700].rsplit(" ", 1)[0] + " …"
        parts.append(f"From our help centre, {passage.get('title', 'an article')}:\n{snippet}")
    return "\n\n".join(parts)


def proof_request_text(reply: str, code: str, settings: Settings) -> str:
    return (f"{reply.strip()}\n\n" if reply.strip() else "") + (
        "Before we change anything on your account, we need to know this request came from you. "
        f"Please reply to this email with this code on the first line:\n\n    {code}\n\n"
        f"The code works once and expires in {int(settings.mail_code_ttl_s // 3600)} hours. "
        "If you did not ask for this, ignore this email: nothing will change."
    )


def understood(parsed: ParsedMail, settings: Settings, *, continues: bool) -> tuple[str, list[str]]:
    """(the text a turn gets, notes for the reply about limits and attachments)."""
    notes: list[str] = []
    body = parsed.new_text.strip()
    subject = clean_subject(parsed.subject)
    text = body
    if not continues and subject and subject.lower() not in body.lower():
        text = f"{subject}\n\n{body}" if body else subject
    limit = settings.mail_max_text_chars
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0]
        notes.append(
            f"Your message was long: we read its first {limit:,} characters. The whole message is kept for our team."
        )
    if parsed.attachments:
        names = ", ".join(f"{a.filename} ({a.size / 1048576:.1f} MB)" for a in parsed.attachments[:12])
        notes.append(
            f"We received {len(parsed.attachments)} attachment(s): {names}. Our assistant does not open "
            "attachments; they are kept with your message for our team."
        )
        too_big = [a for a in parsed.attachments if a.size > settings.mail_max_attachment_bytes]
        if too_big:
            notes.append(
                f"{', '.join(a.filename for a in too_big)} exceeded our limit of "
                f"{settings.mail_max_attachment_bytes / 1048576:.0f} MB per attachment; please send a "
                "smaller file or a link if our team needs it."
            )
        if len(parsed.attachments) > settings.mail_max_attachments:
            notes.append(
                f"That is more than the {settings.mail_max_attachments} attachments we accept per "
                "message; please send only the ones we need."
            )
    return text, notes


# -- the channel ----------------------------------------------------------------------------------


class LostClaim(Exception):
    """Our lease ran out and another worker took the message: our result is dropped."""


@dataclass(frozen=True)
class Processed:
    inbox_id: int
    outcome: str
    thread_id: str | None = None
    customer_id: str | None = None
    outbox_id: int | None = None
    detail: str = ""


@dataclass
class Plan:
    """What one message's commit writes."""

    outcome: str
    detail: str = ""
    reply: Callable[[Connection], Outgoing | None] | None = None
    extra: Callable[[Connection], None] | None = None


@dataclass
class MailChannel:
    engine: Engine
    settings: Settings
    run_turn: TurnRunner
    resume: Resumer | None = None
    search: Search | None = None
    clock: Callable[[], datetime] = utcnow
    # thread id -> {"status", "reply"}: lets the deliverer tell mail customers what a person decided
    read_thread: Callable[[str], dict[str, Any] | None] | None = None

    # -- intake and delivery --

    def receive(
        self,
        raw: bytes,
        *,
        envelope_from: str = "",
        envelope_to: list[str] | None = None,
        source: str = "smtp",
    ) -> Stored:
        return store_raw(
            self.engine,
            raw,
            envelope_from=envelope_from,
            envelope_to=envelope_to or [],
            source=source,
            now=self.clock(),
        )

    def deliver(self, send: Sender | None = None, *, limit: int = 20) -> DeliveryReport:
        from mail.outreach import hand_over_due

        hand_over_due(self.engine, self.settings, self.clock(), limit=limit)  # outreach rows that fell due
        if self.read_thread is not None:
            from mail.decisions import notify_decisions

            notify_decisions(self.engine, self.settings, self.read_thread, self.clock())
        return deliver_due(self.engine, self.settings, self.clock(), send=send, limit=limit)

    def drain(self, limit: int | None = None) -> list[Processed]:
        done: list[Processed] = []
        while limit is None or len(done) < limit:
            item = self.process_next()
            if item is None:
                break
            done.append(item)
        return done

    def process_next(self) -> Processed | None:
        claim = claim_next(self.engine, lease_s=self.settings.mail_lease_s, now=self.clock())
        if claim is None:
            return None
        try:
            return self._process(claim)
        except LostClaim:
            log.warning("inbox %s: lease lost, another worker has it", claim.inbox_id)
            return Processed(claim.inbox_id, "lost_claim")
        except Exception as exc:
            log.exception("inbox %s: processing failed (attempt %s)", claim.inbox_id, claim.attempts)
            return self._failed_attempt(claim, exc)

    # -- one message --

    def _process(self, claim: Claim) -> Processed:
        parsed = parse_message(claim.raw)
        noise = classify_noise(parsed, envelope_from=claim.envelope_from, support_address=self.settings.support_address)
        if noise is not None:
            return self._commit(claim, parsed, None, None, self._noise_plan(claim, noise))
        with self.engine.connect() as conn:
            customer = find_customer(conn, parsed.from_addr)
        thread = self._thread(claim, parsed, customer)
        text, notes = understood(parsed, self.settings, continues=thread.how != "new")
        if customer is None:
            return self._commit(claim, parsed, thread.thread_id, None, self._help_plan(claim, parsed, thread, text))
        with self.engine.connect() as conn:
            since = self.clock() - timedelta(hours=1)
            if sent_recently(conn, customer.email, since) >= self.settings.mail_replies_per_hour:
                return self._commit(
                    claim,
                    parsed,
                    thread.thread_id,
                    customer.id,
                    Plan(
                        "ignored:loop_guard",
                        f"{self.settings.mail_replies_per_hour} replies to {customer.email} in the last hour",
                    ),
                )
            check = check_code(conn, customer_id=customer.id, text=parsed.new_text, now=self.clock())
        if check.match is not None:
            return self._commit(
                claim,
                parsed,
                check.match.thread_id,
                customer.id,
                self._confirmed_plan(claim, parsed, customer, check.match, notes),
            )
        if check.tried and len(parsed.new_text) <= 60:
            return self._commit(
                claim,
                parsed,
                thread.thread_id,
                customer.id,
                self._mismatch_plan(claim, parsed, customer, thread),
            )
        if not text:
            return self._commit(
                claim,
                parsed,
                thread.thread_id,
                customer.id,
                Plan(
                    "empty",
                    "no text",
                    self._reply(
                        claim,
                        parsed,
                        customer,
                        thread.thread_id,
                        "reply",
                        "\n\n".join(
                            [
                                "We received your email, but it had no text we could read. Please write what you need in "
                                "the body of your email.",
                                *notes,
                            ]
                        ),
                    ),
                ),
            )
        proof = sender_proof(parsed, self.settings.trusted_authserv)
        result = self.run_turn(
            TurnRequest(
                text=text,
                thread_id=thread.thread_id,
                customer_id=customer.id,
                message_key=claim.dedupe_key,
                verified=proof.verified,
                proof=proof.as_dict(),
            )
        )
        return self._commit(
            claim,
            parsed,
            thread.thread_id,
            customer.id,
            self._result_plan(claim, parsed, customer, thread.thread_id, text, result, notes),
        )

    def _thread(self, claim: Claim, parsed: ParsedMail, customer: Customer | None) -> ThreadMatch:
        """The thread, decided once: a retry of this mail reads it back from the row."""
        if claim.thread_id:  # a retry: the thread was new unless it holds other messages than this one
            with self.engine.connect() as conn:
                others = [m for m in thread_messages(conn, claim.thread_id) if m != parsed.message_id]
            return ThreadMatch(claim.thread_id, "retry" if others else "new", None)
        now = self.clock()
        with self.engine.begin() as conn:
            match = resolve_thread(conn, parsed, customer.id if customer else None)
            if not conn.execute(
                update(mail_inbox)
                .where(held_by(claim))
                .values(thread_id=match.thread_id, customer_id=customer.id if customer else None)
            ).rowcount:
                raise LostClaim()
            remember(
                conn,
                parsed.message_id,
                match.thread_id,
                customer.id if customer else None,
                "in",
                now,
            )
        return match

    def _reply(
        self,
        claim: Claim,
        parsed: ParsedMail,
        customer: Customer | None,
        thread_id: str,
        kind: str,
        text: str,
        *,
        to_addr: str | None = None,
    ) -> Callable[[Connection], Outgoing | None]:
        def build(conn: Connection) -> Outgoing:
            known = thread_messages(conn, thread_id)
            parent = parsed.message_id or (known[-1] if known else None)
            references = tuple(
                dict.fromkeys(
                    [
                        *parsed.references,
                        *([parsed.message_id] if parsed.message_id else known[-1:]),
                    ]
                )
            )
            address = customer.email if customer else (to_addr or parsed.from_addr)
            return Outgoing(
                key=f"reply:{claim.inbox_id}",
                kind=kind,
                to_addr=address,
                to_name=customer.name if customer else "",
                subject=reply_subject(parsed.subject, thread_id),
                text=text,
                thread_id=thread_id,
                customer_id=customer.id if customer else None,
                inbox_id=claim.inbox_id,
                in_reply_to=parent,
                references=references,
            )

        return build

    def _noise_plan(self, claim: Claim, noise: Noise) -> Plan:
        if noise.kind != "bounce" or not noise.failed:
            return Plan(f"ignored:{noise.kind}", noise.reason)
        now = self.clock()

        def mark(conn: Connection) -> None:
            ours = {
                r.to_addr
                for r in conn.execute(
                    select(mail_outbox.c.to_addr).where(
                        mail_outbox.c.message_id.in_(list(noise.referenced_ids) or [""])
                    )
                )
            }
            marked = [f.address for f in noise.failed if f.address in ours]  # a bounce of mail we sent there
            for failed in noise.failed:
                if failed.address in marked:
                    mark_undeliverable(conn, failed.address, failed.status, failed.diagnostic, now, claim.inbox_id)
            detail = (
                f"undeliverable: {', '.join(marked)}"
                if marked
                else "a bounce of no message we sent to that address: nothing marked"
            )
            conn.execute(update(mail_inbox).where(mail_inbox.c.id == claim.inbox_id).values(detail=detail))

        return Plan("ignored:bounce", noise.reason, extra=mark)

    def _help_plan(self, claim: Claim, parsed: ParsedMail, thread: ThreadMatch, text: str) -> Plan:
        address = parsed.from_addr  # never Reply-To: a reply there could be sent anywhere
        if not address:
            return Plan("ignored:no_sender", "no usable From address")
        with self.engine.connect() as conn:
            if is_undeliverable(conn, address):
                return Plan("ignored:undeliverable", f"{address} is marked undeliverable")
            since = self.clock() - timedelta(days=1)
            if sent_recently(conn, address, since, ("help",)) >= self.settings.mail_unknown_replies_per_day:
                return Plan(
                    "ignored:help_limit",
                    f"{self.settings.mail_unknown_replies_per_day} general-help replies to {address} today",
                )
        reply = general_help_reply(text, address, self.search, self.settings)
        return Plan(
            "general_help",
            f"unknown sender {address}",
            self._reply(claim, parsed, None, thread.thread_id, "help", reply, to_addr=address),
        )

    def _result_plan(
        self,
        claim: Claim,
        parsed: ParsedMail,
        customer: Customer,
        thread_id: str,
        text: str,
        result: dict[str, Any],
        notes: list[str],
    ) -> Plan:
        status = str(result.get("status", "error"))
        reply = str(result.get("reply", "")).strip() or "Thank you for your message; we are looking into it."
        body = "\n\n".join([reply, *notes])
        waiting = result.get("waiting_for") or ("person" if status == "awaiting_approval" else None)
        if status == "awaiting_approval" and waiting == "proof":
            codes: list[str] = []

            def with_code(conn: Connection) -> Outgoing | None:
                code = issue_code(
                    conn,
                    thread_id=thread_id,
                    customer_id=customer.id,
                    address=customer.email,
                    inbox_id=claim.inbox_id,
                    request_text=text,
                    now=self.clock(),
                    ttl_s=self.settings.mail_code_ttl_s,
                )
                codes.append(code)
                return self._reply(
                    claim,
                    parsed,
                    customer,
                    thread_id,
                    "confirm",
                    "\n\n".join([proof_request_text(reply, code, self.settings), *notes]),
                )(conn)

            return Plan("needs_proof", "a world-changing request without a trusted DKIM/SPF pass", with_code)
        if status == "awaiting_approval":
            return Plan(
                "waiting_for_person",
                "acknowledged",
                self._reply(claim, parsed, customer, thread_id, "ack", body),
            )
        return Plan(
            "answered" if status == "answered" else f"answered:{status}",
            "",
            self._reply(claim, parsed, customer, thread_id, "reply", body),
        )

    def _confirmed_plan(
        self,
        claim: Claim,
        parsed: ParsedMail,
        customer: Customer,
        confirmation: Any,
        notes: list[str],
    ) -> Plan:
        if self.resume is None:
            return Plan("ignored:no_resumer", "a code matched but no resumer is wired")
        with self.engine.connect() as conn:
            request_key = conn.execute(
                select(mail_inbox.c.dedupe_key).where(mail_inbox.c.id == confirmation.inbox_id)
            ).scalar_one()
        result = self.resume(
            ResumeRequest(
                thread_id=confirmation.thread_id,
                customer_id=customer.id,
                decision=approve_decision(confirmation),
                message_key=claim.dedupe_key,
                request_key=request_key,
                request_text=confirmation.request_text,
            )
        )
        now = self.clock()
        plan = self._result_plan(
            claim,
            parsed,
            customer,
            confirmation.thread_id,
            confirmation.request_text,
            result,
            notes,
        )
        if plan.outcome == "needs_proof":  # a resumer must not ask again: send its reply, no second code
            plan = Plan(
                "error",
                "the resumed thread asked for proof again",
                self._reply(
                    claim,
                    parsed,
                    customer,
                    confirmation.thread_id,
                    "reply",
                    str(result.get("reply", "")),
                ),
            )

        def used(conn: Connection) -> None:
            if not mark_used(conn, confirmation, inbox_id=claim.inbox_id, now=now):
                raise LostClaim()  # another worker used it first: its commit stands

        outcome = "confirmed" if plan.outcome == "answered" else f"confirmed:{plan.outcome}"
        return Plan(outcome, f"confirmation {confirmation.id}", plan.reply, extra=used)

    def _mismatch_plan(self, claim: Claim, parsed: ParsedMail, customer: Customer, thread: ThreadMatch) -> Plan:
        now = self.clock()
        settings = self.settings

        def wrong(conn: Connection) -> None:
            record_wrong_code(conn, customer.id, now=now, max_tries=settings.mail_code_max_tries)

        text = (
            "That code does not match the one we sent, or it has expired. Please reply with the code from "
            "our latest email exactly as it is written; after a few wrong tries the code stops working and "
            "you can simply send your request again."
        )
        return Plan(
            "code_mismatch",
            "a code-shaped reply that matched no pending code",
            self._reply(claim, parsed, customer, thread.thread_id, "notice", text),
            extra=wrong,
        )

    # -- commit --

    def _commit(
        self,
        claim: Claim,
        parsed: ParsedMail,
        thread_id: str | None,
        customer_id: str | None,
        plan: Plan,
    ) -> Processed:
        now = self.clock()
        outbox_id = None
        with self.engine.begin() as conn:
            done = conn.execute(
                update(mail_inbox)
                .where(held_by(claim))
                .values(
                    status="done",
                    outcome=plan.outcome,
                    detail=plan.detail[:2000],
                    processed_at=now,
                    thread_id=thread_id,
                    customer_id=customer_id,
                    lease_until=None,
                    claim_token=None,
                )
            )
            if not done.rowcount:
                raise LostClaim()
            outgoing = plan.reply(conn) if plan.reply is not None else None
            if outgoing is not None:
                outbox_id = enqueue(conn, outgoing, self.settings, now)
            if plan.extra is not None:
                plan.extra(conn)
        log.info(
            "inbox %s: %s thread=%s customer=%s",
            claim.inbox_id,
            plan.outcome,
            thread_id,
            customer_id,
        )
        return Processed(claim.inbox_id, plan.outcome, thread_id, customer_id, outbox_id, plan.detail)

    def _failed_attempt(self, claim: Claim, exc: Exception) -> Processed:
        now = self.clock()
        detail = f"attempt {claim.attempts}: {type(exc).__name__}: {exc}"[:2000]
        final = claim.attempts >= self.settings.mail_max_attempts
        values: dict[str, Any] = {"detail": detail, "lease_until": None, "claim_token": None}
        if final:
            values.update(status="failed", outcome="failed", processed_at=now)
        else:
            delay = min(600.0, 5.0 * 2 ** (claim.attempts - 1))
            values.update(status="received", available_at=now + timedelta(seconds=delay))
        with self.engine.begin() as conn:
            conn.execute(update(mail_inbox).where(held_by(claim)).values(**values))
        return Processed(claim.inbox_id, "failed" if final else "retry_later", claim.thread_id, detail=detail)

    # -- acknowledgements and outcomes the rest of the app triggers --

    def notify(self, *, thread_id: str, text: str, key: str, kind: str = "outcome") -> int | None:
        return notify_thread(
            self.engine,
            self.settings,
            thread_id=thread_id,
            text=text,
            key=key,
            kind=kind,
            now=self.clock(),
        )


def notify_thread(
    engine: Engine,
    settings: Settings,
    *,
    thread_id: str,
    text: str,
    key: str,
    kind: str = "outcome",
    now: datetime | None = None,
) -> int | None:
    """Email the customer of a mail thread (address on file, same thread); None if it is no mail thread.

    ``key`` makes it idempotent: the same key never sends twice (use e.g. the checkpoint id of
    the decision, or ``f"{thread_id}:{decision_id}"``).
    """
    now = now or utcnow()
    with engine.begin() as conn:
        owner = conn.execute(
            select(mail_message_ids.c.customer_id)
            .where(
                mail_message_ids.c.thread_id == thread_id,
                mail_message_ids.c.customer_id.is_not(None),
            )
            .limit(1)
        ).first()
        customer = customer_by_id(conn, owner.customer_id) if owner else None
        if customer is None:
            return None
        known = thread_messages(conn, thread_id)
        last_subject = conn.execute(
            select(mail_outbox.c.subject)
            .where(mail_outbox.c.thread_id == thread_id)
            .order_by(mail_outbox.c.id.desc())
            .limit(1)
        ).scalar()
        subject = last_subject or reply_subject("Your request", thread_id)
        return enqueue(
            conn,
            Outgoing(
                key=f"{kind}:{key}",
                kind=kind,
                to_addr=customer.email,
                to_name=customer.name,
                subject=subject,
                text=text,
                thread_id=thread_id,
                customer_id=customer.id,
                in_reply_to=known[-1] if known else None,
                references=tuple(known),
            ),
            settings,
            now,
        )


def acknowledge_waiting(
    engine: Engine, settings: Settings, *, thread_id: str, result: dict[str, Any], key: str
) -> int | None:
    """Tell the customer their request waits for a person (for a wait that did not start by mail)."""
    text = str(result.get("reply") or "").strip() or (
        "Thank you: your request is with a member of our team, who will review it shortly. We will email you "
        "as soon as it is decided."
    )
    return notify_thread(engine, settings, thread_id=thread_id, text=text, key=key, kind="ack")


def announce_outcome(
    engine: Engine, settings: Settings, *, thread_id: str, result: dict[str, Any], key: str
) -> int | None:
    """Tell the customer what was decided (call it after an operator's approve/reject/edit)."""
    text = str(result.get("reply") or "").strip() or "Your request has been reviewed by our team."
    return notify_thread(engine, settings, thread_id=thread_id, text=text, key=key, kind="outcome")
