"""The opener: the one sentence a small model may add before the facts, and its check.

The embedded model cannot be trusted with facts (in our trials it moved a ship date onto the
delivery date, told a customer a pending order had "just shipped", and called a locked account
"active"), and its whole-reply drafts almost never pass the reply check. Asked freely for a kind
first sentence, it wrote "I'm sorry for your loss." to almost every message. So its part is
small: the workflow picks the sentence's lead (an apology where the customer reports a problem,
thanks otherwise) and the model names the message's topic in one or two of the customer's own
words, under a grammar (GBNF, `topic_grammar`) that allows nothing else: no digit, amount or date,
no state word, no word the customer did not write. `check_opener` then checks the sentence as if
no grammar had been used (a provider without grammars writes openers too): it may state nothing
(no action, no state of an order, account or payment, no negation, no promise), say no word of
substance the customer did not use, and apologise only for a problem the customer reports. The
reply built from the checked facts follows it unchanged.
"""

from __future__ import annotations

import re

from nodes.guards.facts import ACTION_CLAIMS, LEAK_MARKERS
from retrieval.answers import STOP_WORDS

MAX_WORDS = 22
LEAD_THANKS = "Thank you for your message about"
LEAD_SORRY = "I'm sorry about the trouble with"
ACKNOWLEDGING = {
    "thank",
    "thanks",
    "reaching",
    "writing",
    "message",
    "messages",
    "asking",
    "question",
    "questions",
    "hear",
    "happy",
    "glad",
    "help",
    "helping",
    "look",
    "looking",
    "here",
    "sure",
    "certainly",
    "course",
    "hello",
    "hi",
    "dear",
    "there",
    "letting",
    "know",
    "sharing",
    "contacting",
    "out",
    "about",
    "regarding",
    "your",
    "you",
    "support",
    "team",
    "northwind",
    "please",
    "understand",
    "see",
    "can",
    "let",
    "check",
    "information",
    "details",
}
SORRY = re.compile(r"\b(sorr\w*|apolog\w*|frustrat\w*|inconvenien\w*|trouble\w*|problem\w*|issue\w*|upset\w*)\b", re.I)
# what would tell the customer how things stand: only the facts may
STATE = re.compile(
    r"\b(refunded|cancel+ed|shipped|delivered|arrived|sent|issued|approved|rejected|declined|processed|resolved|fixed|"
    r"locked|unlocked|active|closed|pending|paid|charged|late|delayed|lost|missing|stolen|broken|damaged|found|"
    r"confirmed|completed|done|ready|received|expected|available|free|eligible|on its way|in transit|"
    r"reset|blocked|suspended|working|down|disputed|failed|successful\w*)\b",
    re.I,
)
NEGATION = re.compile(r"\b(not|no|never|nothing|none|cannot|unable|unfortunately|without)\b|n't\b", re.I)
PROMISE = re.compile(
    r"\b(will|shall|going to|promise\w*|guarantee\w*|right away|immediately|today|tomorrow|soon|asap)\b|'ll\b", re.I
)
# the customer reports something wrong: an apology fits
PROBLEM = re.compile(
    r"\b(not|never|no|nothing|nobody|broken|broke|wrong|problem|issue|trouble|error|fail\w*|faulty|defective|"
    r"damaged|cracked|missing|lost|stolen|late|delayed|locked|stopped|dead|leak\w*|angry|furious|upset|"
    r"ridiculous|unacceptable|mess|sick|fed up|disappointed|complain\w*|again|still)\b|n't\b|can'?t\b",
    re.I,
)
_WORD = re.compile(r"[a-z][a-z'-]*")


def _stem(word: str) -> str:
    return word.lower().strip("'-")[:5]


