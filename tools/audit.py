"""The audit log: every tool call, refusal, failure and decision, with personal data masked."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine

from store.schema import audit_log

_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_PHONE = re.compile(r"(?<![\w-])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?![\w-])")


def mask_pii(text: str) -> str:
    """Mask card numbers, email addresses and phone numbers in free text."""
    text = _CARD.sub(lambda m: "[card ****" + re.sub(r"\D", "", m.group())[-4:] + "]", text)
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub("[phone]", text)


def write_audit(
    target: Engine | Connection,
    *,
    action: str,
    outcome: str,
    thread_id: str | None = None,
    customer_id: str | None = None,
    node: str | None = None,
    actor: str = "workflow",
    tool: str | None = None,
    args: dict[str, Any] | None = None,
    detail: str = "",
) -> None:
    row = {
        "at": datetime.now(UTC),
        "thread_id": thread_id,
        "customer_id": customer_id,
        "node": node,
        "actor": actor,
        "action": action,
        "tool": tool,
        "args_json": mask_pii(json.dumps(args or {}, sort_keys=True, default=str)),
        "outcome": outcome,
        "detail": mask_pii(detail)[:2000],
    }
    if isinstance(target, Connection):
        target.execute(insert(audit_log).values(**row))
    else:
        with target.begin() as conn:
            conn.execute(insert(audit_log).values(**row))
