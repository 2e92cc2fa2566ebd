"""The general specialist: orders, delivery, shipping addresses, feedback, newsletter.

Tracking reads dates against today (the settings' clock): an estimate already past is said as
late, with what happens next from the help article on missing parcels; "it says delivered but
nothing is here" gets that article's steps. Questions about shipping costs and destinations are
answered from the shipping articles (their tables), never with "which order?".
"""

from __future__ import annotations

import re
from datetime import date
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
    resolve_order,
    run_desk,
    search_kb,
    tell_items,
    tell_section,
)
from nodes.instrument import instrumented
from retrieval.answers import section_items, section_leads

_MISSING = re.compile(
    r"\b(?:says?|shows?|showing|marked|listed|tracking says)\b.{0,40}\bdelivered\b"
    r"|\bdelivered\b.{0,60}\b(?:never (?:got|received|arrived|came)|not (?:here|there)|no (?:box|package|parcel|sign)"
    r"|(?:is|'s) empty|nowhere|can'?t find|don'?t have|haven'?t (?:got|received))"
    r"|\bnever (?:arrived|came|got here|got it|received)\b|\b(?:missing|stolen|lost)\b|\bnot (?:here|there)\b"
    r"|\bnothing (?:is )?here\b|\bno (?:box|package|parcel) (?:anywhere|here)\b|\bporch is empty\b",
    re.IGNORECASE,
)
PARCEL_ARTICLE = "lost-or-missing-packages"
_DELIVERED_BUT_MISSING = "Tracking says delivered but you don't have it"


def _named_orders(e: dict[str, Any]) -> list[int]:
    """Every order the message names ("where are 11080 and 11045?"), or none."""
    return [int(o) for o in e.get("order_ids", [])] if "order_id" in e else []


