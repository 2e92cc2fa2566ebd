"""A deterministic, realistic store: customers, orders, money, parcels, tickets, incidents.

Everything comes from `random.Random(seed)` and the `today` argument, never from the
wall clock, so the same seed gives the same rows on every machine and on both
backends. Orders get ids 10001, 10002, ... in the order they were placed.

The seeded world as of `today` (default 2026-11-15, 08:00 UTC):
- every order status: pending, shipped, delivered, cancelled, refunded; a pending
  order has no parcel or only a label, a shipped one is in transit with an estimated
  delivery date (a few are late), a delivered one has `delivered_at`, a refunded one
  has a completed refund, a cancelled one has no parcel;
- invoices paid, open (bank transfers not yet received), failed and disputed, and void
  for cancelled orders; `sum(quantity * unit_price_cents) == total_cents` for every order;
- the refund policy's cases (`_policy_cases`): an earlier partial refund inside the approval
  window, a charged-back payment, an order under investigation;
- orders above $500 (and a dozen customers with several of them), a few locked
  accounts, a few closed customers, existing tickets and reviews, and service incidents
  with an unresolved degraded login incident and an unresolved payments incident.

Run `python -m store.seed --url URL [--reset]` to seed a database and print its counts.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import Engine, func, select

from store.db import (
    DEFAULT_SQLITE_URL,
    SEED_TODAY,
    ensure_store,
    make_engine,
    reset_store,
    sync_sequences,
)
from store.schema import metadata

DEMO_CUSTOMER_ID: Final = "C0007"
"""Maya Patel (maya.patel@example.com, account `mpatel`, active, English), who has exactly
four orders, every invoice paid by card ending 4242:

- a delivered order of $364.98 (headphones and a cable), delivered 6 days before `today`;
- a delivered order of $829.98 (espresso machine and grinder), delivered 33 days before;
- a shipped order of $89.98 (laptop stand and USB-C hub), in transit with UPS, due 2 days
  after `today`;
- a pending order of $79.98 (two packs of smart bulbs), label created, placed that morning.

