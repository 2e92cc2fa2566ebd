"""Inbound mail posted as JSON by a provider (Postmark, Mailgun, SendGrid and the like).

`make_inbound_webhook` returns a Starlette route function; mount it on the app's server, e.g.
``Route("/mail/inbound", make_inbound_webhook(engine, settings), methods=["POST"])``. It turns
the JSON into an RFC 5322 message and stores it exactly like the SMTP server does (same
dedupe key, same worker), answering 200 only once the row is committed. The JSON it accepts::

    {
      "from": "Maya Patel <maya.patel@example.com>",      required
      "to": ["support@northwind.example"],                 string or list
      "subject": "Broken lamp",
      "text": "plain text body",                           text and/or html
      "html": "<p>html body</p>",
      "message_id": "<abc@mail.example.com>",              optional: a content hash is used without it
      "in_reply_to": "<sb.123@northwind.example>",
      "references": "<a@x> <b@y>",                         string or list
      "headers": {"Authentication-Results": "mx.provider.example; dkim=pass header.d=example.com"},
                                                           object, or a list of [name, value] pairs
      "attachments": [{"filename": "photo.jpg", "content_type": "image/jpeg", "size": 48213,
                       "content_base64": "..."}],          content optional: listed either way
      "envelope_from": "maya.patel@example.com"            optional (MAIL FROM)
    }

The provider's own ``Authentication-Results`` are believed only when its authserv-id is in
``SWITCHBOARD_TRUSTED_AUTHSERV_IDS``. With ``secret`` set, requests must carry
``Authorization: Bearer <secret>``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
from collections.abc import Callable
from email import policy
from email.message import EmailMessage, Message
from typing import Any

from sqlalchemy import Engine

from core.settings import Settings
from mail.channel import utcnow
from mail.inbox import store_raw

_OWN_HEADERS = {
    "from",
    "to",
    "cc",
    "subject",
    "message-id",
    "in-reply-to",
    "references",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
    "content-disposition",
}


class BadPayload(ValueError):
    pass


def _ids(value: Any) -> str:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = str(value or "").strip()
    return " ".join(p if p.startswith("<") else f"<{p}>" for p in text.split()) if text else ""


def message_from_json(payload: Any) -> tuple[bytes, str, list[str]]:
    """(raw message, envelope sender, recipients) from the webhook's JSON."""
    if not isinstance(payload, dict) or not str(payload.get("from") or "").strip():
        raise BadPayload("a JSON object with at least 'from' is required")
    to = payload.get("to") or []
    to_list = [str(t) for t in to] if isinstance(to, list) else [str(to)]
    msg = EmailMessage(policy=policy.default)
    try:
        msg["From"] = str(payload["from"])
        if to_list:
            msg["To"] = ", ".join(to_list)
        msg["Subject"] = str(payload.get("subject") or "")
        for name, key in (
            ("Message-ID", "message_id"),
            ("In-Reply-To", "in_reply_to"),
            ("References", "references"),
        ):
            if payload.get(key):
                msg[name] = _ids(payload[key])
        headers = payload.get("headers") or {}
        pairs = headers.items() if isinstance(headers, dict) else headers
        for pair in pairs:
            name, value = pair
            if str(name).lower() not in _OWN_HEADERS:
                msg[str(name)] = str(value)
        text, html = str(payload.get("text") or ""), str(payload.get("html") or "")
        msg.set_content(text or ("" if html else "\n"))
        if html:
            msg.add_alternative(html, subtype="html") if text else msg.set_content(html, subtype="html")
        for item in payload.get("attachments") or []:
            if not isinstance(item, dict):
                raise BadPayload("each attachment must be an object")
            maintype, _, subtype = str(item.get("content_type") or "application/octet-stream").partition("/")
            data = base64.b64decode(item["content_base64"], validate=True) if item.get("content_base64") else b""
            msg.add_attachment(
                data,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=str(item.get("filename") or "attachment"),
            )
            parts = msg.get_payload()
            if not data and item.get("size") and isinstance(parts, list) and isinstance(parts[-1], Message):
                parts[-1]["X-Attachment-Size"] = str(int(item["size"]))
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise BadPayload(f"invalid field: {exc}") from exc
    senders = msg["From"].addresses if msg["From"] is not None else ()
    envelope_from = str(payload.get("envelope_from") or (senders[0].addr_spec if senders else ""))
    return msg.as_bytes(policy=policy.SMTP), envelope_from, to_list


def make_inbound_webhook(
    engine: Engine,
    settings: Settings,
    *,
    secret: str | None = None,
    wake: Callable[[], None] | None = None,
) -> Callable[[Any], Any]:
    """A Starlette endpoint ``async (request) -> JSONResponse`` that stores a posted mail."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    async def inbound_mail(request: Request) -> JSONResponse:
        if secret:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
        body = await request.body()
        if len(body) > settings.mail_max_message_bytes * 2:  # base64 in JSON is about 4/3 of the mail
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            raw, envelope_from, to = message_from_json(json.loads(body))
        except (BadPayload, json.JSONDecodeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        stored = await asyncio.to_thread(
            store_raw,
            engine,
            raw,
            envelope_from=envelope_from,
            envelope_to=to,
            source="webhook",
            now=utcnow(),
        )
        if wake:
            wake()
        return JSONResponse({"inbox_id": stored.inbox_id, "duplicate": stored.duplicate})

    return inbound_mail
