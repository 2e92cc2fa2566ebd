"""The customer's account, the site's health, tickets, feedback and the knowledge base."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from store.schema import accounts, customers, reviews, service_incidents, tickets
from tools.base import AccessDenied, Args, OrderId, ToolContext, ToolError
from tools.orders import owned_order


class NoArgs(Args):
    pass


def _account(conn: Connection, ctx: ToolContext) -> Any:
    row = conn.execute(
        select(accounts, customers.c.status.label("customer_status"), customers.c.email, customers.c.newsletter)
        .join(customers, customers.c.id == accounts.c.customer_id)
        .where(accounts.c.customer_id == ctx.customer_id)
    ).first()
    if row is None:
        raise AccessDenied("I could not find your account")
    return row


def get_account_status(conn: Connection, ctx: ToolContext) -> dict[str, Any]:
    row = _account(conn, ctx)
    return {
        "username": row.username,
        "status": row.status,
        "failed_logins": row.failed_logins,
        "newsletter": bool(row.newsletter),
        "password_reset_requested": row.password_reset_requested_at is not None,
    }


def describe_account(result: dict[str, Any]) -> list[str]:
    facts = [f"Your account {result['username']} is {result['status']}."]
    if result["status"] == "locked":
        facts.append("It was locked after too many failed sign-in attempts; a password reset unlocks it.")
    return facts


def send_password_reset(conn: Connection, ctx: ToolContext) -> dict[str, Any]:
    row = _account(conn, ctx)
    if row.status == "closed":
        raise ToolError("this account is closed, so a password reset cannot be sent")
    conn.execute(
        update(accounts)
        .where(accounts.c.customer_id == ctx.customer_id)
        .values(password_reset_requested_at=ctx.clock())
    )
    return {"sent_to": "the email address on your account", "unlocks": row.status == "locked"}


def describe_reset(result: dict[str, Any]) -> list[str]:
    facts = ["A password reset link has been sent to the email address on your account; it is valid for 60 minutes."]
    if result["unlocks"]:
        facts.append("Resetting the password also unlocks the account.")
    return facts


def get_service_status(conn: Connection, ctx: ToolContext) -> dict[str, Any]:
    rows = conn.execute(
        select(service_incidents)
        .where(service_incidents.c.status != "resolved")
        .order_by(service_incidents.c.started_at.desc())
    ).all()
    return {"open_incidents": [{"component": r.component, "status": r.status, "title": r.title} for r in rows]}


def describe_service(result: dict[str, Any]) -> list[str]:
    if not result["open_incidents"]:
        return ["All our systems are working normally right now."]
    return [
        f"Known issue with {i['component'].replace('_', ' ')}: {i['title']} ({i['status']})."
        for i in result["open_incidents"]
    ]


class TicketsArgs(Args):
    limit: int = Field(default=5, ge=1, le=20)


def list_tickets(conn: Connection, ctx: ToolContext, limit: int = 5) -> dict[str, Any]:
    rows = conn.execute(
        select(tickets.c.id, tickets.c.subject, tickets.c.status, tickets.c.created_at)
        .where(tickets.c.customer_id == ctx.customer_id)
        .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        .limit(limit)
    ).all()
    return {"tickets": [{"ticket_id": r.id, "subject": r.subject, "status": r.status} for r in rows]}


def describe_tickets(result: dict[str, Any]) -> list[str]:
    if not result["tickets"]:
        return ["You have no earlier support tickets."]
    return [f'Ticket {t["ticket_id"]} "{t["subject"]}" is {t["status"]}.' for t in result["tickets"]]


class TicketArgs(Args):
    subject: str = Field(min_length=3, max_length=200)
    body: str = Field(default="", max_length=8000)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    queue: Literal["support", "manual_review"] = "support"


def create_ticket(
    conn: Connection,
    ctx: ToolContext,
    subject: str,
    body: str = "",
    priority: str = "normal",
    queue: str = "support",
) -> dict[str, Any]:
    ticket_id = conn.execute(
        insert(tickets)
        .values(
            customer_id=ctx.customer_id,
            subject=subject,
            body=body,
            status="open",
            priority=priority,
            department=ctx.node,
            queue=queue,
            thread_id=ctx.thread_id,
            created_at=ctx.clock(),  # the workflow's clock, like every other date the tools write
            idempotency_key=ctx.idempotency_key,
        )
        .returning(tickets.c.id)
    ).scalar_one()
    return {"ticket_id": ticket_id, "queue": queue, "priority": priority}


def describe_ticket(result: dict[str, Any]) -> list[str]:
    if result["queue"] == "manual_review":
        return [f"Ticket {result['ticket_id']} is open in our manual review queue; a person will follow up."]
    return [f"Ticket {result['ticket_id']} is open and a member of our team will contact you."]


def close_ticket(conn: Connection, customer_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """Compensation for create_ticket."""
    now = datetime.now(UTC)
    conn.execute(update(tickets).where(tickets.c.id == result["ticket_id"]).values(status="closed", closed_at=now))
    return {"closed_ticket": result["ticket_id"], "at": now.isoformat()}


class NewsletterArgs(Args):
    subscribed: bool


def set_newsletter(conn: Connection, ctx: ToolContext, subscribed: bool) -> dict[str, Any]:
    previous = conn.execute(
        select(customers.c.newsletter).where(customers.c.id == ctx.customer_id)
    ).scalar_one_or_none()
    if previous is None:
        raise AccessDenied("I could not find your account")
    conn.execute(update(customers).where(customers.c.id == ctx.customer_id).values(newsletter=subscribed))
    return {"subscribed": subscribed, "previous": bool(previous)}


def describe_newsletter(result: dict[str, Any]) -> list[str]:
    if result["subscribed"]:
        return ["You are subscribed to our newsletter."]
    return ["You are unsubscribed from our newsletter and will receive no more issues."]


def restore_newsletter(conn: Connection, customer_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """Compensation for set_newsletter."""
    conn.execute(update(customers).where(customers.c.id == customer_id).values(newsletter=result["previous"]))
    return {"newsletter": result["previous"]}


class ReviewArgs(Args):
    body: str = Field(min_length=1, max_length=4000)
    order_id: OrderId | None = None
    rating: int | None = Field(default=None, ge=1, le=5)


def record_review(
    conn: Connection, ctx: ToolContext, body: str, order_id: int | None = None, rating: int | None = None
) -> dict[str, Any]:
    if order_id is not None:
        owned_order(conn, ctx, order_id)
    review_id = conn.execute(
        insert(reviews)
        .values(
            customer_id=ctx.customer_id,
            order_id=order_id,
            rating=rating,
            body=body,
            created_at=ctx.clock(),  # the workflow's clock, like every other date the tools write
            idempotency_key=ctx.idempotency_key,
        )
        .returning(reviews.c.id)
    ).scalar_one()
    return {"review_id": review_id}


def describe_review(result: dict[str, Any]) -> list[str]:
    return [f"Your feedback is recorded as review {result['review_id']}; thank you."]


class SearchArgs(Args):
    query: str = Field(min_length=2, max_length=500)
    k: int = Field(default=3, ge=1, le=8)


def search_knowledge_base(conn: Connection | None, ctx: ToolContext, query: str, k: int = 3) -> dict[str, Any]:
    if ctx.kb_search is None:
        raise ToolError("the knowledge base is not available")
    return {"query": query, "passages": ctx.kb_search(query, k)}


def describe_passages(result: dict[str, Any]) -> list[str]:
    return [f"[{p['doc_id']}] {p['text']}" for p in result["passages"]]


def close_account(conn: Connection, ctx: ToolContext) -> dict[str, Any]:
    row = _account(conn, ctx)
    if row.status == "closed":
        raise ToolError("this account is already closed")
    conn.execute(update(accounts).where(accounts.c.customer_id == ctx.customer_id).values(status="closed"))
    conn.execute(update(customers).where(customers.c.id == ctx.customer_id).values(status="closed", newsletter=False))
    return {"previous_account_status": row.status, "previous_newsletter": bool(row.newsletter)}


def describe_closed(result: dict[str, Any]) -> list[str]:
    return ["Your account is now closed; you will receive no more emails from us."]


def reopen_account(conn: Connection, customer_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """Compensation for close_account."""
    conn.execute(
        update(accounts).where(accounts.c.customer_id == customer_id).values(status=result["previous_account_status"])
    )
    conn.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(status="active", newsletter=result["previous_newsletter"])
    )
    return {"reopened": customer_id}