With the default seed (7) and `today` these are orders 10956, 10859, 11096 and 11197
(in the order listed above); tests/test_store.py checks it.
"""

# ---------------------------------------------------------------------------- vocabulary

FIRST_NAMES: Final = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Ethan", "Harper", "Mason", "Evelyn", "Logan", "Abigail", "Aiden",
    "Emily", "Jackson", "Ella", "Sebastian", "Aria", "Jack", "Chloe", "Owen", "Grace", "Samuel",
    "Nora", "Daniel", "Zoe", "Henry", "Lily", "Wyatt", "Hannah", "Leo", "Layla", "Julian",
    "Priya", "Arjun", "Mei", "Hiroshi", "Fatima", "Omar", "Sofia", "Diego", "Ingrid", "Lars",
)  # fmt: skip
LAST_NAMES: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Nguyen", "Hill", "Flores", "Green", "Kim", "Singh", "Novak", "Schmidt", "Rossi",
)  # fmt: skip
STREETS: Final = (
    "Maple St", "Oak Ave", "Pine Rd", "Cedar Ln", "Elm St", "Washington Ave", "Lake Dr",
    "Hillcrest Rd", "Sunset Blvd", "Park Pl", "Highland Ave", "River Rd", "Chestnut St",
    "Willow Way", "Main St", "2nd Ave", "Meadow Ln", "Birch Ct", "Harbor Dr", "Mill Rd",
)  # fmt: skip
US_CITIES: Final = (
    ("Springfield", "IL", "62704"), ("Portland", "OR", "97205"), ("Austin", "TX", "78701"),
    ("Denver", "CO", "80203"), ("Madison", "WI", "53703"), ("Raleigh", "NC", "27601"),
    ("Columbus", "OH", "43215"), ("Tucson", "AZ", "85701"), ("Boise", "ID", "83702"),
    ("Richmond", "VA", "23219"), ("Albany", "NY", "12207"), ("Sacramento", "CA", "95814"),
    ("Nashville", "TN", "37203"), ("Omaha", "NE", "68102"), ("Burlington", "VT", "05401"),
    ("Savannah", "GA", "31401"), ("Ann Arbor", "MI", "48104"), ("Salt Lake City", "UT", "84111"),
)  # fmt: skip
# (city, region+postcode, country, language): customers abroad ship internationally.
ABROAD: Final = (
    ("Toronto", "ON M5V 2T6", "Canada", "en"), ("Montreal", "QC H2X 1Y4", "Canada", "fr"),
    ("London", "EC1A 1BB", "United Kingdom", "en"), ("Berlin", "10115", "Germany", "de"),
    ("Madrid", "28013", "Spain", "es"),
)  # fmt: skip


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int
    weight: int  # how often it is bought


CATALOG: Final = (
    Product("AUD-EB100", "Wireless Earbuds", 7999, 40),
    Product("AUD-HP200", "Over-Ear Headphones", 14999, 25),
    Product("AUD-HP900", "Noise-Cancelling Headphones Pro", 34999, 12),
    Product("AUD-SPK10", "Portable Bluetooth Speaker", 5999, 25),
    Product("AUD-SB500", "Soundbar 2.1", 27999, 8),
    Product("ACC-LS01", "Aluminium Laptop Stand", 4999, 35),
    Product("ACC-HUB7", "7-in-1 USB-C Hub", 3999, 40),
    Product("ACC-CBL2", "Braided USB-C Cable (2 m)", 1499, 60),
    Product("ACC-CHG65", "65 W GaN Charger", 4499, 40),
    Product("ACC-KB75", "Mechanical Keyboard", 11999, 20),
    Product("ACC-MS3", "Ergonomic Wireless Mouse", 5999, 30),
    Product("ACC-WC4K", "4K Webcam", 12999, 15),
    Product("DSP-27Q", '27" QHD Monitor', 32999, 10),
    Product("DSP-32U", '32" 4K Monitor', 54999, 5),
    Product("CMP-LT14", '14" Ultrabook', 119999, 3),
    Product("CMP-TB11", '11" Tablet', 44999, 6),
    Product("CMP-EBR", "E-Reader", 12999, 12),
    Product("HOM-ESP1", "Espresso Machine", 64999, 4),
    Product("HOM-GRN", "Burr Coffee Grinder", 17999, 10),
    Product("HOM-KTL", "Electric Kettle", 4999, 25),
    Product("HOM-AF5", "Air Fryer 5 L", 12999, 15),
    Product("HOM-VAC", "Robot Vacuum", 59999, 4),
    Product("HOM-AP2", "Air Purifier", 22999, 8),
    Product("HOM-BLB4", "Smart Bulb (4-pack)", 3999, 35),
    Product("HOM-PLG2", "Smart Plug (2-pack)", 2499, 35),
    Product("HOM-TH1", "Smart Thermostat", 19999, 10),
    Product("HOM-CAM2", "Indoor Security Camera", 6999, 20),
    Product("HOM-DRB", "Video Doorbell", 14999, 12),
    Product("TV-55Q", '55" 4K TV', 79999, 3),
    Product("WEA-SW2", "Smartwatch", 24999, 10),
    Product("WEA-FT1", "Fitness Tracker", 8999, 15),
)
BY_SKU: Final = {p.sku: p for p in CATALOG}
PREMIUM: Final = tuple(p for p in CATALOG if p.price_cents > 50000)

TRANSIT_DAYS: Final = {"standard": 5, "express": 2, "international": 9}
CARRIERS_FOR: Final = {
    "standard": ("USPS", "UPS", "FedEx"),
    "express": ("UPS", "FedEx"),
    "international": ("DHL",),
}
DELIVERY_DELAYS: Final = (-1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4)  # days past the estimate
REFUND_REASONS: Final = {
    "completed": (
        ("Returned: no longer needed", True),
        ("Returned: did not meet expectations", True),
        ("Wrong item shipped", True),
        ("Arrived damaged", False),
        ("Defective on arrival", False),
    ),
    "pending": (("Return on its way to the warehouse", True), ("Missing accessory", False)),
    "rejected": (("Item shows heavy use", True), ("Returned without its accessories", True)),
    "reversed": (("Returned parcel never reached the warehouse", True),),
}

# (department, subject, body); {order} is an order number the customer really has.
TICKET_TEMPLATES: Final = (
    ("billing", "Charged twice for order #{order}", "My card shows two charges for order #{order}."),
    ("billing", "Refund for order #{order} not received", "I returned order #{order} two weeks ago."),
    ("billing", "Invoice for order #{order}", "Could you send me the invoice for order #{order}?"),
    ("technical", "Cannot log in", "The site says my password is wrong but I just reset it."),
    ("technical", "Password reset email never arrives", "I asked for a reset link three times."),
    ("technical", "App crashes at checkout", "The mobile app closes when I tap Pay."),
    ("general", "Where is my order #{order}?", "Tracking for order #{order} has not moved."),
    ("general", "Change address for order #{order}", "I moved; can order #{order} go elsewhere?"),
    ("general", "Warranty question", "How long is the warranty on the espresso machine?"),
    ("escalation", "Complaint about the courier", "The driver left my parcel in the rain."),
    ("escalation", "Please have a person call me", "I have written three times, please call."),
)  # fmt: skip
REVIEW_TEXTS: Final = {
    5: ("Love the {item}, works perfectly.", "Great {item}, fast delivery."),
    4: ("The {item} is good value.", "Happy with the {item}, setup took a while."),
    3: ("The {item} is okay, nothing special.",),
    2: ("The {item} stopped working after a week.",),
    1: ("The {item} arrived broken and support was slow.",),
}

# ---------------------------------------------------------------------------- plans


@dataclass
class Customer:
    id: str
    name: str
    address: str
    abroad: bool
    language: str
    created_at: datetime
    closed: bool
    card_last4: str
    activity: float  # relative chance of placing an order


@dataclass
class OrderPlan:
    """One order and everything that follows from it, decided before any id is assigned."""

    customer: Customer
    placed_at: datetime
    lines: list[tuple[Product, int]]
    shipping_method: str
    pay_method: str
    status: str = "pending"
    invoice_status: str = "paid"
    failed_first: bool = False  # a declined attempt before the successful payment
    paid_at: datetime | None = None
    shipment_status: str | None = None
    carrier: str | None = None
    shipped_at: datetime | None = None
    eta: date | None = None
    delivered_at: datetime | None = None
    refund: tuple[str, int, str, datetime] | None = None  # status, cents, reason, at
    id: int = 0

    @property
    def total_cents(self) -> int:
        return sum(p.price_cents * q for p, q in self.lines)


@dataclass
class Rows:
    """Rows per table, in insertion (foreign-key) order."""

    by_table: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.by_table.setdefault(table, []).append(row)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _make_customers(rng: random.Random, count: int, as_of: datetime) -> list[Customer]:
    result: list[Customer] = []
    for n in range(1, count + 1):
        cid = f"C{n:04d}"
        abroad = rng.random() < 0.06
        if abroad:
            city, post, country, language = rng.choice(ABROAD)
            place = f"{city} {post}, {country}"
        else:
            city, state, zip_code = rng.choice(US_CITIES)
            place = f"{city}, {state} {zip_code}, USA"
            language = "es" if rng.random() < 0.08 else "en"
        address = f"{rng.randint(1, 9899)} {rng.choice(STREETS)}, {place}"
        days_ago = rng.randint(400, 1800) if rng.random() < 0.8 else rng.randint(20, 399)
        result.append(
            Customer(
                id=cid,
                name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                address=address,
                abroad=abroad,
                language=language,
                created_at=as_of - timedelta(days=days_ago, seconds=rng.randint(0, 86399)),
                closed=False,
                card_last4=f"{rng.randint(0, 9999):04d}",
                activity=rng.expovariate(1.0) + 0.2,
            )
        )
    # A few closed customers: long-standing, so their orders all predate the closure.
    for c in rng.sample([c for c in result if c.id != DEMO_CUSTOMER_ID and not c.abroad], 5):
        c.closed, c.activity = True, 0.5
        c.created_at = min(c.created_at, as_of - timedelta(days=500))
    demo = next(c for c in result if c.id == DEMO_CUSTOMER_ID)
    demo.name, demo.abroad, demo.language, demo.card_last4 = "Maya Patel", False, "en", "4242"
    demo.address = "742 Evergreen Ter, Springfield, IL 62704, USA"
    demo.created_at = _at(as_of.date() - timedelta(days=800), 14, 5)
    demo.activity = 0.0  # only the hand-written orders below
    return result


def _lines(rng: random.Random, premium: Product | None = None) -> list[tuple[Product, int]]:
    count = rng.choices((1, 2, 3, 4), (55, 30, 10, 5))[0]
    products = [premium] if premium else []
    while len(products) < count:
        product = rng.choices(CATALOG, [p.weight for p in CATALOG])[0]
        if product not in products:
            products.append(product)
    # Several of a cheap accessory is common; several laptops is not.
    return [(p, rng.choices((1, 2, 3), (80, 15, 5))[0] if p.price_cents < 5000 else 1) for p in products]


def _placed_at(rng: random.Random, customer: Customer, as_of: datetime) -> datetime:
    r = rng.random()
    days = rng.uniform(0, 3) if r < 0.08 else rng.uniform(3, 14) if r < 0.2 else rng.uniform(14, 365)
    if customer.closed:
        days = rng.uniform(150, 365)
    placed = as_of - timedelta(seconds=int(days * 86400))
    if placed <= customer.created_at:  # not before the customer existed
        span = int((as_of - customer.created_at).total_seconds())
        placed = customer.created_at + timedelta(seconds=rng.randint(3600, span))
    return placed


def _plan_order(
    rng: random.Random,
    customer: Customer,
    placed_at: datetime,
    lines: list[tuple[Product, int]],
    as_of: datetime,
) -> OrderPlan:
    """Decide what happened to an order by `as_of`: payment, parcel, delivery, refund."""
    method = "international" if customer.abroad else rng.choices(("standard", "express"), (80, 20))[0]
    plan = OrderPlan(
        customer,
        placed_at,
        lines,
        method,
        rng.choices(("card", "paypal", "bank_transfer"), (72, 18, 10))[0],
    )
    age = as_of - placed_at
    fate = rng.random()
    if fate < 0.04:  # payment declined: waits for a retry, then is cancelled
        plan.pay_method = "card" if plan.pay_method == "bank_transfer" else plan.pay_method
        plan.invoice_status = "failed"
        plan.status = "pending" if age < timedelta(days=3) else "cancelled"
        return plan
    if fate < 0.09:  # cancelled by the customer before it shipped
        plan.status, plan.invoice_status = "cancelled", "void"
        return plan
    plan.failed_first = plan.pay_method == "card" and rng.random() < 0.04
    # Bank transfers clear after three days; nothing ships before the money is in.
    plan.paid_at = placed_at + (timedelta(days=3) if plan.pay_method == "bank_transfer" else timedelta(minutes=2))
    if plan.paid_at > as_of:
        plan.invoice_status, plan.paid_at = "open", None
        return plan
    plan.carrier = rng.choice(CARRIERS_FOR[method])
    shipped_at = plan.paid_at + timedelta(hours=rng.randint(10, 40))
    plan.eta = shipped_at.date() + timedelta(days=TRANSIT_DAYS[method])
    plan.shipment_status = "label_created"
    if shipped_at > as_of:
        return plan
    plan.shipped_at = shipped_at
    delivered_at = _at(
        plan.eta + timedelta(days=rng.choice(DELIVERY_DELAYS)),
        rng.randint(9, 19),
        rng.randint(0, 59),
    )
    delivered_at = max(delivered_at, shipped_at + timedelta(hours=20))
    if delivered_at > as_of:
        plan.status, plan.shipment_status = "shipped", "in_transit"
        return plan
    plan.status, plan.shipment_status, plan.delivered_at = "delivered", "delivered", delivered_at
    after = rng.random()
    refund_at = delivered_at + timedelta(days=rng.randint(1, 25), hours=rng.randint(0, 23))
    if after < 0.015:
        plan.invoice_status = "disputed"
    elif after < 0.105 and refund_at <= as_of:
        reason, returned = rng.choice(REFUND_REASONS["completed"])
        plan.status, plan.refund = "refunded", ("completed", plan.total_cents, reason, refund_at)
        plan.shipment_status = "returned" if returned else "delivered"
    elif after < 0.135 and refund_at <= as_of:
        status = rng.choices(("pending", "rejected", "reversed"), (5, 3, 2))[0]
        reason, _ = rng.choice(REFUND_REASONS[status])
        amount = max(p.price_cents for p, _ in lines)  # the dearest item
        plan.refund = (status, amount, reason, refund_at)
    return plan


def _demo_orders(customer: Customer, as_of: datetime) -> list[OrderPlan]:
    """The demo customer's four orders, written out so the demo never depends on luck."""
    today = as_of.date()

    def order(days_ago: int, skus: Sequence[tuple[str, int]], **fate: Any) -> OrderPlan:
        placed = as_of - timedelta(days=days_ago, hours=3)
        lines = [(BY_SKU[sku], qty) for sku, qty in skus]
        return OrderPlan(
            customer,
            placed,
            lines,
            "standard",
            "card",
            paid_at=placed + timedelta(minutes=2),
            **fate,
        )

    def delivered(days_ago: int) -> dict[str, Any]:
        return {"shipped_at": _at(today - timedelta(days=days_ago + 4), 17), "eta": today - timedelta(days=days_ago),
                "delivered_at": _at(today - timedelta(days=days_ago), 14, 12)}  # fmt: skip

    return [
        order(40, [("HOM-ESP1", 1), ("HOM-GRN", 1)], status="delivered", shipment_status="delivered",
              carrier="FedEx", **delivered(33)),
        order(12, [("AUD-HP900", 1), ("ACC-CBL2", 1)], status="delivered", shipment_status="delivered",
              carrier="USPS", **delivered(6)),
        order(3, [("ACC-LS01", 1), ("ACC-HUB7", 1)], status="shipped", shipment_status="in_transit",
              carrier="UPS", shipped_at=_at(today - timedelta(days=2), 16, 30), eta=today + timedelta(days=2)),
        order(0, [("HOM-BLB4", 2)], status="pending", shipment_status="label_created", carrier="USPS",
              eta=today + timedelta(days=6)),
    ]  # fmt: skip


