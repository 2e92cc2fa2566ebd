"""The billing specialist: invoices, payments, refunds, cancellation fees."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from core.context import Context
from core.state import SupportState
from nodes.desk import (
    Desk,
    Script,
    article_of,
    propose,
    public_article,
    refundable,
    resolve_order,
    run_desk,
    search_kb,
    tell_section,
)
from nodes.instrument import instrumented
from retrieval.answers import pick_answer, section_items


def get_refund(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    order_id = resolve_order(desk, e, statuses=("delivered", "shipped"), purpose="refunded", text=state["request"])
    if order_id is None:
        return
    found = refundable(desk, order_id)
    if found is None:
        return
    order, remaining = found
    if order["status"] not in ("delivered", "shipped"):
        desk.tell(
            f"Order {order_id} is {order['status']}, so it cannot be refunded"
            + (" (it can still be cancelled)." if order["status"] == "pending" else ".")
        )
        return
    if remaining <= 0:
        desk.tell(f"Order {order_id} has already been refunded in full.")
        return
    if e.get("amount_unreadable"):
        desk.ask("I could not read the amount. How much should be refunded, in dollars and cents (for example $25.00)?")
        return
    if "amount_usd" in e:
        requested = Decimal(e["amount_usd"])
    elif "refund_share" in e:  # "refund half of it": a share of the order's total, to the cent
        requested = (Decimal(order["total_cents"]) * Decimal(e["refund_share"]) / 100).quantize(Decimal("0.01"))
    else:
        requested = Decimal(remaining) / 100
    if requested <= 0 or requested != requested.quantize(Decimal("0.01")):
        desk.ask("Refunds are in whole cents and above zero. How much should be refunded (for example $25.00)?")
        return
    if requested * 100 > remaining:
        desk.tell(f"At most ${remaining / 100:,.2f} can still be refunded on order {order_id}.")
        return
    args = {"order_id": order_id, "amount_usd": f"{requested:.2f}", "reason": "customer request"}
    if "to_card_last4" in e:  # another card: policy sends it to a person
        args["to_card_last4"] = e["to_card_last4"]
    propose(desk, ctx, "issue_refund", args)
    if desk.pending:
        desk.tell(
            f"A refund of ${requested:,.2f} for order {order_id} needs approval from a member of our team; "
            "I have sent it for review and will confirm once it is decided."
        )


def track_refund(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """ "Did you ever refund me for order N?": each refund with its amount, date and outcome, and why
    one was rejected or reversed where the store recorded a reason."""
    listed = desk.call("list_refunds", **({"order_id": e["order_id"]} if "order_id" in e else {}))
    for refund in (listed.result or {}).get("refunds", []) if listed.ok else []:
        if refund.get("reason") and refund["status"] in ("rejected", "reversed"):
            desk.tell(f"Refund {refund['refund_id']} was {refund['status']}: {refund['reason'].rstrip('.')}.")


def refund_policy(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    search_kb(desk, state, "refund policy")


INVOICE_ARTICLE = "invoices"
_CORRECTION = re.compile(
    r"\b(?:company|business|tax id|vat|ein|billing name|wrong (?:name|address)|correct\w*|change the name|"
    r"my name on|name on (?:it|the invoice))\b",
    re.IGNORECASE,
)


def invoice(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """The invoice's figures, and how the customer gets it: a PDF they download (we do not email
    invoices), available once the order ships; or how a correction is made, when they ask for one."""
    order_id = e.get("order_id") or e.get("thread_order_id")  # "and email me a copy": the order just discussed
    found = desk.call("get_invoice", order_id=order_id) if order_id else desk.call("list_invoices", limit=3)
    article = public_article(ctx, INVOICE_ARTICLE) if found.ok else None
    if article is None:
        return
    if _CORRECTION.search(state["request"]):
        tell_section(desk, article, INVOICE_ARTICLE, "Corrections", limit=2)
        return
    tell_section(
        desk,
        article,
        INVOICE_ARTICLE,
        "Downloading an invoice",
        keep=lambda s: not s.startswith(("In the mobile app", "If an order ships", "Refunds generate")),
        limit=5,
        lead="You can download it as a PDF: ",
    )


def payment_issue(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    order_id = e.get("order_id") or e.get("thread_order_id")
    if order_id:
        desk.call("get_payment_status", order_id=order_id)
    else:
        desk.call("list_invoices", limit=3)
    search_kb(desk, state, "payment")


PAYMENT_ARTICLE = "payment-methods"
_NAMES_A_METHOD = re.compile(
    r"\b(?:visa|master ?card|amex|american express|discover|paypal|apple ?pay|google ?pay|klarna|gift ?cards?|"
    r"store credit|cash|checks?|cheques?|crypto\w*|bitcoin|wire|money orders?|prepaid|debit|instal+ments?|"
    r"pay later|pay in 4|split)\b",
    re.IGNORECASE,
)


def payment_methods(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """ "Do you take Klarna?" is answered by the sentence about Klarna; "what payment methods do you
    take?" by the list itself."""
    page = article_of(desk, f"accepted payment methods {state['request']}", PAYMENT_ARTICLE)
    accepted = section_items(page["document"], "We accept") if page else []
    if page is None or not accepted:  # the article was not found, or no longer has that list
        search_kb(desk, state, "accepted payment methods")
        return
    if _NAMES_A_METHOD.search(state["request"]):  # from this article, not a dispute page that names Klarna
        answer = pick_answer(state["request"], [page])
        if answer:
            desk.tell(f"{answer[0]} (source: {PAYMENT_ARTICLE})")
        return
    desk.tell("We accept: " + " ".join(accepted) + f" (source: {PAYMENT_ARTICLE})")


def cancellation_fee(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    if "order_id" in e:
        desk.call("get_cancellation_fee", order_id=e["order_id"])
    else:
        search_kb(desk, state, "cancellation fee")


SCRIPTS: dict[str, Script] = {
    "get_refund": get_refund,
    "track_refund": track_refund,
    "check_refund_policy": refund_policy,
    "check_invoice": invoice,
    "get_invoice": invoice,
    "payment_issue": payment_issue,
    "check_payment_methods": payment_methods,
    "check_cancellation_fee": cancellation_fee,
}


@instrumented("billing")
def billing(state: SupportState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    return run_desk("billing", SCRIPTS, refund_policy, state, runtime, config)
