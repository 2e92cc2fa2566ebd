"""The world a scenario acts on, and how its end state is graded (the tau2-bench way).

A run seeds one SQLite store into a temporary folder; every scenario trial gets its
own copy of that file, so no scenario sees another's writes. After the trial the
store's *world state* (the rows a customer-support action may change, without
timestamps and auto-increment ids) is hashed and compared with the hash of the
*expected* world state: the seeded state with the scenario's declared changes
applied. The expected state is derived from the declaration, never from what the
system did, so a wrong action anywhere in the store (another customer's order, a
second refund, a ticket too many) changes the hash.

Declared changes (every key optional; ``customer`` defaults to the scenario's customer):

    {"orders_status": {"10956": "refunded"},
     "orders_address": {"11197": "12 Oak Ave, Portland, OR 97205"},
     "refunds_added": [{"order_id": 10956, "amount_cents": 36498}],          # status "pending"
     "tickets_added": [{"department": "billing", "queue": "manual_review", "priority": "high"}],
     "reviews_added": [{"order_id": 10956, "rating": 5}],
     "customer": {"status": "closed", "newsletter": false},
     "account": {"status": "closed", "reset_requested": true}}

A declared value of ``"*"`` matches any value of that field (``{"department": "*", "queue": "*",
"priority": "*"}``: one new ticket, wherever it was filed); ``states_match`` pairs such rows with
the rows the trial added. The audit log is not part of the world state; ``audit_rows`` reads it.
"""

from __future__ import annotations

import ast
import hashlib
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from store.db import ensure_store, make_engine, sqlite_url
from store.schema import accounts, audit_log, customers, invoices, orders, refunds, reviews, tickets

WorldState = dict[str, list[dict[str, Any]]]

CHANGE_KEYS = frozenset(
    {
        "orders_status",
        "orders_address",
        "refunds_added",
        "tickets_added",
        "reviews_added",
        "customer",
        "account",
    }
)
TICKET_DEFAULTS = {"queue": "support", "priority": "normal", "status": "open"}
ANY = "*"  # a declared value that matches any value


def world_state(engine: Engine) -> WorldState:
    """The rows actions may change, keyed by table; no timestamps, no auto-increment ids, no logs."""
    queries = {
        "customers": select(customers.c.id, customers.c.status, customers.c.newsletter),
        "accounts": select(
            accounts.c.customer_id,
            accounts.c.status,
            accounts.c.failed_logins,
            accounts.c.password_reset_requested_at.is_not(None).label("reset_requested"),
        ),
        "orders": select(
            orders.c.id, orders.c.customer_id, orders.c.status, orders.c.shipping_address, orders.c.total_cents
        ),
        "refunds": select(refunds.c.order_id, refunds.c.customer_id, refunds.c.amount_cents, refunds.c.status),
        "tickets": select(
            tickets.c.customer_id, tickets.c.department, tickets.c.queue, tickets.c.priority, tickets.c.status
        ),
        "reviews": select(reviews.c.customer_id, reviews.c.order_id, reviews.c.rating),
        "invoices": select(invoices.c.id, invoices.c.status),
    }
    state: WorldState = {}
    with engine.connect() as conn:
        for table, query in queries.items():
            rows = [_plain(dict(r._mapping)) for r in conn.execute(query)]
            state[table] = rows
    return state


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("newsletter", "reset_requested"):
        if key in row:
            row[key] = bool(row[key])
    return row


def _canonical(row: dict[str, Any]) -> str:
    """A stable text for a row of plain values (str, int, bool, None): fast enough for every row."""
    return repr(sorted(row.items()))


def state_hash(state: WorldState) -> str:
    digest = hashlib.sha256()
    for table in sorted(state):
        digest.update(f"\n#{table}\n".encode())
        for line in sorted(_canonical(r) for r in state[table]):
            digest.update(line.encode() + b"\n")
    return digest.hexdigest()


def _wild(row: dict[str, Any]) -> bool:
    return ANY in row.values()


def _fits(pattern: dict[str, Any], row: dict[str, Any]) -> bool:
    return pattern.keys() == row.keys() and all(v == ANY or row[k] == v for k, v in pattern.items())


def _pair(patterns: list[dict[str, Any]], rows: list[dict[str, Any]]) -> bool:
    """Each pattern takes a different row it fits, and no row is left over (tiny lists: backtrack)."""
    if not patterns:
        return not rows
    first, rest = patterns[0], patterns[1:]
    return any(_fits(first, row) and _pair(rest, rows[:i] + rows[i + 1 :]) for i, row in enumerate(rows))


def states_match(expected: WorldState, actual: WorldState) -> bool:
    """The actual world is the expected one; a ``"*"`` field of an expected row matches any value."""
    if not any(_wild(r) for rows in expected.values() for r in rows):
        return state_hash(expected) == state_hash(actual)
    for table in set(expected) | set(actual):
        fixed = Counter(_canonical(r) for r in expected.get(table, []) if not _wild(r))
        got = Counter(_canonical(r) for r in actual.get(table, []))
        if fixed - got:
            return False
        extra = [dict(ast.literal_eval(r)) for r in (got - fixed).elements()]
        if not _pair([r for r in expected.get(table, []) if _wild(r)], extra):
            return False
    return True


