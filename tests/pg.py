"""PostgreSQL for tests: a throwaway database per block. It is required here; a missing server fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def throwaway_postgres(prefix: str, *, template: str | None = None) -> Iterator[str]:
    """A PostgreSQL database that exists for one block; required here, so a missing server fails."""
    import uuid

    from sqlalchemy import create_engine, text

    from store.db import make_engine

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    clause = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    except Exception as exc:  # never skip: CI must exercise PostgreSQL
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_URL}: {exc}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        yield url
    finally:
        make_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
