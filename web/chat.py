"""The customer chat: the customer's own conversations, a reply streamed as the graph produces it,
"waiting for a person" while an approval is pending, then the outcome.

The customer is the one the credential names, always: nothing in a URL or a form can choose
another. Messages go to the server as runs on the customer's own threads with the customer's
own token, so the server's rules for customers apply unchanged (server/auth.py).

Streaming (chat.js sends ``X-Stream: 1``): the run is streamed from the server with the
``updates`` and ``messages-tuple`` modes and relayed as NDJSON lines: ``progress`` (which step
runs, by name only: node outputs never leave the server), ``reply`` (text of messages from the
nodes that emit checked text, `REPLY_NODES`), ``waiting`` and ``done``. Drafts the reply check
has not passed are never relayed. Without JavaScript the form posts, the run is awaited, and
the page reloads.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from langgraph_sdk.schema import StreamMode
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from core.settings import get_settings
from web.api import (
    ASSISTANT,
    api_error,
    as_dict,
    checked_thread_id,
    client_for,
    interrupts_of,
    messages_of,
    status_of,
)
from web.pages import SECURITY_HEADERS, render
from web.session import Session, WebError, read_form, require_customer

# Nodes whose messages are checked text for the customer. `finalize` emits the reply that passed
# the reply check and the output screen; a node that streams checked sentences joins this set.
REPLY_NODES = frozenset({"finalize"})
PROGRESS = {
    "intake": "Reading your message",
    "coordinator": "Finding the right desk",
    "billing": "Checking your billing records",
    "technical": "Checking your account",
    "general": "Checking your orders",
    "escalation": "Passing this to a person",
    "subrequest": "Looking at each part of your message",
    "plan_execute": "Working through the steps",
    "draft_reply": "Writing a reply",
    "check_reply": "Checking the reply against your records",
    "fallback_reply": "Writing a reply",
    "execute_decision": "Carrying out the decision",
}
STATUS_TEXT = {
    "awaiting_approval": "Waiting for a person: a member of our team is reviewing your request. This page updates by itself.",
    "needs_info": "We need a little more information: see the question above.",
    "escalated": "A person from our team will take it from here.",
    "error": "Something went wrong on our side. Please try again.",
}
STREAM_MODES: list[StreamMode] = ["updates", "messages-tuple"]


def _input(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "human", "content": text}]}


def _title(thread: dict[str, Any]) -> str:
    first = next((m["text"] for m in messages_of(as_dict(thread.get("values"))) if m["role"] == "customer"), "")
    return (first or str(as_dict(thread.get("metadata")).get("name") or "") or "New conversation")[:100]


async def chat_home(request: Request) -> Response:
    session = require_customer(request)
    async with client_for(request, session) as client:
        try:
            found = await client.threads.search(limit=50, sort_by="updated_at", sort_order="desc")
        except httpx.HTTPStatusError as exc:
            raise api_error(exc) from None
    conversations = [
        {
            "thread_id": t["thread_id"],
            "title": _title(t),
            "waiting": t.get("status") == "interrupted",
            "updated_at": t.get("updated_at"),
        }
        for t in map(as_dict, found)
    ]
    return render(request, "chat/home.html", session=session, conversations=conversations)


async def _conversation(request: Request, session: Session, thread_id: str) -> dict[str, Any]:
    async with client_for(request, session) as client:
        try:
            state = as_dict(await client.threads.get_state(thread_id))
        except httpx.HTTPStatusError as exc:
            raise api_error(exc, what="Conversation") from None
    status = status_of(state)
    return {
        "thread_id": thread_id,
        "messages": messages_of(state.get("values") or {}),
        "status": status,
        "status_text": STATUS_TEXT.get(status, ""),
        "version": str((state.get("checkpoint") or {}).get("checkpoint_id") or ""),
        "waiting": bool(interrupts_of(state)),
    }


async def conversation_page(request: Request) -> Response:
    session = require_customer(request)
    thread_id = checked_thread_id(request.path_params["thread_id"])
    view = await _conversation(request, session, thread_id)
    return render(
        request, "chat/conversation.html", session=session, conv=view, max_chars=get_settings().max_message_chars
    )


async def conversation_part(request: Request) -> Response:
    """The conversation alone, polled by chat.js while a person decides."""
    session = require_customer(request)
    thread_id = checked_thread_id(request.path_params["thread_id"])
    view = await _conversation(request, session, thread_id)
    return render(request, "chat/_conversation.html", session=session, conv=view)


def _message_from(form: dict[str, str]) -> str:
    text = form.get("message", "").strip()
    if not text:
        raise WebError(400, "Empty message", "Write a message first.")
    limit = get_settings().max_message_chars
    if len(text) > limit:
        raise WebError(413, "Message too long", f"Messages are at most {limit:,} characters; yours has {len(text):,}.")
    return text


def _line(event: dict[str, Any]) -> bytes:
    return (json.dumps(event) + "\n").encode()


async def _relay(request: Request, session: Session, thread_id: str, text: str) -> AsyncIterator[bytes]:
    yield _line({"event": "thread", "thread_id": thread_id, "url": f"/chat/{thread_id}"})
    async with client_for(request, session) as client:
        try:
            async for part in client.runs.stream(
                thread_id,
                ASSISTANT,
                input=_input(text),
                stream_mode=STREAM_MODES,
                multitask_strategy="reject",
            ):
                if part.event == "updates" and isinstance(part.data, dict):
                    for node in part.data:
                        if node == "__interrupt__":
                            yield _line({"event": "waiting", "text": STATUS_TEXT["awaiting_approval"]})
                        elif node in PROGRESS:
                            yield _line({"event": "progress", "text": PROGRESS[node]})
                elif part.event == "messages" and isinstance(part.data, list | tuple) and len(part.data) == 2:
                    message, meta = part.data
                    if (
                        isinstance(message, dict)
                        and isinstance(meta, dict)
                        and meta.get("langgraph_node") in REPLY_NODES
                        and str(message.get("type", "")).lower().startswith("ai")
                    ):
                        yield _line(
                            {
                                "event": "reply",
                                "id": str(message.get("id") or ""),
                                # a model's token stream comes in pieces; a node's message (Aegra types it
                                # AIMessageChunk too) is whole
                                "chunk": message.get("type") == "AIMessageChunk"
                                and meta.get("ls_integration") == "langchain_chat_model",
                                "text": message.get("content") if isinstance(message.get("content"), str) else "",
                            }
                        )
                elif part.event == "error":
                    yield _line({"event": "error", "message": "The assistant could not finish this reply."})
            state = as_dict(await client.threads.get_state(thread_id))
            yield _line({"event": "done", "status": status_of(state), "text": STATUS_TEXT.get(status_of(state), "")})
        except httpx.HTTPStatusError as exc:
            error = api_error(exc, what="Conversation")
            yield _line({"event": "error", "message": f"{error.title}: {error.message}"})


async def _send(request: Request, session: Session, thread_id: str | None, form: dict[str, str]) -> Response:
    session.check_csrf(form.get("csrf"))
    text = _message_from(form)
    async with client_for(request, session) as client:
        try:
            if thread_id is None:
                thread_id = str((await client.threads.create())["thread_id"])
            else:
                state = as_dict(await client.threads.get_state(thread_id))
                if interrupts_of(state):
                    raise WebError(
                        409,
                        "Waiting for a person",
                        "Your request is with a member of our team. You can write again once they have decided.",
                        link=(f"/chat/{thread_id}", "Back to the conversation"),
                    )
        except httpx.HTTPStatusError as exc:
            raise api_error(exc, what="Conversation") from None
        if not request.headers.get("x-stream"):
            try:
                await client.runs.wait(
                    thread_id,
                    ASSISTANT,
                    input=_input(text),
                    multitask_strategy="reject",
                )
            except httpx.HTTPStatusError as exc:
                raise api_error(exc, what="Conversation") from None
            return RedirectResponse(f"/chat/{thread_id}", status_code=303)
    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _relay(request, session, thread_id, text), media_type="application/x-ndjson", headers=headers
    )


async def start_conversation(request: Request) -> Response:
    session = require_customer(request)
    return await _send(request, session, None, await read_form(request))


async def send_message(request: Request) -> Response:
    session = require_customer(request)
    thread_id = checked_thread_id(request.path_params["thread_id"])
    return await _send(request, session, thread_id, await read_form(request))


ROUTES = [
    ("/chat", chat_home, ["GET"]),
    ("/chat/new", start_conversation, ["POST"]),
    ("/chat/{thread_id}", conversation_page, ["GET"]),
    ("/chat/{thread_id}/part", conversation_part, ["GET"]),
    ("/chat/{thread_id}/messages", send_message, ["POST"]),
]
