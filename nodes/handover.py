"""The hand-over a person reads when a conversation is escalated, so they can act without reading
the transcript: who the customer is, what they want, what the assistant already checked and did
(the thread's tool calls and their results), what it told them, suggested next actions,
sentiment and urgency.

Built from the state and the tool results (the thread's audited calls and recorded effects).
The summary is written by a capable model when one is configured and checked like any reply
(every number and claim must be backed by the hand-over's facts); otherwise, or when the check
fails, it is written deterministically from the same facts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from core.context import Context
from core.state import SupportState
from nodes import prompts
from nodes.entities import extract_entities
from nodes.guards import facts as grounding
from nodes.llm import ask_model, note_fallback, smart_model_allowed
from tools.cases import orders_snapshot, thread_record

WANTS = {
    "get_refund": "a refund",
    "track_refund": "news of a refund",
    "track_order": "to know where an order is",
    "cancel_order": "to cancel an order",
    "change_shipping_address": "to change a delivery address",
    "check_invoice": "an invoice",
    "get_invoice": "an invoice",
    "payment_issue": "help with a payment problem",
    "recover_password": "to get back into their account",
    "delete_account": "to close their account",
    "complaint": "to make a complaint",
    "contact_human_agent": "to talk to a person",
}
_NEGATIVE = re.compile(
    r"\b(angry|furious|terrible|awful|worst|unacceptable|ridiculous|disappointed|frustrat\w*|upset|scam|"
    r"useless|horrible|disgusted|fed up|never again|lawyer|sue|chargeback|complain\w*|broken|still (?:not|no)|"
    r"waste|rude|hate)\b",
    re.I,
)
_POSITIVE = re.compile(r"\b(thanks?|thank you|great|love|appreciate\w*|perfect|wonderful|happy)\b", re.I)
_LEGAL = re.compile(r"\b(lawyer|sue|legal action|chargeback|dispute with my bank|small claims)\b", re.I)


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


def sentiment_of(texts: list[str]) -> str:
    """negative | neutral | positive, from the customer's own words (the latest weigh most)."""
    score = 0.0
    for weight, text in enumerate(texts, start=1):
        letters = [c for c in text if c.isalpha()]
        shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.6
        score += weight * (
            len(_POSITIVE.findall(text)) - 2 * len(_NEGATIVE.findall(text)) - 2 * shouting - (text.count("!") >= 3)
        )
    return "negative" if score < 0 else "positive" if score > 0 else "neutral"


def urgency_of(state: SupportState, sentiment: str, texts: list[str], failures: int) -> str:
    if state.get("safety", "ok") != "ok":
        return "urgent"
    if any(_LEGAL.search(t) for t in texts) or state.get("intent") == "complaint" or sentiment == "negative":
        return "high"
    return "high" if failures else "normal"


def _call_line(call: dict[str, Any]) -> dict[str, Any]:
    args = json.loads(call["args_json"] or "{}")
    line = {"tool": call["tool"], "args": args, "outcome": call["outcome"], "by": call["node"]}
    if call["outcome"] != "ok" and call["detail"]:
        line["detail"] = call["detail"][:200]
    return line


