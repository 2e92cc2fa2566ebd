"""The coordinator: names the intent, picks the department. It has no tools and does no work.

A trained classifier decides; when it is unsure, a capable model (if one is
configured) is asked; then the help articles: a question one of them clearly matches
("is the warranty on the TV 2 years?", which none of the 27 intents covers) goes to the
general desk, which answers from the articles; otherwise the customer is asked to clarify.
A message is never sent silently to the wrong specialist.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from core.context import Context
from core.state import SupportState
from intents.catalog import INTENTS, Department, department_for
from intents.classifier import IntentPrediction
from nodes import prompts
from nodes.desk import earlier_orders
from nodes.entities import extract_entities
from nodes.general import asks_about_shipping
from nodes.guards.message import own_words, without_steering
from nodes.guards.routing import (
    ASKS_SERVICE_STATUS,
    ASKS_TICKET_STATUS,
    READING_INTENTS,
    REFUND_INTENT,
    SERVICE_STATUS,
    TICKET_STATUS,
    asks_about_a_refund,
    asks_for_refund,
    continues_refund,
    other_order,
    reading_intent,
)
from nodes.instrument import instrumented
from nodes.llm import ask_model, smart_model_allowed
from nodes.planning import DEPARTMENT_OF, detect_actions, wants_plan
from nodes.subrequests import ASKS_A_QUESTION, KNOWLEDGE_QUESTION, split_request

Route = Literal["billing", "technical", "general", "escalation", "clarify", "subrequest", "plan_execute"]

FRIENDLY_INTENT = {
    "get_refund": "getting a refund",
    "track_refund": "checking a refund",
    "track_order": "tracking an order",
    "cancel_order": "cancelling an order",
    "check_invoice": "an invoice",
    "payment_issue": "a payment problem",
    "recover_password": "resetting your password",
    "delivery_options": "delivery options",
    "complaint": "making a complaint",
    "contact_human_agent": "talking to a person",
}


_VAGUE_BELOW = 0.15  # under this the classifier's top two guesses mean nothing: ask an open question
# "is the site down?" names none of the intents: a classifier fairly sure of one is guessing from a word
# ("site": 0.46 delete_account, after "nothing left of me on your site" was trained on). Only a
# reading this sure of an intent outvotes the question about the service.
_SERVICE_STATUS_UNLESS = 0.8
OPEN_QUESTION = (
    "I'm not sure what you need yet. I can help with orders and deliveries, returns and refunds, "
    "invoices and payments, and your account: what can I do for you?"
)


# A complaint that names nothing to act on ("honestly this whole thing is a mess") gets a question,
# or a person when the customer says nobody answers them: never a guess at a desk (it was once
# answered with a list of invoices). One that says it is not the first time and names what it is
# about goes to a person at once, with an apology (nodes/escalation.py).
VAGUE_COMPLAINT = "vague_complaint"
_FRUSTRATED = re.compile(
    r"\b(?:mess|sick of|fed up|so done|done with|ridiculous|unacceptable|furious|outrageous|annoy\w*|useless|"
    r"joke|nightmare|disgrace\w*|fix it|sort it out|sort this out|never works|doesn'?t work|don'?t work|"
    r"broken|faulty|goes wrong|went wrong|end(?:s)? up|every (?:single )?(?:time|thing)|nothing ever|"
    r"always|again|still no|nobody|no one)\b",
    re.IGNORECASE,
)
_NOBODY_ANSWERS = re.compile(
    r"\b(?:nobody|no one|noone)\b.{0,25}\b(?:answer|repl|respond|call|help|got back|get back|done)\w*"
    r"|\b(?:no|still no|never (?:got|had) a)\s+(?:call ?back|reply|answer|response)\b",
    re.IGNORECASE,
)
# what a complaint can be about: a topic a desk serves, or a thing the store sells
_CONCRETE = re.compile(
    r"\b(?:orders?|packages?|parcels?|deliver\w*|shipping|shipment|ship(?:ped)?|track\w*|refund\w*|money|"
    r"returns?|returned|invoices?|receipts?|bill\w*|charge[sd]?|payments?|paid|pay|cards?|paypal|klarna|"
    r"password|log ?in|sign ?in|login|accounts?|e-?mails?|address|cancel\w*|subscri\w*|newsletter|review|"
    r"warranty|discount|promo\w*|coupon|price|gift|app|website|site|checkout|cart|register\w*|sign ?up|"
    r"monitor|laptop|ultrabook|headphones|earbuds|kettle|doorbell|keyboard|mouse|tv|television|phone|tablet|"
    r"speaker|soundbar|camera|watch|smartwatch|charger|cable|vacuum|grinder|espresso|coffee|thermostat|"
    r"bulbs?|plugs?|fryer|purifier|e-?reader|tracker|hub|stand|item|items|product|products)\b",
    re.IGNORECASE,
)
_REPEAT_CONTACT = re.compile(
    r"\b(?:second|2nd|third|3rd|fourth|4th|fifth|5th)\s+(?:time|email|e-mail|message|mail|call)\b"
    r"|\b(?:told|asked|contacted|written to|wrote to|emailed|called|messaged)\s+you\s+"
    r"(?:twice|three times|again|before|already|several times|many times)\b"
    r"|\balready\s+(?:told|asked|contacted|written|wrote|emailed|called)\b"
    r"|\bstill no\s+(?:reply|answer|response|call)\b"
    r"|\b(?:nobody|no one)\s+(?:has\s+)?(?:replied|answered|responded|done anything|called|got back)\b",
    re.IGNORECASE,
)
VAGUE_QUESTION = (
    "I'm sorry things have gone wrong. So that I can put it right: what happened, and which order or "
    "item is it about? If you would rather talk to a person, just say so."
)
# "did you ever refund me for order N?" asks what happened to a refund; it asks for none.
_ASKS_REFUND_HISTORY = re.compile(
    r"\b(?:did|have|has|had|was|were)\s+(?:you|i|we|they|my|the|that|this|it)\b(?:\s+\w+){0,2}?\s+"
    r"(?:refund\w*|reimburs\w*)\b"
    r"|\b(?:did|have|has)\s+(?:i|we)\b(?:\s+\w+){0,2}?\s+(?:got|get|gotten|received?)\s+"
    r"(?:my|the|any|our)\s+money\s+back\b",
    re.IGNORECASE,
)


# a loosely worded question that reads the order the conversation is about
READS_AN_ORDER = {"track_order", "delivery_period", "track_refund", "check_invoice", "get_invoice"}
_THIS_ORDER = re.compile(r"\b(?:it|that|this|the order|my order|the package|my package)\b", re.IGNORECASE)
_ABOUT_ARRIVAL = re.compile(
    r"\b(?:arriv\w*|turn(?:ed)? up|show(?:n|ed)? up|get here|got here|come|came|deliver\w*|where is|where's|"
    r"shipped|on its way|in transit|tracking)\b",
    re.IGNORECASE,
)
# refund status without a word about money is a question about the order ("has it been sent out?")
_ABOUT_MONEY = re.compile(r"\b(?:refund\w*|money|reimburs\w*|credit\w*|charge\w*|paid|pay\w*|card)\b", re.IGNORECASE)


_NAMES_CANCELLING = re.compile(r"\bcancel\w*|\bcancl\w*", re.IGNORECASE)
# "do I have to pay for the return label?" names a payment and a cost, but asks the return rules
_ABOUT_RETURN_COSTS = re.compile(r"\breturn(?:ing)?\s+(?:label|shipping|postage|fee|costs?)s?\b", re.IGNORECASE)
_NOT_RETURN_RULES = {"check_payment_methods", "payment_issue", "delivery_options", "check_cancellation_fee"}


def _routed(
    intent: str,
    department: Department,
    prediction: IntentPrediction,
    confidence: float,
    entities: dict[str, Any] | None = None,
) -> Command[Route]:
    """To one desk: the intent, how sure the reading is, the classifier's alternatives, and the
    entities where the route adds to them."""
    update: dict[str, Any] = {
        "intent": intent,
        "confidence": confidence,
        "department": department,
        "departments": [department],
        "alternatives": list(prediction.alternatives),
    }
    if entities is not None:
        update["entities"] = entities
    return Command(update=update, goto=department)


def read_prediction(prediction: IntentPrediction, text: str) -> IntentPrediction:
    """The classifier's reading, mended where it names a refund the text never mentions, a fee for
    cancelling when the text asks what shipping costs ("how much does it cost to ship to Ireland?"),
    or a payment or shipping question when the text asks what a return costs (the return rules)."""
    if prediction.intent == "track_refund" and not _ABOUT_MONEY.search(text):
        return replace(prediction, intent="track_order", department=department_for("track_order"))
    if (
        prediction.intent == "check_cancellation_fee"
        and asks_about_shipping(text)
        and not _NAMES_CANCELLING.search(text)
        and not extract_entities(text).get("order_ids")
    ):
        return replace(prediction, intent="delivery_options", department=department_for("delivery_options"))
    if (
        prediction.intent in _NOT_RETURN_RULES
        and _ABOUT_RETURN_COSTS.search(text)
        and not extract_entities(text).get("order_ids")
    ):
        return replace(prediction, intent="check_refund_policy", department=department_for("check_refund_policy"))
    return prediction


# "the lamp I received", "my blender": a thing named, even one no list here knows; "this whole
# thing", "my stuff", "a mess" name nothing
_NAMES_A_THING = re.compile(
    r"\b(?:the|my|this|that|our|a|an)\s+(?!(?:thing|things|stuff|whole|everything|anything|time|times|people|"
    r"service|company|way|same|one|ones|lot|point|moment|mess|joke|nightmare|disgrace|problem|problems|issue|"
    r"issues|day|week|month|year|again|last|first|second|third|single|other|hell|heck|rubbish|garbage|crap)\b)"
    r"[a-z]{3,}",
    re.IGNORECASE,
)


def is_vague_complaint(text: str, entities: dict[str, Any]) -> bool:
    """Frustration with nothing named that a desk could act on: no order, topic or thing."""
    return (
        bool(_FRUSTRATED.search(text))
        and not entities.get("order_ids")
        and not _CONCRETE.search(text)
        and not _NAMES_A_THING.search(text)
    )


def is_repeat_complaint(text: str) -> bool:
    """The customer says it is not the first time they write about this, and names what it is about."""
    return bool(_REPEAT_CONTACT.search(text)) and bool(_CONCRETE.search(text))


def refund_history_intent(intent: str, text: str) -> str:
    """A question about a past refund reads the refunds; it never starts one."""
    return "track_refund" if _ASKS_REFUND_HISTORY.search(text) else intent


def _matching_article(ctx: Context, text: str) -> str | None:
    """The help article that clearly matches ``text``, if one does (a read of public articles, no tool):
    it scores at least ``kb_route_min_score`` and is either 0.1 above that or 0.05 ahead of the next
    article ("can I exchange the espresso machine": exchanges 0.33, then 0.19)."""
    passages = ctx.resources.knowledge_base.search(text, k=2)
    if not passages or passages[0].score < ctx.settings.kb_route_min_score:
        return None
    best, runner_up = passages[0].score, (passages[1].score if len(passages) > 1 else 0.0)
    clear = best >= ctx.settings.kb_route_min_score + 0.1 or best - runner_up >= 0.05
    return passages[0].doc_id if clear else None


def _ask_router_model(ctx: Context, text: str, model: str) -> str | None:
    answer = ask_model(
        ctx,
        [SystemMessage(prompts.ROUTER_SYSTEM.format(intents=", ".join(INTENTS))), HumanMessage(text)],
        spec=model,
    )
    if answer is None:
        return None
    token = answer.strip().strip("`'\". ").lower()
    return token if token in INTENTS else None


def _earlier_requests(state: SupportState) -> list[str]:
    """The customer's earlier messages in this thread, newest first (this turn's excluded)."""
    texts = [m.content for m in state.get("messages", []) if isinstance(m, HumanMessage) and isinstance(m.content, str)]
    return list(reversed(texts[:-1]))


def _was_refunding(earlier: list[str]) -> bool:
    """Whether the thread's last request was for money back (a refund, or a refund continued)."""
    for text in earlier:
        own = own_words(text)
        found = extract_entities(text)
        if asks_for_refund(own, found):
            return True
        if not continues_refund(own, found, REFUND_INTENT):
            return False
    return False


