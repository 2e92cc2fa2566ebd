"""Read one raw message with the standard `email` package (modern policy) into what the channel needs.

Nothing here raises on bad input: a header that does not parse falls back to its raw text and
is recorded in ``defects``; a body in an unknown or mislabelled charset is decoded by the
fallbacks in `decode_text`. Attachments are listed (name, type, size from the encoded length),
never decoded or read.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from mail.body import html_to_text, strip_reply

MSGID_RE = re.compile(r"<([^<>\s]{1,250})>")
ADDR_RE = re.compile(r"[^\s@<>\"(),;:]+@[^\s@<>\"(),;:]+\.[^\s@<>\"(),;:]+")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int  # bytes, from the encoded length: the content is never decoded


@dataclass
class ParsedMail:
    message: Message
    message_id: str | None  # without the angle brackets
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_addr: str  # lower-cased addr-spec, "" when there is none
    from_name: str
    reply_to: list[str]
    to: list[str]
    date: datetime | None
    text: str  # the whole body as text (text/plain preferred, else HTML converted)
    new_text: str  # the body without quoted history and signature: what is understood
    body_source: str  # plain | html | none
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return header_text(self.message, name, self.defects)

    def headers(self, name: str) -> list[str]:
        return raw_headers(self.message, name)


def parse_bytes(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=policy.default)


def raw_headers(msg: Message, name: str) -> list[str]:
    """Every value of a header as sent (unfolded), without the parsing that can fail."""
    lname = name.lower()
    return (
        [_unfold(str(v)) for k, v in msg.raw_items() if k.lower() == lname]
        if hasattr(msg, "raw_items")
        else [_unfold(str(v)) for v in (msg.get_all(name) or [])]
    )


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", value).strip()


def header_text(msg: Message, name: str, defects: list[str] | None = None) -> str:
    """A header's decoded text; its raw value (encoded words decoded if possible) when parsing fails."""
    try:
        value = msg.get(name)
        return "" if value is None else _unfold(str(value))
    except Exception as exc:  # a malformed header: fall back to the raw value
        if defects is not None:
            defects.append(f"{name}: {type(exc).__name__}")
    values = raw_headers(msg, name)
    if not values:
        return ""
    try:
        return _unfold(str(make_header(decode_header(values[0]))))
    except Exception:
        return values[0]


def addresses(msg: Message, name: str, defects: list[str]) -> list[tuple[str, str]]:
    """(display name, lower-cased addr-spec) pairs; lenient fallbacks when the strict parse fails."""
    found: list[tuple[str, str]] = []
    try:
        header = msg.get(name)
        if header is not None:
            for addr in getattr(header, "addresses", ()):
                if addr.addr_spec and ADDR_RE.fullmatch(addr.addr_spec):
                    found.append((addr.display_name, addr.addr_spec.lower()))
            if found or not str(header).strip():
                return found
            defects.append(f"{name}: no valid address")
    except Exception as exc:
        defects.append(f"{name}: {type(exc).__name__}")
    raw = raw_headers(msg, name)
    for display, spec in getaddresses(raw):
        spec = spec.strip().strip("<>")
        if ADDR_RE.fullmatch(spec):
            found.append((display, spec.lower()))
    if not found:  # e.g. an unbalanced quote: take the bracketed address, else the first address
        for value in raw:
            bracketed = re.findall(r"<([^<>]+)>", value)
            candidates = [b for b in bracketed if ADDR_RE.fullmatch(b.strip())] or ADDR_RE.findall(value)
            if candidates:
                found.append(("", candidates[-1 if bracketed else 0].strip().lower()))
                break
    return found


def message_ids(value: str) -> list[str]:
    return MSGID_RE.findall(value or "")


def first_message_id(values: list[str]) -> str | None:
    """The Message-ID's id (brackets removed); a bare id with an @ is accepted too."""
    for value in values:
        ids = message_ids(value)
        if ids:
            return ids[0]
        bare = value.strip()
        if "@" in bare and " " not in bare and len(bare) <= 250:
            return bare.strip("<>")
    return None


# -- bodies ------------------------------------------------------------------------------------

_ASCII_OR_LATIN1 = {
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "iso8859-1",
    "latin-1",
    "latin1",
    "l1",
    "iso_8859-1",
}


def decode_text(payload: bytes, declared: str | None) -> str:
    """Decode a text part: the declared charset, with the fallbacks mail in the wild needs.

    Like browsers (WHATWG), Latin-1 and ASCII labels are read as Windows-1252, a superset that
    has the curly quotes and euro sign Outlook sends under those labels; unlabelled 8-bit text
    is tried as UTF-8 first. An unknown label falls back to UTF-8, then Windows-1252.
    """
    charset = (declared or "").strip().strip('"').lower()
    order: list[str] = []
    if not charset or charset in ("us-ascii", "ascii"):
        order = ["utf-8", "cp1252"]
    elif charset in _ASCII_OR_LATIN1:
        order = ["cp1252"]
    else:
        order = [charset, "utf-8", "cp1252"]
    for codec in order:
        try:
            return payload.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")  # every byte maps: never fails


