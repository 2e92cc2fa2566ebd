"""The online store's data: schema, engines, and a deterministic seeded world.

`seed_store` and `DEMO_CUSTOMER_ID` are loaded on first use, so that
`python -m store.seed` does not import `store.seed` twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from store.db import (
    DEFAULT_SQLITE_PATH,
    DEFAULT_SQLITE_URL,
    SEED_CLOCK,
    SEED_TODAY,
    StoreReport,
    create_schema,
    ensure_store,
    make_engine,
    normalise_url,
    reset_store,
    sqlite_url,
    store_counts,
    sync_sequences,
)
from store.schema import (
    UTCDateTime,
    accounts,
    audit_log,
    customers,
    effects,
    invoices,
    metadata,
    node_runs,
    order_items,
    orders,
    payments,
    refunds,
    reviews,
    service_incidents,
    shipments,
    tickets,
)

if TYPE_CHECKING:
    from store.seed import DEMO_CUSTOMER_ID, seed_store

__all__ = [
    "DEFAULT_SQLITE_PATH",
    "DEFAULT_SQLITE_URL",
    "DEMO_CUSTOMER_ID",
    "SEED_CLOCK",
    "SEED_TODAY",
    "StoreReport",
    "UTCDateTime",
    "accounts",
    "audit_log",
    "create_schema",
    "customers",
    "effects",
    "ensure_store",
    "invoices",
    "make_engine",
    "metadata",
    "node_runs",
    "normalise_url",
    "order_items",
    "orders",
    "payments",
    "refunds",
    "reset_store",
    "reviews",
    "seed_store",
    "service_incidents",
    "shipments",
    "sqlite_url",
    "store_counts",
    "sync_sequences",
    "tickets",
]


def __getattr__(name: str) -> Any:
    if name in ("DEMO_CUSTOMER_ID", "seed_store"):
        from store import seed

        return getattr(seed, name)
    raise AttributeError(f"module 'store' has no attribute {name!r}")
