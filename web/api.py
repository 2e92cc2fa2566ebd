"""The pages' way into threads: the server's own Agent Protocol API, with the signed-in person's token.

Decisions, messages, state edits and forks go through `langgraph_sdk` to the server these routes
run in (loopback to the socket the request came in on, or `SWITCHBOARD_WEB_API_URL`), so the
server's authorisation applies to the pages exactly as to any client, and the server's thread
state is the one that changes. An operator acts for one customer at a time with
``X-Switchboard-Customer`` (server/auth.py).

The helpers below turn the API's JSON (thread state, history) into what the templates show.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from starlette.requests import Request

from core.settings import get_settings
from server.auth import ACT_FOR_HEADER
from web.session import Session, WebError

ASSISTANT = "support"
_THREAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_CUSTOMER_ID = re.compile(r"^C\d{4,}$")
_CHECKPOINT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def checked_thread_id(value: str) -> str:
    if not _THREAD_ID.match(value or ""):
        raise WebError(404, "Thread not found", "That is not a thread id.")
    return value


def checked_customer_id(value: str) -> str:
    if not _CUSTOMER_ID.match(value or ""):
        raise WebError(404, "Customer not found", f"{value!r} is not a customer id (e.g. C0007).")
    return value


def checked_checkpoint_id(value: str) -> str:
    if not _CHECKPOINT_ID.match(value or ""):
        raise WebError(404, "Checkpoint not found", "That is not a checkpoint id.")
    return value


def api_url(request: Request) -> str:
    """Where the API of the server serving this request answers."""
    configured = get_settings().web_api_url
    if configured:
        return configured.rstrip("/")
    server = request.scope.get("server")
    if not server:
        raise WebError(503, "Not configured", "Set SWITCHBOARD_WEB_API_URL: this server listens on no TCP socket.")
    host, port = server[0], server[1]
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def act_for(customer_id: str) -> dict[str, str]:
    return {ACT_FOR_HEADER: customer_id}


@asynccontextmanager
async def client_for(
    request: Request, session: Session, *, customer_id: str | None = None
) -> AsyncIterator[LangGraphClient]:
    """An SDK client that calls the API as the signed-in person (for `customer_id`, if an operator)."""
    headers = act_for(customer_id) if customer_id and session.principal.is_operator else None
    client = get_client(url=api_url(request), api_key=session.token, headers=headers)
    try:
        yield client
    finally:
        await client.aclose()


def api_error(exc: httpx.HTTPStatusError, *, what: str = "Thread") -> WebError:
    """A clear page for what the API refused."""
    status = exc.response.status_code
    try:
        detail = exc.response.json()
        text = str(detail.get("detail") or detail.get("message") or detail)
    except ValueError:
        text = exc.response.text[:300]
    if status == 404:
        return WebError(404, f"{what} not found", f"No {what.lower()} with that id is visible to you.")
    if status == 401:
        return WebError(401, "Please sign in again", text, sign_in=True, clear=True)
    if status == 403:
        return WebError(403, "Not allowed", text)
    if status == 409:
        return WebError(409, "Busy", "Something is already running on this thread; try again in a moment.")
    return WebError(502, "The server refused", f"{status}: {text}")


# ---- reading the API's JSON ----------------------------------------------------------------------


def as_dict(value: Any) -> dict[str, Any]:
    """The SDK's typed dicts (ThreadState, Thread, a run's output) as plain dicts."""
    return dict(value) if isinstance(value, dict) else {}


def interrupts_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The interrupts a thread waits on (top level, or inside its tasks)."""
    found = list(state.get("interrupts") or [])
    if not found:
        found = [i for task in state.get("tasks") or [] for i in task.get("interrupts") or []]
    return [i for i in found if isinstance(i, dict) and isinstance(i.get("value"), dict)]


def action_requests(interrupt: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(action request, review config) pairs of one HITL interrupt payload."""
    value = interrupt.get("value") or {}
    requests = value.get("action_requests") or []
    configs = {c.get("action_name"): c for c in value.get("review_configs") or []}
    return [(r, configs.get(r.get("name"), {"allowed_decisions": []})) for r in requests if isinstance(r, dict)]


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in content)
    return "" if content is None else json.dumps(content)


def messages_of(values: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for msg in values.get("messages") or []:
        kind = msg.get("type") if isinstance(msg, dict) else None
        role = {"human": "customer", "ai": "assistant"}.get(str(kind), "system")
        out.append({"role": role, "text": text_of(msg.get("content") if isinstance(msg, dict) else msg)})
    return out


def tool_calls_over(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every tool call the thread made, once, oldest first (each turn's list is reset by the next turn)."""
    seen: set[str] = set()
    calls = []
    for snapshot in reversed(history):
        for call in (snapshot.get("values") or {}).get("tool_calls") or []:
            key = json.dumps(
                [call.get("turn"), call.get("node"), call.get("name"), call.get("args"), call.get("outcome")],
                sort_keys=True,
                default=str,
            )
            if key not in seen:
                seen.add(key)
                calls.append(call)
    return calls


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age(since: Any, now: datetime | None = None) -> str:
    start = parse_time(since)
    if start is None:
        return "?"
    seconds = max(0, int(((now or datetime.now(UTC)) - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def money(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return f"${Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def status_of(state: dict[str, Any]) -> str:
    """answered | awaiting_approval | needs_info | escalated | error | new, as the customer sees it."""
    if interrupts_of(state):
        return "awaiting_approval"
    values = state.get("values") or {}
    return str(values.get("status") or ("new" if not values.get("messages") else "answered"))
