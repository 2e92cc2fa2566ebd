"""The general specialist: orders, delivery, shipping addresses, feedback, newsletter."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from core.context import Context
from core.state import SupportState
from nodes.desk import Desk, Script, article_of, propose, resolve_order, run_desk, search_kb
from nodes.instrument import instrumented
from retrieval.answers import section_leads

_MISSING = re.compile(
    r"\b(?:says?|shows?|marked|tracking says)\s+(?:it\s+(?:was\s+)?)?delivered\b|\bnever (?:arrived|came|got here|received)\b"
    r"|\b(?:missing|stolen|lost)\b|\bnot (?:here|there)\b|\bnothing (?:is )?here\b",
    re.IGNORECASE,
)


def track_order(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    order_id = resolve_order(desk, e, statuses=("pending", "shipped"), purpose="tracked", text=state["request"])
    if order_id is None:
        return
    order = desk.call("get_order", order_id=order_id, quiet=True)
    if order.ok and order.result:
        if order.result["status"] in ("cancelled", "refunded"):
            desk.tell(f"Order {order_id} is {order.result['status']}, so it will not be shipped.")
        else:
            desk.call("get_shipment", order_id=order_id)
    if _MISSING.search(state["request"]):  # "it says delivered but nothing is here": what to do next
        search_kb(desk, state, "lost or missing package")


CONTACT_ARTICLE = "contact-us"
CONTACT_CHANNELS = ("Phone", "Email", "Live chat")


def contact_us(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """ "How do I reach you?" wants every channel, not the one sentence that best matches the words."""
    page = article_of(desk, f"contact customer support {state['request']}", CONTACT_ARTICLE)
    leads = section_leads(page["document"], CONTACT_CHANNELS) if page else []
    if leads:
        desk.tell(" ".join(leads) + f" (source: {CONTACT_ARTICLE})")
    else:
        search_kb(desk, state, "contact us")


_OWN_ORDER = re.compile(
    r"\b(?:my|our|the)\s+(?:\w+\s+)?(?:order|package|parcel|purchase|delivery|shipment|item|stuff)s?\b"
    r"|\b(?:it|they)\s+(?:arrive|get here|come|be delivered)",
    re.IGNORECASE,
)


def delivery_period(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """ "When will my order arrive?" tracks that order; "how long does shipping to Canada
    take?" is a question about delivery times, answered from the help articles."""
    if "order_id" in e or _OWN_ORDER.search(state["request"]):
        track_order(desk, e, state, ctx)
    else:
        search_kb(desk, state)


def cancel_order(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    order_id = resolve_order(desk, e, statuses=("pending",), purpose="cancelled", text=state["request"])
    if order_id is None:
        return
    order = desk.call("get_order", order_id=order_id, quiet=True)
    if not order.ok or order.result is None:
        return
    status = order.result["status"]
    if status == "pending":
        propose(desk, ctx, "cancel_order", {"order_id": order_id})
    elif status in ("cancelled", "refunded"):
        desk.tell(f"Order {order_id} is already {status}, so there is nothing to cancel.")
    elif status == "delivered":
        desk.tell(
            f"Order {order_id} was delivered, so it can no longer be cancelled; "
            "you can return it within 30 days of delivery."
        )
    else:
        desk.tell(
            f"Order {order_id} is {status}, so it can no longer be cancelled; "
            "once it arrives you can return it within 30 days."
        )


def change_address(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    order_id = resolve_order(desk, e, statuses=("pending",), purpose="shipped to a new address", text=state["request"])
    if order_id is None:
        return
    if "address" not in e:
        desk.ask(
            ("I could not read a full address there. " if e.get("address_unreadable") else "")
            + f"What is the new shipping address for order {order_id}? "
            "Please write it as: street, city, state/region, postal code."
        )
        return
    propose(desk, ctx, "update_shipping_address", {"order_id": order_id, "address": e["address"]})


def setup_address(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    if "order_id" in e and "address" in e:
        change_address(desk, e, state, ctx)
    else:
        search_kb(desk, state, "shipping address")


def change_order(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    if "order_id" in e:
        desk.call("get_order", order_id=e["order_id"])
    search_kb(desk, state, "change order")


def newsletter(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """ "Take me off your mailing list" unsubscribes; a message that says neither way is asked about."""
    if "subscribe" not in e:
        desk.ask("Would you like to subscribe to our newsletter, or to stop receiving it?")
        return
    propose(desk, ctx, "set_newsletter", {"subscribed": bool(e["subscribe"])})


def review(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    quoted = e.get("quoted") or []  # 'Post this review: "..."': the review is the quoted text, as written
    args: dict[str, Any] = {"body": quoted[0] if quoted else state["request"]}
    if "order_id" in e:
        args["order_id"] = e["order_id"]
    if "rating" in e:
        args["rating"] = e["rating"]
    propose(desk, ctx, "record_review", args)


def answer_from_kb(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    search_kb(desk, state)


SCRIPTS: dict[str, Script] = {
    "track_order": track_order,
    "delivery_period": delivery_period,
    "cancel_order": cancel_order,
    "change_shipping_address": change_address,
    "set_up_shipping_address": setup_address,
    "change_order": change_order,
    "newsletter_subscription": newsletter,
    "review": review,
    "delivery_options": answer_from_kb,
    "place_order": answer_from_kb,
    "contact_customer_service": contact_us,
}


@instrumented("general")
def general(state: SupportState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    return run_desk("general", SCRIPTS, answer_from_kb, state, runtime, config)
