"""What the mail tests share: a scripted turn runner, a sink SMTP server, corpus placeholders.

The scripted runner stands in for the graph (the real wiring comes at merge). It keeps the
`TurnRunner` contract the channel relies on: world-changing requests ("refund", "cancel") wait
for proof when the mail is not verified, wait for a person above a limit, and otherwise act
by writing an audit row, once per message key, so a retried mail never acts twice.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, insert, select

from mail.channel import ResumeRequest, TurnRequest
from mail.compose import stable_message_id
from store.schema import audit_log

ACTION_RE = re.compile(r"\b(refund|cancel)\b", re.IGNORECASE)
ORDER_RE = re.compile(r"\b(1\d{4})\b")
NEEDS_A_PERSON = {"10859"}  # over the approval limit in the seeded store
ACTION_TOOLS = ("issue_refund", "cancel_order")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ScriptedRunner:
    def __init__(self, engine: Engine, *, delay_s: float = 0.0) -> None:
        self.engine = engine
        self.delay_s = delay_s
        self.calls: list[TurnRequest] = []
        self.lock = threading.Lock()

    def __call__(self, request: TurnRequest) -> dict[str, Any]:
        with self.lock:
            self.calls.append(request)
        base = {
            "thread_id": request.thread_id,
            "intent": None,
            "department": "general",
            "departments": ["general"],
            "confidence": 1.0,
            "tool_calls": [],
            "citations": [],
            "nodes": {},
        }
        wants = ACTION_RE.search(request.text)
        if not wants:
            first = request.text.strip().splitlines()[0][:80] if request.text.strip() else ""
            result = {**base, "status": "answered", "reply": f"Scripted answer about: {first}"}
        elif not request.verified:
            result = {
                **base,
                "status": "awaiting_approval",
                "waiting_for": "proof",
                "reply": "We can help with that.",
            }
        else:
            order = ORDER_RE.search(request.text)
            order_id = order.group(1) if order else ""
            tool = "issue_refund" if wants.group(1).lower() == "refund" else "cancel_order"
            if order_id in NEEDS_A_PERSON:
                result = {
                    **base,
                    "status": "awaiting_approval",
                    "waiting_for": "person",
                    "reply": f"A member of our team will review the {tool.replace('_', ' ')} for "
                    f"order {order_id}; we will email you when it is decided.",
                }
            else:
                self.act(request, tool, order_id)
                result = {
                    **base,
                    "status": "answered",
                    "reply": f"Done: {tool} for order {order_id}.",
                    "tool_calls": [
                        {
                            "name": tool,
                            "args": {"order_id": order_id},
                            "outcome": "ok",
                            "node": "scripted",
                        }
                    ],
                }
        if self.delay_s:
            time.sleep(self.delay_s)  # a slow turn: the kill-and-restart test lands a kill -9 here
        return result

    def act(self, request: TurnRequest, tool: str, order_id: str) -> None:
        """A world-changing effect, once per message key (the runner contract's idempotency)."""
        args = json.dumps({"message_key": request.message_key, "order_id": order_id}, sort_keys=True)
        with self.engine.begin() as conn:
            if conn.execute(select(audit_log.c.id).where(audit_log.c.args_json == args)).first():
                return
            conn.execute(
                insert(audit_log).values(
                    at=datetime.now(UTC),
                    thread_id=request.thread_id,
                    customer_id=request.customer_id,
                    node="scripted",
                    actor=request.actor,
                    action="tool_call",
                    tool=tool,
                    args_json=args,
                    outcome="ok",
                )
            )

    def resume(self, request: ResumeRequest) -> dict[str, Any]:
        """A held request runs once the code came back, under its own key."""
        assert request.decision == {**request.decision, "type": "approve", "actor": "service:mail"}
        return self(
            TurnRequest(
                text=request.request_text,
                thread_id=request.thread_id,
                customer_id=request.customer_id,
                message_key=request.request_key,
                verified=True,
                actor=request.decision["actor"],
            )
        )


def actions(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.tool.in_(ACTION_TOOLS)).order_by(audit_log.c.id))
        return [{**dict(r._mapping), **json.loads(r.args_json)} for r in rows]


def help_search(query: str, k: int) -> list[dict[str, Any]]:
    return [
        {
            "title": "Returns and refunds",
            "score": 0.6,
            "doc_id": "returns",
            "text": "You can return most items within 30 days of delivery.",
        }
    ][:k]


def factory(engine: Engine, settings: Any, stack: ExitStack) -> tuple[Any, Any, Any]:
    """For ``switchboard mail serve --runner tests.mail_support:factory`` (a subprocess in tests)."""
    runner = ScriptedRunner(engine, delay_s=float(os.environ.get("MAIL_TEST_DELAY_S", "0")))
    return runner, runner.resume, help_search


class Sink:
    """A real SMTP server on loopback standing in for the relay: it keeps what it receives."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.changed = threading.Condition()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.changed:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)))
            self.changed.notify_all()
        return "250 OK"

    def __enter__(self) -> Sink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while len(self.messages) < count and time.monotonic() < deadline:
                self.changed.wait(timeout=max(0.0, deadline - time.monotonic()))
            return [message_from_bytes(raw, policy=policy.default) for _, _, raw in self.messages]


CODE_IN_MAIL_RE = re.compile(r"^\s{4}([A-Z]{4}-[0-9]{4})\s*$", re.MULTILINE)


def code_in(raw: bytes) -> str | None:
    msg = message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(preferencelist=("plain",))
    found = CODE_IN_MAIL_RE.search(body.get_content() if body else "")
    return found.group(1) if found else None


def fill(raw: bytes, replies: dict[str, str], threads: dict[str, str], codes: dict[str, str]) -> bytes:
    """Replace the corpus placeholders {{reply:NN}}, {{thread:NN}} and {{code:NN}}."""
    text = raw.decode("utf-8", "surrogateescape")
    table = {"reply": replies, "thread": threads, "code": codes}

    def sub(match: re.Match[str]) -> str:
        kind, ref = match.group(1), match.group(2)
        return table[kind].get(ref) or stable_message_id(f"missing:{ref}", "nowhere.example")

    return re.sub(r"\{\{(reply|thread|code):(\d\d)\}\}", sub, text).encode("utf-8", "surrogateescape")
