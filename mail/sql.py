"""The two portable SQL moves the channel needs on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table


def insert_ignore(conn: Connection, table: Table, row: dict[str, Any], keys: list[str]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row was inserted.

    Unlike catching IntegrityError, this leaves a PostgreSQL transaction usable.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**row).on_conflict_do_nothing(index_elements=keys)
    # RETURNING, not rowcount: psycopg reports a row for a conflicting insert that did nothing
    return conn.execute(statement.returning(table.c[keys[0]])).first() is not None
