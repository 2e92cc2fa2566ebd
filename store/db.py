"""Engines, schema creation and the one-call `ensure_store` that readies a database.

One engine per URL per process (cached). SQLite gets WAL, `synchronous=NORMAL`,
foreign keys and a 30 s busy timeout on every connection; PostgreSQL URLs are
normalised to the psycopg 3 driver.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Integer, create_engine, event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.pool import StaticPool

from store.schema import metadata

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEED_TODAY = date(2026, 11, 15)  # the seeded world's "today": data never depends on the wall clock
# The clock tests and evals pin (Settings.clock): the seed's today, at noon UTC, so every age the
# seed describes ("delivered 33 days ago") is the age the return window and the approval window see.
SEED_CLOCK = datetime.combine(SEED_TODAY, clock_time(12, 0), tzinfo=UTC)


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file (absolute, so the working directory does not matter)."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


# Same file as `Settings.resolved_database_url()` in graph/context.py.
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "store.sqlite"
DEFAULT_SQLITE_URL = sqlite_url(DEFAULT_SQLITE_PATH)

_SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "busy_timeout=30000",
)


def normalise_url(url: str) -> str:
    """`postgres://` and `postgresql://` become `postgresql+psycopg://` (psycopg 3)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """The process-wide engine for `url` (created on first use, then cached)."""
    return _cached_engine(normalise_url(url))


@functools.cache
def _cached_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    return _sqlite_engine(parsed)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:"):
        # One shared connection, or every checkout would see a new empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")  # fixed strings, no input
    finally:
        cursor.close()


def create_schema(engine: Engine) -> None:
    """Create missing tables and indexes; existing ones are left alone."""
    metadata.create_all(engine)


def reset_store(engine: Engine) -> None:
    """Drop every store table and create them again, empty."""
    metadata.drop_all(engine)
    metadata.create_all(engine)


def sync_sequences(conn: Connection) -> None:
    """After inserting explicit ids on PostgreSQL, move each id sequence past the largest id.

    Otherwise the next insert that lets the database choose the id would collide.
    SQLite needs nothing: it always picks max(rowid) + 1.
    """
    if conn.dialect.name != "postgresql":
        return
    for table in metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue  # e.g. customers ("C0001") and effects have no sequence
        next_id = select(func.coalesce(func.max(pk[0]), 0) + 1).scalar_subquery()
        sequence = func.pg_get_serial_sequence(table.name, pk[0].name)
        conn.execute(select(func.setval(sequence, next_id, False)))


def store_counts(engine: Engine) -> dict[str, int]:
    """Rows per table, in one round trip (raises if a table is missing)."""
    tables = metadata.sorted_tables
    query = select(*(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables))
    with engine.connect() as conn:
        row = conn.execute(query).one()
    return {t.name: int(row[i]) for i, t in enumerate(tables)}


@dataclass(frozen=True)
class StoreReport:
    """What `ensure_store` found or did."""

    url: str  # password hidden
    seeded_now: bool
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


def ensure_store(url: str, *, seed: int = 7, today: date = SEED_TODAY) -> StoreReport:
    """Create the schema and seed it if it has no customers; otherwise only count rows.

    Safe to call on every start: on a seeded database it is one query.
    """
    started = time.perf_counter()
    engine = make_engine(url)
    try:
        counts = store_counts(engine)
    except (OperationalError, ProgrammingError):  # a table is missing: first run or a new table
        create_schema(engine)
        counts = store_counts(engine)
    seeded_now = False
    if counts["customers"] == 0:
        # Imported here so that `python -m store.seed` does not import its own module twice.
        from store.seed import seed_store

        try:
            seed_store(engine, seed=seed, today=today)
            seeded_now = True
        except IntegrityError:  # another process seeded it at the same moment: theirs stands
            pass
        counts = store_counts(engine)
    return StoreReport(
        url=engine.url.render_as_string(hide_password=True),
        seeded_now=seeded_now,
        seconds=round(time.perf_counter() - started, 4),
        counts=counts,
    )