def audit_rows(engine: Engine) -> list[dict[str, Any]]:
    """The audit log's rows (action, outcome, node, tool, actor), oldest first."""
    query = select(
        audit_log.c.action, audit_log.c.outcome, audit_log.c.node, audit_log.c.tool, audit_log.c.actor
    ).order_by(audit_log.c.id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def validate_changes(changes: dict[str, Any]) -> None:
    unknown = set(changes) - CHANGE_KEYS
    if unknown:
        raise ValueError(f"unknown expected change(s) {sorted(unknown)}; known: {sorted(CHANGE_KEYS)}")


def apply_changes(state: WorldState, changes: dict[str, Any], customer: str) -> WorldState:
    """The expected world: ``state`` with the declared ``changes`` made for ``customer``."""
    validate_changes(changes)
    out = {table: list(rows) for table, rows in state.items()}  # rows are copied only where changed
    position = {row["id"]: i for i, row in enumerate(out["orders"])}

    def order(order_id: Any) -> dict[str, Any]:
        try:
            i = position[int(order_id)]
        except (KeyError, ValueError):
            raise ValueError(f"expected change names order {order_id}, which the seed does not have") from None
        out["orders"][i] = dict(out["orders"][i])
        return out["orders"][i]

    for order_id, status in changes.get("orders_status", {}).items():
        order(order_id)["status"] = status
    for order_id, address in changes.get("orders_address", {}).items():
        order(order_id)["shipping_address"] = address
    for refund in changes.get("refunds_added", []):
        owner = refund.get("customer", customer)
        out["refunds"].append(
            {
                "order_id": int(refund["order_id"]),
                "customer_id": owner,
                "amount_cents": int(refund["amount_cents"]),
                "status": refund.get("status", "pending"),
            }
        )
    for ticket in changes.get("tickets_added", []):
        row = {**TICKET_DEFAULTS, **{k: v for k, v in ticket.items() if k != "customer"}}
        out["tickets"].append({"customer_id": ticket.get("customer", customer), **row})
    for review in changes.get("reviews_added", []):
        out["reviews"].append(
            {
                "customer_id": review.get("customer", customer),
                "order_id": review.get("order_id"),
                "rating": review.get("rating"),
            }
        )
    for table, key, field in (("customers", "id", "customer"), ("accounts", "customer_id", "account")):
        if field in changes:
            index = next((i for i, r in enumerate(out[table]) if r[key] == customer), None)
            if index is None:
                raise ValueError(f"expected change to {field} of {customer}, which the seed does not have")
            unknown = set(changes[field]) - set(out[table][index])
            if unknown:
                raise ValueError(f"unknown {field} field(s) {sorted(unknown)}")
            out[table][index] = {**out[table][index], **changes[field]}
    return out


def state_diff(expected: WorldState, actual: WorldState, limit: int = 5) -> dict[str, dict[str, list[Any]]]:
    """Per table: rows expected but missing, and rows present but not expected."""
    diff: dict[str, dict[str, list[Any]]] = {}
    for table in sorted(set(expected) | set(actual)):
        want = Counter(_canonical(r) for r in expected.get(table, []))
        got = Counter(_canonical(r) for r in actual.get(table, []))
        missing, unexpected = list((want - got).elements()), list((got - want).elements())
        if missing or unexpected:
            diff[table] = {
                "missing": [dict(ast.literal_eval(r)) for r in missing[:limit]],
                "unexpected": [dict(ast.literal_eval(r)) for r in unexpected[:limit]],
            }
    return diff


@dataclass
class SeededStore:
    """One seeded store file in a temporary folder, copied fresh for each scenario trial."""

    folder: Path
    seed_file: Path
    base_state: WorldState
    _copies: int = 0
    _base_hash: str = ""

    @property
    def base_hash(self) -> str:
        if not self._base_hash:
            self._base_hash = state_hash(self.base_state)
        return self._base_hash

    def fresh_copy(self) -> str:
        self._copies += 1
        target = self.folder / f"trial-{self._copies:05d}.sqlite"
        shutil.copy(self.seed_file, target)
        return sqlite_url(target)

    def discard(self, url: str) -> None:
        make_engine(url).dispose()
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def customer_ids(self) -> set[str]:
        return {row["id"] for row in self.base_state["customers"]}


@contextmanager
def seeded_store() -> Iterator[SeededStore]:
    """Seed once into a temporary folder (deterministic seed) and hand out copies."""
    with tempfile.TemporaryDirectory(prefix="switchboard-evals-") as tmp:
        folder = Path(tmp)
        seed_file = folder / "seed.sqlite"
        url = sqlite_url(seed_file)
        ensure_store(url)
        engine = make_engine(url)
        with engine.connect() as conn:  # fold the WAL into the file so a plain copy holds everything
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        base = world_state(engine)
        engine.dispose()
        yield SeededStore(folder=folder, seed_file=seed_file, base_state=base)
