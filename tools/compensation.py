"""Undoing effects on rollback: each world-changing tool says how it is reversed.

Effects recorded in the ledger after a checkpoint are compensated newest first,
each in its own transaction with its audit row, and marked so a second rollback
does not reverse them again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from store.schema import effects
from tools.audit import write_audit
from tools.registry import TOOLS


def effects_after(engine: Engine, thread_id: str, after: datetime | None) -> list[dict[str, Any]]:
    query = select(effects).where(effects.c.thread_id == thread_id)
    if after is not None:
        query = query.where(effects.c.created_at > after)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query.order_by(effects.c.created_at, effects.c.idempotency_key))]


def compensate_after(
    engine: Engine, thread_id: str, after: datetime | None, *, actor: str, checkpoint_id: str
) -> list[dict[str, Any]]:
    """Reverse every not-yet-compensated effect of the thread made after ``after``."""
    done: list[dict[str, Any]] = []
    for effect in reversed(effects_after(engine, thread_id, after)):
        if effect["compensated_at"] is not None:
            continue
        spec = TOOLS.get(effect["tool"])
        result = json.loads(effect["result_json"] or "{}")
        with engine.begin() as conn:
            # Re-read under the transaction: a concurrent rollback may have got here first.
            current = conn.execute(
                select(effects.c.compensated_at)
                .where(effects.c.idempotency_key == effect["idempotency_key"])
                .with_for_update()
            ).scalar_one_or_none()
            if current is not None:
                continue
            if spec is None or spec.compensate is None:
                outcome, detail = "not_compensable", f"{effect['tool']} cannot be undone by the workflow"
                compensation: dict[str, Any] = {"note": detail}
            else:
                compensation = spec.compensate(conn, effect["customer_id"], result)
                outcome, detail = "ok", f"reversed effect {effect['idempotency_key']}"
            conn.execute(
                update(effects)
                .where(effects.c.idempotency_key == effect["idempotency_key"])
                .values(compensated_at=datetime.now(UTC), compensation_json=json.dumps(compensation, default=str))
            )
            write_audit(
                conn,
                action="compensation",
                outcome=outcome,
                thread_id=thread_id,
                customer_id=effect["customer_id"],
                node="rollback",
                actor=actor,
                tool=effect["tool"],
                args=json.loads(effect["args_json"] or "{}"),
                detail=f"{detail}; to checkpoint {checkpoint_id}",
            )
        done.append(
            {"tool": effect["tool"], "key": effect["idempotency_key"], "outcome": outcome, "compensation": compensation}
        )
    return done