def _tracking_number(rng: random.Random, carrier: str, taken: set[str]) -> str:
    while True:
        digits = "".join(rng.choices("0123456789", k=22))
        number = {
            "UPS": "1Z" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=16)),
            "FedEx": digits[:12],
            "DHL": digits[:10],
            "USPS": "9400" + digits[:18],
        }[carrier]
        if number not in taken:
            taken.add(number)
            return number


# ---------------------------------------------------------------------------- rows


def _customer_rows(rng: random.Random, people: list[Customer], as_of: datetime, rows: Rows) -> None:
    usernames: set[str] = {"mpatel"}
    emails: set[str] = {"maya.patel@example.com"}
    locked = {c.id for c in rng.sample([c for c in people if not c.closed and c.id != DEMO_CUSTOMER_ID], 6)}
    for n, c in enumerate(people, start=1):
        first, last = c.name.lower().split(" ", 1)
        if c.id == DEMO_CUSTOMER_ID:
            email, username = "maya.patel@example.com", "mpatel"
        else:
            email, username = f"{first}.{last}@example.com", f"{first[0]}{last}"
            suffix = 1
            while email in emails or username in usernames:  # namesakes get a number
                suffix += 1
                email, username = f"{first}.{last}{suffix}@example.com", f"{first[0]}{last}{suffix}"
            emails.add(email)
            usernames.add(username)
        rows.add("customers", {
            "id": c.id, "name": c.name, "email": email, "language": c.language,
            "phone": f"+1-{rng.randint(201, 989)}-555-01{rng.randint(0, 99):02d}",
            "status": "closed" if c.closed else "active",
            "newsletter": not c.closed and rng.random() < 0.4, "created_at": c.created_at,
        })  # fmt: skip
        span = int((as_of - c.created_at).total_seconds())
        last_login = c.created_at + timedelta(seconds=rng.randint(span // 2, span))
        is_locked = c.id in locked
        reset_at = None
        if is_locked or (c.id != DEMO_CUSTOMER_ID and rng.random() < 0.03):
            reset_at = as_of - timedelta(hours=rng.randint(2, 200))
        rows.add("accounts", {
            "id": n, "customer_id": c.id, "username": username,
            "status": "closed" if c.closed else "locked" if is_locked else "active",
            "failed_logins": rng.randint(5, 8) if is_locked else 0,
            "last_login_at": last_login, "password_reset_requested_at": reset_at,
        })  # fmt: skip


def _order_rows(rng: random.Random, plans: list[OrderPlan], rows: Rows) -> None:
    item_id = shipment_id = 0
    taken: set[str] = set()
    pays: list[dict[str, Any]] = []
    money_back: list[dict[str, Any]] = []
    for plan in plans:
        c, oid, total = plan.customer, plan.id, plan.total_cents
        rows.add("orders", {
            "id": oid, "customer_id": c.id, "status": plan.status, "placed_at": plan.placed_at,
            "total_cents": total, "currency": "USD", "shipping_address": c.address,
            "shipping_method": plan.shipping_method,
        })  # fmt: skip
        for product, qty in plan.lines:
            item_id += 1
            rows.add("order_items", {
                "id": item_id, "order_id": oid, "sku": product.sku, "name": product.name,
                "quantity": qty, "unit_price_cents": product.price_cents,
            })  # fmt: skip
        due = plan.placed_at + timedelta(days=7 if plan.pay_method == "bank_transfer" else 0)
        rows.add("invoices", {
            "id": f"INV-{oid}", "order_id": oid, "customer_id": c.id, "amount_cents": total,
            "status": plan.invoice_status, "issued_at": plan.placed_at, "due_at": due,
        })  # fmt: skip

        attempt_at = plan.placed_at + timedelta(minutes=1)
        if plan.invoice_status == "failed" or plan.failed_first:
            pays.append(_payment(plan, "failed", attempt_at))
        if plan.invoice_status == "open":
            pays.append(_payment(plan, "pending", attempt_at))
        elif plan.invoice_status in ("paid", "disputed"):
            assert plan.paid_at is not None
            status = "succeeded" if plan.invoice_status == "paid" else "disputed"
            pays.append(_payment(plan, status, plan.paid_at))
        if plan.shipment_status:
            assert plan.carrier is not None
            shipment_id += 1
            rows.add("shipments", {
                "id": shipment_id, "order_id": oid, "carrier": plan.carrier,
                "tracking_number": _tracking_number(rng, plan.carrier, taken),
                "status": plan.shipment_status, "shipped_at": plan.shipped_at,
                "estimated_delivery": plan.eta, "delivered_at": plan.delivered_at,
            })  # fmt: skip
        if plan.refund:
            status, amount, reason, at = plan.refund
            money_back.append({
                "order_id": oid, "customer_id": c.id, "amount_cents": amount, "status": status,
                "reason": reason, "created_at": at, "idempotency_key": None,
            })  # fmt: skip
    # Ids in the order things happened, as a real system would have numbered them.
    for table, items in (("payments", pays), ("refunds", money_back)):
        for n, row in enumerate(sorted(items, key=lambda r: (r["created_at"], r["order_id"])), start=1):
            rows.add(table, {"id": n, **row})


# Hand-written rows the refund policy's cases rely on (evals/scenarios/e2e.money.v1.jsonl, the
# store's written policy in data/kb), placed on orders of the default world: (order, its customer).
# Like the demo customer's orders they never depend on luck; with another seed or size the orders
# are someone else's, and the cases are left out. Each keeps every seeded id as it was (a new row
# takes the next free id) and consumes no random numbers.
EARLIER_REFUND_CASE: Final = (10968, "C0106")  # a completed $350.00 refund 5 days ago, 3 after delivery
CHARGED_BACK_CASE: Final = (10920, "C0027")  # its only payment charged back by the bank
INVESTIGATION_CASE: Final = (10942, "C0223")  # under investigation: a missing-parcel trace with the carrier


def _policy_cases(as_of: datetime, rows: Rows) -> None:
    owners = {o["id"]: o["customer_id"] for o in rows.by_table["orders"] if o["status"] == "delivered"}
    order_id, customer_id = EARLIER_REFUND_CASE
    if owners.get(order_id) == customer_id:
        refunds = rows.by_table.setdefault("refunds", [])
        rows.add("refunds", {
            "id": max((r["id"] for r in refunds), default=0) + 1, "order_id": order_id, "customer_id": customer_id,
            "amount_cents": 35000, "status": "completed", "reason": "Partial refund agreed for a scratched screen",
            "created_at": _at(as_of.date() - timedelta(days=5), 10, 30), "idempotency_key": None,
        })  # fmt: skip
    order_id, customer_id = CHARGED_BACK_CASE
    if owners.get(order_id) == customer_id:
        for payment in rows.by_table["payments"]:
            if payment["order_id"] == order_id and payment["status"] == "succeeded":
                payment["status"] = "charged_back"
        for invoice in rows.by_table["invoices"]:
            if invoice["order_id"] == order_id:
                invoice["status"] = "disputed"  # the bank decided the dispute for the cardholder
    order_id, customer_id = INVESTIGATION_CASE
    if owners.get(order_id) == customer_id:
        rows.add("order_holds", {
            "id": 1, "order_id": order_id, "kind": "investigation",
            "reason": "a missing-parcel trace with the carrier", "opened_at": as_of - timedelta(days=2),
            "closed_at": None,
        })  # fmt: skip


def _payment(plan: OrderPlan, status: str, at: datetime) -> dict[str, Any]:
    return {
        "invoice_id": f"INV-{plan.id}", "order_id": plan.id, "customer_id": plan.customer.id,
        "amount_cents": plan.total_cents, "method": plan.pay_method, "status": status,
        "card_last4": plan.customer.card_last4 if plan.pay_method == "card" else None,
        "created_at": at,
    }  # fmt: skip


def _ticket_rows(rng: random.Random, plans: list[OrderPlan], as_of: datetime, rows: Rows) -> None:
    # Ticket-bearing orders are drawn from everyone but the demo customer, whose history stays clean.
    candidates = [p for p in plans if p.customer.id != DEMO_CUSTOMER_ID]
    drawn: list[dict[str, Any]] = []
    for plan in rng.sample(candidates, 60):
        department, subject, body = rng.choice(TICKET_TEMPLATES)
        since = max(plan.placed_at, as_of - timedelta(days=90))  # written after the order, recently
        created = since + timedelta(seconds=int((as_of - since).total_seconds() * rng.uniform(0.05, 0.95)))
        age = as_of - created
        status = "closed" if age > timedelta(days=10) else rng.choice(("open", "open", "pending", "closed"))
        drawn.append({
            "customer_id": plan.customer.id, "subject": subject.format(order=plan.id),
            "body": body.format(order=plan.id), "status": status,
            "priority": "high" if department == "escalation" else rng.choices(("low", "normal", "high", "urgent"), (20, 60, 15, 5))[0],
            "department": department, "queue": "manual_review" if rng.random() < 0.06 else "support",
            "thread_id": None, "created_at": created,
            "closed_at": created + timedelta(hours=rng.randint(1, 96)) if status == "closed" else None,
            "idempotency_key": None,
        })  # fmt: skip
    for row in drawn:  # a closure cannot be after `as_of`
        if row["closed_at"] and row["closed_at"] > as_of:
            row["closed_at"] = as_of - timedelta(minutes=1)
    for n, row in enumerate(sorted(drawn, key=lambda r: (r["created_at"], r["customer_id"])), start=1):
        rows.add("tickets", {"id": n, **row})


def _review_rows(rng: random.Random, plans: list[OrderPlan], as_of: datetime, rows: Rows) -> None:
    delivered = [p for p in plans if p.delivered_at and p.customer.id != DEMO_CUSTOMER_ID]
    drawn: list[dict[str, Any]] = []
    for plan in rng.sample(delivered, min(160, len(delivered))):
        assert plan.delivered_at is not None
        at = plan.delivered_at + timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 23))
        if at > as_of:
            continue
        rating = rng.choices((5, 4, 3, 2, 1), (45, 30, 10, 7, 8))[0]
        item = plan.lines[0][0].name.lower()
        drawn.append({"customer_id": plan.customer.id, "order_id": plan.id, "rating": rating,
                      "body": rng.choice(REVIEW_TEXTS[rating]).format(item=item), "created_at": at})  # fmt: skip
    for plan in rng.sample(delivered, 5):  # feedback about the shop itself: no order, no stars
        drawn.append({"customer_id": plan.customer.id, "order_id": None, "rating": None,
                      "body": "Please add more colours to the smart bulbs.", "created_at": plan.placed_at})  # fmt: skip
    for n, row in enumerate(sorted(drawn, key=lambda r: (r["created_at"], r["customer_id"])), start=1):
        rows.add("reviews", {"id": n, **row, "idempotency_key": None})