def check_opener(opener: str, request: str) -> list[str]:
    """Problems with an opening sentence; empty when it may go out before the facts."""
    text = opener.strip()
    if not text:
        return ["the opener is empty"]
    problems: list[str] = []
    words = _WORD.findall(text.lower())
    if len(words) > MAX_WORDS or len(words) < 3:
        problems.append("the opener is not one short sentence")
    if re.search(r"[^A-Za-z ,'.!]", text) or re.search(r"[.!].", text):
        problems.append("the opener is not one plain sentence")
    if LEAK_MARKERS.search(text):
        problems.append("the opener repeats internal instructions")
    if any(pattern.search(text) for pattern in ACTION_CLAIMS.values()):
        problems.append("the opener claims an action")
    for name, pattern in (("a state", STATE), ("a negation", NEGATION), ("a promise", PROMISE)):
        found = pattern.search(text)
        if found:
            problems.append(f"the opener states {name}: {found.group(0)!r}")
    if SORRY.search(text) and not PROBLEM.search(request):
        problems.append("the opener apologises for a problem the customer did not report")
    said = {_stem(w) for w in _WORD.findall(request.lower())}
    allowed = {_stem(w) for w in ACKNOWLEDGING} | said
    foreign = [
        w
        for w in words
        if w not in STOP_WORDS and len(w) > 2 and _stem(w) not in allowed and not SORRY.fullmatch(w.strip("'"))
    ]
    if foreign:
        problems.append(f"the opener says what the customer did not: {', '.join(foreign[:3])}")
    return problems


# words of a message that name nothing ("I want", "please tell me") are not a topic
_FILLER = {
    "want",
    "wanted",
    "like",
    "need",
    "tell",
    "know",
    "give",
    "help",
    "hey",
    "yes",
    "really",
    "actually",
    "already",
    "just",
    "one",
    "time",
    "times",
    "day",
    "days",
    "yesterday",
    "week",
    "weeks",
    "month",
    "thing",
    "things",
    "stuff",
    "going",
    "supposed",
    "anymore",
    "honestly",
    "right",
    "now",
    "ever",
    "even",
    "single",
    "every",
    "make",
    "made",
    "says",
    "said",
    "keeps",
    "still",
    # verbs name an action, not a topic ("the change")
    "track",
    "cancel",
    "change",
    "send",
    "check",
    "talk",
    "find",
    "see",
    "leave",
    "put",
    "fix",
    "sort",
    "ask",
    "asked",
    "write",
    "writing",
    "delete",
    "tried",
    "try",
    "trying",
    "told",
    "come",
    "came",
    "take",
    "took",
    "placed",
    "ordered",
    "bought",
}
MAX_TOPIC_WORDS = 12


def opener_lead(request: str) -> str:
    """An apology where the customer reports a problem, thanks otherwise (chosen by rule, not by the model)."""
    return LEAD_SORRY if PROBLEM.search(request) else LEAD_THANKS


def topic_phrases(request: str) -> list[str]:
    """What the opener may name: the message's content words, alone or as a pair written side by
    side ("shipping charge", "delivery address"), none of them a state, negation or promise."""
    tokens = re.findall(r"[a-z]+(?:'[a-z]+)?", request.lower())

    def usable(word: str) -> bool:
        return (
            len(word) >= 3
            and "'" not in word
            and word not in STOP_WORDS
            and word not in _FILLER
            and not any(p.fullmatch(word) for p in (STATE, NEGATION, PROMISE, SORRY, PROBLEM))
        )

    singles = list(dict.fromkeys(w for w in tokens if usable(w)))[:MAX_TOPIC_WORDS]
    pairs = [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False) if a in singles and b in singles and a != b]
    return list(dict.fromkeys(pairs + singles))


def topic_grammar(request: str) -> str | None:
    """GBNF for the topic the model may write: "the" or "your", one phrase of `topic_phrases`, a
    full stop. None when the message has no word to name (then no opener is written)."""
    phrases = topic_phrases(request)
    if not phrases:
        return None
    choices = " | ".join(f'"{p}"' for p in phrases)
    return f'root ::= ("the " | "your ") topic "."\ntopic ::= {choices}'
