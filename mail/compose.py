"""Outgoing mail: plain text plus an escaped HTML alternative, signed, threaded, with a stable id.

The Message-ID is derived from the outbox key (``reply:<inbox id>`` and so on), so the same
logical message always has the same id: a relay or a mail client that sees it twice can tell.
Replies are marked ``Auto-Submitted: auto-replied`` (RFC 3834) so that well-behaved
autoresponders do not answer them, and carry our outbox header so we never answer ourselves.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from core.settings import Settings
from mail.noise import OUTBOX_HEADER, THREAD_HEADER

MAX_REFERENCES = 20


def stable_message_id(key: str, domain: str) -> str:
    """``<sb.<hash>@domain>`` without brackets: the same key, the same id."""
    return f"sb.{hashlib.sha256(key.encode()).hexdigest()[:24]}@{domain}"


@dataclass(frozen=True)
class Outgoing:
    key: str  # the outbox dedupe key: one message per key, ever
    kind: str  # reply | ack | outcome | confirm | help | notice
    to_addr: str
    to_name: str
    subject: str
    text: str  # the body without signature
    thread_id: str | None
    customer_id: str | None
    inbox_id: int | None = None
    in_reply_to: str | None = None  # without brackets
    references: tuple[str, ...] = ()


def html_body(text: str, signature: str) -> str:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>\n" for p in paragraphs)
    sig = html.escape(signature).replace("\n", "<br>")
    return (
        f'<!DOCTYPE html><html><body style="font-family: sans-serif; font-size: 14px">\n{body}'
        f'<p style="color: #666; font-size: 12px">{sig}</p>\n</body></html>\n'
    )


def render(mail: Outgoing, settings: Settings, now: datetime) -> tuple[str, bytes]:
    """(Message-ID, the message's bytes, CRLF line ends) for one outgoing mail."""
    message_id = stable_message_id(mail.key, settings.support_domain)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = formataddr((settings.support_name, settings.support_address))
    msg["To"] = formataddr((mail.to_name, mail.to_addr)) if mail.to_name else mail.to_addr
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{message_id}>"
    if mail.in_reply_to:
        msg["In-Reply-To"] = f"<{mail.in_reply_to}>"
    references = [r for r in mail.references if r != message_id][-MAX_REFERENCES:]
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    msg["Auto-Submitted"] = "auto-replied" if mail.in_reply_to else "auto-generated"
    msg[OUTBOX_HEADER] = hashlib.sha256(mail.key.encode()).hexdigest()[:16]
    if mail.thread_id:
        msg[THREAD_HEADER] = mail.thread_id
    text = f"{mail.text.strip()}\n\n-- \n{settings.mail_signature}\n"
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html_body(mail.text.strip(), settings.mail_signature), subtype="html", charset="utf-8")
    return message_id, msg.as_bytes()
