"""What the workflow decides after the classifier has named an intent: rules, not a model.

The classifier names the topic of a message; these rules decide whether the customer asked for
an act or only asked about one. A question about a world-changing topic goes to the intent
that reads, never to the one that acts.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# A world-changing intent asked about as a question is answered, not acted on. The classifier
# names the topic ("why was my order cancelled?" is cancel_order at 0.99); the workflow decides
# that a question of cost or of cause reads the facts and changes nothing.
ASKS_COST = re.compile(r"\b(?:fees?|cost|costs|charged?|penalty|penalties|how much)\b", re.IGNORECASE)
_ASKS_WHY = re.compile(r"\b(?:why|how come)\b|\bwhat (?:happens|happened|would happen|if)\b", re.IGNORECASE)
COST_QUESTION_OF = {"cancel_order": "check_cancellation_fee"}
WHY_QUESTION_OF = {"cancel_order": "track_order", "delete_account": "edit_account", "get_refund": "track_refund"}


# The most destructive intents also need the customer to name the act: "my account" alone was
# delete_account at 0.85 and sent a closure for review. Without the verb, the reading intent.
_NAMES_THE_ACT = {
    "delete_account": re.compile(
        r"\b(?:clos|delet|delte|remov|deactivat|terminat|cancel|erase|wipe|shut|get rid|"
        r"nuke|kill|end)\w*|\bforget me\b|\bdone with\b|\bno longer\b|\bquit\b|\bgone\b",
        re.IGNORECASE,
    ),
    "cancel_order": re.compile(
        r"\b(?:cancel|cancl|cancle|call\w* off|stop|abort|withdraw|undo|scrap|revoke|kill|"
        r"halt|annul|void)\w*|\bdon'?t (?:want|need)\b|\bdo not (?:want|need)\b|\bno longer\b|"
        r"\bchanged my mind\b|\bmistake\b",
        re.IGNORECASE,
    ),
}


def reading_intent(intent: str, text: str, canonical: Callable[[str], str] | None = None) -> str:
    """The read-only intent for a question about a world-changing one, or for one that does not
    name the act (also looked for in the classifier's ``canonical`` text, typos mended:
    "acnceling" -> "canceling"); ``intent`` otherwise."""
    if intent in COST_QUESTION_OF and ASKS_COST.search(text):
        return COST_QUESTION_OF[intent]
    if intent in WHY_QUESTION_OF and _ASKS_WHY.search(text):
        return WHY_QUESTION_OF[intent]
    if intent in _NAMES_THE_ACT and not (
        _NAMES_THE_ACT[intent].search(text) or _NAMES_THE_ACT[intent].search(canonical(text) if canonical else "")
    ):
        return WHY_QUESTION_OF[intent]
    return intent


# "What's the status of ticket 12?" has no Bitext intent; it is a read of the customer's tickets,
# which only the escalation desk may do.
TICKET_STATUS = "ticket_status"
ASKS_TICKET_STATUS = re.compile(
    r"\b(?:status|update|news|progress|check|where|happen\w*)\b.{0,30}\b(?:ticket|case)\b"
    r"|\b(?:ticket|case)\b.{0,30}\b(?:status|update|news|progress)\b",
    re.IGNORECASE,
)


# "Is the site down?" has no Bitext intent either, and its words match no article well; it is a
# question for the technical desk, which reads the open incidents first.
SERVICE_STATUS = "service_status"
ASKS_SERVICE_STATUS = re.compile(
    r"\b(?:site|website|app|checkout|login|servers?|page|everything|it)\b.{0,20}\b(?:down|offline|not loading|"
    r"won'?t load|unreachable)\b|\b(?:outage|status page)\b",
    re.IGNORECASE,
)


# A request for money back, in the customer's own words. The classifier names the topic and
# confuses "please refund order 10873" with a refund's status (track_refund, 0.93) or "refund the
# earbuds from order 10920" with changing an order: a message that asks for money back for a named
# order, item or amount, and asks nothing about a refund's status or the policy, is a refund request.
_MONEY_BACK = re.compile(
    r"\b(?:refund|reimburse)\b(?!\s+(?:status|policy|policies|timeline|process))|\bmoney back\b"
    r"|\b(?:take|knock)\b[^.?!]{0,20}\$\s*\d[\d,.]*\s+off\b|\b(?:another|more)\s+\$\s*\d[\d,.]*\s+(?:off|back)\b"
    r"|\$\s*\d[\d,.]*\s+(?:more\s+)?(?:back|off)\s+(?:on|of|for|from)\b",
    re.IGNORECASE,
)
_ABOUT_A_REFUND = re.compile(
    r"\b(?:status|why|how come|where(?:'s| is| are)|when (?:will|do|can|would|does|did)|how long|"
    r"did (?:you|i|it|they|we|that|the|my|this)|"
    r"has (?:it|my|the|that)|have you|was (?:it|my|the|that)|were (?:you|they)|still waiting|track(?:ing)?|"
    r"haven'?t (?:received|got|gotten|seen)|never (?:received|got|arrived)|polic(?:y|ies)|rules?|"
    r"how (?:does|do) (?:refunds|returns|it) work)\b",
    re.IGNORECASE,
)
REFUND_INTENT = "get_refund"
_QUESTION = re.compile(
    r"\?\s*$|^\s*(?:did|has|have|was|were|is|are|where|when|what|why|how)\b|\b(?:or not|go through|went through)\b",
    re.IGNORECASE,
)


def asks_about_a_refund(text: str) -> bool:
    """A question about a refund already asked for (its status, whether it was paid): read, never act."""
    return bool(_ABOUT_A_REFUND.search(text) and _QUESTION.search(text))


def asks_for_refund(text: str, entities: dict[str, object]) -> bool:
    """A request for money back for a named order, item or amount (not a question about one)."""
    named = any(k in entities for k in ("order_id", "amount_usd", "amount_unreadable", "amount_vague", "item"))
    return named and bool(_MONEY_BACK.search(text)) and not _ABOUT_A_REFUND.search(text)


# "and the doorbell from order 11050" after "refund the smartwatch from order 11050": the same
# request, continued. Only a refund continues this way, and only with something to refund named.
_CONTINUES = re.compile(r"^\s*(?:and|also|plus|oh and|what about)\b|\b(?:too|as well|another|more|again)\b", re.I)


def continues_refund(text: str, entities: dict[str, object], thread_intent: str | None) -> bool:
    named = any(k in entities for k in ("item", "amount_usd", "amount_unreadable"))
    return (
        thread_intent == REFUND_INTENT and named and bool(_CONTINUES.search(text)) and not _ABOUT_A_REFUND.search(text)
    )


# Intents that only read: "and the other one?" after tracking an order tracks the other one.
READING_INTENTS = frozenset(
    {"track_order", "delivery_period", "track_refund", "check_invoice", "get_invoice", "payment_issue", "change_order"}
)


def other_order(thread_order_ids: list[int], named: list[int]) -> int | None:
    """The other order this conversation named: not the one the last turn was about."""
    if len(thread_order_ids) < 2:
        return None
    current = thread_order_ids[0]  # the order the last turn used comes first (nodes.memory.remember)
    others = [o for o in thread_order_ids if o != current and o not in named]
    return others[0] if others else None
