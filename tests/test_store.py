"""The store on real databases: SQLite files and a throwaway PostgreSQL database, no mocks.

PostgreSQL on 127.0.0.1:5432 is required: if it cannot be reached these tests fail.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, func, insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from store import (
    DEMO_CUSTOMER_ID,
    SEED_TODAY,
    create_schema,
    ensure_store,
    make_engine,
    metadata,
    normalise_url,
    reset_store,
    seed_store,
    sqlite_url,
    store_counts,
)
from store import schema as s
from store.seed import build_rows
from tests.pg import throwaway_postgres

BACKENDS = ["sqlite", "postgresql"]
AS_OF = datetime(2026, 11, 15, 8, tzinfo=UTC)  # the seeded world's clock for SEED_TODAY
BIG = 50_000  # $500 in cents

# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Callable[[], str]]:
    """A factory of throwaway PostgreSQL databases, all dropped when the session ends."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(throwaway_postgres("switchboard_test"))


def _new_url(request: pytest.FixtureRequest, folder: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(folder / f"store-{secrets.token_hex(4)}.sqlite")
    # Asked for only here, so that without PostgreSQL the SQLite cases still run.
    return request.getfixturevalue("pg_database")()


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A store seeded with the defaults, shared by the read-only tests of one backend."""
    url = _new_url(request, tmp_path_factory.mktemp("seeded"))
    assert ensure_store(url).seeded_now
    return make_engine(url)


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a database with no store tables yet, for tests that write."""
    return _new_url(request, tmp_path)


def _rows(engine: Engine, table: str, where: Any = None) -> list[dict[str, Any]]:
    query = select(metadata.tables[table])
    if where is not None:
        query = query.where(where)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _dump(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table as its repr, sorted: equal dumps mean identical data."""
    with engine.connect() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t))) for t in metadata.sorted_tables}


# ---------------------------------------------------------------------------- the seeded world


def test_counts_and_every_status(seeded: Engine) -> None:
    counts = store_counts(seeded)
    assert counts["customers"] >= 200 and counts["orders"] >= 1000
    assert counts["accounts"] == counts["customers"] and counts["invoices"] == counts["orders"]
    assert counts["audit_log"] == counts["effects"] == counts["node_runs"] == 0

    def statuses(table: str, column: str = "status") -> Counter[str]:
        return Counter(r[column] for r in _rows(seeded, table))

    assert set(statuses("orders")) == set(s.ORDER_STATUSES)
    assert set(statuses("invoices")) == set(s.INVOICE_STATUSES)
    assert set(statuses("payments")) == set(s.PAYMENT_STATUSES)
    assert set(statuses("refunds")) == set(s.REFUND_STATUSES)
    assert set(statuses("shipments")) == set(s.SHIPMENT_STATUSES)
    assert set(statuses("tickets")) == set(s.TICKET_STATUSES)
    assert set(statuses("orders", "shipping_method")) == set(s.SHIPPING_METHODS)
    assert set(statuses("payments", "method")) == set(s.PAYMENT_METHODS)
    assert statuses("accounts")["locked"] >= 3
    assert statuses("customers")["closed"] >= 3
    assert statuses("tickets", "queue")["manual_review"] >= 1

    totals = [o["total_cents"] for o in _rows(seeded, "orders")]
    assert sum(t > BIG for t in totals) >= 0.05 * len(totals)
    big_buyers = Counter(o["customer_id"] for o in _rows(seeded, "orders", s.orders.c.total_cents > BIG))
    assert sum(n >= 2 for n in big_buyers.values()) >= 5

    incidents = _rows(seeded, "service_incidents")
    assert 3 <= len(incidents) <= 6
    unresolved = {i["component"] for i in incidents if i["status"] != "resolved"}
    assert {"login", "payments"} <= unresolved
    assert all((i["resolved_at"] is None) == (i["status"] != "resolved") for i in incidents)


def test_orders_money_and_parcels_agree(seeded: Engine) -> None:
    items: dict[int, int] = defaultdict(int)
    for it in _rows(seeded, "order_items"):
        assert it["quantity"] >= 1 and it["unit_price_cents"] > 0
        items[it["order_id"]] += it["quantity"] * it["unit_price_cents"]
    parcels = defaultdict(list)
    for sh in _rows(seeded, "shipments"):
        parcels[sh["order_id"]].append(sh)
    refunds = defaultdict(list)
    for rf in _rows(seeded, "refunds"):
        refunds[rf["order_id"]].append(rf)
    invoices = {i["order_id"]: i for i in _rows(seeded, "invoices")}
    orders = _rows(seeded, "orders")
    assert [o["id"] for o in sorted(orders, key=lambda o: o["id"])][0] == 10001

    for o in orders:
        oid, status = o["id"], o["status"]
        assert o["total_cents"] == items[oid] and o["currency"] == "USD"
        assert invoices[oid]["amount_cents"] == o["total_cents"]
        assert invoices[oid]["id"] == f"INV-{oid}"
        assert o["placed_at"] <= AS_OF
        kinds = [p["status"] for p in parcels[oid]]
        assert len(kinds) <= 1
        if status == "pending":
            assert kinds in ([], ["label_created"])
        elif status == "shipped":
            assert kinds == ["in_transit"] and parcels[oid][0]["estimated_delivery"] is not None
        elif status == "delivered":
            assert kinds == ["delivered"] and parcels[oid][0]["delivered_at"] is not None
        elif status == "refunded":
            assert any(r["status"] == "completed" for r in refunds[oid])
            assert kinds in (["delivered"], ["returned"])
        else:
            assert status == "cancelled" and kinds == []
            assert invoices[oid]["status"] in ("void", "failed")
        for p in parcels[oid]:
            assert (p["shipped_at"] is None) == (p["status"] == "label_created")
            if p["delivered_at"]:
                assert p["shipped_at"] < p["delivered_at"] <= AS_OF

    paid = {i["id"] for i in invoices.values() if i["status"] == "paid"}
    succeeded = {p["invoice_id"] for p in _rows(seeded, "payments") if p["status"] == "succeeded"}
    assert paid == succeeded
    for p in _rows(seeded, "payments"):
        assert (p["card_last4"] is not None) == (p["method"] == "card")


def test_demo_customer_has_what_its_docstring_promises(seeded: Engine) -> None:
    (customer,) = _rows(seeded, "customers", s.customers.c.id == DEMO_CUSTOMER_ID)
    assert (customer["name"], customer["status"], customer["language"]) == (
        "Maya Patel",
        "active",
        "en",
    )
    (account,) = _rows(seeded, "accounts", s.accounts.c.customer_id == DEMO_CUSTOMER_ID)
    assert (account["username"], account["status"]) == ("mpatel", "active")

    orders = _rows(seeded, "orders", s.orders.c.customer_id == DEMO_CUSTOMER_ID)
    got = sorted((o["status"], o["total_cents"], o["id"]) for o in orders)
    # The ids and amounts that DEMO_CUSTOMER_ID's docstring states for seed 7.
    assert got == [
        ("delivered", 36498, 10956),
        ("delivered", 82998, 10859),
        ("pending", 7998, 11197),
        ("shipped", 8998, 11096),
    ]
    shipped = _rows(seeded, "shipments", s.shipments.c.order_id == 11096)
    assert [(p["status"], p["carrier"]) for p in shipped] == [("in_transit", "UPS")]
    assert shipped[0]["estimated_delivery"] == SEED_TODAY + timedelta(days=2)
    delivered = _rows(seeded, "shipments", s.shipments.c.order_id == 10956)
    assert delivered[0]["delivered_at"].date() == SEED_TODAY - timedelta(days=6)
    invoices = _rows(seeded, "invoices", s.invoices.c.customer_id == DEMO_CUSTOMER_ID)
    assert {i["status"] for i in invoices} == {"paid"}
    pays = _rows(seeded, "payments", s.payments.c.customer_id == DEMO_CUSTOMER_ID)
    assert {(p["status"], p["method"], p["card_last4"]) for p in pays} == {("succeeded", "card", "4242")}
    assert _rows(seeded, "refunds", s.refunds.c.customer_id == DEMO_CUSTOMER_ID) == []


def test_foreign_keys_hold_and_are_enforced(seeded: Engine) -> None:
    with seeded.connect() as conn:
        for table in metadata.sorted_tables:
            for fk in table.foreign_keys:
                parent = fk.column
                orphans = (
                    select(func.count())
                    .select_from(table.outerjoin(parent.table, fk.parent == parent))
                    .where(fk.parent.is_not(None), parent.is_(None))
                )
                assert conn.execute(orphans).scalar() == 0, f"{table.name}.{fk.parent.name}"
        with pytest.raises(IntegrityError):
            conn.execute(
                insert(s.tickets).values(
                    customer_id="C9999",
                    subject="x",
                    body="x",
                    department="general",
                    created_at=AS_OF,
                )
            )
        conn.rollback()


@pytest.mark.parametrize("table", ["refunds", "tickets", "reviews", "effects"])
def test_idempotency_key_is_unique(seeded: Engine, table: str) -> None:
    rows = {
        "refunds": {"order_id": 10001, "customer_id": "C0001", "amount_cents": 100, "status": "pending"},
        "tickets": {"customer_id": "C0001", "subject": "s", "body": "b", "department": "billing"},
        "reviews": {"customer_id": "C0001", "body": "b"},
        "effects": {"tool": "t", "thread_id": "th", "customer_id": "C0001", "args_json": "{}", "result_json": "{}"},
    }  # fmt: skip
    row = {**rows[table], "idempotency_key": "key-1", "created_at": AS_OF}
    if table == "refunds":
        row["customer_id"] = _rows(seeded, "orders", s.orders.c.id == 10001)[0]["customer_id"]
    with seeded.connect() as conn:
        conn.execute(insert(metadata.tables[table]).values(**row))
        with pytest.raises(IntegrityError):
            conn.execute(insert(metadata.tables[table]).values(**row))
        conn.rollback()  # leave the shared store as it was


def test_timestamps_are_utc_aware_and_naive_ones_refused(seeded: Engine) -> None:
    (order,) = _rows(seeded, "orders", s.orders.c.id == 10001)
    assert order["placed_at"].tzinfo == UTC
    with seeded.connect() as conn, pytest.raises(StatementError, match="naive datetime"):
        conn.execute(select(s.orders.c.id).where(s.orders.c.placed_at < datetime(2026, 1, 1)))


# ---------------------------------------------------------------------------- determinism


def test_same_seed_same_rows_on_every_backend(tmp_path: Path, pg_database: Callable[[], str]) -> None:
    """Seed 7 into two SQLite files and a PostgreSQL database: the three dumps are identical."""
    plain_pg_url = pg_database().replace("+psycopg", "")  # normalised back by make_engine
    dumps = []
    for url in (sqlite_url(tmp_path / "a.db"), sqlite_url(tmp_path / "b.db"), plain_pg_url):
        engine = make_engine(url)
        create_schema(engine)
        seed_store(engine, seed=7)
        dumps.append(_dump(engine))
    assert dumps[0] == dumps[1]  # same seed, same rows
    assert dumps[2] == dumps[0]  # SQLite == PostgreSQL, repr for repr
    assert build_rows(seed=8).by_table["orders"] != build_rows(seed=7).by_table["orders"]


@settings(max_examples=6, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32), today=st.dates(date(2024, 1, 1), date(2030, 12, 31)))
def test_any_seed_keeps_the_invariants(seed: int, today: date) -> None:
    rows = build_rows(seed=seed, today=today).by_table
    as_of = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=8)
    items: dict[int, int] = defaultdict(int)
    for it in rows["order_items"]:
        items[it["order_id"]] += it["quantity"] * it["unit_price_cents"]
    assert all(o["total_cents"] == items[o["id"]] and o["placed_at"] <= as_of for o in rows["orders"])
    assert len({sh["tracking_number"] for sh in rows["shipments"]}) == len(rows["shipments"])
    assert len({a["username"] for a in rows["accounts"]}) == len(rows["accounts"])
    demo = sorted(o["status"] for o in rows["orders"] if o["customer_id"] == DEMO_CUSTOMER_ID)
    assert demo == ["delivered", "delivered", "pending", "shipped"]


# ---------------------------------------------------------------------------- ensure_store


def test_ensure_store_is_idempotent_and_ids_continue(empty_url: str) -> None:
    first = ensure_store(empty_url)
    assert first.seeded_now and first.counts["orders"] == 1200
    engine = make_engine(empty_url)
    before = _dump(engine)
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(Engine, "before_cursor_execute", record)  # every engine, ensure_store makes its own
    try:
        second = ensure_store(empty_url)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert statements and set(statements) == {"SELECT"}  # counting only: no schema, no seeding
    assert not second.seeded_now and second.counts == first.counts
    assert _dump(engine) == before
    with pytest.raises(ValueError, match="already has customers"):
        seed_store(engine)

    # Ids the database chooses follow the seeded ones (PostgreSQL sequences were moved on).
    (order,) = _rows(engine, "orders", s.orders.c.id == 10001)
    with engine.begin() as conn:
        largest = conn.execute(select(func.max(s.refunds.c.id))).scalar()
        new_id = conn.execute(
            insert(s.refunds)
            .values(order_id=10001, customer_id=order["customer_id"], amount_cents=1, status="pending",
                    created_at=AS_OF)
            .returning(s.refunds.c.id)
        ).scalar()  # fmt: skip
        assert new_id == largest + 1
        conn.execute(insert(s.audit_log).values(at=AS_OF, actor="workflow", action="tool_refused", outcome="refused"))

    reset_store(engine)
    assert set(store_counts(engine).values()) == {0}


def test_engine_settings(tmp_path: Path) -> None:
    assert normalise_url("postgresql://postgres@127.0.0.1/x").startswith("postgresql+psycopg://")
    assert normalise_url("postgres://u:pw@h/x") == "postgresql+psycopg://u:pw@h/x"
    url = sqlite_url(tmp_path / "nested" / "deeper" / "store.sqlite")
    engine = make_engine(url)
    assert make_engine(url) is engine
    with engine.connect() as conn:
        pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in
                   ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}  # fmt: skip
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 30000,
    }
    assert (tmp_path / "nested" / "deeper").is_dir()


def test_cli_seeds_and_prints_json(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "cli.sqlite")
    command = [sys.executable, "-m", "store.seed", "--url", url, "--reset"]
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True, timeout=60)
    report = json.loads(done.stdout)
    assert report["seeded_now"] and report["counts"]["customers"] == 240
    assert "RuntimeWarning" not in done.stderr
