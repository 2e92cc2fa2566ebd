"""The store's tables, in SQLAlchemy Core so the same code runs on SQLite and PostgreSQL.

Money is integer cents (USD). Timestamps go through `UTCDateTime`: they must be
timezone-aware when written and always come back as UTC-aware datetimes, on both
backends (SQLite has no time zones and would otherwise hand back naive values).
Closed vocabularies (statuses, methods, carriers) are exported as tuples and enforced
with CHECK constraints, so a typo in a tool fails loudly instead of storing a new status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)

# Named constraints: portable error messages and clean migrations later.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp with time zone that refuses naive datetimes and reads back in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite returns the stored UTC wall time without tzinfo; PostgreSQL the session zone.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


CUSTOMER_STATUSES: Final = ("active", "closed")
ACCOUNT_STATUSES: Final = ("active", "locked", "closed")
ORDER_STATUSES: Final = ("pending", "shipped", "delivered", "cancelled", "refunded")
SHIPPING_METHODS: Final = ("standard", "express", "international")
INVOICE_STATUSES: Final = ("paid", "open", "failed", "disputed", "void")
PAYMENT_METHODS: Final = ("card", "paypal", "bank_transfer")
PAYMENT_STATUSES: Final = (
    "succeeded",
    "failed",
    "disputed",
    "pending",
    "charged_back",
)  # charged_back: the bank reversed it
REFUND_STATUSES: Final = ("pending", "completed", "rejected", "reversed")
HOLD_KINDS: Final = ("investigation",)
CARRIERS: Final = ("UPS", "FedEx", "DHL", "USPS")
SHIPMENT_STATUSES: Final = ("label_created", "in_transit", "delivered", "returned")
TICKET_STATUSES: Final = ("open", "pending", "closed")
TICKET_PRIORITIES: Final = ("low", "normal", "high", "urgent")
INCIDENT_COMPONENTS: Final = ("checkout", "login", "payments", "search", "mobile_app", "email")
INCIDENT_STATUSES: Final = ("investigating", "monitoring", "resolved")
NODE_OUTCOMES: Final = ("ok", "error")


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)  # constants above, never user input
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


def _money(name: str, **kw: Any) -> Column[int]:
    return Column(name, Integer, nullable=False, **kw)


customers = Table(
    "customers",
    metadata,
    Column("id", String(16), primary_key=True),  # "C0001"
    Column("name", String(128), nullable=False),
    Column("email", String(255), nullable=False, unique=True),
    Column("phone", String(32), nullable=False),
    Column("language", String(8), nullable=False, default="en", server_default="en"),
    Column("status", String(16), nullable=False, default="active", server_default="active"),
    Column("newsletter", Boolean, nullable=False, default=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
    _one_of("status", CUSTOMER_STATUSES),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, unique=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False, default="active", server_default="active"),
    Column("failed_logins", Integer, nullable=False, default=0, server_default="0"),
    Column("last_login_at", UTCDateTime),
    Column("password_reset_requested_at", UTCDateTime),
    _one_of("status", ACCOUNT_STATUSES),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),  # 10001, 10002, ... in placement order
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
    _money("total_cents"),
    Column("currency", String(3), nullable=False, default="USD", server_default="USD"),
    Column("shipping_address", Text, nullable=False),
    Column("shipping_method", String(16), nullable=False),
    _one_of("status", ORDER_STATUSES),
    _one_of("shipping_method", SHIPPING_METHODS),
)

order_items = Table(
    "order_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("sku", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("quantity", Integer, nullable=False),
    _money("unit_price_cents"),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", String(16), primary_key=True),  # "INV-10001", same number as the order
    Column("order_id", ForeignKey("orders.id"), nullable=False, unique=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    _money("amount_cents"),
    Column("status", String(16), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    _one_of("status", INVOICE_STATUSES),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id"), nullable=False, index=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    _money("amount_cents"),
    Column("method", String(16), nullable=False),
    Column("card_last4", String(4)),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    _one_of("method", PAYMENT_METHODS),
    _one_of("status", PAYMENT_STATUSES),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False),
    _money("amount_cents"),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False, default="", server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("idempotency_key", String(128), unique=True),
    _one_of("status", REFUND_STATUSES),
)

# Which order lines a refund gave money back for (an item refund); a whole-order refund has none.
# quantity: units of the line returned (0 when the refund is an amount, not whole units).
refund_items = Table(
    "refund_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("refund_id", ForeignKey("refunds.id"), nullable=False, index=True),
    Column("order_item_id", ForeignKey("order_items.id"), nullable=False, index=True),
    Column("quantity", Integer, nullable=False, default=0, server_default="0"),
    _money("amount_cents"),
)

# An order frozen while something is looked into (a missing-parcel trace, a fraud check): no refund,
# return or replacement until the hold is closed (closed_at set).
order_holds = Table(
    "order_holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    _one_of("kind", HOLD_KINDS),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("carrier", String(8), nullable=False),
    Column("tracking_number", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("shipped_at", UTCDateTime),
    Column("estimated_delivery", Date),
    Column("delivered_at", UTCDateTime),
    _one_of("carrier", CARRIERS),
    _one_of("status", SHIPMENT_STATUSES),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False, default="open", server_default="open"),
    Column("priority", String(16), nullable=False, default="normal", server_default="normal"),
    Column("department", String(16), nullable=False),
    Column("queue", String(32), nullable=False, default="support", server_default="support"),
    Column("thread_id", String(64), index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("idempotency_key", String(128), unique=True),
    _one_of("status", TICKET_STATUSES),
    _one_of("priority", TICKET_PRIORITIES),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("order_id", ForeignKey("orders.id")),
    Column("rating", Integer),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("idempotency_key", String(128), unique=True),
    CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
)

service_incidents = Table(
    "service_incidents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("component", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    _one_of("component", INCIDENT_COMPONENTS),
    _one_of("status", INCIDENT_STATUSES),
)

# What the workflow did and refused. customer_id is deliberately not a foreign key:
# refusals for ids that do not exist are audited too.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("thread_id", String(64), index=True),
    Column("customer_id", String(16), index=True),
    Column("node", String(32)),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("tool", String(64)),
    Column("args_json", Text, nullable=False, default="{}", server_default="{}"),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False, default="", server_default=""),
)

# The idempotency ledger: one row per world-changing tool call, keyed by its idempotency key,
# so a resumed or retried node returns the recorded result instead of acting twice.
effects = Table(
    "effects",
    metadata,
    Column("idempotency_key", String(128), primary_key=True),
    Column("tool", String(64), nullable=False),
    Column("thread_id", String(64), nullable=False, index=True),
    Column("customer_id", String(16), nullable=False),
    Column("args_json", Text, nullable=False),
    Column("result_json", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("compensated_at", UTCDateTime),
    Column("compensation_json", Text),
)

node_runs = Table(
    "node_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("thread_id", String(64), nullable=False, index=True),
    Column("run_id", String(64)),
    Column("customer_id", String(16)),
    Column("node", String(64), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("error_type", String(128)),
    Column("latency_ms", Float, nullable=False),
    Column("tokens", Integer, nullable=False, default=0, server_default="0"),
    Column("cost_usd", Float, nullable=False, default=0.0, server_default="0"),
    Column("model", String(128)),
    Column("cache_hit", Boolean, nullable=False, default=False, server_default=false()),
    _one_of("outcome", NODE_OUTCOMES),
)

# Who took a waiting approval (or rolled a thread back) in the web console: one row per subject
# ("approval:<thread>:<interrupt id>", "rollback:<thread>:<head checkpoint>"), claimed before the
# console resumes the thread through the server, so a double click or two operators at once act
# once and the second is told who was first.
decision_claims = Table(
    "decision_claims",
    metadata,
    Column("subject", String(200), primary_key=True),
    Column("thread_id", String(64), nullable=False, index=True),
    Column("customer_id", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("detail", Text, nullable=False, default="", server_default=""),
)

# -- The email channel (mail/) ----------------------------------------------------------------
# Raw inbound messages are stored before the SMTP server answers 250; a worker claims them with a
# lease. dedupe_key is the Message-ID (or a content hash): the same mail delivered twice is one row.
MAIL_INBOX_STATUSES: Final = ("received", "processing", "done", "failed")
MAIL_OUTBOX_STATUSES: Final = ("pending", "sending", "sent", "failed", "suppressed")
MAIL_CONFIRMATION_STATUSES: Final = ("pending", "used", "superseded", "expired")

mail_inbox = Table(
    "mail_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("message_id", String(255)),
    Column("source", String(16), nullable=False),  # smtp | webhook
    Column("envelope_from", String(320), nullable=False, default="", server_default=""),
    Column("envelope_to", Text, nullable=False, default="[]", server_default="[]"),
    Column("raw", LargeBinary, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("deliveries", Integer, nullable=False, default=1, server_default="1"),
    Column("status", String(16), nullable=False, default="received", server_default="received"),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("available_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("claim_token", String(32)),
    Column("thread_id", String(64), index=True),
    Column("customer_id", String(16), index=True),
    Column("outcome", String(32)),
    Column("detail", Text, nullable=False, default="", server_default=""),
    Column("processed_at", UTCDateTime),
    _one_of("status", MAIL_INBOX_STATUSES),
)

# Every Message-ID we sent or received, and the conversation thread it belongs to.
mail_message_ids = Table(
    "mail_message_ids",
    metadata,
    Column("message_id", String(255), primary_key=True),
    Column("thread_id", String(64), nullable=False, index=True),
    Column("customer_id", String(16)),
    Column("direction", String(3), nullable=False),  # in | out
    Column("created_at", UTCDateTime, nullable=False),
)

# Outgoing mail, written in the same transaction as the result it reports; the deliverer sends
# the stored bytes (stable Message-ID and Date) so a retry is the same message.
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(255), nullable=False, unique=True),  # e.g. reply:<inbox id>
    Column("message_id", String(255), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # reply | ack | outcome | confirm | help | notice
    Column("inbox_id", Integer, index=True),
    Column("thread_id", String(64), index=True),
    Column("customer_id", String(16), index=True),
    Column("to_addr", String(320), nullable=False, index=True),
    Column("subject", String(255), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False, default="pending", server_default="pending"),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("claim_token", String(32)),
    Column("last_error", Text, nullable=False, default="", server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    _one_of("status", MAIL_OUTBOX_STATUSES),
)

# Addresses a bounce said are undeliverable; the outbox suppresses mail to them.
mail_undeliverable = Table(
    "mail_undeliverable",
    metadata,
    Column("address", String(320), primary_key=True),
    Column("status_code", String(16), nullable=False, default="", server_default=""),
    Column("diagnostic", Text, nullable=False, default="", server_default=""),
    Column("bounces", Integer, nullable=False, default=1, server_default="1"),
    Column("first_at", UTCDateTime, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
    Column("inbox_id", Integer),
)

# One-time codes sent to the address on file when an emailed request would change the world and
# the mail carried no trusted DKIM/SPF pass. Only a hash of the code is kept.
mail_confirmations = Table(
    "mail_confirmations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("thread_id", String(64), nullable=False, index=True),
    Column("customer_id", String(16), nullable=False, index=True),
    Column("address", String(320), nullable=False),
    Column("inbox_id", Integer, nullable=False, unique=True),  # the request that needed proof
    Column("request_text", Text, nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False, default="pending", server_default="pending"),
    Column("failed_tries", Integer, nullable=False, default=0, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Column("used_by_inbox_id", Integer),
    _one_of("status", MAIL_CONFIRMATION_STATUSES),
)

OUTREACH_STATUSES: Final = ("queued", "handed", "cancelled")

# One row per recipient of an operator's outreach (a message to many customers), written by the
# approved `queue_outreach` step; the mail channel hands due rows to the outbox, throttled.
outreach_recipients = Table(
    "outreach_recipients",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outreach_id", String(64), nullable=False, index=True),
    Column("customer_id", String(16), nullable=False),
    Column("email", String(320), nullable=False),
    Column("name", String(128), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False, default="queued", server_default="queued"),
    Column("due_at", UTCDateTime, nullable=False),  # the throttle: recipients are spread over time
    Column("queued_at", UTCDateTime, nullable=False),
    Column("handed_at", UTCDateTime),
    Column("outbox_id", Integer),
    UniqueConstraint("outreach_id", "customer_id"),
    _one_of("status", OUTREACH_STATUSES),
)

# -- The people in the loop (approvals, notifications, cases) ---------------------------------
# One row per approval a gate opened (id: thread, branch, turn, node and step of the proposal),
# kept as it moves: waiting -> approved | rejected | responded | expired. The KPIs' turnaround
# and overdue figures are read from here; the checkpoints stay the truth of what waits.
APPROVAL_STATUSES: Final = ("waiting", "approved", "rejected", "responded", "expired")
CASE_STATUSES: Final = ("open", "assigned", "waiting_on_customer", "resolved")
WEBHOOK_STATUSES: Final = ("pending", "sending", "sent", "failed")

approvals = Table(
    "approvals",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("thread_id", String(64), nullable=False, index=True),
    Column("customer_id", String(16), index=True),
    Column("kind", String(64), nullable=False),  # the tool held, or "plan" for a plan review
    Column("department", String(32), nullable=False, default="", server_default=""),
    Column("reason", Text, nullable=False, default="", server_default=""),
    Column("proposed_args_json", Text, nullable=False),
    Column("args_json", Text, nullable=False),  # as decided (an edit changes them)
    Column("needed", Integer, nullable=False, default=1, server_default="1"),
    Column("approvals", Integer, nullable=False, default=0, server_default="0"),
    Column("level", Integer, nullable=False, default=1, server_default="1"),  # 2: the supervisors' queue
    Column("status", String(16), nullable=False, default="waiting", server_default="waiting"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deadline_at", UTCDateTime, nullable=False),
    Column("overdue_at", UTCDateTime),  # when a sweep first found it past its deadline
    Column("decided_at", UTCDateTime),
    Column("decided_by", String(64)),
    _one_of("status", APPROVAL_STATUSES),
)

# Every decision taken on an approval (and every one refused), once: the dedupe key names the
# thread, the approval, the step the gate ran at and the decision, so a gate re-executed after a
# crash does not write it twice. The audit_log row is written in the same transaction.
approval_decisions = Table(
    "approval_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("approval_id", String(200), nullable=False, index=True),
    Column("thread_id", String(64), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(16), nullable=False, default="", server_default=""),
    Column("decision", String(16), nullable=False),  # approve | edit | reject | respond | escalate | expire
    Column("outcome", String(16), nullable=False),  # recorded | executed | rejected | responded | refused | ...
    Column("proposed_args_json", Text, nullable=False, default="{}", server_default="{}"),
    Column("args_json", Text, nullable=False, default="{}", server_default="{}"),
    Column("waited_s", Float, nullable=False, default=0.0, server_default="0"),
    Column("detail", Text, nullable=False, default="", server_default=""),
)

# Signed webhook notifications, one row per (event, receiving URL), written in the transaction of
# what they report and delivered at least once with retries; receivers dedupe on ``event_id``.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(255), nullable=False, unique=True),  # event id + URL
    Column("event_id", String(64), nullable=False, index=True),
    Column("event_type", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=False),  # the exact bytes signed and sent (JSON)
    Column("status", String(16), nullable=False, default="pending", server_default="pending"),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("claim_token", String(32)),
    Column("last_error", Text, nullable=False, default="", server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    _one_of("status", WEBHOOK_STATUSES),
)

# A case: a conversation handed to a person, with the hand-over the escalation wrote. While its
# owner holds it (assigned, waiting on the customer) the bot does not answer in its thread.
cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(255), nullable=False, unique=True),  # the escalation step that opened it
    Column("thread_id", String(64), nullable=False, index=True),
    Column("customer_id", String(16), nullable=False, index=True),
    Column("ticket_id", Integer),
    Column("status", String(24), nullable=False, default="open", server_default="open"),
    Column("owner", String(64)),  # operator:ann while a person holds the thread
    Column("department", String(16), nullable=False, default="escalation", server_default="escalation"),
    Column("urgency", String(16), nullable=False, default="normal", server_default="normal"),
    Column("sentiment", String(16), nullable=False, default="neutral", server_default="neutral"),
    Column("summary", Text, nullable=False, default="", server_default=""),
    Column("handover_json", Text, nullable=False, default="{}", server_default="{}"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("assigned_at", UTCDateTime),
    Column("first_reply_at", UTCDateTime),  # the first reply a person sent the customer
    Column("released_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    _one_of("status", CASE_STATUSES),
)

# What the customer and the person said while a case was open (in: the customer; out: the person).
case_messages = Table(
    "case_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("case_id", Integer, nullable=False, index=True),
    Column("thread_id", String(64), nullable=False),
    Column("direction", String(3), nullable=False),  # in | out
    Column("author", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime),  # when the owner read it (in) / unused (out)
)