def _money_route(state: SupportState, request: str, predict: Any) -> tuple[str, dict[str, Any]] | None:
    """(intent, entities) when the rules of a money conversation decide the route, else None:
    "and the other one?" is the other order this thread named; an order and a parsed address with
    "send it to" is an address change; a request for money back for a
    named order, item or amount is a refund request; "and the doorbell from order 11050" after a
    refund request continues it."""
    entities = dict(state.get("entities", {}))
    earlier = _earlier_requests(state)
    if entities.get("other_order") and earlier:
        memory = state.get("memory", {})
        named = [o for text in earlier[:1] for o in extract_entities(text).get("order_ids", [])]
        thread_orders = list(memory.get("thread_order_ids") or named)
        other = other_order(thread_orders, [])
        if other is not None:
            previous = memory.get("thread_intent") or reading_intent(predict(own_words(earlier[0])).intent, earlier[0])
            if previous in READING_INTENTS:
                return previous, {**entities, "order_id": other, "order_ids": [other]}
            if previous in (REFUND_INTENT, "cancel_order"):  # a change is confirmed before it is made
                return previous, {**entities, "thread_order_id": other}
            return "track_order", {**entities, "order_id": other, "order_ids": [other]}
    intent = predict(request).intent
    if intent == REFUND_INTENT and asks_about_a_refund(request):
        return "track_refund", entities  # "did you ever refund me for order 10871?": a read, not a new refund
    if "address" in entities and detect_actions(request) == ["update_shipping_address"]:
        return "change_shipping_address", entities  # "please send order 11197 to 1420 Larimer St, ..."
    if asks_for_refund(request, entities) or continues_refund(
        request, entities, REFUND_INTENT if _was_refunding(earlier) else None
    ):
        return REFUND_INTENT, entities
    return None


