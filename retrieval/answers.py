"""Pick the sentences of the retrieved passages that answer the question.

Retrieval finds the right article; the reply needs the right *fact* from it. A help article
answers several questions ("30 days" in its first paragraph, "January 31" under "Holiday
exception"), so the sentence is chosen on its own: every sentence or bullet line of the top
passages is scored against the question, with its section heading as context, and the best
ones become the cited fact.

The score adds three signals, each cheap:

- meaning: cosine of the static sentence vectors (``retrieval.vectors``) of the question and of
  "heading + sentence", which matches "how long do I have" with "within 30 days";
- words: the share of the question's content words (lightly stemmed) found in the unit, which
  keeps exact terms such as "earbuds" or "E-203" decisive;
- rank: a small prior for the passage retrieval ranked first;
- deadline: "how long do I have to return it?" asks for a deadline, not a duration, and the
  vectors cannot tell the two apart ("a return reaches us in 3 to 5 days" scores higher than
  "return within 30 days"); such a question prefers a sentence that states a limit ("within",
  "until", "no later than").
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.vectors import load_model

# Weights chosen on the dev half of evals/retrieval/answers.v1.jsonl (see its README); the rank
# prior halved in the sixth session (retrieval's first article is not the answer's often enough).
MEANING_WEIGHT = 1.0
WORDS_WEIGHT = 0.5
RANK_PRIOR = (0.04, 0.015, 0.0)
HEADING_SHARE = 1.0
TITLE_CONTEXT = True
DEADLINE_BONUS = 0.2
# a question word that only starts a word of the sentence (or is started by one) counts this share
PREFIX_SHARE = 0.5
PREFIX_MIN = 5
# A sentence that only points elsewhere ('See "Payment declined or failed".', '... see "Privacy
# requests"') answers nothing itself; the reply would cite a title, not a fact.
POINTER_PENALTY = 0.15
_POINTER = re.compile(r'(?:^|[:;,.]\s*|\b(?:and|or)\s+)see "', re.I)
_ASKS_DEADLINE = re.compile(
    r"\bhow (?:long|many days|much time) do (?:i|we) (?:\w+ly |still )?(?:have|get) (?:to|for) (?!wait)\w+"
    r"|\buntil when\b|\bdeadline\b|\btime limit\b|\blast day (?:to|for)\b|\bhow late can\b",
    re.I,
)
_STATES_DEADLINE = re.compile(r"\b(?:within|until|up to|no later than|deadline|by the end of)\b", re.I)

# What kind of fact a question asks for, and what a sentence stating that kind of fact holds. The
# sentence vectors hear the topic ("locked", "refund") but not the ask ("how long", "how many
# times"), so among the sentences on the topic the one of the asked kind gains ``ASK_BONUS``.
ASK_BONUS = 0.2
_DURATION = r"\b\d+(?:\s*(?:to|-|or)\s*\d+)?\s*(?:business |working |calendar )?(?:minutes?|hours?|days?|weeks?|months?|years?)\b"
ASK_KINDS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    (
        "duration",
        re.compile(
            r"\bhow (?:long|soon|quickly|many (?:days|hours|weeks|minutes|months))\b|\bwhen (?:will|would|does|do|can)\b"
            r"|\buntil when\b|\bhow much time\b",
            re.I,
        ),
        re.compile(_DURATION + r"|\bsame (?:or next )?(?:business )?day\b|\bimmediately\b", re.I),
    ),
    (
        "amount",
        re.compile(
            r"\bhow much\b|\bwhat (?:does|will|would) (?:it|that|this) cost\b|\bwhat(?:'s| is| are) the (?:fee|price|cost|charge)"
            r"|\bis (?:there|it) (?:a )?(?:fee|charge|free)\b|\bdo (?:you|i) (?:charge|pay)\b"
            r"|\b(?:do|will|would) (?:i|we) (?:have|need) to pay\b|\bwho pays\b",
            re.I,
        ),
        re.compile(r"[$€£]\s?\d|\b\d+(?:\.\d+)?\s?%|\bfree\b|\bno (?:fee|charge|cost)\b", re.I),
    ),
    (
        "count",
        re.compile(r"\bhow many\b(?! (?:days|hours|weeks|minutes|months|years|times)\b)", re.I),
        re.compile(
            r"\b(?:up to |at most |at least |maximum of |max )?\d+\b"
            r"(?! ?(?:%|business|working|days?|hours?|minutes?|weeks?|months?|years?)\b)",
            re.I,
        ),
    ),
    (
        "frequency",
        re.compile(r"\bhow (?:many times|often)\b|\btimes (?:a|per|each) (?:year|month|week|day)\b", re.I),
        re.compile(r"\b(?:per|a|each|every) (?:year|month|week|day|hour|order)\b|\b(?:once|twice|\d+ times)\b", re.I),
    ),
    (
        "schedule",  # "when do you do maintenance?": a day or a time of day, not a duration
        re.compile(
            r"\bwhen (?:do|does|is|are) (?:you|u|they|it|the)\b|\bwhat time\b|\bwhich days?\b|\bopening hours\b", re.I
        ),
        re.compile(
            r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b|\b\d{1,2}(?::\d\d)?\s?(?:a\.m\.|p\.m\.|am|pm)\b"
            r"|\b(?:weekdays?|weekends?|midnight|noon)\b",
            re.I,
        ),
    ),
    (
        "bound",  # "is there a minimum length?", "can I use two codes?": the limit, not the topic
        re.compile(
            r"\b(?:minimum|maximum|min|max|limit|at least|at most|how (?:short|few)|stack|combine|more than one|several)\b",
            re.I,
        ),
        re.compile(
            r"\b(?:at least|at most|up to|minimum|maximum|no more than|only one|one per|limit(?:ed)? to|cannot be combined)\b",
            re.I,
        ),
    ),
    (
        "undo",  # "I closed my account by mistake, can I undo it?": the way back, not the way there
        re.compile(r"\b(?:undo|reverse|revert|take (?:it|that) back|restore|reactivate|reopen|by mistake)\b", re.I),
        re.compile(r"\b(?:reactivat|restor|undo|revers|revert|reopen|cancel it from)\w*", re.I),
    ),
    (
        "label",  # "how will your charges show up on my statement": the name it appears under
        re.compile(r"\b(?:show(?:s|ed)? up|appear|look like|called|named|listed) (?:on|as|in)\b", re.I),
        re.compile(r"\b(?:appears?|shown|listed|named|called) as\b", re.I),
    ),
    (
        "steps",
        re.compile(r"\bhow (?:do|can|would|should) (?:i|we)\b|\bhow to\b|\bwhere (?:do|can|would) (?:i|we)\b", re.I),
        re.compile(r">|\b(?:select|go to|choose|tap|click|open|use|enter)\b", re.I),
    ),
    (
        "requirement",
        re.compile(
            r"\bwhat (?:do|would|will|should) (?:i|we) (?:need|have) to\b|\bwhat (?:do|should|must) (?:i|we) "
            r"(?:send|provide|give|upload|bring)\b|\bwhat (?:documents|information|details|proof)\b",
            re.I,
        ),
        re.compile(r"\b(?:need to|needs to|must|required?|upload|provide|have ready|proof|verif\w+)\b", re.I),
    ),
)


def asked_kinds(question: str) -> list[str]:
    """The kinds of fact ``question`` asks for ("duration", "amount", "count", "steps", ...)."""
    return [name for name, asks, _ in ASK_KINDS if asks.search(question)]


# Words that carry no topic: skipped when matching questions to sentences here, and by the
# reply check (nodes/guards/facts.py) when it asks whether a sentence says more than the facts.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "cannot",
        "cant",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don't",
        "dont",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "get",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "hello",
        "her",
        "here",
        "hers",
        "hey",
        "hi",
        "him",
        "his",
        "how",
        "i",
        "i'll",
        "i'm",
        "if",
        "im",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "ive",
        "just",
        "let",
        "many",
        "may",
        "me",
        "might",
        "mine",
        "more",
        "most",
        "much",
        "must",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "ok",
        "okay",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "same",
        "shall",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "thank",
        "thanks",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "u",
        "under",
        "until",
        "up",
        "ur",
        "us",
        "very",
        "was",
        "we",
        "we'll",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "won't",
        "wont",
        "would",
        "yes",
        "you",
        "you'll",
        "your",
        "yours",
        "yourself",
    ]
)

_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_MIN_CHARS = 20
SHORT_LEADS = True  # a sentence under _MIN_CHARS joins the next one instead of being dropped
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])")
_ABBREVIATION_END = re.compile(r"\b(?:[ap]\.m|e\.g|i\.e|etc|approx|no|vs|st|mr|mrs|ms|dr)\.$", re.I)


@dataclass(frozen=True)
class AnswerUnit:
    text: str
    heading: str
    doc_id: str
    rank: int
    position: int
    listed: bool = False  # a bullet or table row: it reads right only under its heading
    in_section: bool = False  # under a second-level or deeper heading ("Phone"), not the article's title

    @property
    def answer_text(self) -> str:
        """The unit as a fact on its own: a list item keeps its heading ("Items that cannot be
        returned: Opened in-ear headphones...")."""
        if (self.listed or self.in_section) and self.heading and not self.text.lower().startswith(self.heading.lower()):
            # "Phone: Closed on Sundays" says what is closed; the sentence alone does not
            return f"{self.heading}: {self.text}"
        return self.text


def asks_for_deadline(question: str) -> bool:
    """ "How long do I have to return it?", "until when can I...": a limit, not a duration
    ("how long do I have to wait" is a duration)."""
    return bool(_ASKS_DEADLINE.search(question))


def _stem(word: str) -> str:
    if word.endswith("ally") and len(word) > 6:  # internationally -> international
        return word[:-2]
    for suffix, keep in (("ly", 4), ("ing", 3), ("ed", 3), ("es", 3), ("s", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            return word[: -len(suffix)]
    return word


# a few spellings and short forms customers use for the articles' words
_WORD_FORMS = {"amex": "american", "recognize": "recognise", "recognized": "recognised", "organize": "organise"}


def _match_stem(word: str) -> str:
    """``_stem``, and "complete"/"completed" or "receive"/"received" meet on one stem: the
    picker's word match (the knowledge base and the desks keep ``content_words``)."""
    word = _stem(_WORD_FORMS.get(word, word))
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _prefix_match(word: str, words: set[str]) -> bool:
    """ "crypto" and "cryptocurrency", "refundable" and "refund": one word starts the other (5+ letters)."""
    if len(word) < PREFIX_MIN:
        return False
    return any(len(w) >= PREFIX_MIN and (w.startswith(word) or word.startswith(w)) for w in words)


def content_words(text: str) -> set[str]:
    """Lower-case, lightly stemmed words that carry meaning; error codes ("e-203") count."""
    words = re.findall(r"[a-z0-9][a-z0-9-]*", text.lower().replace("'", ""))
    return {_stem(w) for w in words if w not in STOP_WORDS and (len(w) > 2 or w.isdigit())}


def _match_words(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9][a-z0-9-]*", text.lower().replace("'", ""))
    return {_match_stem(w) for w in words if w not in STOP_WORDS and (len(w) > 2 or w.isdigit())}


def _sentences(line: str) -> list[str]:
    """Split on sentence ends, but not after "2 p.m." or "e.g."."""
    out: list[str] = []
    for piece in _SENTENCE_END.split(line):
        if out and _ABBREVIATION_END.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return [s.strip() for s in out if s.strip()]


def split_units(passage_text: str, doc_id: str, rank: int) -> list[AnswerUnit]:
    """Sentences and bullet lines of a passage, each with the heading it sits under."""
    units: list[AnswerUnit] = []
    heading = ""
    in_section = False
    columns: list[str] = []
    lines = [line.strip() for line in passage_text.replace("**", "").splitlines()]
    for n, line in enumerate(lines):
        if n + 1 < len(lines) and _TABLE_RULE.match(lines[n + 1]):
            # a table's header row states nothing itself, but names the columns of each row
            columns = [c.strip() for c in line.strip("|").split("|")]
            continue
        if not line.startswith("|"):
            columns = []
        match = _HEADING.match(line)
        if match:
            heading = match.group(2).strip()
            in_section = len(match.group(1)) >= 2
            continue
        listed = line.startswith(("-", "*", "|")) or bool(re.match(r"\d+\.\s", line))
        line = line.lstrip("-*| ").strip()
        if not line:
            continue
        if "|" in line:  # a table row: "Standard | 3-5 days | $4.99" reads as one fact
            cells = [c.strip() for c in line.split("|") if c.strip()]
            if not cells or set("".join(cells)) <= set("-: "):
                continue
            if len(cells) > 1 and len(columns) == len(cells):
                # "Canada: International Standard 7 to 12 business days, $14.99; International Express ..."
                line = f"{cells[0]}: " + "; ".join(
                    f"{col} {cell}" for col, cell in zip(columns[1:], cells[1:], strict=True)
                )
            else:
                line = f"{cells[0]}: {' '.join(cells[1:])}" if len(cells) > 1 else cells[0]
        carry = ""  # a short lead ("Wait 30 minutes.") reads with the sentence after it
        for sentence in _sentences(line):
            sentence = f"{carry} {sentence}" if carry else sentence
            carry = ""
            if len(sentence) >= _MIN_CHARS:
                units.append(AnswerUnit(sentence, heading, doc_id, rank, len(units), listed, in_section))
            elif SHORT_LEADS:
                carry = sentence
    return units


def rank_units(question: str, passages: Sequence[dict[str, Any]]) -> list[tuple[float, AnswerUnit]]:
    """Every unit of ``passages`` (dicts with ``doc_id`` and ``text`` or the whole ``document``,
    best first), best first."""
    units = [
        unit
        for rank, passage in enumerate(passages)
        for unit in split_units(str(passage.get("document") or passage["text"]), str(passage["doc_id"]), rank)
    ]
    if not units:
        return []
    # the article's title is context too: "Return policy: 30-day window" says what its
    # first paragraph is about better than that paragraph's own words
    titles = {str(p["doc_id"]): str(p.get("title") or "") for p in passages} if TITLE_CONTEXT else {}
    context = [" ".join(x for x in (titles.get(u.doc_id, ""), u.heading) if x) for u in units]
    vectors = load_model()
    q_vec = vectors.encode_one(question)
    u_vecs = vectors.encode([f"{c}. {u.text}" if c else u.text for c, u in zip(context, units, strict=True)])
    meaning = np.asarray(u_vecs @ q_vec)
    # words rare among the candidates ("canada") decide more than common ones ("ship")
    q_words = _match_words(question)
    text_words = [_match_words(u.text) for u in units]
    head_words = [_match_words(c) for c in context]
    df = {w: sum(w in tw or w in hw for tw, hw in zip(text_words, head_words, strict=True)) for w in q_words}
    idf = {w: math.log((len(units) + 1) / (df[w] + 1)) + 1.0 for w in q_words}
    q_mass = sum(idf.values()) or 1.0
    deadline = asks_for_deadline(question)
    kinds = [states for name, asks, states in ASK_KINDS if asks.search(question)]
    scored = []
    for unit, tw, hw, cos in zip(units, text_words, head_words, meaning.tolist(), strict=True):
        # a word only in the heading or title counts HEADING_SHARE of one in the sentence itself
        overlap = (
            sum(idf[w] * (1.0 if w in tw else HEADING_SHARE) for w in q_words & (tw | hw))
            + PREFIX_SHARE * sum(idf[w] for w in q_words - tw - hw if _prefix_match(w, tw))
        ) / q_mass
        prior = RANK_PRIOR[unit.rank] if unit.rank < len(RANK_PRIOR) else 0.0
        limit = DEADLINE_BONUS if deadline and _STATES_DEADLINE.search(unit.text) else 0.0
        kind = ASK_BONUS if any(states.search(unit.answer_text) for states in kinds) else 0.0
        pointer = POINTER_PENALTY if _POINTER.search(unit.text) else 0.0
        scored.append((MEANING_WEIGHT * cos + WORDS_WEIGHT * overlap + prior + limit + kind - pointer, unit))
    scored.sort(key=lambda item: -item[0])
    return scored


def pick_answer(question: str, passages: Sequence[dict[str, Any]], limit: int = 2) -> tuple[str, str] | None:
    """(answer text, doc_id): the best unit, plus the next best of the same document when it
    scores close; in document order. None when the passages hold no sentence."""
    ranked = rank_units(question, passages)
    if not ranked:
        return None
    best_score, best = ranked[0]
    chosen = [best]
    for score, unit in ranked[1:]:
        if len(chosen) >= limit:
            break
        if unit.doc_id == best.doc_id and score >= best_score - 0.15:
            chosen.append(unit)
    chosen.sort(key=lambda u: u.position)
    texts: list[str] = []
    for n, unit in enumerate(chosen):
        same_section = n > 0 and chosen[n - 1].heading == unit.heading  # the heading is said once
        text = unit.text if same_section else unit.answer_text
        texts.append(text if text[-1] in ".!?:;" else f"{text}.")
    return " ".join(texts), best.doc_id


def section_leads(document: str, headings: Sequence[str]) -> list[str]:
    """ "Heading: first sentence" for each of ``headings`` (case-insensitive) found in
    ``document``, in the order asked: a channel list from a contact page, say."""
    leads: dict[str, str] = {}
    for unit in split_units(document, "", 0):
        key = unit.heading.lower()
        if key not in leads:
            leads[key] = f"{unit.heading}: {unit.text}"
    return [leads[h.lower()] for h in headings if h.lower() in leads]


def section_items(document: str, heading: str) -> list[str]:
    """The sentences and list items under ``heading`` (case-insensitive), in order."""
    return [u.text for u in split_units(document, "", 0) if u.heading.lower() == heading.lower()]