def _incident_rows(as_of: datetime, rows: Rows) -> None:
    day = timedelta(days=1)
    incidents = [
        ("checkout", "resolved", "Checkout errors for PayPal users",
         "Some PayPal payments failed at checkout; no one was charged.", as_of - 40 * day, as_of - 40 * day + timedelta(hours=3)),
        ("email", "resolved", "Order confirmation emails delayed",
         "Confirmation emails arrived up to 9 hours late.", as_of - 21 * day, as_of - 21 * day + timedelta(hours=9)),
        ("search", "resolved", "Search missing new arrivals",
         "New products did not appear in search results.", as_of - 9 * day, as_of - 7 * day),
        ("payments", "monitoring", "Card payments intermittently declined",
         "A card processor declines some valid cards; a retry usually succeeds. Fix deployed, watching.",
         as_of - day, None),
        ("login", "investigating", "Degraded login: some customers cannot sign in",
         "Sign-in is slow or fails for some customers; password resets may be delayed.",
         as_of - timedelta(hours=5), None),
    ]  # fmt: skip
    for n, (component, status, title, body, started, resolved) in enumerate(incidents, start=1):
        rows.add("service_incidents", {
            "id": n, "component": component, "status": status, "title": title, "body": body,
            "started_at": started, "resolved_at": resolved,
        })  # fmt: skip


