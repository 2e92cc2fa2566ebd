"""Portable SQL moves for the ledgers of the people in the loop (approvals, cases, webhooks).

`insert_ignore` is the same move as `mail.sql.insert_ignore`, one floor lower so that tools and
nodes can use it. `ensure_tables` creates a store's newer tables the first time a process needs
them, so a store made before they existed keeps working without a migration step.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, Engine, Table

from store.schema import approval_decisions, approvals, case_messages, cases, metadata, webhook_outbox

PEOPLE_TABLES = (approvals, approval_decisions, webhook_outbox, cases, case_messages)


def insert_ignore(conn: Connection, table: Table, row: dict[str, Any], keys: list[str]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row was inserted (a PostgreSQL transaction stays usable)."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**row).on_conflict_do_nothing(index_elements=keys)
    # RETURNING, not rowcount: psycopg reports a row for a conflicting insert that did nothing
    return conn.execute(statement.returning(table.c[keys[0]])).first() is not None


def ensure_tables(engine: Engine) -> Engine:
    """Create the approval, case and webhook tables if this store lacks them (once per engine)."""
    _ensure(engine)
    return engine


@functools.cache
def _ensure(engine: Engine) -> None:
    metadata.create_all(engine, tables=list(PEOPLE_TABLES), checkfirst=True)