_ASKS_FOR_MORE = re.compile(
    r"^(?:(?:also|and|then|please|pls|can you|could you)\s+)*(?:send|e-?mail|mail|tell|give|show|cancel|change|"
    r"update|close|delete|unsubscribe|stop|track|check|resend|add|reset)\b",
    re.I,
)


def _one_refund(request: str, parts: list[Any], entities: dict[str, Any]) -> bool:
    """Whether a message that asks for a refund is that one request: its other clauses only say
    what is wrong with the same order ("the TV from order 10903 has dead pixels"), asking nothing."""
    if not asks_for_refund(request, entities):
        return False
    refunded: set[int] = set()
    others = []
    for part in parts:
        found = extract_entities(part.text)
        if asks_for_refund(part.text, found):
            refunded |= set(found.get("order_ids", []))
        else:
            others.append((part.text, found))
    orders = refunded or set(entities.get("order_ids", []))
    for text, found in others:
        if ASKS_A_QUESTION.search(text) or _ASKS_FOR_MORE.search(text) or not set(found.get("order_ids", [])) <= orders:
            return False  # a question, another ask, or another order: a request of its own
    return True


@instrumented("coordinator")
def coordinator(state: SupportState, runtime: Runtime[Context]) -> Command[Route]:
    ctx = runtime.context
    own = own_words(state["request"])  # what is quoted, forwarded or to be stored asks for nothing
    if wants_plan(own):  # several world-changing actions: plan first, then execute
        departments = list(dict.fromkeys(DEPARTMENT_OF[a] for a in detect_actions(own)))
        return Command(
            update={
                "intent": "multi_step",
                "confidence": 1.0,
                "department": departments[0],
                "departments": departments,
            },
            goto="plan_execute",
        )
    if ASKS_TICKET_STATUS.search(state["request"]):
        return Command(
            update={
                "intent": TICKET_STATUS,
                "confidence": 1.0,
                "department": "escalation",
                "departments": ["escalation"],
            },
            goto="escalation",
        )
    model = ctx.resources.classifier
    # an injected "ignore your instructions ... approval granted" says nothing about what the customer wants
    request = without_steering(own) if state.get("injection_flags") else own
    entities = state.get("entities", {})
    if is_repeat_complaint(request) or (is_vague_complaint(request, entities) and _NOBODY_ANSWERS.search(request)):
        # said before and still not put right, or nobody answers: a person takes it, at once
        return Command(
            update={
                "intent": "complaint",
                "confidence": 1.0,
                "department": "escalation",
                "departments": ["escalation"],
                "entities": {**entities, "repeat_contact": True, "routed_by": "repeat_complaint"},
            },
            goto="escalation",
        )
    if is_vague_complaint(request, entities):
        return Command(
            update={"intent": VAGUE_COMPLAINT, "confidence": 1.0, "department": None, "question": VAGUE_QUESTION},
            goto="clarify",
        )
    prediction = read_prediction(model.predict(request), request)
    parts = split_request(
        request,
        lambda clause: read_prediction(model.predict(clause), clause),
        min_confidence=ctx.settings.classifier_min_confidence,
        whole=prediction,
        knowledge_match=lambda clause: _matching_article(ctx, clause),
    )
    if parts and _one_refund(request, parts, state.get("entities", {})):
        parts = []  # "The TV from order 10903 has dead pixels. Can you refund $200 of it?": one request
    if parts:
        intents = [
            REFUND_INTENT
            if asks_for_refund(p.text, extract_entities(p.text))
            else refund_history_intent(reading_intent(p.intent, p.text, model.canonical), p.text)
            for p in parts
        ]
        departments = [
            p.department if intent == p.intent else department_for(intent)
            for p, intent in zip(parts, intents, strict=True)
        ]
        # "what is the fee to cancel order 11096? also refund it": "it" is the message's one order
        named = state.get("entities", {}).get("order_ids", [])
        message_order = named[0] if len(named) == 1 else None
        sends = [
            Send(
                "subrequest",
                {
                    "request": p.text,
                    "intent": intent,
                    "department": departments[i],
                    "lane": i,
                    "turn": state.get("turn", 0),
                    "branch": state.get("branch", 0),
                    "message_order_id": message_order,
                },
            )
            for i, (p, intent) in enumerate(zip(parts, intents, strict=True))
        ]
        return Command(
            update={"intent": intents[0], "department": departments[0], "confidence": min(p.confidence for p in parts)},
            goto=sends,
        )
    intent, confidence = prediction.intent, prediction.confidence
    routed_by = "classifier"
    money = _money_route(state, request, model.predict)
    if money is not None:
        intent, entities = money
        return _routed(intent, department_for(intent), prediction, confidence, {**entities, "routed_by": "rules"})
    if (
        ASKS_SERVICE_STATUS.search(request)
        and ctx.settings.classifier_min_confidence <= confidence < _SERVICE_STATUS_UNLESS
    ):
        return _routed(SERVICE_STATUS, "technical", prediction, confidence)
    if confidence < ctx.settings.classifier_min_confidence:
        smart = smart_model_allowed(ctx, state.get("spent_usd", 0.0))
        model_intent = _ask_router_model(ctx, state["request"], smart) if smart else None
        known_order = state.get("memory", {}).get("thread_order_ids") or earlier_orders(state)
        if model_intent is None and intent in READS_AN_ORDER and known_order and _THIS_ORDER.search(request):
            # "where is it right now?" after "I have a question about my order 11136": a read of the
            # order the conversation is about, not a question back ("tracking or a refund?")
            model_intent, routed_by = intent, "thread_order"
        if model_intent is None and entities.get("order_ids") and _ABOUT_ARRIVAL.search(request):
            # "my order 11034 still hasn't turned up": where that order is (a read, never a change)
            model_intent, routed_by = "track_order", "thread_order"
        if model_intent is None and ASKS_SERVICE_STATUS.search(request):
            return _routed(SERVICE_STATUS, "technical", prediction, confidence)
        if model_intent is None:
            article = _matching_article(ctx, request)
            if article is not None:
                found = {**state.get("entities", {}), "routed_by": f"knowledge_base:{article}"}
                return _routed(KNOWLEDGE_QUESTION, "general", prediction, confidence, found)
            options = [intent, *(alt for alt, _ in prediction.alternatives[:1])]
            described = " or ".join(FRIENDLY_INTENT.get(o, o.replace("_", " ")) for o in options)
            question = (
                OPEN_QUESTION
                if confidence < _VAGUE_BELOW
                else f"I want to be sure I send you to the right team: is this about {described}? "
                "Please tell me a little more."
            )
            return Command(
                update={
                    "intent": intent,
                    "confidence": confidence,
                    "department": None,
                    "alternatives": list(prediction.alternatives),
                    "question": question,
                },
                goto="clarify",
            )
        intent, routed_by = model_intent, (routed_by if routed_by == "thread_order" else "model")
    intent = refund_history_intent(reading_intent(intent, request, model.canonical), request)
    return _routed(
        intent, department_for(intent), prediction, confidence, {**state.get("entities", {}), "routed_by": routed_by}
    )


@instrumented("clarify")
def clarify(state: SupportState) -> dict[str, object]:
    return {"status": "needs_info"}