def track_order(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    if "order_id" not in e and asks_about_shipping(state["request"]):  # "is shipping free if my order is big?"
        shipping_question(desk, e, state, ctx)
        return
    named = _named_orders(e)
    if len(named) > 1:
        for order_id in named[:4]:
            _track(desk, order_id, state, ctx)
        return
    resolved = resolve_order(desk, e, statuses=("pending", "shipped"), purpose="tracked", text=state["request"])
    if resolved is not None:
        _track(desk, resolved, state, ctx)


def _track(desk: Desk, order_id: int, state: SupportState, ctx: Context) -> None:
    order = desk.call("get_order", order_id=order_id, quiet=True)
    shipment: dict[str, Any] | None = None
    if order.ok and order.result:
        if order.result["status"] in ("cancelled", "refunded"):
            desk.tell(f"Order {order_id} is {order.result['status']}, so it will not be shipped.")
        else:
            found = desk.call("get_shipment", order_id=order_id)
            shipment = (found.result or {}).get("shipment") if found.ok else None
    late = _say_when(desk, order_id, shipment, ctx.settings.now().date()) if shipment else False
    missing = bool(_MISSING.search(state["request"]))  # "it says delivered but nothing is here"
    if not (late or missing):
        return
    page = article_of(desk, f"lost or missing package {state['request']}", PARCEL_ARTICLE)
    if page is None:
        search_kb(desk, state, "lost or missing package")
        return
    document = str(page["document"])
    if missing and (shipment is None or shipment["status"] == "delivered"):
        tell_section(desk, document, PARCEL_ARTICLE, _DELIVERED_BUT_MISSING, limit=5, lead="What to do now: ")
    elif late:  # when to report it, how, and what we then do
        steps = [
            *section_items(document, "Tracking hasn't moved")[:1],
            *[s for s in section_items(document, _DELIVERED_BUT_MISSING) if "Report a problem" in s],
            *section_items(document, "What we do")[:2],
        ]
        tell_items(desk, steps, PARCEL_ARTICLE, lead="What happens next: ")
    if order.ok and order.result and order.result.get("shipping_method") == "express" and late:
        desk.tell(
            "Because it was sent by express and is late, you can ask for the express fee back in chat or "
            'through "Report a problem" on the order page.'
        )


def _say_when(desk: Desk, order_id: int, shipment: dict[str, Any], today: date) -> bool:
    """Restate the tool's estimate against today: late (True), due today, or as it was."""
    eta = shipment.get("estimated_delivery")
    if shipment["status"] != "in_transit" or not eta:
        return False
    due = date.fromisoformat(str(eta))
    said = f"Order {order_id} was shipped on {shipment['shipped_on']} and is expected on {eta}."
    if due < today:
        days = (today - due).days
        new = (
            f"Order {order_id} was shipped on {shipment['shipped_on']} and was expected on {eta}, so it is "
            f"{days} day{'s' if days != 1 else ''} late and still in transit with {shipment['carrier']}."
        )
    elif due == today:
        new = f"Order {order_id} was shipped on {shipment['shipped_on']} and is expected today, {eta}."
    else:
        return False
    desk.facts = [new if f == said else f for f in desk.facts]
    desk.evidence.append(new)
    return due < today


# -- shipping questions: costs, free shipping, destinations --------------------------------------------

SHIPPING_ARTICLE = "shipping-options"
ABROAD_ARTICLE = "international-shipping"
_SHIPPING = re.compile(r"\b(?:ship\w*|deliver\w*|send\w*|sent|postage|courier|express|standard)\b", re.I)
_COST = re.compile(r"\b(?:cost\w*|price\w*|charge\w*|fees?|how much|free|expensive|cheap\w*|pay)\b", re.I)
_ASKS_ABOUT = re.compile(r"\b(?:how|what|which|is|are|do|does|can|could|would|will)\b|\?", re.I)
_CANADA = r"canada|canadian|toronto|montreal|vancouver|ottawa|calgary|ontario|quebec|british columbia|alberta"
_UK = r"uk|u\.k\.|united kingdom|britain|great britain|england|scotland|wales|northern ireland|london|manchester"
_EU_COUNTRIES = [
    "Austria",
    "Belgium",
    "Bulgaria",
    "Croatia",
    "Cyprus",
    "Czechia",
    "Denmark",
    "Estonia",
    "Finland",
    "France",
    "Germany",
    "Greece",
    "Hungary",
    "Ireland",
    "Italy",
    "Latvia",
    "Lithuania",
    "Luxembourg",
    "Malta",
    "Netherlands",
    "Poland",
    "Portugal",
    "Romania",
    "Slovakia",
    "Slovenia",
    "Spain",
    "Sweden",
]
_EU = r"eu|europe|european union|czech republic|holland|" + "|".join(c.lower() for c in _EU_COUNTRIES)
_ABROAD_UNSERVED = (
    r"mexico|australia|norway|switzerland|japan|china|india|brazil|new zealand|south africa|singapore|korea|"
    r"iceland|turkey|israel|russia|ukraine|argentina|chile|colombia|philippines|indonesia|uae|dubai|nigeria"
)
_DESTINATION = {
    "Canada": re.compile(rf"\b(?:{_CANADA})\b", re.I),
    "United Kingdom": re.compile(rf"\b(?:{_UK})\b", re.I),
    "European Union": re.compile(rf"\b(?:{_EU})\b", re.I),
    "unserved": re.compile(rf"\b(?:{_ABROAD_UNSERVED})\b", re.I),
}


def asks_about_shipping(text: str) -> bool:
    """A question about shipping itself (its cost, whether it is free, a destination), not about an order."""
    return bool(
        _SHIPPING.search(text)
        and _ASKS_ABOUT.search(text)
        and (_COST.search(text) or any(p.search(text) for p in _DESTINATION.values()))
    )


def shipping_question(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """The row of the shipping table for the place asked about, or the US options; a place we do
    not ship to is told so. One article, read through the knowledge-base tool."""
    request = state["request"]
    where = next((name for name, pattern in _DESTINATION.items() if pattern.search(request)), None)
    if where is None:
        page = article_of(desk, f"shipping options costs {request}", SHIPPING_ARTICLE)
        if page is None or not tell_section(desk, str(page["document"]), SHIPPING_ARTICLE, "Options", limit=2):
            search_kb(desk, state, "shipping costs")
        return
    page = article_of(desk, f"international shipping {where} {request}", ABROAD_ARTICLE)
    if page is None:
        search_kb(desk, state, "international shipping")
        return
    document = str(page["document"])
    if where == "unserved":
        intro = section_items(document, "International shipping")
        desk.tell(" ".join(intro) + f" (source: {ABROAD_ARTICLE})")
        desk.cite(ABROAD_ARTICLE)
        return
    named = next((c for c in _EU_COUNTRIES if re.search(rf"\b{c}\b", request, re.I)), None)
    lead = f"{named} is in the European Union. " if where == "European Union" and named else ""
    tell_section(
        desk,
        document,
        ABROAD_ARTICLE,
        "Delivery times and costs",
        keep=lambda s: s.startswith(where) or s.startswith("International Standard is free"),
        limit=2,
        lead=lead,
    )


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
    if "order_id" in e or (_OWN_ORDER.search(state["request"]) and not asks_about_shipping(state["request"])):
        track_order(desk, e, state, ctx)
    elif asks_about_shipping(state["request"]):
        shipping_question(desk, e, state, ctx)
    else:
        search_kb(desk, state)


def cancel_order(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    if desk.replay_earlier("cancel_order"):
        return
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
    else:  # shipped: what the customer can still do (cancel-order, "Orders that have shipped")
        desk.tell(
            f"Order {order_id} is {status}, so it can no longer be cancelled. You can refuse the delivery, so the "
            "parcel goes back to us and we refund you once it arrives, or accept it and return it within 30 days."
        )


ADDRESS_ARTICLE = "change-shipping-address"
# the customer names why they cannot change it themselves: look at the order before asking for an address
_CANNOT_CHANGE = re.compile(
    r"\b(?:greyed|grayed|grey|gray)(?:ed)? out\b|\b(?:can'?t|cannot|won'?t let me|unable to|doesn'?t let me|"
    r"not able to)\b.{0,30}\b(?:change|edit|update)\b|\bno (?:option|button) to\b",
    re.IGNORECASE,
)


def change_address(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    if desk.replay_earlier("update_shipping_address"):
        return
    order_id = resolve_order(desk, e, statuses=("pending",), purpose="shipped to a new address", text=state["request"])
    if order_id is None:
        return
    # Before asking for a new address (or when the customer says the change is blocked), look at the
    # order: a shipped one cannot take an address, and asking for one would waste the customer's reply.
    if "address" not in e or _CANNOT_CHANGE.search(state["request"]):
        order = desk.call("get_order", order_id=order_id, quiet=True)
        if order.ok and order.result and order.result["status"] != "pending":
            _address_locked(desk, order_id, str(order.result["status"]), state)
            return
    if "address" not in e:
        desk.ask(
            ("I could not read a full address there. " if e.get("address_unreadable") else "")
            + f"What is the new shipping address for order {order_id}? "
            "Please write it as: street, city, state/region, postal code."
        )
        return
    propose(desk, ctx, "update_shipping_address", {"order_id": order_id, "address": e["address"]})
    refused = [f for f in desk.failures if f.name == "update_shipping_address" and "before it ships" in (f.error or "")]
    if refused:
        _address_locked(desk, order_id, "shipped", state)


def _address_locked(desk: Desk, order_id: int, status: str, state: SupportState) -> None:
    """A shipped order's address is locked on our side; the carrier may still redirect it."""
    if status != "shipped":
        desk.tell(f"Order {order_id} is {status}, so its delivery address can no longer be changed.")
        return
    found = desk.call("get_shipment", order_id=order_id, quiet=True)
    carrier = str(((found.result or {}).get("shipment") or {}).get("carrier", "")) if found.ok else ""
    page = article_of(desk, f"change delivery address after shipped {carrier} {state['request']}", ADDRESS_ARTICLE)
    lead = (
        f"Order {order_id} has shipped{f' with {carrier}' if carrier else ''}, so its address is locked on our side. "
    )
    if page is None or not tell_section(
        desk,
        str(page["document"]),
        ADDRESS_ARTICLE,
        "After the order has shipped",
        keep=lambda s: (bool(carrier) and s.startswith(f"{carrier}:")) or s.startswith("If redirection"),
        limit=2,
        lead=lead,
    ):
        desk.tell(lead.strip())


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
    if asks_about_shipping(state["request"]):
        shipping_question(desk, e, state, ctx)
    else:
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
