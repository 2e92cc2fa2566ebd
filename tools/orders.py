"""Orders, shipments, addresses: what the general specialist works with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from store.schema import order_items, orders, shipments
from tools.base import AccessDenied, Args, OrderId, ToolContext, ToolError, usd


def owned_order(conn: Connection, ctx: ToolContext, order_id: int) -> Any:
    """The order if it belongs to the context customer; otherwise the same error as 'not found'."""
    row = conn.execute(select(orders).where(orders.c.id == order_id, orders.c.customer_id == ctx.customer_id)).first()
    if row is None:
        raise AccessDenied(f"I could not find order {order_id} on your account")
    return row


def _day(value: Any) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else (value.isoformat() if value else None)


class ListOrdersArgs(Args):
    limit: int = Field(default=5, ge=1, le=20)


def list_orders(conn: Connection, ctx: ToolContext, limit: int = 5) -> dict[str, Any]:
    rows = conn.execute(
        select(orders.c.id, orders.c.status, orders.c.placed_at, orders.c.total_cents)
        .where(orders.c.customer_id == ctx.customer_id)
        .order_by(orders.c.placed_at.desc(), orders.c.id.desc())
        .limit(limit)
    ).all()
    names: dict[int, list[str]] = {}
    if rows:  # what is in each order, so "the broken headphones" can name one
        for item in conn.execute(
            select(order_items.c.order_id, order_items.c.name)
            .where(order_items.c.order_id.in_([r.id for r in rows]))
            .order_by(order_items.c.id)
        ):
            names.setdefault(item.order_id, []).append(item.name)
    return {
        "orders": [
            {
                "order_id": r.id,
                "status": r.status,
                "placed_on": _day(r.placed_at),
                "total": usd(r.total_cents),
                "items": names.get(r.id, []),
            }
            for r in rows
        ]
    }


def describe_orders(result: dict[str, Any]) -> list[str]:
    if not result["orders"]:
        return ["You have no orders with us yet."]
    return [
        f"Order {o['order_id']} placed on {o['placed_on']} for {o['total']} is {o['status']}." for o in result["orders"]
    ]


class OrderArgs(Args):
    order_id: OrderId


def get_order(conn: Connection, ctx: ToolContext, order_id: int) -> dict[str, Any]:
    row = owned_order(conn, ctx, order_id)
    items = conn.execute(
        select(order_items.c.name, order_items.c.quantity, order_items.c.unit_price_cents)
        .where(order_items.c.order_id == order_id)
        .order_by(order_items.c.id)
    ).all()
    return {
        "order_id": row.id,
        "status": row.status,
        "placed_on": _day(row.placed_at),
        "total": usd(row.total_cents),
        "total_cents": row.total_cents,
        "shipping_method": row.shipping_method,
        "shipping_address": row.shipping_address,
        "items": [{"name": i.name, "quantity": i.quantity, "unit_price": usd(i.unit_price_cents)} for i in items],
    }


def describe_order(result: dict[str, Any]) -> list[str]:
    items = ", ".join(f"{i['quantity']} x {i['name']}" for i in result["items"])
    return [
        f"Order {result['order_id']} placed on {result['placed_on']} for {result['total']} is {result['status']}.",
        f"Order {result['order_id']} contains {items}.",
    ]


def get_shipment(conn: Connection, ctx: ToolContext, order_id: int) -> dict[str, Any]:
    order = owned_order(conn, ctx, order_id)
    row = conn.execute(
        select(shipments).where(shipments.c.order_id == order_id).order_by(shipments.c.id.desc())
    ).first()
    if row is None:
        return {"order_id": order_id, "order_status": order.status, "shipment": None}
    return {
        "order_id": order_id,
        "order_status": order.status,
        "shipment": {
            "carrier": row.carrier,
            "tracking_number": row.tracking_number,
            "status": row.status,
            "shipped_on": _day(row.shipped_at),
            "estimated_delivery": _day(row.estimated_delivery),
            "delivered_on": _day(row.delivered_at),
        },
    }


def describe_shipment(result: dict[str, Any]) -> list[str]:
    shipment, order_id = result["shipment"], result["order_id"]
    if shipment is None:
        return [f"Order {order_id} is {result['order_status']} and has not been shipped yet."]
    facts = [f"Order {order_id} ships with {shipment['carrier']}, tracking number {shipment['tracking_number']}."]
    if shipment["delivered_on"]:
        facts.append(f"Order {order_id} was delivered on {shipment['delivered_on']}.")
    elif shipment["status"] == "in_transit":
        facts.append(
            f"Order {order_id} was shipped on {shipment['shipped_on']} and is expected on {shipment['estimated_delivery']}."
        )
    else:
        facts.append(f"The shipping label for order {order_id} is created; it has not left our warehouse yet.")
    return facts


def cancel_order(conn: Connection, ctx: ToolContext, order_id: int) -> dict[str, Any]:
    order = owned_order(conn, ctx, order_id)
    if order.status != "pending":
        raise ToolError(
            f"order {order_id} is {order.status}; only pending orders can be cancelled (a return is possible once delivered)"
        )
    conn.execute(update(orders).where(orders.c.id == order_id).values(status="cancelled"))
    return {"order_id": order_id, "previous_status": order.status, "status": "cancelled"}


def describe_cancel(result: dict[str, Any]) -> list[str]:
    return [f"Order {result['order_id']} is now cancelled."]


class AddressArgs(Args):
    order_id: OrderId
    address: str = Field(min_length=8, max_length=300)


def update_shipping_address(conn: Connection, ctx: ToolContext, order_id: int, address: str) -> dict[str, Any]:
    order = owned_order(conn, ctx, order_id)
    if order.status != "pending":
        raise ToolError(f"order {order_id} is {order.status}; the address can only change before it ships")
    conn.execute(update(orders).where(orders.c.id == order_id).values(shipping_address=address))
    return {"order_id": order_id, "previous_address": order.shipping_address, "address": address}


def describe_address(result: dict[str, Any]) -> list[str]:
    return [f"Order {result['order_id']} will now ship to {result['address']}."]


def restore_order(conn: Connection, customer_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """Compensation for cancel_order / update_shipping_address: put back what was there."""
    values: dict[str, Any] = {}
    if "previous_status" in result:
        values["status"] = result["previous_status"]
    if "previous_address" in result:
        values["shipping_address"] = result["previous_address"]
    conn.execute(
        update(orders).where(orders.c.id == result["order_id"], orders.c.customer_id == customer_id).values(**values)
    )
    return {"restored": values, "at": datetime.now(UTC).isoformat()}
