"""Outreach: one message to many customers, chosen from the store by rule and sent by mail.

`find_audience` reads who a message would reach; `queue_outreach` records one row per
recipient (`outreach_recipients`), spread over time so the mail channel sends them throttled.
Both are operator tools: the outreach graph (`graph/outreach.py`) calls them, the support
graph's desks cannot. A recipient is queued once per outreach, whatever retries or replays do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, field_validator
from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from store.schema import (
    ORDER_STATUSES,
    customers,
    mail_undeliverable,
    orders,
    outreach_recipients,
    payments,
    service_incidents,
)
from tools.base import Args, ToolContext, ToolError

MAX_AUDIENCE = 100_000


class AudienceArgs(Args):
    incident_id: int | None = None  # customers with an order or a payment during the incident
    order_statuses: tuple[str, ...] = ()  # customers with an order in one of these states
    customer_ids: tuple[str, ...] = ()  # named customers
    limit: Annotated[int, Field(ge=1, le=MAX_AUDIENCE)] = MAX_AUDIENCE

    @field_validator("order_statuses")
    @classmethod
    def _known_statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(ORDER_STATUSES))
        if unknown:
            raise ValueError(f"unknown order status {', '.join(unknown)} (known: {', '.join(ORDER_STATUSES)})")
        return value


class QueueArgs(Args):
    outreach_id: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    subject: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=8000)]
    customer_ids: Annotated[tuple[str, ...], Field(min_length=1, max_length=MAX_AUDIENCE)]
    per_minute: Annotated[int, Field(ge=1, le=100_000)] = 60
    start_at: str | None = None  # ISO 8601: when the first message is due (the workflow's clock)


def _incident(conn: Connection, incident_id: int) -> Any:
    row = conn.execute(select(service_incidents).where(service_incidents.c.id == incident_id)).first()
    if row is None:
        raise ToolError(f"there is no incident {incident_id}")
    return row


def find_audience(
    conn: Connection,
    ctx: ToolContext,
    *,
    incident_id: int | None = None,
    order_statuses: tuple[str, ...] = (),
    customer_ids: tuple[str, ...] = (),
    limit: int = MAX_AUDIENCE,
) -> dict[str, Any]:
    """Active customers who match every criterion given, with a deliverable address, by id."""
    if incident_id is None and not order_statuses and not customer_ids:
        raise ToolError("name who the message is for: an incident, order states or customer ids")
    query = (
        select(customers.c.id, customers.c.name, customers.c.email)
        .where(customers.c.status == "active")
        .where(~customers.c.email.in_(select(mail_undeliverable.c.address)))
    )
    criteria: list[str] = []
    found_incident = None
    if incident_id is not None:
        row = _incident(conn, incident_id)
        start, end = row.started_at, row.resolved_at or datetime.now(UTC)
        placed = select(orders.c.customer_id).where(orders.c.placed_at.between(start, end))
        paid = select(payments.c.customer_id).where(payments.c.created_at.between(start, end))
        query = query.where(or_(customers.c.id.in_(placed), customers.c.id.in_(paid)))
        criteria.append(f"an order or payment during incident {incident_id} ({row.title})")
        found_incident = {"title": str(row.title), "body": str(row.body)}
    if order_statuses:
        holding = select(orders.c.customer_id).where(orders.c.status.in_(order_statuses))
        query = query.where(customers.c.id.in_(holding))
        criteria.append("an order that is " + " or ".join(order_statuses))
    if customer_ids:
        query = query.where(customers.c.id.in_(customer_ids))
        criteria.append(f"one of {len(customer_ids)} named customers")
    rows = conn.execute(query.order_by(customers.c.id).limit(limit)).all()
    return {
        "customers": [{"customer_id": r.id, "name": r.name, "email": r.email} for r in rows],
        "count": len(rows),
        "criteria": "; ".join(criteria),
        "incident": found_incident,
    }


def describe_audience(result: dict[str, Any]) -> list[str]:
    return [f"The message would reach {result['count']} customers ({result['criteria']})."]


def queue_outreach(
    conn: Connection,
    ctx: ToolContext,
    *,
    outreach_id: str,
    subject: str,
    body: str,
    customer_ids: tuple[str, ...],
    per_minute: int = 60,
    start_at: str | None = None,
) -> dict[str, Any]:
    """One queued row per recipient, due ``60 / per_minute`` seconds apart; {name} becomes each name."""
    first = datetime.fromisoformat(start_at) if start_at else datetime.now(UTC)
    first = first if first.tzinfo else first.replace(tzinfo=UTC)
    known = {
        r.id: r
        for r in conn.execute(
            select(customers.c.id, customers.c.name, customers.c.email).where(
                and_(customers.c.id.in_(customer_ids), customers.c.status == "active")
            )
        )
    }
    missing = [c for c in customer_ids if c not in known]
    if missing:
        raise ToolError(f"{len(missing)} recipient(s) are not active customers: {', '.join(missing[:5])}")
    gap = timedelta(seconds=60 / per_minute)
    already = set(
        conn.execute(
            select(outreach_recipients.c.customer_id).where(outreach_recipients.c.outreach_id == outreach_id)
        ).scalars()
    )
    rows = [
        {
            "outreach_id": outreach_id,
            "customer_id": cid,
            "email": known[cid].email.lower(),
            "name": known[cid].name,
            "subject": subject,
            "body": body.replace("{name}", known[cid].name.split()[0]),
            "status": "queued",
            "due_at": first + n * gap,
            "queued_at": datetime.now(UTC),
        }
        for n, cid in enumerate(customer_ids)
        if cid not in already
    ]
    if rows:
        conn.execute(outreach_recipients.insert(), rows)
    return {"outreach_id": outreach_id, "queued": len(rows) + len(already), "per_minute": per_minute}


def describe_queued(result: dict[str, Any]) -> list[str]:
    return [
        f"Outreach {result['outreach_id']}: {result['queued']} messages queued, "
        f"sent at up to {result['per_minute']} a minute."
    ]


def cancel_queued(conn: Connection, key: str, result: dict[str, Any]) -> dict[str, Any]:
    """Rollback: the messages not yet handed to the mail outbox are not sent (sent mail stays sent)."""
    cancelled = conn.execute(
        outreach_recipients.update()
        .where(outreach_recipients.c.outreach_id == result["outreach_id"], outreach_recipients.c.status == "queued")
        .values(status="cancelled")
    ).rowcount
    return {"cancelled": int(cancelled or 0)}
