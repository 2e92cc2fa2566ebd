"""The served support graph with a pause right after a refund is committed.

For the crash test (tests/test_failover.py): the pause holds the billing node in the moment a
crash hurts most, the refund in the store and the checkpoint that says so not yet written. A
server killed then leaves the run to another, which runs the billing node again from its start.
The pause is taken when the connection that inserted a refund goes back to the pool, which
happens in the node's own thread, after the transaction committed.

``SWITCHBOARD_TEST_PAUSE_AFTER_REFUND_S`` (seconds, default 0) sets the pause.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import Engine, Pool, event

from graph.server import serve

PAUSE_S = float(os.environ.get("SWITCHBOARD_TEST_PAUSE_AFTER_REFUND_S", "0"))
_MARK = "switchboard_test_refund_inserted"


@event.listens_for(Engine, "before_cursor_execute")
def _note_refund(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
    if statement.lstrip().upper().startswith("INSERT INTO REFUNDS"):
        conn.info[_MARK] = True


@event.listens_for(Pool, "checkin")
def _pause_after_refund(dbapi_connection: Any, record: Any) -> None:
    if record is not None and record.info.pop(_MARK, False) and PAUSE_S:
        time.sleep(PAUSE_S)


graph = serve()
