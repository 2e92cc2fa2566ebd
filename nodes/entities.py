"""Details the workflow takes from a message by rule: order numbers, amounts, addresses, choices.

A tiny model cannot extract these reliably; regular expressions can, and what
they miss the workflow asks for.
"""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal, InvalidOperation
from typing import Any

ORDER_ID = re.compile(r"(?:order|purchase|#|no\.?|number)\s*(?:number|no\.?|#|id)?\s*[:#]?\s*(\d{4,9})\b", re.I)
BARE_ORDER_ID = re.compile(r"(?<![\d$.,])(1\d{4})(?!\d|[.,]\d)")
# A sign or an exponent makes the amount unreadable on purpose: "-$50" or "$1e9" is asked about, not guessed.
AMOUNT = re.compile(
    r"(?<![\w-])(?:\$\s*(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s*(?:usd|dollars?|bucks)\b)(?![\deE])", re.I
)
BAD_AMOUNT = re.compile(r"-\s*\$\s*\d|\$\s*-\s*\d|\$\s*\d[\d,.]*[eE]\d", re.I)
ADDRESS = re.compile(
    r"\b(?:to|address(?: is)?|ship it to)\s*:?\s*(\d+\s+[\w .'-]+,\s*[\w .'-]+(?:,\s*[\w .'-]+)*)", re.I
)
# The whole message is an address: only read so when it answers "what is the new address?"
BARE_ADDRESS = re.compile(r"^\s*(\d+\s+[\w .'-]+,\s*[\w .'-]+(?:,\s*[\w .'-]+)*?)\s*\.?\s*$")
UNSUBSCRIBE = re.compile(r"\b(unsubscribe|opt[- ]?out|stop (sending|emailing)|no more (emails|newsletters?))\b", re.I)
RATING = re.compile(r"\b([1-5])\s*(?:/\s*5|stars?|out of 5)\b", re.I)
OTHER_CARD = re.compile(r"\b(different|another|other|new)\s+(credit\s+|debit\s+)?card\b", re.I)
CARD_LAST4 = re.compile(r"\bcard\s+(?:ending(?:\s+in)?|number\s+ending)\s+(\d{4})\b", re.I)
# "refund half of order 10859": a share of the order's total, when no amount is given
SHARE = re.compile(r"\b(?:(half)\b|(a (?:third|quarter))\b|(\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b))", re.I)
_SHARES = {"half": Decimal("0.5"), "a third": Decimal(1) / Decimal(3), "a quarter": Decimal("0.25")}


def extract_entities(text: str, *, answering: bool = False) -> dict[str, Any]:
    """Order ids (first is primary), a money amount, a shipping address, newsletter choice, rating.

    ``answering``: the message answers a question we asked, so a bare address counts.
    """
    found: dict[str, Any] = {}
    order_ids = [int(m) for m in ORDER_ID.findall(text)] or [int(m) for m in BARE_ORDER_ID.findall(text)]
    if order_ids:
        found["order_ids"] = list(dict.fromkeys(order_ids))
        found["order_id"] = order_ids[0]
    amount = None if BAD_AMOUNT.search(text) else AMOUNT.search(text)
    if BAD_AMOUNT.search(text):
        found["amount_unreadable"] = True
    if amount:
        with contextlib.suppress(InvalidOperation):
            found["amount_usd"] = str(Decimal((amount.group(1) or amount.group(2)).replace(",", "")))
    address = ADDRESS.search(text) or (BARE_ADDRESS.search(text) if answering else None)
    if address:
        found["address"] = address.group(1).strip().rstrip(".")
    if UNSUBSCRIBE.search(text):
        found["subscribe"] = False
    rating = RATING.search(text)
    if rating:
        found["rating"] = int(rating.group(1))
    last4 = CARD_LAST4.search(text)
    if last4 or OTHER_CARD.search(text):  # the tool's own value for "some other card"
        found["to_card_last4"] = last4.group(1) if last4 else "other"
    share = SHARE.search(text)
    if share and "amount_usd" not in found:
        word = (share.group(1) or share.group(2) or "").lower()
        value = _SHARES.get(word) if word else Decimal(share.group(3)) / 100
        if value is not None and 0 < value <= 1:
            found["refund_share"] = str(value)
        elif value is not None:  # "0%" or "150%": asked about, not guessed
            found["amount_unreadable"] = True
    return found
