"""The server's schedule for the people in the loop: every ``sweep_interval_s`` the server process
delivers due webhook notifications and applies approval deadlines.

Deadlines are applied through the server's own API (``sweep_server_url``, any server of the
deployment), never by writing the checkpoints behind the server's back (that leaves the server's
thread state stale): the sweeper signs itself a supervisor token (``operator:sweep``) with the
server's ``token_key`` and resumes each overdue approval with ``escalate`` or ``expire``; the gate
checks that the approval really is overdue, audits and notifies. `switchboard sweep` does the same
from the command line against a local checkpointer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from core.settings import Settings
from nodes.approval_rules import overdue_decision
from server.tokens import issue_token
from store.db import make_engine
from tools.approvals import overdue_approvals
from tools.webhooks import deliver_due

log = logging.getLogger("switchboard.sweep")
SWEEPER = "sweep"
ACT_FOR_HEADER = "X-Switchboard-Customer"

ClientFor = Callable[[str], Any]  # customer id -> a langgraph_sdk sync client acting for them


def server_client(settings: Settings) -> ClientFor:
    from langgraph_sdk import get_sync_client

    token = issue_token(operator=SWEEPER, role="supervisor", ttl="1h", settings=settings)

    def client_for(customer_id: str) -> Any:
        headers = {ACT_FOR_HEADER: customer_id} if customer_id else None
        return get_sync_client(url=settings.sweep_server_url, api_key=token, headers=headers)

    return client_for


def sweep_once(settings: Settings, *, client_for: ClientFor | None = None) -> dict[str, Any]:
    """One round: overdue approvals escalated or expired through the server, then due webhooks delivered."""
    now = settings.now()
    engine = make_engine(settings.resolved_database_url())
    decided: list[str] = []
    if settings.sweep_server_url and settings.token_key:
        client_for = client_for or server_client(settings)
        for row in overdue_approvals(engine, now):
            decision = overdue_decision(row["kind"], int(row["level"]), settings)
            try:
                client_for(row["customer_id"] or "").runs.wait(
                    row["thread_id"], "support", command={"resume": decision}, raise_error=True
                )
                decided.append(f"{row['thread_id']}:{decision['type']}")
            except Exception as exc:  # another server decided it first, or it is busy: the next round sees
                log.warning("sweep could not decide %s: %s", row["id"], exc)
    delivered = deliver_due(engine, settings, now)
    return {"decided": decided, "sent": delivered.sent, "retried": delivered.retried, "failed": delivered.failed}


async def run_schedule(settings: Settings) -> None:
    """Forever, every ``sweep_interval_s``: a round in a worker thread (it calls this server over HTTP)."""
    while True:
        await asyncio.sleep(settings.sweep_interval_s)
        try:
            report = await asyncio.to_thread(sweep_once, settings)
            if report["decided"] or report["sent"] or report["failed"]:
                log.info("sweep: %s", report)
        except Exception:
            log.exception("the scheduled sweep failed; trying again next round")
