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
