"""The served support graph with a pause right after the billing desk's refund is committed.

For the crash test (tests/test_failover.py): the node wrapper writes the node's run to the store
after the node's work and before LangGraph checkpoints it, so a pause there holds a run in the
moment a crash hurts most: the refund is in the store, the checkpoint that says so is not. A
server killed then leaves the run to another, which runs the billing node again from its start.

``SWITCHBOARD_TEST_PAUSE_AFTER_BILLING_S`` (seconds, default 0) sets the pause.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import Engine, event

from graph.server import serve

PAUSE_S = float(os.environ.get("SWITCHBOARD_TEST_PAUSE_AFTER_BILLING_S", "0"))


@event.listens_for(Engine, "before_cursor_execute")
def _pause_after_billing(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
    inserts_run = statement.lstrip().upper().startswith("INSERT INTO NODE_RUNS")
    if PAUSE_S and inserts_run and isinstance(parameters, dict) and parameters.get("node") == "billing":
        time.sleep(PAUSE_S)


graph = serve()
