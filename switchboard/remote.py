"""The CLI as an operator's client of a deployment: decide and resume through a server's API.

A server's threads live in its own checkpoints and run records. Deciding an approval through the
local saver against that database executes the action but leaves the server's thread
`interrupted` with a stale state, so `switchboard approve|reject|edit|resume THREAD --server URL`
(or with ``SWITCHBOARD_SERVER_URL`` set, as `make up` does) goes through the Agent Protocol API
like any client: an operator token, the thread's customer named in ``X-Switchboard-Customer``
(servers keep each customer's threads apart), the decision as a resume command, the thread's
state read back.

The thread's customer comes from the waiting-approval index the gates keep in the graph's Store
(the servers' database), else from the store's record of the thread's node runs, else from
``--customer``.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from core.settings import Settings
from switchboard.app import UserError, turn_result

ASSISTANT = "support"
ACT_FOR_HEADER = "X-Switchboard-Customer"
DONE = frozenset({"success", "error", "interrupted", "timeout"})


def operator_token(settings: Settings, actor: str, token: str | None = None) -> str:
    """The bearer token to decide with: given, configured, or signed here for ``actor``."""
    if token:
        return token
    if settings.operator_token:
        return settings.operator_token
    if settings.token_key:
        from server.tokens import issue_token

        name = actor.removeprefix("operator:")
        return issue_token(operator=name, ttl="15m", settings=settings)
    raise UserError(
        "no operator token: pass --token, set SWITCHBOARD_OPERATOR_TOKEN, or SWITCHBOARD_TOKEN_KEY "
        "(make up writes it to var/up/switchboard.env)"
    )


def _from_index(settings: Settings, thread_id: str) -> str | None:
    """The customer the waiting-approval index names for the thread (the graph's Store, PostgreSQL)."""
    url = settings.resolved_checkpoint_url()
    if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return None
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    from langgraph.store.postgres import PostgresStore

    from nodes.waiting import WAITING

    try:
        with PostgresStore.from_conn_string(dsn) as store:  # read only: no setup()
            item = store.get(WAITING, thread_id)
    except Exception:  # no Store there (yet): the next source answers
        return None
    if item is None or not item.value.get("customer_id"):
        return None
    return str(item.value["customer_id"])


def _from_node_runs(settings: Settings, thread_id: str) -> str | None:
    from store.db import make_engine
    from store.schema import node_runs

    query = (
        select(node_runs.c.customer_id)
        .where(node_runs.c.thread_id == thread_id, node_runs.c.customer_id.is_not(None))
        .limit(1)
    )
    try:
        with make_engine(settings.resolved_database_url()).connect() as conn:
            found = conn.execute(query).scalar()
    except Exception:
        return None
    return str(found) if found else None


def thread_customer(settings: Settings, thread_id: str, customer: str | None = None) -> str:
    found = customer or _from_index(settings, thread_id) or _from_node_runs(settings, thread_id)
    if not found:
        raise UserError(
            f"cannot tell whose thread {thread_id!r} is (no waiting approval or node run names it): pass --customer"
        )
    return found


class ServerThread:
    """One thread on one server, as the operator acting for the thread's customer sees it."""

    def __init__(self, url: str, token: str, thread_id: str, customer_id: str) -> None:
        from langgraph_sdk import get_sync_client

        self.url, self.thread_id, self.customer_id = url.rstrip("/"), thread_id, customer_id
        self.client = get_sync_client(url=self.url, api_key=token, headers={ACT_FOR_HEADER: customer_id})

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            try:
                body = exc.response.json()
                reason = body.get("message") or body.get("detail") or exc.response.text
            except ValueError:
                reason = exc.response.text
            if status == 404:
                reason = f"no thread {self.thread_id!r} of customer {self.customer_id} on {self.url}"
            raise UserError(f"{what}: {status} {reason}") from None
        except httpx.HTTPError as exc:
            raise UserError(f"{what}: the server at {self.url} did not answer ({type(exc).__name__})") from None

    def state(self) -> dict[str, Any]:
        return dict(self._call("reading the thread", self.client.threads.get_state, self.thread_id))

    def active_runs(self) -> list[dict[str, Any]]:
        runs = self._call("listing the thread's runs", self.client.runs.list, self.thread_id, limit=20)
        return [r for r in runs if r.get("status") not in DONE]

    def run(
        self,
        *,
        command: dict[str, Any] | None = None,
        checkpoint_id: str | None = None,
        input: dict[str, Any] | None = None,  # noqa: A002 - the SDK's name
    ) -> None:
        """Run the graph on the thread, streamed to its end (`runs.wait` polls with a 2 s floor when the
        servers share a Redis queue): a decision, or (no input, the thread's latest checkpoint) a
        continuation from where the thread stopped."""
        kwargs: dict[str, Any] = (
            {"command": command}
            if command is not None
            else {"input": input}
            if input is not None
            else {"checkpoint_id": checkpoint_id}
        )
        ended = False
        for chunk in self._call(
            "running the thread", self.client.runs.stream, self.thread_id, ASSISTANT, stream_mode="values", **kwargs
        ):
            if chunk.event == "error":
                raise UserError(f"the run failed on {self.url}: {chunk.data}")
            ended = ended or chunk.event == "end"
        # Aegra 0.11 can close a stream without its last events when the run ends between its
        # replay and its subscription: wait for the run itself, then read the thread's state.
        for run in [] if ended else self.active_runs():
            self._call("waiting for the run", self.client.runs.join, self.thread_id, run["run_id"])

    def result(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        """The same JSON `switchboard ask --json` prints, from the thread's state on the server."""
        state = state or self.state()
        values = dict(state.get("values") or {})
        if waiting_requests(state):
            values["status"] = "awaiting_approval"
        return {**turn_result(self.thread_id, values), "server": self.url}


def waiting_requests(state: dict[str, Any]) -> list[dict[str, Any]]:
    interrupts = state.get("interrupts") or [i for t in state.get("tasks") or [] for i in t.get("interrupts") or []]
    return [r for i in interrupts if isinstance(i.get("value"), dict) for r in i["value"].get("action_requests", [])]


def decide(
    settings: Settings,
    url: str,
    thread_id: str,
    decision: dict[str, Any],
    *,
    actor: str = "operator:cli",
    token: str | None = None,
    customer: str | None = None,
) -> dict[str, Any]:
    """Resume a waiting approval with `decision` through the server's API, as ``actor``'s token (the
    server takes who decides from the token, never from the decision)."""
    thread = ServerThread(
        url, operator_token(settings, actor, token), thread_id, thread_customer(settings, thread_id, customer)
    )
    if not waiting_requests(thread.state()):
        raise UserError(f"thread {thread_id} is not waiting for a decision")
    thread.run(command={"resume": {"decisions": [decision]}})
    return thread.result()


def resume(
    settings: Settings,
    url: str,
    thread_id: str,
    *,
    actor: str = "operator:cli",
    token: str | None = None,
    customer: str | None = None,
) -> dict[str, Any]:
    """Continue a thread from its last checkpoint through the server (what `switchboard resume` does locally)."""
    thread = ServerThread(
        url, operator_token(settings, actor, token), thread_id, thread_customer(settings, thread_id, customer)
    )
    state = thread.state()
    if waiting_requests(state):
        return {**thread.result(state), "resumed": False, "note": "waiting for a decision"}
    if thread.active_runs():
        return {**thread.result(state), "resumed": False, "note": "a run is in progress on the servers"}
    if not state.get("next"):
        return {**thread.result(state), "resumed": False, "note": "nothing to resume"}
    thread.run(checkpoint_id=(state.get("checkpoint") or {}).get("checkpoint_id"))
    return {**thread.result(), "resumed": True}
