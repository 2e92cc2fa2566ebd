"""The index of threads waiting for a person, kept in the LangGraph Store.

`switchboard inbox` used to list every checkpoint of every thread to find the few that wait at
a gate: fine for a demo, minutes at real volume. The gate nodes now add their thread to one
Store namespace before `interrupt()` and remove it once a decision arrives, so the inbox reads
that namespace only.

Both writes are idempotent, because a node runs again from its start when resumed: the entry is
written again with its first ``since``, and removing a missing entry does nothing. The
checkpoints stay the truth: the inbox checks every entry against the thread's pending
interrupts and drops one left behind by a crash between the decision and its checkpoint, or by
a rollback that took the thread down another path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import BaseStore

WAITING = ("approvals", "waiting")
_PAGE = 500


def mark_waiting(
    store: BaseStore | None,
    thread_id: str,
    customer_id: str,
    request: dict[str, Any],
    *,
    since: str | None = None,
    approval: dict[str, Any] | None = None,
) -> None:
    """Record that ``thread_id`` waits for a decision on ``request`` (the interrupt payload).

    ``since`` is when the approval started waiting (the ledger's first ``created_at``), and
    ``approval`` where it stands (approvals had and needed, deadline, queue) for the inbox."""
    if store is None:
        return
    earlier = store.get(WAITING, thread_id)
    since = since or (earlier.value.get("since") if earlier else None) or datetime.now(UTC).isoformat()
    entry: dict[str, Any] = {"customer_id": customer_id, "since": since, "request": request}
    if approval is not None:
        entry["approval"] = approval
    store.put(WAITING, thread_id, entry, index=False)


def mark_decided(store: BaseStore | None, thread_id: str) -> None:
    if store is not None:
        store.delete(WAITING, thread_id)


def waiting_threads(store: BaseStore) -> dict[str, dict[str, Any]]:
    """thread id -> its entry, for every thread the index says is waiting."""
    entries: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        page = store.search(WAITING, limit=_PAGE, offset=offset)
        entries.update((item.key, dict(item.value)) for item in page)
        if len(page) < _PAGE:
            return entries
        offset += _PAGE
