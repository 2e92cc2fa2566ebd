"""Several issues in one message (orchestrator-worker): split, route each part, run them in parallel.

"My invoice for order X is wrong, I can't log in, and what are your delivery
options to Canada?" becomes three sub-requests. Each is classified on its own,
handled by its department's script under that department's permissions (a
LangGraph `Send` per part), and the parts' facts meet again in one reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from core.context import Context
from core.state import SupportState
from intents.catalog import department_for
from nodes import billing, general, technical
from nodes.desk import Desk, Script, address_missing_mail, report_failures
from nodes.entities import extract_entities
from nodes.instrument import instrumented

CLAUSE_BREAK = re.compile(
    r"(?<=[.!?])\s+|;\s*|\s*,?\s+(?:and also|and|also|plus|but|oh and)\s+(?=(?:i|i'm|im|my|what|how|can|could|"
    r"where|when|why|is|are|do|does|please|pls|the|also|tell|send|email|let|give|show|track|refund|cancel)\b)"
    r"|,\s+(?=(?:i|i'm|im|i've|my|what|how|can|could|where|when|why|and|also|please|pls)\b)",
    re.I,
)
KNOWLEDGE_QUESTION = "knowledge_question"
"""The intent of a question no Bitext intent covers but a help article clearly answers (the general desk's)."""
# A message the classifier is sure about as a whole is one request, whatever its clauses say.
WHOLE_CERTAIN = 0.95
WHOLE_CLEAR_CONFIDENCE = 0.8
SPLIT_MIN_CONFIDENCE = 0.6  # a part must be clearly about something before it becomes its own request
ORDER_CLAUSE_MIN_CONFIDENCE = 0.5  # ... a little less when it names an order of its own
# A part asks for a person only when it names one: "... and I'll live with it?" read as contact_human_agent
# (0.63) and opened a ticket next to the refund it qualified. A whole message is the classifier's to read.
_NAMES_A_PERSON = re.compile(
    r"\b(?:human|person|people|agent|representative|rep|someone|somebody|anyone|anybody|staff|manager|supervisor|"
    r"operator|employee|team|chat|speak|talk|call|phone|ring)\b",  # not "live": "I'll live with it"
    re.I,
)
NEEDS_A_PERSON_NAMED = {"contact_human_agent"}
DESKS: dict[str, tuple[dict[str, Script], Script]] = {
    "billing": (billing.SCRIPTS, billing.refund_policy),
    "technical": (technical.SCRIPTS, technical.site_problem),
    "general": (general.SCRIPTS, general.answer_from_kb),
}


@dataclass(frozen=True)
class SubRequest:
    text: str
    intent: str
    department: str
    confidence: float


def split_request(
    text: str,
    predict: Any,
    *,
    min_confidence: float,
    whole: Any,
    knowledge_match: Callable[[str], str | None] | None = None,
) -> list[SubRequest]:
    """The message's parts that a specialist can serve, one per (department, intent); [] if it is one issue.

    Parts for two departments split unless the whole is certain. Two intents of one department split only when the whole
    message is not clearly one of them ("I forgot my password and can't sign in" stays one request). A part the
    classifier is unsure of becomes a question for the help articles when ``knowledge_match`` finds one that
    clearly answers it ("... and how do I turn on two-factor authentication?"), instead of being dropped.
    """
    clauses = [c.strip(" ,.") for c in CLAUSE_BREAK.split(text) if c and len(c.split()) >= 3]
    if len(clauses) < 2:
        return []
    parts: dict[tuple[str, str], SubRequest] = {}
    for clause in clauses:
        prediction = predict(clause)
        intent = prediction.intent
        # a clause naming its own order ("when is order 11035 coming?") is a request even when worded loosely
        floor = max(min_confidence, ORDER_CLAUSE_MIN_CONFIDENCE if _orders_in(clause) else SPLIT_MIN_CONFIDENCE)
        if prediction.confidence < floor:
            if knowledge_match is None or knowledge_match(clause) is None:
                continue
            intent = KNOWLEDGE_QUESTION
        if intent in NEEDS_A_PERSON_NAMED and not _NAMES_A_PERSON.search(clause):
            continue
        department = "general" if intent == KNOWLEDGE_QUESTION else department_for(intent)
        key = (department, intent)
        if key not in parts:
            parts[key] = SubRequest(clause, intent, department, prediction.confidence)
    kept = _without_reasons(list(parts.values()))
    if len(kept) < 2:
        return []
    if _own_orders(kept):  # "cancel order A and tell me when B arrives": two requests, however sure the whole is
        return kept
    if _act_and_question(kept):  # "what is the fee to cancel order N? also refund it": a question and an act
        return kept
    departments = {p.department for p in kept}
    if whole.confidence >= WHOLE_CERTAIN or (len(departments) < 2 and whole.confidence >= WHOLE_CLEAR_CONFIDENCE):
        return []
    return kept


ACTS_ON_AN_ORDER = {"get_refund", "cancel_order", "change_shipping_address", "change_order"}
_REFERS_BACK = re.compile(r"\b(?:it|that order|this order|the order|that one|this one|them)\b", re.I)
_ASKS = re.compile(
    r"\?|^(?:please|pls|can|could|would|will|i want|i'?d like|i need|tell|send|cancel|refund|where|when|what|how|"
    r"why|is|are|do|does|did|has|have)\b",
    re.I,
)


# a clause that asks something: a question mark, or a question word first
ASKS_A_QUESTION = re.compile(
    r"\?|^\s*(?:where|when|what|how|why|which|who|can|could|is|are|do|does|did|will|would|has|have)\b", re.I
)


def _orders_in(text: str) -> list[int]:
    return [int(o) for o in extract_entities(text).get("order_ids", [])]


def _own_orders(parts: list[SubRequest]) -> bool:
    """Two parts each naming an order of its own, or a part naming one in another department than the rest:
    requests about different things, not one request worded twice."""
    named = [(p, set(_orders_in(p.text))) for p in parts]
    orders = [ids for _, ids in named if ids]
    if len(orders) >= 2 and len(set().union(*orders)) >= 2:
        return True
    return any(ids and {q.department for q, _ in named if q is not p} - {p.department} for p, ids in named)


def _act_and_question(parts: list[SubRequest]) -> bool:
    """One part acts on an order and another asks a question about something else: both are answered,
    however sure the classifier is that the whole message is one of them."""
    asking = [p for p in parts if p.intent not in ACTS_ON_AN_ORDER and ASKS_A_QUESTION.search(p.text)]
    return bool(asking) and any(p.intent in ACTS_ON_AN_ORDER for p in parts)


def _without_reasons(parts: list[SubRequest]) -> list[SubRequest]:
    """ "The headphones from order 10956 stopped charging, I'd like my money back for that order": the first
    clause is the reason for the second (which refers back to its order), not a request of its own."""
    acting = [
        p for p in parts if p.intent in ACTS_ON_AN_ORDER and _REFERS_BACK.search(p.text) and not _orders_in(p.text)
    ]
    if not acting:
        return parts
    return [p for p in parts if p in acting or not (_orders_in(p.text) and not _ASKS.search(p.text.strip()))]


class SubRequestState(TypedDict):
    """What one worker gets: its part of the message, nothing else of the thread."""

    request: str
    intent: str
    department: str
    lane: int
    turn: int
    branch: int
    message_order_id: NotRequired[int | None]  # the one order the whole message names, for a part that says "it"


@instrumented("subrequest")
def subrequest(state: SubRequestState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    ctx = runtime.context
    department = state["department"]
    desk = Desk.open(department, state["turn"], ctx, config, branch=state["branch"], lane=f"-part{state['lane']}")
    entities = extract_entities(state["request"])
    if "order_id" not in entities and state.get("message_order_id"):
        entities["thread_order_id"] = state["message_order_id"]  # a guess: confirmed before any change
    if department == "escalation":
        desk.call(
            "create_ticket",
            subject="Customer asks for a person: " + state["request"][:80],
            body=state["request"],
            priority="normal",
        )
        desk.tell("A member of our support team will reply within one business day.")
    else:
        scripts, fallback = DESKS[department]
        part: SupportState = {
            "request": state["request"],
            "intent": state["intent"],
            "department": department,
            "turn": state["turn"],
            "branch": state["branch"],
            "entities": entities,
        }
        scripts.get(state["intent"], fallback)(desk, entities, part, ctx)
        address_missing_mail(desk, state["request"])
    if desk.question:  # parts cannot each stop the turn: the question becomes part of the reply
        desk.tell(desk.question)
    report_failures(desk)
    update = desk.update()
    return {key: update[key] for key in ("tool_calls", "facts", "evidence", "passages", "citations")} | {
        "departments": [department],
        "held_actions": [desk.pending] if desk.pending else [],
        "open_parts": [state["request"]] if desk.question else [],
    }


@instrumented("merge_parts")
def merge_parts(state: SupportState) -> dict[str, Any]:
    """The parts are done: the first action a part holds for approval opens the turn's gate.

    One gate a turn keeps a person's decision about one thing; a second held action (rare:
    two risky asks in one message) is named in the reply and waits for a message of its own.
    """
    held = sorted(state.get("held_actions") or [], key=lambda a: a.get("lane", ""))
    if not held:
        return {}
    later = [
        f"The {a['tool'].replace('_', ' ')} step needs a person's approval too: please send it as a message of its own."
        for a in held[1:]
    ]
    return {"pending_action": held[0], "facts": later, "evidence": later}