def build_handover(
    state: SupportState, ctx: Context, thread_id: str, *, ticket_id: int | None, facts: list[str]
) -> dict[str, Any]:
    """The structured hand-over (deterministic; `write_summary` may replace its summary)."""
    customer_id = state.get("customer_id") or ctx.customer_id
    messages = state.get("messages", [])
    said = [_text(m) for m in messages if isinstance(m, HumanMessage)]
    told = [_text(m) for m in messages if isinstance(m, AIMessage) and _text(m)]
    engine = ctx.resources.engine
    record = thread_record(engine, thread_id)
    calls = [_call_line(c) for c in record["calls"] if c["tool"] not in ("create_ticket",)]
    done = [
        {
            "tool": e["tool"],
            "args": json.loads(e["args_json"]),
            "result": json.loads(e["result_json"] or "{}"),
            **({"undone": True} if e["compensated_at"] else {}),
        }
        for e in record["effects"]
        if e["tool"] != "create_ticket"
    ]
    order_ids = sorted(
        {o for text in said for o in extract_entities(text).get("order_ids", [])}
        | {int(c["args"]["order_id"]) for c in calls if isinstance(c["args"].get("order_id"), int)}
    )
    snapshot = orders_snapshot(engine, customer_id, order_ids)
    failures = [c for c in calls if c["outcome"] != "ok"]
    sentiment = sentiment_of(said)
    urgency = urgency_of(state, sentiment, said, len(failures))
    intent = state.get("intent") or ""
    wants = WANTS.get(intent, "help from a person")
    latest = said[-1] if said else state.get("request", "")
    first = said[0] if said else latest
    actions = suggested_actions(state, snapshot, failures, done, ticket_id, said)
    checked = "; ".join(
        f"{c['tool'].replace('_', ' ')}{' ' + str(c['args'].get('order_id')) if c['args'].get('order_id') else ''}"
        f" ({c['outcome']})"
        for c in calls[-8:]
    )
    parts = [
        f"Customer {customer_id} wrote {len(said)} message{'s' * (len(said) != 1)}; they want {wants}.",
        f'First message: "{first[:160]}".' if len(said) > 1 else "",
        f'Latest: "{latest[:200]}".',
        f"The assistant checked: {checked}." if checked else "The assistant made no lookups.",
        "It changed: "
        + "; ".join(f"{d['tool'].replace('_', ' ')} {json.dumps(d['args'], sort_keys=True)}" for d in done)
        + "."
        if done
        else "Nothing was changed on the account.",
        "Orders: "
        + "; ".join(
            f"{o['order_id']} {o['status']} ${o['total_usd']} (refunded ${o['refunded_usd']})" for o in snapshot
        )
        + "."
        if snapshot
        else "",
        f"Sentiment {sentiment}; urgency {urgency}.",
    ]
    summary = " ".join(p for p in parts if p)
    return {
        "summary": summary,
        "written_by": "workflow",
        "customer_id": customer_id,
        "wants": f"{wants}: {latest[:300]}",
        "intent": intent or None,
        "safety": state.get("safety", "ok"),
        "checked": calls,
        "done": done,
        "orders": snapshot,
        "told": told[-3:],
        "facts_this_turn": facts,
        "suggested_actions": actions,
        "sentiment": sentiment,
        "urgency": urgency,
        "ticket_id": ticket_id,
        "messages": len(said),
    }


def suggested_actions(
    state: SupportState,
    orders: list[dict[str, Any]],
    failures: list[dict[str, Any]],
    done: list[dict[str, Any]],
    ticket_id: int | None,
    said: list[str],
) -> list[str]:
    actions: list[str] = []
    if state.get("safety", "ok") != "ok":
        actions.append(f"Contact the customer now and follow the safety procedure ({state.get('safety')}).")
    asked_refund = any(re.search(r"\b(refund|money back)\b", t, re.I) for t in said)
    refunded = {d["args"].get("order_id") for d in done if d["tool"] == "issue_refund" and not d.get("undone")}
    for order in orders:
        if asked_refund and order["order_id"] not in refunded and order["status"] in ("delivered", "shipped"):
            actions.append(
                f"Review a refund for order {order['order_id']} (paid ${order['total_usd']}, "
                f"refunded ${order['refunded_usd']} so far)."
            )
        elif order["status"] == "shipped":
            actions.append(f"Check the delivery of order {order['order_id']} with the carrier (it is shipped).")
        elif order["status"] == "pending":
            actions.append(f"Order {order['order_id']} has not shipped: it can still be changed or cancelled.")
    for failure in failures[:3]:
        actions.append(
            f"Finish {failure['tool'].replace('_', ' ')} by hand: it {failure['outcome']}"
            + (f" ({failure['detail']})" if failure.get("detail") else "")
            + "."
        )
    if state.get("intent") == "complaint":
        actions.append("Acknowledge the complaint and offer a resolution within one business day.")
    if any(_LEGAL.search(t) for t in said):
        actions.append("The customer mentions legal action or a chargeback: involve a supervisor.")
    actions.append(
        "Take the case (`switchboard case assign`) and reply in this thread; release it to the assistant when done."
    )
    if ticket_id:
        actions.append(f"Close ticket {ticket_id} when the case is resolved.")
    return actions


def write_summary(ctx: Context, state: SupportState, handover: dict[str, Any]) -> dict[str, Any]:
    """The summary by a capable model when one is configured, kept only if every claim is backed."""
    smart = smart_model_allowed(ctx, state.get("spent_usd", 0.0))
    if not smart:
        return handover
    facts = [
        handover["summary"],
        f"The customer wants {handover['wants']}",
        *handover["told"],
        *handover["suggested_actions"],
    ]
    fact_block = "\n".join(f"- {line}" for line in facts)
    text = ask_model(
        ctx,
        [SystemMessage(prompts.HANDOVER_SYSTEM), HumanMessage(prompts.HANDOVER_USER.format(facts=fact_block))],
        spec=smart,
    )
    if text is None:
        return handover  # the model failed: ask_model noted the fallback
    done_tools = {d["tool"] for d in handover["done"]} | {
        c["tool"] for c in handover["checked"] if c["outcome"] == "ok"
    }
    problems = grounding.check_reply(text, facts, done_tools=done_tools)
    if problems:
        note_fallback("handover_rejected")
        return {**handover, "model_summary_rejected": problems[:5]}
    return {**handover, "summary": text.strip(), "written_by": smart}