def build_rows(*, seed: int = 7, today: date = SEED_TODAY, customers: int = 240, orders: int = 1200) -> Rows:
    """Every seeded row, without touching a database (pure: same arguments, same rows)."""
    if customers < 50 or orders < 100:  # room for the demo, big spenders and closed accounts
        raise ValueError("seed at least 50 customers and 100 orders")
    rng = random.Random(seed)
    as_of = _at(today, 8)
    people = _make_customers(rng, customers, as_of)
    by_id = {c.id: c for c in people}
    plans = _demo_orders(by_id[DEMO_CUSTOMER_ID], as_of)
    # A dozen big spenders with three orders above $500 each.
    open_people = [c for c in people if not c.closed and c.id != DEMO_CUSTOMER_ID]
    for c in rng.sample(open_people, 12):
        for _ in range(3):
            plans.append(_plan_order(rng, c, _placed_at(rng, c, as_of), _lines(rng, rng.choice(PREMIUM)), as_of))
    buyers = rng.choices(people, [c.activity for c in people], k=orders - len(plans))
    for c in buyers:
        plans.append(_plan_order(rng, c, _placed_at(rng, c, as_of), _lines(rng), as_of))
    plans.sort(key=lambda p: (p.placed_at, p.customer.id))
    for n, plan in enumerate(plans):
        plan.id = 10001 + n
    rows = Rows()
    _customer_rows(rng, people, as_of, rows)
    _order_rows(rng, plans, rows)
    _policy_cases(as_of, rows)
    _ticket_rows(rng, plans, as_of, rows)
    _review_rows(rng, plans, as_of, rows)
    _incident_rows(as_of, rows)
    return rows


