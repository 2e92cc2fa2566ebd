"""Mail that is never answered: our own, bounces, auto-replies and bulk (RFC 3834, RFC 3464).

Answering any of these is how mail loops start. A bounce is still read: each recipient it
reports as permanently failed (``Action: failed``, status 5.x.x) is handed back so the caller
can mark the address undeliverable, but only when the bounce quotes one of our own Message-IDs
(see `mail.channel`), so a forged bounce cannot silence a customer's address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from mail.parse import ParsedMail, header_text, message_ids, part_text, raw_headers

OUTBOX_HEADER = "X-Switchboard-Outbox"
THREAD_HEADER = "X-Switchboard-Thread"
VACATION_SUBJECT_RE = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response|antwort)|auto:|out of (?:the )?office|ooo\b|on vacation|vacation"
    r"|away from (?:the|my) office|abwesenheitsnotiz|abwesend|r[ée]ponse automatique|absence"
    r"|respuesta autom[áa]tica|fuera de la oficina|risposta automatica|automatisch antwoord|i am away|i'm away"
    r"|autoreply|auto-reply)",
    re.IGNORECASE,
)
_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_DAEMON_RE = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailer_daemon)@", re.IGNORECASE)


@dataclass(frozen=True)
class FailedRecipient:
    address: str
    status: str
    diagnostic: str


@dataclass(frozen=True)
class Noise:
    kind: str  # ours | bounce | auto_reply | bulk
    reason: str
    failed: tuple[FailedRecipient, ...] = ()
    referenced_ids: tuple[str, ...] = ()  # Message-IDs the bounce quotes (one of ours proves it)


def classify_noise(parsed: ParsedMail, *, envelope_from: str | None, support_address: str) -> Noise | None:
    """Why this mail must not be answered, or None for mail a person wrote."""
    msg = parsed.message
    domain = support_address.rsplit("@", 1)[-1].lower()
    if raw_headers(msg, OUTBOX_HEADER):
        return Noise("ours", f"carries our {OUTBOX_HEADER} header")
    if parsed.message_id and parsed.message_id.lower().endswith("@" + domain):
        return Noise("ours", "its Message-ID is in our domain")
    if parsed.from_addr == support_address.lower():
        return Noise("ours", "it is from the support address")
    if _is_bounce(msg, parsed):
        failed, referenced = read_bounce(msg)
        return Noise("bounce", "a delivery status notification", failed, referenced)
    auto = header_text(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return Noise("auto_reply", f"Auto-Submitted: {auto}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if raw_headers(msg, name):
            return Noise("auto_reply", f"{name} header")
    suppress = header_text(msg, "X-Auto-Response-Suppress").lower()
    if any(word in suppress for word in ("oof", "autoreply", "all")):
        return Noise("auto_reply", f"X-Auto-Response-Suppress: {suppress}")
    precedence = header_text(msg, "Precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return Noise("bulk" if precedence != "auto_reply" else "auto_reply", f"Precedence: {precedence}")
    if raw_headers(msg, "List-Id") or raw_headers(msg, "List-Unsubscribe"):
        return Noise("bulk", "mailing-list headers")
    if VACATION_SUBJECT_RE.match(parsed.subject or ""):
        return Noise("auto_reply", f"an auto-reply subject: {parsed.subject[:60]!r}")
    if envelope_from is not None and envelope_from.strip() == "<>":  # "" is "not known" (webhook, tests)
        return Noise("auto_reply", "null envelope sender (MAIL FROM:<>) is used only by automatic mail")
    return None


def _is_bounce(msg: Message, parsed: ParsedMail) -> bool:
    if msg.get_content_type() == "multipart/report":
        return str(msg.get_param("report-type", "")).lower() == "delivery-status"
    return bool(_DAEMON_RE.match(parsed.from_addr)) or bool(raw_headers(msg, "X-Failed-Recipients"))


def read_bounce(msg: Message) -> tuple[tuple[FailedRecipient, ...], tuple[str, ...]]:
    """The recipients a bounce reports as permanently failed, and the Message-IDs it quotes."""
    failed: list[FailedRecipient] = []
    referenced: list[str] = []
    for value in raw_headers(msg, "In-Reply-To") + raw_headers(msg, "References"):
        referenced.extend(message_ids(value))
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            failed.extend(_dsn_recipients(part))
        elif ctype in ("message/rfc822", "message/rfc822-headers", "text/rfc822-headers"):
            quoted = part.get_payload()
            if isinstance(quoted, list):
                for inner in (q for q in quoted if isinstance(q, Message)):
                    referenced.extend(i for v in raw_headers(inner, "Message-ID") for i in message_ids(v))
            else:
                text = part_text(part)
                referenced.extend(message_ids(" ".join(re.findall(r"(?im)^message-id:\s*(.+)$", text))))
    if not failed:  # a bounce without a DSN part (Exim's header, or an old MTA)
        for value in raw_headers(msg, "X-Failed-Recipients"):
            for address in re.split(r"[,\s]+", value):
                if "@" in address:
                    failed.append(FailedRecipient(address.strip("<>").lower(), "5.0.0", "X-Failed-Recipients"))
    return tuple(failed), tuple(dict.fromkeys(referenced))


def _dsn_recipients(part: Message) -> list[FailedRecipient]:
    blocks = part.get_payload()
    if not isinstance(blocks, list):  # unparsed: read the fields as text
        text = part_text(part)
        blocks = [_fields(chunk) for chunk in re.split(r"\n\s*\n", text)]
    found: list[FailedRecipient] = []
    for block in blocks:
        get = (lambda name, b=block: str(b.get(name, "") or "")) if not isinstance(block, dict) else block.get
        action = str(get("Action") or "").strip().lower()
        status = str(get("Status") or "").strip().split()[0] if str(get("Status") or "").strip() else ""
        recipient = str(get("Final-Recipient") or get("Original-Recipient") or "")
        address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
        if action == "failed" and status.startswith("5") and "@" in address:
            found.append(FailedRecipient(address, status, str(get("Diagnostic-Code") or "").strip()[:500]))
    return found


def _fields(chunk: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in re.sub(r"\n[ \t]+", " ", chunk).split("\n"):
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip().title()] = value.strip()
    return fields
