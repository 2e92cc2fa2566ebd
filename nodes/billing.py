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
    resolve_order,
    run_desk,
    search_kb,
    tell_section,
)
from nodes.instrument import instrumented
from retrieval.answers import pick_answer, section_items
from tools.gateway import ToolOutcome

WARRANTY_ARTICLE = "warranty-and-protection-plans"


def get_refund(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """A refund, as the store's written policy allows it (`tools.refund_policy`).

    The amount is read, never guessed: an unreadable or vague one is asked about. An item named
    as the thing to refund ("just the laptop stand") is that line's price. The ``check_refund``
    tool says what the policy allows before anything is proposed; ``issue_refund`` decides the
    same again when it runs. A refusal says which rule and what the customer can do next.
    """
    if desk.replay_earlier("issue_refund"):
        return
    order_id = resolve_order(desk, e, statuses=("delivered", "shipped"), purpose="refunded", text=state["request"])
    if order_id is None:
        return
    if e.get("amount_unreadable"):
        problem = e.get("amount_problem")
        desk.ask(
            (f"I could not use that amount ({problem}). " if problem else "I could not read the amount. ")
            + f"How much should be refunded on order {order_id}, in dollars and cents above zero (for example $25.00)?"
        )
        return
    if e.get("amount_vague") and "item" not in e:
        desk.ask(
            f"How much should be refunded on order {order_id}, in dollars and cents (for example $25.00), "
            "or which item is the refund for?"
        )
        return
    args: dict[str, Any] = {"order_id": order_id}
    # an item the refund is for; an item a complaint is about, with an amount of its own, is the order's
    if "item" in e and (e.get("item_scope") == "refund" or "amount_usd" not in e):
        args["item"] = str(e["item"])[:80]
        if e.get("item_quantity"):
            args["quantity"] = int(e["item_quantity"])
    if "amount_usd" in e:
        args["amount_usd"] = e["amount_usd"]
    if e.get("to_card_last4"):
        args["to_card_last4"] = e["to_card_last4"]
    check = desk.call("check_refund", quiet=True, **args)
    if check.ok and check.result and "refund_share" in e and "amount_usd" not in args:
        # "refund half of it": a share of the order's total, to the cent, checked like any amount
        total = Decimal(check.result["total_cents"]) / 100
        share = (total * Decimal(e["refund_share"])).quantize(Decimal("0.01"))
        check = desk.call("check_refund", quiet=True, **{**args, "amount_usd": f"{share:.2f}"})
    if not check.ok:
        if check.error_type == "PolicyRefused" and desk.replay_earlier("issue_refund"):
            desk.failures.remove(check)  # refused because this very step refunded it meanwhile (a twin run)
            return
        _refused(desk, check, state)
        return
    result = check.result or {}
    if result["verdict"] == "ask":
        desk.ask(result["message"])
        return
    refund: dict[str, Any] = {"order_id": order_id, "amount_usd": result["amount_usd"], "reason": "customer request"}
    if result.get("line_id"):
        refund["line_id"] = result["line_id"]
        if result.get("quantity"):
            refund["quantity"] = result["quantity"]
    if "destination" in result["approval_rules"]:  # another card than the one that paid: a person decides
        refund["to_card_last4"] = e["to_card_last4"]
    what = f"the {result['item']} on order {order_id}" if result.get("item") else f"order {order_id}"
    if desk.order_guessed:
        desk.ask(f"Do you mean order {order_id}? Please confirm by sending the order number.")
        return
    if result["verdict"] == "approval":
        desk.hold_for_approval("issue_refund", refund, "; ".join(result["approvals"]))
        desk.tell(
            f"A refund of {result['amount']} for {what} needs approval from a member of our team; "
            "I have sent it for review and will confirm once it is decided."
        )
        return
    propose(desk, ctx, "issue_refund", refund)


def _refused(desk: Desk, check: ToolOutcome, state: SupportState) -> None:
    """Say the refusal once (with the rule's own words), and the next step the policy names."""
    if check.error_type != "PolicyRefused" or not check.error:
        return  # an outage or a foreign order: report_failures says it
    desk.failures.remove(check)  # told here, in its place, not again at the end
    desk.tell(check.error)
    if (check.result or {}).get("next_step") == "warranty":  # after the window: the warranty path
        page = article_of(desk, "warranty claim after the 30-day return window faulty product", WARRANTY_ARTICLE)
        if page is None:
            return
        steps = [
            prefix + sentence
            for heading, prefix in (
                ("Manufacturer warranty", ""),
                ("Northwind Protect", "With a Northwind Protect plan: "),
            )
            for sentence in section_items(page["document"], heading)
            if re.search(r"\bwarranty claim\b|\bfile a claim\b", sentence, re.IGNORECASE)
        ]
        if steps:
            desk.tell(" ".join(steps) + f" (source: {WARRANTY_ARTICLE})")


def track_refund(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    """ "Did you ever refund me for order N?": each refund with its amount, date and outcome, and why
    one was rejected or reversed where the store recorded a reason."""
    listed = desk.call("list_refunds", **({"order_id": e["order_id"]} if "order_id" in e else {}))
    for refund in (listed.result or {}).get("refunds", []) if listed.ok else []:
        if refund.get("reason") and refund["status"] in ("rejected", "reversed"):
            desk.tell(f"Refund {refund['refund_id']} was {refund['status']}: {refund['reason'].rstrip('.')}.")


# a request that already names returns or refunds is searched as written: "refund policy" in front of
# "do I have to pay for the return label?" outranks the return-label article with the refund rules
_NAMES_RETURNS = re.compile(r"\b(?:return\w*|refund\w*|money back|send (?:it|them) back)\b", re.IGNORECASE)


def refund_policy(desk: Desk, e: dict[str, Any], state: SupportState, ctx: Context) -> None:
    search_kb(desk, state, "" if _NAMES_RETURNS.search(state["request"]) else "refund policy")


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
