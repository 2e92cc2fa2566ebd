"""The mail channel wired to a deployment: each mail becomes a turn on the servers, through their API.

Under `make up` (SWITCHBOARD_SERVER_URL set) `switchboard mail serve` does not run the graph itself.
For every mail it signs a short-lived token for the one customer the mail was matched to, marked
``via: service:mail``: with it the servers let the mail service open and run only that customer's
threads (server/auth.py), and the audit names ``service:mail`` as the actor. The same contract as
the in-process runner (`switchboard/mail_graph.py`): one turn per mail (the mail's key is the
message's id in the thread: a retry finishes that turn, never repeats it).
"""

from __future__ import annotations

from typing import Any

from core.settings import Settings
from mail.channel import Resumer, ResumeRequest, Search, TurnRequest, TurnRunner
from mail.decisions import ThreadReader
from switchboard.app import UserError
from switchboard.mail_graph import HELD_REPLY
from switchboard.remote import ServerThread, waiting_requests

SERVICE = "service:mail"
TOKEN_TTL_S = 600


def _thread(settings: Settings, url: str, thread_id: str, customer_id: str) -> ServerThread:
    from server.tokens import sign

    token = sign(f"customer:{customer_id}", "customer", key=settings.token_key, ttl_s=TOKEN_TTL_S, via=SERVICE)
    return ServerThread(url, token, thread_id, customer_id)


def _turn(settings: Settings, url: str, customer_id: str, thread_id: str, text: str, key: str) -> dict[str, Any]:
    thread = _thread(settings, url, thread_id, customer_id)
    thread.client.threads.create(thread_id=thread_id, if_exists="do_nothing")
    state = thread.state()
    seen = any(isinstance(m, dict) and m.get("id") == key for m in (state.get("values") or {}).get("messages", []))
    if seen:  # a retry of this mail: wait for its run, never start a second one
        for run in thread.active_runs():
            thread.client.runs.join(thread_id, run["run_id"])
        return thread.result()
    if waiting_requests(state):
        return {**thread.result(state), "reply": "Your earlier request is still waiting for a person to approve it; "
                "I will answer as soon as it is decided."}  # fmt: skip
    thread.run(input={"messages": [{"type": "human", "content": text, "id": key}]})
    return thread.result()


def server_parts(settings: Settings, url: str) -> tuple[TurnRunner, Resumer, Search, ThreadReader]:
    """(runner, resumer, help search, thread reader) over the deployment at ``url``."""
    if not settings.token_key:
        raise UserError("the mail service signs its tokens with SWITCHBOARD_TOKEN_KEY (make up writes it)")

    def run(request: TurnRequest) -> dict[str, Any]:
        if not request.verified:  # no proof, no turn: held until the code sent to the address on file returns
            return {"thread_id": request.thread_id, "status": "awaiting_approval", "waiting_for": "proof",
                    "reply": HELD_REPLY, "tool_calls": [], "intent": None, "department": None, "departments": [],
                    "confidence": 0.0, "citations": [], "nodes": {}}  # fmt: skip
        return _turn(settings, url, request.customer_id, request.thread_id, request.text, request.message_key)

    def resume(request: ResumeRequest) -> dict[str, Any]:
        return _turn(settings, url, request.customer_id, request.thread_id, request.request_text, request.request_key)

    def read(thread_id: str) -> dict[str, Any] | None:
        from switchboard.remote import thread_customer

        try:
            customer = thread_customer(settings, thread_id)
            result = _thread(settings, url, thread_id, customer).result()
        except UserError:
            return None
        return {"status": result["status"], "reply": result["reply"]}

    from core.context import Context

    return run, resume, Context(settings=settings).resources.kb_search(), read
