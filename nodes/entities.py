"""Details the workflow takes from a message by rule: order numbers, amounts, items, addresses, choices.

A tiny model cannot extract these reliably; regular expressions can, and what they miss the
workflow asks for. They read the customer's own words (`nodes.guards.message.own_words`): an
order number or an amount inside a quoted note or a forwarded e-mail is data, not a request.

Amounts are read, never guessed: "-75 dollars", "2e2", "$12.345", "$0", "fifty dollars" and
"whatever you think is fair" are marked unreadable or vague, so the desk asks how much instead of
refunding the whole order.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from nodes.guards.message import own_words, quoted_pieces

ORDER_ID = re.compile(r"(?:order|purchase|#|no\.?|number)\s*(?:number|no\.?|#|id)?\s*[:#]?\s*(\d{4,9})\b", re.I)
BARE_ORDER_ID = re.compile(r"(?<![\d$.,])(1\d{4})(?!\d|[.,]\d)")

# -- amounts ---------------------------------------------------------------------------------------
_NUM = r"(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:\s*[eE]\s*[-+]?\d+)?"
# a minus sign written against the number ("-75", "-$5"), or the word; "order 10956 - $20" is a dash
_NEG = r"(?P<neg>(?<![\w.])[-\u2212](?=[$\d.])|\bminus\s+|\bnegative\s+)?(?:(?<![\w.])\+(?=[$\d.]))?"
MONEY = (
    re.compile(_NEG + r"\$\s*(?:(?P<neg2>-)|\+)?(?P<num>" + _NUM + r")", re.I),  # $50, -$50, $-50, $+5, $1e9
    re.compile(_NEG + r"(?<![\w$.,])(?P<num>" + _NUM + r")\s*(?:usd|dollars?|bucks)\b", re.I),  # 50 dollars
    re.compile(r"\busd\s*" + _NEG + r"(?P<num>" + _NUM + r")", re.I),  # USD 50
    # "refund 2e2 on order 10894", "refund 50 of order ...": a number right after the verb, not an order number
    re.compile(
        r"\b(?:refund|reimburse|credit|take)\s+(?:me\s+)?(?:back\s+)?" + _NEG + r"(?P<num>" + _NUM + r")"
        r"(?=\s+(?:on|for|from|off|back)\b|\s+of\s+(?:my\s+|the\s+|this\s+|that\s+)?order\b)",  # "2 of the hubs": a count
        re.I,
    ),
)
_WORD_AMOUNT = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundred|thousand|a hundred|a thousand|a few|several|a couple of)\s+"
    r"(?:hundred\s+|thousand\s+)?(?:dollars|bucks|usd)\b",
    re.I,
)
_MONEYISH = re.compile(r"\$|\b(?:usd|dollars?|bucks)\b", re.I)
VAGUE_AMOUNT = re.compile(
    r"\bwhatever (?:you (?:think|feel|consider) is )?(?:fair|reasonable|right|you (?:can|want|think))\b|"
    r"\b(?:some|part|a (?:bit|part|portion)) of (?:it|the (?:money|price|cost)|my money)\b|\bsome money\b|"
    r"\ba (?:partial|small|little) refund\b|\bpartial(?:ly)? refund\w*\b|\bsomething back\b|\bwhat (?:you think )?is fair\b",
    re.I,
)
# "refund half of order 10859": a share of the order's total, when no amount is given
SHARE = re.compile(r"\b(?:(half)\b|(a (?:third|quarter))\b|(\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b))", re.I)
_SHARES = {"half": Decimal("0.5"), "a third": Decimal(1) / Decimal(3), "a quarter": Decimal("0.25")}
CENT = Decimal("0.01")


def read_amount(text: str) -> tuple[str | None, str | None]:
    """(amount, problem): the first money amount in ``text`` as plain dollars ("25", "1,250.50" ->
    "1250.50"), or why it cannot be read ("-75 dollars is below zero"); (None, None) when there is none."""
    for pattern in MONEY:
        for m in pattern.finditer(text):
            raw = m.group("num")
            if pattern is MONEY[3] and re.fullmatch(r"1\d{4}", raw):  # "refund 10956 of ..." names an order
                continue
            said = m.group(0).strip()
            negative = bool(m.group("neg") or (m.groupdict().get("neg2")))
            problem = _amount_problem(raw, negative)
            if problem:
                return None, f"{said} {problem}"
            return str(Decimal(raw.replace(",", ""))), None
    words = _WORD_AMOUNT.search(text)
    if words:
        return None, f"{words.group(0)} is written in words; please write it in digits"
    money = _MONEYISH.search(text)  # "$NaN", "$ lots", "hundreds of dollars": money, but no amount
    if money:
        said = text[max(0, money.start() - 12) : money.end() + 12].strip()
        return None, f"'{said}' has no amount I can read"
    return None, None


def _amount_problem(raw: str, negative: bool) -> str | None:
    compact = raw.replace(" ", "")
    if negative:
        return "is below zero"
    if re.search(r"[eE]", compact):
        return "is not written as dollars and cents"
    if "," in compact and not re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?", compact):
        return "is not written as dollars and cents"
    try:
        value = Decimal(compact.replace(",", "").rstrip("."))
    except InvalidOperation:
        return "is not written as dollars and cents"
    if value != value.quantize(CENT):
        return "has more than two decimals"
    if value <= 0:
        return "is not above zero"
    return None


# -- items -----------------------------------------------------------------------------------------
_ITEM = r"(?P<item>[a-z0-9][\w\"'\u2019 -]{1,40}?)"
_ORDER_AFTER = r"\s+(?:from|on|in|of)\s+(?:my\s+|the\s+)?(?:order\b|#\s*\d|\d{5}\b)"
_ITEM_END = r"(?=\s*(?:[,.;!?]|$|\s+(?:from|on|in|of|please|and|because|since|as|it|i|which|that|too)\b))"
_COUNT = r"(?:(?P<count>one|two|three|\d{1,2})\s+of\s+)?"
# a refund scoped to one item: "refund just the laptop stand from order 10976", "money back for the
# keyboard", "refund one of the two USB-C hubs on order 11006", "the $44.99 for the charger"
ITEM_REFUND = (
    re.compile(
        r"\b(?:refund|return|send back|reimburse(?: me)? for|(?:my )?money back for|a refund for)\s+(?:me\s+)?"
        r"(?:for\s+)?(?:just\s+|only\s+)?"
        + _COUNT
        + r"(?:the|my|those|these|a|an|both(?: of the)?|all(?: of)? the)\s+(?:(?:two|three|four|\d)\s+)?"
        + _ITEM
        + _ORDER_AFTER,
        re.I,
    ),
    re.compile(
        r"\b(?:money back|refund|reimburse(?:ment)?)\s+(?:me\s+)?(?:for|on)\s+(?:just\s+|only\s+)?(?:the|my)\s+"
        + _ITEM
        + _ITEM_END,
        re.I,
    ),
    re.compile(r"\b(?:just|only)\s+for\s+(?:the|my)\s+" + _ITEM + _ITEM_END, re.I),  # "... but only for the monitor"
    re.compile(r"\b(?:refund|return)\s+(?:just|only)\s+" + _COUNT + r"(?:the|my)\s+" + _ITEM + _ITEM_END, re.I),
    re.compile(r"\$\s*\d[\d,]*(?:\.\d+)?\s+(?:for|on)\s+(?:the|my)\s+" + _ITEM + _ITEM_END, re.I),
)
# the item a message is about: "the kettle from order 11050, can you refund it?", "and the doorbell
# from order 11050": scoped to the item unless the message states an amount of its own
ITEM_SUBJECT = re.compile(
    r"(?:^|[.!?]\s+|\b(?:and|also|plus)\s+)(?:the|my)\s+" + _ITEM + r"\s+(?:from|in|on)\s+(?:my\s+)?(?:order\s*)?#?\s*"
    r"\d{5}\b",
    re.I,
)
# "I'd like my money back for that order": the whole order, whatever item the complaint names
ORDER_SCOPE = re.compile(
    r"\b(?:refund|reimburse)\s+(?:me\s+)?(?:for\s+)?(?:(?:the|my|this|that|whole|entire)\s+)*order\b"
    r"|\bmoney back\s+(?:for|on)\s+(?:(?:the|my|this|that|whole|entire)\s+)*order\b|\b(?:whole|entire|full)\s+order\b",
    re.I,
)
_COUNTS = {"one": 1, "two": 2, "three": 3}
_NOT_ITEMS = re.compile(r"^(?:order|purchase|package|parcel|delivery|shipment|money|refund|amount|rest|whole)\b", re.I)


def read_item(text: str) -> dict[str, Any]:
    """The item a refund is for, as the customer named it, and how many of it."""
    for pattern in ITEM_REFUND:
        m = pattern.search(text)
        if m and not _NOT_ITEMS.match(m.group("item")):
            found: dict[str, Any] = {"item": m.group("item").strip(" '\""), "item_scope": "refund"}
            count = m.groupdict().get("count")
            if count:
                found["item_quantity"] = int(_COUNTS.get(count.lower(), count))
            return found
    m = ITEM_SUBJECT.search(text)
    if m and not _NOT_ITEMS.match(m.group("item")) and not ORDER_SCOPE.search(text):
        return {"item": m.group("item").strip(" '\""), "item_scope": "subject"}
    return {}


# -- addresses -------------------------------------------------------------------------------------
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
        "PR",
    ]
)
CA_PROVINCES = frozenset(["AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"])
_STREET = r"(?P<street>\d{1,6}[A-Za-z]?(?:\s+(?:[A-Za-z][A-Za-z.'-]*|\d+(?:st|nd|rd|th)\b)){1,6})"
_UNIT = r"(?:\s*,?\s*(?P<unit>(?:apt|apartment|unit|suite|ste|fl|floor|#)\.?\s*#?\s*[\w-]+))?"
_CITY = r"(?P<city>[A-Za-z][A-Za-z .'-]{1,40}?)"
US_ADDRESS = re.compile(
    r"(?<![\w-])" + _STREET + _UNIT + r"\s*,\s*" + _CITY + r"\s*,?\s+(?P<region>[A-Za-z]{2})\.?,?\s+"
    r"(?P<postal>\d{5}(?:-\d{4})?)(?!\d)",
    re.I,
)
CA_ADDRESS = re.compile(
    r"(?<![\w-])" + _STREET + _UNIT + r"\s*,\s*" + _CITY + r"\s*,?\s+(?P<region>[A-Za-z]{2})\.?,?\s+"
    r"(?P<postal>[A-Za-z]\d[A-Za-z]\s?\d[A-Za-z]\d)\b",
    re.I,
)
# the words that say an address follows (one that does not parse is asked for again)
ADDRESS_CUE = re.compile(
    r"\b(?:new |shipping |delivery )?address\b|\b(?:ship|send|deliver|redirect)\b[^.?!]{0,30}\bto\s+\d", re.I
)


def read_address(text: str) -> tuple[str | None, bool]:
    """(address, unreadable): a US or Canadian address parsed into "street[, unit], city, ST 12345"
    (pleasantries and trailing words dropped), or whether an address was given that does not parse."""
    for pattern, regions in ((US_ADDRESS, US_STATES), (CA_ADDRESS, CA_PROVINCES)):
        for m in pattern.finditer(text):
            region = m.group("region").upper()
            if region not in regions:
                continue
            street = " ".join(m.group("street").split())
            unit = m.group("unit")
            city = " ".join(m.group("city").split()).strip(" .")
            postal = m.group("postal").upper()
            if pattern is CA_ADDRESS and " " not in postal:
                postal = f"{postal[:3]} {postal[3:]}"
            parts = [street, *([" ".join(unit.split())] if unit else []), city, f"{region} {postal}"]
            return ", ".join(parts), False
    return None, bool(ADDRESS_CUE.search(text) and re.search(r"(?<![\w-])\d{1,6}\s+[A-Za-z]", text))


# -- choices ---------------------------------------------------------------------------------------
UNSUBSCRIBE = re.compile(
    r"\b(?:unsubscribe|opt[- ]?out|stop (?:sending|emailing|mailing)|no more (?:e-?mails|newsletters?|deals|offers)|"
    r"take me off|remove me from|(?:don'?t|do not|no longer) (?:want|need|wish to (?:get|receive))\b[^.?!]{0,40}"
    r"\b(?:e-?mails?|newsletters?|deals|offers|promos?|promotions|marketing|mailing list|inbox)|"
    r"(?:cancel|end|stop)\b[^.?!]{0,15}\b(?:newsletter|e-?mails|mailing list|subscription))\b",
    re.I,
)
SUBSCRIBE = re.compile(
    r"\b(?:subscribe|sign me up|sign up|opt[- ]?in|resubscribe|join (?:your|the) (?:newsletter|mailing list)|"
    r"add me to)\b",
    re.I,
)
RATING = re.compile(r"\b([1-5])\s*(?:/\s*5|stars?|out of 5)\b", re.I)
OTHER_CARD = re.compile(r"\b(different|another|other|new)\s+(credit\s+|debit\s+)?card\b", re.I)
CARD_LAST4 = re.compile(r"\bcard\s+(?:ending(?:\s+in)?|number\s+ending)\s+(\d{4})\b", re.I)
# "and the other one?": the other order this conversation named
OTHER_ORDER = re.compile(r"\b(?:the\s+)?other\s+(?:one|order|package|parcel|delivery|shipment)\b", re.I)


def extract_entities(text: str, *, answering: bool = False) -> dict[str, Any]:
    """Order ids (first is primary), a money amount, an item, a shipping address, newsletter choice, rating.

    Read from the customer's own words; what they quote or ask us to store is kept as ``quoted``.
    An address is read wherever it parses (``answering``, a reply to our question, is accepted for
    callers that say so; a bare address reads the same either way).
    """
    found: dict[str, Any] = {}
    data = quoted_pieces(text)
    if data:
        found["quoted"] = data
    text = own_words(text)
    # "order 11145 ... I also have 11131 coming": named ones first, then bare numbers (not a ZIP code)
    bare = CA_ADDRESS.sub(" ", US_ADDRESS.sub(" ", text))
    order_ids = [int(m) for m in ORDER_ID.findall(text)] + [int(m) for m in BARE_ORDER_ID.findall(bare)]
    if order_ids:
        found["order_ids"] = list(dict.fromkeys(order_ids))
        found["order_id"] = order_ids[0]
    amount, problem = read_amount(text)
    if problem:
        found["amount_unreadable"] = True
        found["amount_problem"] = problem
    elif amount is not None:
        found["amount_usd"] = amount
    elif VAGUE_AMOUNT.search(text):
        found["amount_vague"] = True
    found.update(read_item(text))
    address, unreadable = read_address(text)
    if address:
        found["address"] = address
    elif unreadable:
        found["address_unreadable"] = True
    if UNSUBSCRIBE.search(text):
        found["subscribe"] = False
    elif SUBSCRIBE.search(text):
        found["subscribe"] = True
    rating = RATING.search(text) or next((m for piece in data if (m := RATING.search(piece))), None)
    if rating:  # stars the customer gives, in their words or in the review they hand over
        found["rating"] = int(rating.group(1))
    last4 = CARD_LAST4.search(text)
    if last4 or OTHER_CARD.search(text):  # the tool's own value for "some other card"
        found["to_card_last4"] = last4.group(1) if last4 else "other"
    if OTHER_ORDER.search(text) and "order_id" not in found:
        found["other_order"] = True
    share = SHARE.search(text)
    if share and "amount_usd" not in found and not problem:
        word = (share.group(1) or share.group(2) or "").lower()
        value = _SHARES.get(word) if word else Decimal(share.group(3)) / 100
        if value is not None and 0 < value <= 1:
            found["refund_share"] = str(value)
        elif value is not None:  # "0%" or "150%": asked about, not guessed
            found["amount_unreadable"] = True
            found["amount_problem"] = f"{share.group(0)} is not a share of the order"
    return found