def seed_store(
    engine: Engine,
    *,
    seed: int = 7,
    today: date = SEED_TODAY,
    customers: int = 240,
    orders: int = 1200,
) -> dict[str, int]:
    """Fill an empty store in one transaction and return the rows written per table."""
    rows = build_rows(seed=seed, today=today, customers=customers, orders=orders)
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(metadata.tables["customers"])).scalar():
            raise ValueError("the store already has customers; reset_store() it first")
        for table in metadata.sorted_tables:  # parents before children
            if table.name in rows.by_table:
                conn.execute(table.insert(), rows.by_table[table.name])  # executemany
        sync_sequences(conn)
    return {t.name: len(rows.by_table.get(t.name, [])) for t in metadata.sorted_tables}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m store.seed", description="Seed the store database.")
    parser.add_argument("--url", default=DEFAULT_SQLITE_URL, help="SQLAlchemy URL (default: %(default)s)")
    parser.add_argument("--reset", action="store_true", help="drop and recreate every table first")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--today",
        default=SEED_TODAY.isoformat(),
        help="the seeded world's today, YYYY-MM-DD or 'now' (default: %(default)s, the tests' and evals' day)",
    )
    args = parser.parse_args(argv)
    today = datetime.now(UTC).date() if args.today == "now" else date.fromisoformat(args.today)
    if args.reset:
        reset_store(make_engine(args.url))
    print(json.dumps(asdict(ensure_store(args.url, seed=args.seed, today=today)), indent=2))


if __name__ == "__main__":
    main()
