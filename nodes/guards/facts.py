"""The reply check: every number, amount, date and action a reply states must be backed.

Small models mix up facts (one moved a ship date onto the delivery date in our
trials), so the workflow checks the draft against the evidence of this turn:
tool results and retrieved passages.
"""

from __future__ import annotations

import re
from datetime import date

from retrieval.answers import STOP_WORDS

MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
MONTHS.update({name[:3]: num for name, num in list(MONTHS.items())})
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
WORD_DATE = re.compile(
    r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?\b",
    re.I,
)
NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?")
ACTION_CLAIMS = {
    "issue_refund": re.compile(
        r"\b(refund(ed)?\b.{0,40}\b(issued|processed|approved|sent|completed)|have refunded|I refunded)", re.I
    ),
    "cancel_order": re.compile(r"\b(has been|is now|was|have) cancel+ed\b", re.I),
    "send_password_reset": re.compile(r"\b(sent|emailed)\b.{0,40}\breset\b|\breset link\b.{0,20}\bsent\b", re.I),
    "create_ticket": re.compile(r"\bticket\b.{0,30}\b(opened|created|open)\b", re.I),
}
# A date is checked with the event it is attached to: "shipped on X" must match a shipped fact.
EVENTS = {
    "shipped": re.compile(r"\bship", re.I),
    "delivered": re.compile(r"\b(deliver|arriv|expected|estimated|get it|reach)", re.I),
    "placed": re.compile(r"\b(placed|ordered|bought|purchased)", re.I),
    "issued": re.compile(r"\b(issued|invoice)", re.I),
    "requested": re.compile(r"\brequested", re.I),
}
LEAK_MARKERS = re.compile(
    r"FACTS:|The customer wrote:|You are a friendly|ONLY the facts|repeats these facts|postgresql://|sqlite:///|api[_-]?key",
    re.I,
)


def _numbers(text: str) -> set[str]:
    text = ISO_DATE.sub(" ", text)
    found = set()
    for raw in NUMBER.findall(text):
        value = raw.lstrip("$").replace(",", "")
        if value.endswith(".00"):
            value = value[:-3]
        found.add(value.rstrip(".") if "." in value else value)
    return found


def _dates(text: str) -> set[tuple[int, int]]:
    found = {(int(m), int(d)) for _, m, d in ISO_DATE.findall(text)}
    for month, day, _year in WORD_DATE.findall(text):
        found.add((MONTHS[month.lower()[:3]], int(day)))
    return found


def _real_day(month: int, day: int) -> bool:
    try:
        date(2000, month, day)  # a leap year: February 29 is a real day
    except ValueError:
        return False
    return True


def _day_name(month: int, day: int) -> str:
    return date(2000, month, day).strftime("%B") + f" {day}" if _real_day(month, day) else f"{month}/{day}"


def _event_dates(text: str) -> set[tuple[str, tuple[int, int]]]:
    """(event, (month, day)) pairs: a date and the event named just before it in the same sentence."""
    pairs = set()
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        for match in [*ISO_DATE.finditer(sentence), *WORD_DATE.finditer(sentence)]:
            before = sentence[max(0, match.start() - 40) : match.start()]
            day = next(iter(_dates(match.group())), None)
            nearest = max(
                ((m.end(), event) for event, pattern in EVENTS.items() for m in pattern.finditer(before)),
                default=None,
            )
            if day and nearest:
                pairs.add((nearest[1], day))
    return pairs


COURTESY = set(
    [
        "hello",
        "hi",
        "hey",
        "dear",
        "thanks",
        "thank",
        "sorry",
        "apologies",
        "apologize",
        "apologise",
        "glad",
        "happy",
        "help",
        "helping",
        "assist",
        "assistance",
        "question",
        "questions",
        "anything",
        "else",
        "further",
        "hesitate",
        "reach",
        "contact",
        "let",
        "know",
        "hope",
        "day",
        "great",
        "today",
        "please",
        "sure",
        "customer",
        "support",
        "team",
        "understand",
        "inconvenience",
        "patience",
        "welcome",
        "regards",
        "best",
        "kind",
    ]
)


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z'-]{2,}", text.lower()) if w not in STOP_WORDS and w not in COURTESY}


def unsupported_sentences(reply: str, evidence: list[str]) -> list[str]:
    """Sentences whose content words are mostly not in the evidence: claims nothing backs."""
    backing = _content_words("\n".join(evidence))
    stems = {w[:5] for w in backing}
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", reply):
        words = _content_words(sentence)
        if len(words) < 4:
            continue
        supported = sum(1 for w in words if w in backing or w[:5] in stems)
        if supported / len(words) < 0.5:
            found.append(sentence.strip()[:80])
    return found


def covers_facts(reply: str, facts: list[str]) -> bool:
    """Whether the reply carries enough of the facts' substance (a fluent non-answer does not)."""
    needed = _content_words(" ".join(facts))
    if not needed:
        return True
    stems = {w[:5] for w in _content_words(reply)}
    shared = sum(1 for w in needed if w[:5] in stems)
    return shared >= min(4, len(needed)) or shared / len(needed) >= 0.3


def key_tokens(facts: list[str]) -> set[str]:
    """The facts' order numbers, money amounts and dates: what a reply must carry over."""
    text = "\n".join(facts)
    tokens = {n for n in _numbers(ISO_DATE.sub(" ", text)) if len(n) >= 5 or n.startswith("$") or "." in n}
    tokens |= {v.lstrip("$").replace(",", "") for v in re.findall(r"\$\d[\d,]*(?:\.\d\d)?", text)}
    tokens = {t[:-3] if t.endswith(".00") else t for t in tokens}
    return tokens | {f"{int(m)}/{int(d)}" for _, m, d in ISO_DATE.findall(text)}


def check_reply(
    reply: str, evidence: list[str], *, done_tools: set[str], key_facts: list[str] | None = None
) -> list[str]:
    """Problems with a draft reply; empty when it may go out."""
    problems: list[str] = []
    key_facts = key_facts or []
    text = reply.strip()
    if not text:
        return ["the reply is empty"]
    if len(text) > 1500:
        problems.append("the reply is too long")
    if LEAK_MARKERS.search(text):
        problems.append("the reply repeats internal instructions")
    backing = "\n".join(evidence)
    backed_numbers = _numbers(backing)
    backed_dates = _dates(backing)
    for month, day in _dates(text) - backed_dates:
        problems.append(f"the date {_day_name(month, day)} is not in the facts")
    backed_events = _event_dates(backing)
    for event, (month, day) in _event_dates(text):
        if (month, day) in backed_dates and (event, (month, day)) not in backed_events:
            problems.append(f"{_day_name(month, day)} is not the {event} date")
    for number in sorted(_numbers(WORD_DATE.sub(" ", text)) - backed_numbers):
        if number not in {"1"}:
            problems.append(f"the number {number} is not in the facts")
    # Coverage: a fluent reply that leaves out the order numbers, amounts and dates of the facts
    # is not an answer; the deterministic reply is.
    for token in sorted(key_tokens(key_facts) - _numbers(text) - {f"{m}/{d}" for m, d in _dates(text)}):
        problems.append(f"the reply leaves out {token}")
    if key_facts and not covers_facts(text, key_facts):
        problems.append("the reply does not answer with the facts")
    for sentence in unsupported_sentences(text, evidence):
        problems.append(f"nothing supports: {sentence!r}")
    for tool, pattern in ACTION_CLAIMS.items():
        if pattern.search(text) and tool not in done_tools:
            problems.append(f"the reply claims an action ({tool}) that was not done")
    return problems