def part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_param("charset") if hasattr(part, "get_param") else None
        return decode_text(payload, charset if isinstance(charset, str) else None)
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _is_body_candidate(part: Message) -> bool:
    try:
        disposition = part.get_content_disposition()
        filename = part.get_filename()
    except Exception:
        return False
    return part.get_content_type() in ("text/plain", "text/html") and disposition != "attachment" and not filename


def choose_body(msg: Message) -> tuple[Message | None, Message | None]:
    """(the text/plain part, the text/html part) that make up the body, either may be None."""
    plain = html = None
    try:
        plain = msg.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        html = msg.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    except Exception:
        pass
    if plain is None and html is None:  # a structure get_body does not understand: first text parts
        for part in msg.walk():
            if part.is_multipart() or not _is_body_candidate(part):
                continue
            if part.get_content_type() == "text/plain" and plain is None:
                plain = part
            elif part.get_content_type() == "text/html" and html is None:
                html = part
    return plain, html


def body_of(msg: Message) -> tuple[str, str, set[int]]:
    """(text, source, ids of the parts used): text/plain preferred, HTML converted when it is all."""
    plain, html = choose_body(msg)
    used = {id(p) for p in (plain, html) if p is not None}
    if plain is not None:
        text = part_text(plain)
        if text.strip():
            return text, "plain", used
    if html is not None:
        return html_to_text(part_text(html)), "html", used
    return "", "none", used


# -- attachments -------------------------------------------------------------------------------


def _encoded_size(part: Message) -> int:
    payload = part.get_payload()
    if isinstance(payload, list):  # message/rfc822 and friends
        return sum(_encoded_size(p) for p in payload if isinstance(p, Message))
    data = payload if isinstance(payload, str) else ""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding == "base64":
        compact = re.sub(r"\s+", "", data)
        return max(0, len(compact) * 3 // 4 - compact[-2:].count("="))
    if encoding == "quoted-printable":
        return len(re.sub(r"=\r?\n", "", data)) - 2 * data.count("=")
    declared = part.get("X-Attachment-Size")  # the webhook's metadata-only attachments
    if not data and declared and str(declared).strip().isdigit():
        return int(str(declared).strip())
    return len(data.encode("utf-8", "surrogateescape"))


def list_attachments(msg: Message, body_parts: set[int], defects: list[str]) -> list[Attachment]:
    found: list[Attachment] = []
    stack: list[Message] = [msg]
    while stack:
        part = stack.pop(0)
        ctype = part.get_content_type()
        if part.is_multipart() and ctype != "message/rfc822":
            payload = part.get_payload()
            stack[0:0] = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
            continue
        if id(part) in body_parts or part is msg:
            continue
        try:
            name = part.get_filename() or ""
        except Exception as exc:
            defects.append(f"attachment filename: {type(exc).__name__}")
            name = ""
        if ctype == "message/rfc822" and not name:
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner and isinstance(inner[0], Message) else None
            name = (header_text(inner_msg, "Subject") or "forwarded message") + ".eml" if inner_msg else "message.eml"
        if ctype in ("text/plain", "text/html") and not name and part.get_content_disposition() != "attachment":
            continue  # another text part of the body (e.g. a second text/plain in multipart/mixed)
        name = re.sub(r"[\x00-\x1f]", "", name.replace("\\", "/").rsplit("/", 1)[-1])[:200] or "unnamed"
        found.append(Attachment(name, ctype, _encoded_size(part)))
    return found


# -- the whole message -------------------------------------------------------------------------


def parse_message(raw: bytes) -> ParsedMail:
    msg = parse_bytes(raw)
    defects: list[str] = [type(d).__name__ for d in getattr(msg, "defects", [])]
    senders = addresses(msg, "From", defects)
    from_name, from_addr = senders[0] if senders else ("", "")
    try:
        date_value = header_text(msg, "Date", defects)
        date = parsedate_to_datetime(date_value) if date_value else None
    except Exception:
        defects.append("Date: unparseable")
        date = None
    text, source, used = body_of(msg)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return ParsedMail(
        message=msg,
        message_id=first_message_id(raw_headers(msg, "Message-ID")),
        in_reply_to=[i for v in raw_headers(msg, "In-Reply-To") for i in message_ids(v)],
        references=[i for v in raw_headers(msg, "References") for i in message_ids(v)],
        subject=header_text(msg, "Subject", defects),
        from_addr=from_addr,
        from_name=from_name,
        reply_to=[a for _, a in addresses(msg, "Reply-To", defects)],
        to=[a for _, a in addresses(msg, "To", defects)],
        date=date,
        text=text,
        new_text=strip_reply(text),
        body_source=source,
        attachments=list_attachments(msg, used, defects),
        defects=defects,
    )
