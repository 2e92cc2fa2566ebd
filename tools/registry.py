"""The one place that says which tool exists, what it does, and which node may call it.

The gateway checks this table on every call; binding a subset of tools to a
model is a convenience, never the enforcement.
"""

from __future__ import annotations

from typing import Final

from tools import account, billing, orders, outreach
from tools.base import ToolSpec

TOOLS: Final[dict[str, ToolSpec]] = {
    spec.name: spec
    for spec in (
        # reads
        ToolSpec(
            "list_orders",
            orders.list_orders,
            orders.ListOrdersArgs,
            False,
            "The customer's most recent orders.",
            orders.describe_orders,
        ),
        ToolSpec(
            "get_order",
            orders.get_order,
            orders.OrderArgs,
            False,
            "One of the customer's orders with its items.",
            orders.describe_order,
        ),
        ToolSpec(
            "get_shipment",
            orders.get_shipment,
            orders.OrderArgs,
            False,
            "Carrier, tracking and delivery dates of an order.",
            orders.describe_shipment,
        ),
        ToolSpec(
            "get_invoice",
            billing.get_invoice,
            orders.OrderArgs,
            False,
            "The invoice of an order.",
            billing.describe_invoice,
        ),
        ToolSpec(
            "list_invoices",
            billing.list_invoices,
            billing.ListArgs,
            False,
            "The customer's recent invoices.",
            billing.describe_invoices,
        ),
        ToolSpec(
            "get_payment_status",
            billing.get_payment_status,
            orders.OrderArgs,
            False,
            "Payments taken for an order and their status.",
            billing.describe_payments,
        ),
        ToolSpec(
            "list_refunds",
            billing.list_refunds,
            billing.RefundsArgs,
            False,
            "Refunds on the account or one order.",
            billing.describe_refunds,
        ),
        ToolSpec(
            "check_refund",
            billing.check_refund,
            billing.CheckRefundArgs,
            False,
            "What the refund policy allows for an order or one of its items (read before proposing a refund).",
            billing.describe_check,
        ),
        ToolSpec(
            "get_cancellation_fee",
            billing.get_cancellation_fee,
            orders.OrderArgs,
            False,
            "What cancelling an order would cost.",
            billing.describe_fee,
        ),
        ToolSpec(
            "get_account_status",
            account.get_account_status,
            account.NoArgs,
            False,
            "Whether the account is active, locked or closed.",
            account.describe_account,
        ),
        ToolSpec(
            "get_service_status",
            account.get_service_status,
            account.NoArgs,
            False,
            "Known incidents on the site, app and payments.",
            account.describe_service,
        ),
        ToolSpec(
            "list_tickets",
            account.list_tickets,
            account.TicketsArgs,
            False,
            "The customer's earlier support tickets.",
            account.describe_tickets,
        ),
        ToolSpec(
            "search_knowledge_base",
            account.search_knowledge_base,
            account.SearchArgs,
            False,
            "Passages of the store's help articles.",
            account.describe_passages,
        ),
        # writes: idempotent through the effects ledger, compensable on rollback
        ToolSpec(
            "issue_refund",
            billing.issue_refund,
            billing.RefundArgs,
            True,
            "Refund an order, in full or in part.",
            billing.describe_refund,
            billing.reverse_refund,
        ),
        ToolSpec(
            "cancel_order",
            orders.cancel_order,
            orders.OrderArgs,
            True,
            "Cancel a pending order.",
            orders.describe_cancel,
            orders.restore_order,
        ),
        ToolSpec(
            "update_shipping_address",
            orders.update_shipping_address,
            orders.AddressArgs,
            True,
            "Change where a pending order ships.",
            orders.describe_address,
            orders.restore_order,
        ),
        ToolSpec(
            "send_password_reset",
            account.send_password_reset,
            account.NoArgs,
            True,
            "Email a password reset link.",
            account.describe_reset,
        ),
        ToolSpec(
            "set_newsletter",
            account.set_newsletter,
            account.NewsletterArgs,
            True,
            "Subscribe to or unsubscribe from the newsletter.",
            account.describe_newsletter,
            account.restore_newsletter,
        ),
        ToolSpec(
            "record_review",
            account.record_review,
            account.ReviewArgs,
            True,
            "Record the customer's feedback.",
            account.describe_review,
        ),
        ToolSpec(
            "close_account",
            account.close_account,
            account.NoArgs,
            True,
            "Close the customer's account.",
            account.describe_closed,
            account.reopen_account,
        ),
        ToolSpec(
            "find_audience",
            outreach.find_audience,
            outreach.AudienceArgs,
            False,
            "Active customers with a deliverable address who match an outreach's criteria.",
            outreach.describe_audience,
        ),
        ToolSpec(
            "queue_outreach",
            outreach.queue_outreach,
            outreach.QueueArgs,
            True,
            "Queue one message per recipient of an approved outreach, throttled.",
            outreach.describe_queued,
            outreach.cancel_queued,
        ),
        ToolSpec(
            "create_ticket",
            account.create_ticket,
            account.TicketArgs,
            True,
            "Open a ticket for a person to handle.",
            account.describe_ticket,
            account.close_ticket,
        ),
    )
}

# node -> tools it may call. The coordinator has none: it only routes.
PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "coordinator": frozenset(),
    "billing": frozenset(
        {
            "list_orders",
            "get_order",
            "get_invoice",
            "list_invoices",
            "get_payment_status",
            "list_refunds",
            "check_refund",
            "get_cancellation_fee",
            "issue_refund",
            "search_knowledge_base",
            "create_ticket",
        }
    ),
    "technical": frozenset(
        {
            "get_account_status",
            "send_password_reset",
            "get_service_status",
            "list_tickets",
            "search_knowledge_base",
            "create_ticket",
            "close_account",
        }
    ),
    "general": frozenset(
        {
            "list_orders",
            "get_order",
            "get_shipment",
            "cancel_order",
            "update_shipping_address",
            "set_newsletter",
            "record_review",
            "search_knowledge_base",
            "create_ticket",
        }
    ),
    "escalation": frozenset({"create_ticket", "list_tickets"}),
    # operator-initiated: a message to many customers (graph/outreach.py), never a customer's turn
    "outreach": frozenset({"find_audience", "queue_outreach"}),
}


def allowed(node: str, tool: str) -> bool:
    return tool in PERMISSIONS.get(node, frozenset())


def tools_for(node: str) -> list[ToolSpec]:
    return [TOOLS[name] for name in sorted(PERMISSIONS.get(node, frozenset())) if name in TOOLS]


def permission_matrix() -> list[dict[str, object]]:
    """tool -> nodes allowed, and whether it changes the world (for `switchboard admin tools`)."""
    return [
        {
            "tool": name,
            "nodes": sorted(node for node, tools in PERMISSIONS.items() if name in tools),
            "changes_world": spec.changes_world,
            "description": spec.description,
        }
        for name, spec in sorted(TOOLS.items())
    ]
