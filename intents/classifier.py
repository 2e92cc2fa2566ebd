"""The intent classifier: a customer message in, one of the 27 intents (and so a department) out.

How it generalises past the Bitext phrasings it is trained on:

1. ``normalise`` rewrites a message into a canonical form before any feature is
   taken: lower case, placeholders (``{{Order Number}}``) and entity values (order
   ids, money amounts, names, account tiers) become fixed tokens, chat spelling and
   contractions are expanded (``u`` -> ``you``, ``cant`` -> ``can not``), swear
   words and interjections are dropped, domain synonyms are folded onto one word
   (``bill`` -> ``invoice``, ``rebate`` -> ``refund``) and words outside the
   training vocabulary are spell-corrected against it.
2. Training adds hand-written plain-language utterances to the Bitext rows: ~610 in
   (``data/routing/core_seeds.jsonl``: "where is my refund", "do you take
   paypal") and 1,956 in ``data/routing/seeds/*.jsonl`` (72 per intent, every register; part6
   wraps requests in stories, complaints, indirect and implicit phrasings), then
   noisy copies of every utterance: typos, chat register, swearing, other carrier phrases,
   verb synonyms.
3. Features are word 1-2-grams over lightly stemmed tokens plus character 2-5-grams
   inside word boundaries (robust to the typos the corrector misses).
4. A linear SVM scores the 27 intents plus an internal off-topic class (keyboard
   mash, numbers, chit-chat), which is never returned but takes probability mass
   from the intents so gibberish gets a low confidence. A temperature, fitted on
   out-of-fold scores of held-out phrasing groups, turns the scores into calibrated
   probabilities. (``TrainConfig.blend_svm < 1`` blends in a logistic regression;
   both are linear, so the blend folds into one weight matrix. It measured no
   better and trains 4x slower, so it is off.)
5. A second scorer, a logistic regression on the static sentence vector of the normalised
   text (mean of packaged token vectors, ``retrieval.vectors``), is added to the SVM's
   scores: it knows that "annul" is near "cancel" when no training row says "annul".

6. Request focus: in a message of several sentences, the sentences that ask (a question, "I'd
   like", "can you") are scored again on their own and averaged with the whole message
   (``TrainConfig.request_focus``), so the story around a request does not outvote it.
   Request wrappers that name no intent ("can you ask someone to ...", "I was wondering
   whether ...") are dropped by ``normalise``.

``predict`` scores one message in pure Python + numpy (no scipy call), about 0.1-0.2 ms on
one core (each word's character n-gram ids and sentence-vector token ids are looked up once
and cached); ``predict_many`` uses the vectorised sparse path and gives the same scores.
Nothing is downloaded: the model is trained from the CSV that ships with the repo.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from intents.catalog import INTENTS, department_for

CLASSIFIER_VERSION = "2026.12.04-9"
"""Bump when normalisation, features or training change: stored models go stale."""

_WORD_CACHE_MAX = 20_000
"""Words whose n-gram and token ids the single-message path keeps (about 1 KiB each at most)."""

MAX_CHARS = 2000
"""Only the start of a longer message is classified (the request is nearly always there)."""

DEFAULT_CSV: Path = Path(__file__).resolve().parents[1] / "data" / "bitext" / "bitext_customer_support_4514.csv"
SEED_DIR: Path = Path(__file__).resolve().parents[1] / "data" / "routing" / "seeds"
# The first hand-written utterances (plain phrasings Bitext lacks: "where is my refund", "do you
# take paypal"). Unlike the seed files they teach the speller its words (no deliberate typos).
CORE_SEEDS: Path = Path(__file__).resolve().parents[1] / "data" / "routing" / "core_seeds.jsonl"
"""Hand-written training utterances (JSON lines: text, intent, style), trained on with Bitext."""
# Intent-free sentences around a request (a story, a greeting, a signature) that training wraps
# some noisy copies in (``intents.augment.add_context``).
CONTEXT_SENTENCES: Path = Path(__file__).resolve().parents[1] / "data" / "routing" / "context.jsonl"

# --------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_MONEY = re.compile(r"(?:[$€£¥]\s?\d[\d,.]*|\d[\d,.]*\s?(?:\$|€|£|dollars?|bucks|euros?|eur|usd|pounds?|gbp)\b)")
_NAME_WITH_TITLE = re.compile(r"\b(?:mr|mrs|ms|miss|dr|sir|madam)\.?\s+[a-z][a-z'-]+")
_DIGITS = re.compile(r"#?\s?\d[\d-]*")
_SMALL_NUMBER = re.compile(r"\b\d{1,2}(?:st|nd|rd|th|x|pcs)?\b")
_HOW_2 = re.compile(r"\b(how|want|need|wanna|going|have|trying|got|able|like) 2\b")
_FOR_4 = re.compile(r"\b4 (me|you|u|my|the|a)\b")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|<[a-z]+>")
_REPEAT3 = re.compile(r"([a-z])\1{2,}")
_ANY_DIGIT = re.compile(r"\d")

# placeholder name (lower case, words) -> canonical token
_PLACEHOLDER_RULES: tuple[tuple[str, str], ...] = (
    ("amount", " <amount> "),
    ("currency", " "),
    ("name", " <person> "),
    ("account type", " <tier> "),
    ("account category", " <tier> "),
    ("profile type", " <tier> "),
    ("city", " <place> "),
    ("country", " <place> "),
    ("location", " <place> "),
    ("number", " <num> "),
    ("id", " <num> "),
    ("date", " <date> "),
    ("time", " <date> "),
    ("email", " email "),
    ("url", " website "),
    ("website", " website "),
)

_TIERS_ALWAYS = {"platinum", "gold", "premium", "freemium", "silver", "bronze", "diamond", "vip"}
_TIERS_BEFORE_ACCOUNT = {"pro", "free", "standard", "basic", "business", "plus", "family"}
_ACCOUNT_NOUNS = {"account", "accounts", "profile", "plan", "membership", "subscription", "user"}

# chat spelling, contractions and multi-word slang; applied token-wise (keys are tokens)
_SLANG: dict[str, str] = {
    "u": "you",
    "ya": "you",
    "yu": "you",
    "yo": "",
    "ur": "your",
    "urs": "yours",
    "yr": "your",
    "r": "are",
    "y": "why",
    "n": "and",
    "b4": "before",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "bcoz": "because",
    "abt": "about",
    "hv": "have",
    "jus": "just",
    "pls": "please",
    "plz": "please",
    "plss": "please",
    "plse": "please",
    "pleas": "please",
    "pleeease": "please",
    "thx": "",
    "thanks": "",
    "ty": "",
    "tnx": "",
    "kindly": "",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "gimme": "give me",
    "lemme": "let me",
    "dunno": "do not know",
    "kinda": "kind of",
    "sorta": "sort of",
    "cant": "can not",
    "cannot": "can not",
    "can't": "can not",
    "dont": "do not",
    "don't": "do not",
    "doesnt": "does not",
    "doesn't": "does not",
    "didnt": "did not",
    "didn't": "did not",
    "wont": "will not",
    "won't": "will not",
    "isnt": "is not",
    "isn't": "is not",
    "arent": "are not",
    "aren't": "are not",
    "wasnt": "was not",
    "wasn't": "was not",
    "havent": "have not",
    "haven't": "have not",
    "hasnt": "has not",
    "hasn't": "has not",
    "couldnt": "could not",
    "couldn't": "could not",
    "wouldnt": "would not",
    "wouldn't": "would not",
    "shouldnt": "should not",
    "shouldn't": "should not",
    "im": "i am",
    "i'm": "i am",
    "ive": "i have",
    "i've": "i have",
    "i'd": "i would",
    "i'll": "i will",
    "ill": "i will",
    "youre": "you are",
    "you're": "you are",
    "whats": "what is",
    "what's": "what is",
    "wheres": "where is",
    "where's": "where is",
    "hows": "how is",
    "how's": "how is",
    "whens": "when is",
    "when's": "when is",
    "thats": "that is",
    "that's": "that is",
    "theres": "there is",
    "there's": "there is",
    "its": "it is",
    "it's": "it is",
    "let's": "let us",
    "whos": "who is",
    "who's": "who is",
    "hw": "how",
    "wat": "what",
    "wut": "what",
    "wht": "what",
    "wen": "when",
    "wher": "where",
    "rn": "right now",
    "asap": "",
    "tho": "",
    "btw": "",
    "fyi": "",
    "ok": "",
    "okay": "",
    "k": "",
    "pl": "please",
    "acct": "account",
    "accnt": "account",
    "acc": "account",
    "addr": "address",
    "addy": "address",
    "info": "information",
    "pw": "password",
    "pwd": "password",
    "passwd": "password",
    "passcode": "password",
    "pin": "password",
    "e-mail": "email",
    "mail": "email",
    "emails": "email",
    "msg": "message",
    "ppl": "people",
    "smth": "something",
    "sth": "something",
    "pkg": "package",
    "qty": "quantity",
    "cs": "customer service",
    "helpdesk": "customer service",
    "signup": "registration",
    "sign-up": "registration",
    "login": "log in",
    "log-in": "log in",
    "logon": "log in",
    "signin": "sign in",
    "sign-in": "sign in",
    "newsletters": "newsletter",
    "eta": "arrival",
}

# interjections, politeness and swearing: no intent in them
_DROP_WORDS = """
    hey hi hello hiya heya howdy yo um uh uhm umm hmm ugh argh jeez lol lmao omg omfg please
    dude bro man guys folks sir madam mate pal there's damn damned dammit damnit goddamn
    goddamned goddam bloody fuck fucks fucking fuckin fucked fking fkn fkin effing freaking
    frigging friggin frickin fricking sodding shit shitty crap crappy wtf ffs stfu bullshit
    bs ass asshole arse bastard bastards motherfucker motherfucking mf piss pissed stupid
    dumb idiot idiots bugger heck
"""
_DROP = frozenset(_DROP_WORDS.split())
_HELL_PHRASES = re.compile(r"\b(?:the|in) (?:hell|heck|fuck|f)\b")

# Wrappers around a request that name no intent of their own: "can you ask someone to refund
# order 66201" is a refund, not a request for a person ("someone" folds onto "agent"), and "I
# was wondering whether order 29930 could be stopped" is a cancellation. Dropped before the
# phrases and synonyms, unless the wrapped verb is itself about reaching a person ("could
# someone call me back").
_WRAPPED_VERB_IS_CONTACT = (
    r"(?!(?:help me )?(?:to )?(?:talk|speak|chat|call|ring|phone|contact|reach|get back|get in touch|"
    r"real|live|human|actual|who|that|help me$)\b)"
)
_HELPER = (
    r"(?:someone|somebody|anyone|anybody|a colleague|one of your (?:colleagues|people|staff|team)"
    r"|your (?:team|colleagues|staff|people)|the right (?:team|person|people))"
    r"(?: there| (?:in|from|at|over) (?:there|here|\w+))?"
)
_WRAPPERS: tuple[re.Pattern[str], ...] = (
    re.compile(
        rf"\b(?:can|could|would|will) you (?:ask|get|have|tell|make) {_HELPER} {_WRAPPED_VERB_IS_CONTACT}(?:to )?(?=\w)"
    ),
    re.compile(rf"\b(?:can|could|would|will|may) {_HELPER} {_WRAPPED_VERB_IS_CONTACT}(?:help me )?(?:to )?(?=\w)"),
    re.compile(r"\bi (?:was|am|have been) (?:just )?wondering (?:whether |if )?"),
)
_WRAPPER_WORDS = ("someone", "somebody", "anyone", "anybody", "colleague", "your", "the right", "wondering")

# multi-word domain phrases folded onto one token (applied to the joined text)
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{src}\b"), dst)
    for src, dst in (
        (r"^id (?=like|love|want|need)", "i would "),
        (r"money back", "refund"),
        (r"my money", "refund"),
        (r"pin code", "password"),
        (r"access (?:key|code)", "password"),
        (r"user key", "password"),
        (r"security (?:key|code)", "password"),
        (r"pass word", "password"),
        (r"sign(?:ing|ed)? up", "registration"),
        (r"sign(?:ing|ed)? in", "log in"),
        (r"log(?:ging|ged)? (?:in|on)(?:to)?", "log in"),
        (r"mailing list", "newsletter"),
        (r"news letter", "newsletter"),
        (r"e mail", "email"),
        (r"(?:email|e-mail|mail) address(?:es)?", "email"),
        (r"(?:subscription|membership|account) (?:plan|level|tier)", "plan"),
        (r"customer (?:support|care|services)", "customer service"),
        (r"support team", "customer service"),
        (r"help desk", "customer service"),
        (r"live chat", "chat"),
        (r"real (?:person|human|people)", "agent"),
        (r"live (?:person|agent|human)", "agent"),
        (r"check ?out", "checkout"),
        (r"opt(?:ing)? out", "unsubscribe"),
        (r"opt(?:ing)? in", "subscribe"),
        (r"credit cards?", "card"),
        (r"debit cards?", "card"),
    )
)

# each phrase with a word that must occur for it to match ("" when none is fixed): the cheap
# ``in`` test skips most of the regular expressions on most messages
_PHRASE_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    ((m.group(1) if (m := re.match(r"\^?\\b([a-z]+)", p.pattern)) else ""), p, dst) for p, dst in _PHRASES
)

# single-word domain synonyms folded onto one word
_SYNONYMS: dict[str, str] = {
    "purchase": "order",
    "purchases": "order",
    "orders": "order",
    "ordr": "order",
    "bill": "invoice",
    "bills": "invoice",
    "invoices": "invoice",
    "receipt": "invoice",
    "receipts": "invoice",
    "reimbursement": "refund",
    "reimbursements": "refund",
    "reimburse": "refund",
    "reimbursed": "refund",
    "reimbursing": "refund",
    "rebate": "refund",
    "rebates": "refund",
    "restitution": "refund",
    "restitutions": "refund",
    "compensation": "refund",
    "compensations": "refund",
    "refunds": "refund",
    "refunded": "refund",
    "refunding": "refund",
    "repayment": "refund",
    "reclamation": "complaint",
    "reclamations": "complaint",
    "claim": "complaint",
    "claims": "complaint",
    "complaints": "complaint",
    "grievance": "complaint",
    "pass": "password",
    "passwords": "password",
    "pincode": "password",
    "profile": "account",
    "profiles": "account",
    "accounts": "account",
    "parcel": "package",
    "parcels": "package",
    "shipment": "package",
    "shipments": "package",
    "packages": "package",
    "box": "package",
    "article": "item",
    "articles": "item",
    "product": "item",
    "products": "item",
    "items": "item",
    "goods": "item",
    "stuff": "item",
    "things": "item",
    "merchandise": "item",
    "representative": "agent",
    "rep": "agent",
    "operator": "agent",
    "human": "agent",
    "person": "agent",
    "agents": "agent",
    "somebody": "agent",
    "someone": "agent",
    "support": "service",
    "care": "service",
    "assistance": "help",
    "assist": "help",
    "fees": "fee",
    "charges": "fee",
    "penalty": "fee",
    "penalties": "fee",
    "termination": "cancellation",
    "cancelation": "cancellation",
    "cancellations": "cancellation",
    "withdrawal": "cancellation",
    "modalities": "methods",
    "options": "methods",
    "option": "methods",
    "ways": "methods",
    "method": "methods",
    "forms": "methods",
    "feedback": "review",
    "opinion": "review",
    "opinions": "review",
    "reviews": "review",
    "rating": "review",
    "ratings": "review",
    "comment": "review",
    "comments": "review",
    "testimonial": "review",
    "registration": "registration",
    "register": "registration",
    "registering": "registration",
    "registered": "registration",
    "enroll": "registration",
    "enrol": "registration",
    "enrollment": "registration",
    "enrolment": "registration",
    "registrations": "registration",
    "acquire": "buy",
    "buying": "buy",
    "shop": "buy",
    "shopping": "buy",
    "delivered": "delivery",
    "deliveries": "delivery",
    "shipping": "delivery",
    "ship": "deliver",
    "shipped": "delivery",
    "adress": "address",
    "addres": "address",
    "adresses": "address",
    "addresses": "address",
}

_WORD_STOP = frozenset({"a", "an", "the"})

OFF_TOPIC = "__none__"
"""The internal class for messages with no intent; never returned, it only takes
probability mass away from the real intents so their confidence stays honest."""

# Everyday words the spelling corrector must leave alone (a real word is not a typo).
# The Bitext responses and sklearn's stop words add a few thousand more at training time.
COMMON_WORDS_TEXT = """
    able about above accept accessories accessory accident across act actual actually
    adapter add address admit advice afraid after afternoon again against age agent ages ago
    agree ahead alarm all almost alone along already alright also always amazing among
    amount and angry annoyed annoying another answer answered any anymore anyone anything
    anyway anywhere apart apartment app apparently appear apple appliance apply apron area
    arm around arrive arrived arriving asap ask asked asking attached attempt attempts avoid
    awaiting away awful baby back backpack bad bag bags bank bar base basically basket bath
    batteries battery bbq beach bear beat became become bed bedding been before began begin
    beginning behind being believe below belt best better between big bike birthday bit
    black blame blanket blender blouse blue board boat body book boot boots bored boss both
    bother bothering bottle bottom bought bowl box boy bracelet brand break bring broke
    broken brother brought brown brush bucket bucks build built bunch burn bus business busy
    but buy buying cable cables calendar call calling came camera camping can candle cannot
    cap car card care careful carpet carry cart case cash cat catch caught cause cell chair
    chance charge charged charger chatbot chatting cheap cheaper cheers chef chicago child
    choose christmas circle circles city class clean clear clearly clock close closed
    clothes clothing cloud coat code coffee cold collar colleague color colour come coming
    complete completely computer confused confusing console contract cooker cookie correct
    cost couch could count couple courier course cousin cover crash crashed crashing crazy
    cream cup curtain cushion customer cut dad daily damaged dark date daughter day days
    dead deal dear decide deep deliver delivered delivering described desk device diaper did
    die different dinner dirty disappointed disappointing discount dishwasher doing doll
    dollar done dont door double doubt down drawer dress dresser drill drive driver drop dry
    dryer due during each earbuds earlier early earn earrings easily easy eat edge
    electronics else email emailed emailing empty end enough enter error espresso even ever
    every everything everywhere exactly except excited expect expected expensive explain
    extra extremely eye fabric face fact fail failed fails fair fake fall family fan far
    fast father fault faulty fear feel few fill final finally find fine finished fire first
    fit five fix fixed flat floor fly follow food foot force forever forget form found four
    free friday fridge friend from front frustrated frustrating full fun funny furniture
    gadget game garden gave gift girl give given glad glasses gloves goes going gone good
    got great green grey grill guess guitar guy guys hair half hammer hand handbag hang
    happen happy hard hat hate have head headphones headset hear heard heater heavy held
    hello helmet help here high hit hold hole home honestly hoodie hope hopefully hot hour
    hours house huge husband idea ill immediately impossible info inside instead into
    invalid ipad iphone item items jacket jeans jewellery jewelry job join joke just keep
    kept kettle key keyboard kid kill kind kindly kitchen knew knife know lady lamp land
    laptop large last late lately later laugh least leave left leg lens less let letter lie
    life light like line lipstick list little live long look lost lot loud love low loyal
    lucky luggage made mail main make man manager many mark married match matter mattress
    may maybe mean meant meanwhile meet mess message messages met microwave middle might
    mind mine minute minutes mirror miss missing mistake mixer mom monday money monitor
    month months more morning most mother mouse move moving much mug must name near nearly
    neck necklace need never new next nice night nine nobody none normal note notebook
    nothing now number obviously odd off office often old once one online only open order
    ordered ordering original other otherwise out oven over own package page paid pain pair
    pants paper parcel parent part party pass past patience pay paying pen people perfume
    perhaps personally phone pick piece pillow place plan plane plant plate play please
    pleased point poor possibly post posted pretty previous previously price print printer
    probably promised properly pull purchased purse push put quick quickly quiet quite radio
    rain ran rate rather razor read ready real really reason received recently red refused
    regards rent reply rest returned returning rich ride ridiculous right ring road rock
    room round rude rug rule run sad safe said sale same sandals saturday save saw say says
    scarf school scooter screen second see seem seen sell seller send sending sent set seven
    several shall shampoo share she sheet shelf shipped shipping shirt shoe shoes shop
    shopping short shorts should show shut sick side sign simple simply since sincerely
    single sister sit six size skirt sleep slow small smart sneakers socks sofa some someone
    something sometimes somewhere son song soon sorry sort sound space speak speaker speed
    spend spent spoke start state stay step still stock stop stopped store story street
    strong stuck stuff such sunday supposed sure surely sweater table tablet take taken
    taking talk tax taxes teapot tell ten tent terrible test than thank thanks that them
    then there these thing things think this those though three through thursday tie till
    time tired toaster today told tomorrow tonight too took toothbrush top total totally
    touch towel town toy toys track tracking trade train tree tried trip tripod trousers
    true try tshirt tuesday turn twice two umbrella unable unacceptable under unfortunately
    unhappy unless unpaid until update updated upon upset urgent urgently use used useless
    user usually vacuum vase very wait waited waiting wake walk wall wallet want wanted war
    wardrobe warm was wash washer watch water way wear wednesday week weekend weeks weird
    well went were what whatever wheel when whenever where which while white who whole why
    wife will win window wine wish with without woman won word work worked working works
    world worried worse worst worth would write wrong year years yes yesterday yet young zip
"""
COMMON_WORDS = frozenset(COMMON_WORDS_TEXT.split())


def _light_stem(word: str) -> str:
    """A small suffix stripper for word features (plural, -ing, -ed)."""
    if word.startswith("<") or len(word) <= 4:
        return word
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "aeiousz":
                stem = stem[:-1]
            return stem.rstrip("e")
    if word.endswith("ies") and len(word) > 5:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word.rstrip("e") if len(word) > 4 else word


_SPLIT_LEFT = frozenset({"i", "u", "a", "my", "to", "an", "do", "of", "me", "in", "is", "it"})


class SpellFixer:
    """Corrects out-of-vocabulary words against a vocabulary (SymSpell-style deletes).

    Also splits run-on words ("thisorder" -> "this order") when both halves are known.
    """

    def __init__(
        self,
        counts: Counter[str],
        *,
        protected: Iterable[str] = (),
        min_count: int = 3,
        min_len: int = 4,
    ) -> None:
        self.counts: dict[str, int] = {w: c for w, c in counts.items() if c >= min_count}
        self.protected = frozenset(protected) | COMMON_WORDS
        self.min_len = min_len
        self._deletes: dict[str, list[str]] = {}
        for word in self.counts:
            if len(word) < min_len - 1:
                continue
            for variant in self._variants(word, 2 if len(word) >= 7 else 1):
                self._deletes.setdefault(variant, []).append(word)
        self._cache: dict[str, str] = {}

    def known(self, word: str) -> bool:
        return word in self.counts or word in self.protected

    @staticmethod
    def _variants(word: str, depth: int) -> set[str]:
        out = {word}
        frontier = {word}
        for _ in range(depth):
            nxt = set()
            for w in frontier:
                for i in range(len(w)):
                    nxt.add(w[:i] + w[i + 1 :])
            out |= nxt
            frontier = nxt
        return out

    @staticmethod
    def _distance(a: str, b: str) -> int:
        """Optimal string alignment distance (Damerau-Levenshtein with adjacent swaps)."""
        la, lb = len(a), len(b)
        prev2: list[int] = []
        prev = list(range(lb + 1))
        for i in range(1, la + 1):
            cur = [i] + [0] * lb
            for j in range(1, lb + 1):
                cost = 0 if a[i - 1] == b[j - 1] else 1
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                    cur[j] = min(cur[j], prev2[j - 2] + 1)
            prev2, prev = prev, cur
        return prev[lb]

    def fix(self, word: str) -> str:
        if word in self.counts or word in self.protected or len(word) < self.min_len or word.startswith("<"):
            return word
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        max_dist = 2 if len(word) >= 8 else 1
        best: tuple[int, int, str] | None = None
        for variant in self._variants(word, max_dist):
            for cand in self._deletes.get(variant, ()):
                dist = self._distance(word, cand)
                if dist <= max_dist:
                    key = (dist, -self.counts[cand], cand)
                    if best is None or key < best:
                        best = key
        result = word
        if best is not None:
            result = best[2]
        else:
            for i in range(1, len(word) - 2):
                left, right = word[:i], word[i:]
                if (left in _SPLIT_LEFT or (len(left) >= 3 and self.known(left))) and self.known(right):
                    result = f"{left} {right}"
                    break
        if len(self._cache) < 50_000:
            self._cache[word] = result
        return result


def _pre_tokens(text: str) -> list[str]:
    """Everything before spelling correction: canonical tokens, no vocabulary needed."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        for key, token in _PLACEHOLDER_RULES:
            if key in name.split() or key in name:
                return token
        return " " + re.sub(r"[^a-z ]+", " ", name) + " "

    # each rewrite runs only when its trigger can be in the text (same result, a third of the time)
    if "{{" in text:
        text = _PLACEHOLDER.sub(placeholder, text)
    text = text.lower()
    if "http" in text or "www." in text:
        text = _URL.sub(" website ", text)
    if "@" in text:
        text = _EMAIL.sub(" email ", text)
    digits = _ANY_DIGIT.search(text) is not None
    if digits:
        text = _MONEY.sub(" <amount> ", text)
    text = _NAME_WITH_TITLE.sub(" <person> ", text)
    if digits:
        text = _HOW_2.sub(r"\1 to", text)
        text = _FOR_4.sub(r"for \1", text)
        text = _SMALL_NUMBER.sub(" <qty> ", text)
        text = _DIGITS.sub(" <num> ", text)
    text = _HELL_PHRASES.sub(" ", text)
    text = _REPEAT3.sub(r"\1\1", text)
    tokens: list[str] = []
    for tok in _TOKEN.findall(text):
        rep = _SLANG.get(tok)
        if rep is None and "'" in tok:
            tok = tok.split("'")[0] if tok.endswith("'s") else tok.replace("'", "")
            rep = _SLANG.get(tok)
        if rep is None:
            tokens.append(tok)
        elif rep:
            tokens.extend(rep.split())
    return tokens


def _post_tokens(tokens: list[str]) -> list[str]:
    """Swearing out, phrases and synonyms folded, tiers and numbers canonical."""
    tokens = [t for t in tokens if t not in _DROP]
    text = " ".join(tokens)
    if any(w in text for w in _WRAPPER_WORDS):
        for wrapper in _WRAPPERS:
            text = wrapper.sub("", text)
    for key, pattern, dst in _PHRASE_RULES:
        if key in text:
            text = pattern.sub(dst, text)
    out: list[str] = []
    words = text.split()
    for i, tok in enumerate(words):
        tok = _SYNONYMS.get(tok, tok)
        if tok in _TIERS_ALWAYS:
            tok = "<tier>"
        elif tok in _TIERS_BEFORE_ACCOUNT and i + 1 < len(words):
            nxt = _SYNONYMS.get(words[i + 1], words[i + 1])
            if nxt in _ACCOUNT_NOUNS:
                tok = "<tier>"
        if out and tok == out[-1] and tok.startswith("<"):
            continue
        out.append(tok)
    return out


def normalise(text: str, speller: SpellFixer | None = None) -> str:
    """The canonical form of a message that every feature is computed from."""
    tokens = _pre_tokens(text)
    if speller is not None:
        fixed: list[str] = []
        for tok in tokens:
            for piece in speller.fix(tok).split():
                rep = _SLANG.get(piece)
                if rep is None:
                    fixed.append(piece)
                elif rep:
                    fixed.extend(rep.split())
        tokens = fixed
    return " ".join(_post_tokens(tokens))


def word_view(normalised: str) -> str:
    """The string the word n-gram features see: stemmed, articles dropped."""
    return " ".join(_light_stem(t) for t in normalised.split() if t not in _WORD_STOP)


# --------------------------------------------------------------------------------------
# Request focus: in a message of several sentences, the ones that ask
# --------------------------------------------------------------------------------------

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
# A sentence asks when it is a question or opens with (or holds) a request cue; the story around
# it ("I placed an order for a set of knives this morning. My company gave us one.") does not.
_REQUEST_CUE = re.compile(
    r"\?|^(?:please |pls |so |and |but |anyway,? |now )?(?:can|could|would|will|how|where|what|when|which|is|are|"
    r"do|does|did|i'?d like|i would like|i want|i need|i'?m looking|please|help|tell|let me|send|cancel|change|"
    r"update|give|get|put|add|remove|delete|close|stop|swap|sort|find|check|make|take|just)\b|"
    r"\b(?:i'?d like|i would like|i want|i need|i'?d rather|i'?d love|i wish|can you|could you|would you|please|"
    r"is there|is it possible|how do i|how can i|what do i)\b",
    re.IGNORECASE,
)


def request_part(text: str) -> str | None:
    """The sentences of a message of several that ask for something (the last sentence when none
    does), joined; None for a one-sentence message.

    The whole message is still scored: these sentences' scores are averaged in
    (``TrainConfig.request_focus``), so that a story around the request ("this morning I placed an
    order for ...") does not outvote the request itself ("I'd like it stopped and not sent")."""
    sentences = [s for s in (p.strip() for p in _SENTENCE_BREAK.split(text)) if s]
    if len(sentences) < 2:
        return None
    asking = [s for s in sentences if _REQUEST_CUE.search(s)] or sentences[-1:]
    return None if len(asking) == len(sentences) else " ".join(asking)


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def read_bitext(csv_path: Path) -> tuple[list[str], list[str]]:
    """(instructions, intents) from a Bitext-style CSV."""
    texts: list[str] = []
    labels: list[str] = []
    with Path(csv_path).open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            texts.append(row["instruction"])
            labels.append(row["intent"])
    unknown = set(labels) - set(INTENTS)
    if unknown:
        raise ValueError(f"intents not in intents.catalog: {sorted(unknown)}")
    return texts, labels


def read_bitext_responses(csv_path: Path) -> list[str]:
    """The assistant responses: clean English the spelling corrector learns real words from."""
    with Path(csv_path).open(newline="", encoding="utf-8") as fh:
        return [row.get("response") or "" for row in csv.DictReader(fh)]


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _seed_files(seed_dir: Path) -> list[Path]:
    return sorted(Path(seed_dir).glob("*.jsonl")) if Path(seed_dir).is_dir() else []


def read_seed_files(seed_dir: Path | None = None) -> dict[str, list[str]]:
    """intent -> hand-written utterances from every ``*.jsonl`` in ``seed_dir``."""
    seeds: dict[str, list[str]] = {}
    for path in _seed_files(SEED_DIR if seed_dir is None else seed_dir):
        _read_seeds(path, seeds)
    return seeds


def read_core_seeds(path: Path = CORE_SEEDS) -> dict[str, list[str]]:
    return _read_seeds(path, {})


def _read_seeds(path: Path, seeds: dict[str, list[str]]) -> dict[str, list[str]]:
    import json

    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("intent") not in INTENTS or not str(row.get("text", "")).strip():
                raise ValueError(f"{path}:{n}: needs a text and one of the 27 intents")
            seeds.setdefault(row["intent"], []).append(row["text"])
    return seeds


def seeds_digest(seed_dir: Path | None = None) -> str:
    """One hash over the seed files' names and contents: a changed file makes the model stale."""
    h = hashlib.sha256()
    context = [CONTEXT_SENTENCES] if CONTEXT_SENTENCES.is_file() else []
    for path in [CORE_SEEDS, *context, *_seed_files(SEED_DIR if seed_dir is None else seed_dir)]:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntentPrediction:
    intent: str
    department: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]


@dataclass
class TrainConfig:
    """Knobs for training; the defaults are the shipped model."""

    augment_copies: int = 4
    normalise: bool = True
    seeds: bool = True
    off_topic: int = 600
    spell: bool = True
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    char_min_df: int = 2
    svm_c: float = 0.5
    lr_c: float = 20.0
    blend_svm: float = 1.0
    # weight of the sentence-vector scorer (logistic regression on static token-vector
    # means, see retrieval.vectors) added to the TF-IDF scores; 0 turns it off
    embed_blend: float = 1.0
    embed_c: float = 10.0
    embedder: str = "l2_supercat_256"
    calib_folds: int = 2
    # weight of the asking sentences of a longer message (``request_part``), averaged with the
    # whole message's scores at prediction time; 0 scores the whole message only
    request_focus: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class IntentClassifier:
    """Normaliser + word/char TF-IDF + one blended linear scorer + temperature."""

    def __init__(
        self,
        *,
        speller: SpellFixer | None,
        word_vec: Any,
        char_vec: Any,
        weights: np.ndarray,
        bias: np.ndarray,
        temperature: float,
        classes: Sequence[str],
        meta: dict[str, Any],
        embed_weights: np.ndarray | None = None,
    ) -> None:
        self.speller = speller
        self.word_vec = word_vec
        self.char_vec = char_vec
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float64)
        self.temperature = float(temperature)
        self.classes = tuple(classes)
        self.meta = dict(meta)
        # [vector dim x classes], already scaled: the sentence-vector scorer's share of the
        # scores (its bias is folded into ``bias``); None for a TF-IDF-only model
        self.embed_weights = None if embed_weights is None else np.ascontiguousarray(embed_weights, dtype=np.float32)
        self._prepare()

    # -- fast single-message path -----------------------------------------------------
    def _prepare(self) -> None:
        self._n_word = len(self.word_vec.vocabulary_)
        self._word_analyzer = self.word_vec.build_analyzer()
        self._char_analyzer = self.char_vec.build_analyzer()
        self._word_idf = [float(v) for v in self.word_vec.idf_]
        self._char_idf = [float(v) for v in self.char_vec.idf_]
        self._char_idf_arr = np.asarray(self.char_vec.idf_, dtype=np.float64)
        # char n-grams never cross a word boundary (``char_wb``), so each word's n-gram ids are
        # looked up once and reused: the single-message path's main saving on long messages
        self._char_ids: dict[str, np.ndarray] = {}
        self._token_ids: dict[str, list[int]] = {}
        self._word_bigrams = tuple(self.word_vec.ngram_range) == (1, 2) and self.word_vec.token_pattern == r"\S+"
        self._request_focus = float(self.meta.get("config", {}).get("request_focus", 0.0))
        self._departments = tuple(department_for(c) for c in self.classes)
        self._normalised = bool(self.meta.get("config", {}).get("normalise", True))
        self._n_intents = sum(c != OFF_TOPIC for c in self.classes)
        if any(c == OFF_TOPIC for c in self.classes[: self._n_intents]):
            raise ValueError("the off-topic class must come last")
        self._vectors = None
        if getattr(self, "embed_weights", None) is not None:
            from retrieval.vectors import load_model

            # the token vectors come from the installed wheel, never from the pickle
            self._vectors = load_model(self.meta.get("embedder", "l2_supercat_256"))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in list(state):
            if key.startswith("_"):
                del state[key]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._prepare()

    @staticmethod
    def _sparse_row(
        grams: Iterable[str], vocab: dict[str, int], idf: list[float], offset: int
    ) -> tuple[list[int], list[float]]:
        """One row of ``TfidfVectorizer(sublinear_tf=True).transform``, as index and value lists."""
        idx: list[int] = []
        vals: list[float] = []
        get = vocab.get
        for gram, count in Counter(grams).items():
            j = get(gram)
            if j is not None:
                idx.append(j + offset)
                vals.append(idf[j] if count == 1 else (1.0 + math.log(count)) * idf[j])
        if not vals:
            return idx, vals
        scale = 1.0 / math.sqrt(math.fsum([v * v for v in vals]))
        return idx, [v * scale for v in vals]

    def canonical(self, text: str) -> str:
        """The normalised text this model computes features from."""
        text = text[:MAX_CHARS]
        if self._normalised:
            return normalise(text, self.speller)
        return " ".join(_TOKEN.findall(text.lower()))

    def _word_view(self, norm: str) -> str:
        return word_view(norm) if self._normalised else norm

    def _word_char_ids(self, word: str) -> np.ndarray:
        ids = self._char_ids.get(word)
        if ids is None:
            get = self.char_vec.vocabulary_.get
            found = [get(g) for g in self._char_analyzer(word)]
            ids = np.array([j for j in found if j is not None], dtype=np.int64)
            if len(self._char_ids) < _WORD_CACHE_MAX:
                self._char_ids[word] = ids
        return ids

    def _word_token_ids(self, word: str) -> list[int]:
        """The sentence-vector tokenizer's ids for one word. Its BPE never merges across the "▁"
        that stands for a space, so a canonical text's ids are its words' ids in order (checked
        on every training and evaluation message)."""
        ids = self._token_ids.get(word)
        if ids is None and self._vectors is not None:
            ids = self._vectors.tokenizer.encode(word, add_special_tokens=False).ids
            if len(self._token_ids) < _WORD_CACHE_MAX:
                self._token_ids[word] = ids
        return ids or []

    def _raw_scores_one(self, norm: str) -> np.ndarray:
        """Scores of one canonical text: ``scores_many`` for one row, without scipy."""
        scores = self.bias.copy()
        view = self._word_view(norm)
        if self._word_bigrams:  # what the (1, 2) word analyzer yields, without its per-call set-up
            tokens = view.split()
            grams: Iterable[str] = [*tokens, *(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))]
        else:
            grams = self._word_analyzer(view)
        wi, wv = self._sparse_row(grams, self.word_vec.vocabulary_, self._word_idf, 0)
        if wi:
            scores += np.asarray(wv) @ self.weights[wi]
        words = norm.split()
        pieces = [self._word_char_ids(w) for w in words]
        if pieces:
            ids, counts = np.unique(np.concatenate(pieces), return_counts=True)
            if ids.size:
                vals = self._char_idf_arr[ids] * (1.0 + np.log(counts))  # sublinear tf
                vals /= math.sqrt(float(vals @ vals))
                scores += vals.astype(np.float32) @ self.weights[ids + self._n_word]
        if self._vectors is not None and self.embed_weights is not None:
            token_ids = [i for w in words for i in self._word_token_ids(w)]
            if token_ids:  # ``encode_one``: the unit vector of the tokens' mean (the sum's, the same)
                vec = self._vectors.matrix[token_ids].sum(axis=0)
                length = math.sqrt(float(vec @ vec))
                if length > 0:
                    scores += (vec @ self.embed_weights) / length
        return scores

    def scores_one(self, text: str) -> np.ndarray:
        text = text[:MAX_CHARS]
        scores = self._raw_scores_one(self.canonical(text))
        if self._request_focus > 0:
            part = request_part(text)
            if part is not None:
                w = self._request_focus
                scores = (scores + w * self._raw_scores_one(self.canonical(part))) / (1.0 + w)
        return scores

    def _prediction(self, probs: np.ndarray) -> IntentPrediction:
        p = probs.tolist()
        order = sorted(range(self._n_intents), key=p.__getitem__, reverse=True)[:4]
        top = order[0]
        return IntentPrediction(
            intent=self.classes[top],
            department=self._departments[top],
            confidence=p[top],
            alternatives=tuple((self.classes[k], round(p[k], 4)) for k in order[1:]),
        )

    def predict(self, text: str) -> IntentPrediction:
        z = self.scores_one(text) / self.temperature
        e = np.exp(z - z.max())
        return self._prediction(e / e.sum())

    # -- batch path ---------------------------------------------------------------------
    def features(self, texts: Sequence[str], *, normalised: bool = False) -> Any:
        """The sparse TF-IDF block (``normalised``: the texts are already canonical)."""
        from scipy import sparse

        norms = list(texts) if normalised else [self.canonical(t) for t in texts]
        xw = self.word_vec.transform([self._word_view(n) for n in norms])
        xc = self.char_vec.transform(norms)
        return sparse.hstack([xw, xc], format="csr")

    def _raw_scores_many(self, texts: Sequence[str]) -> np.ndarray:
        norms = [self.canonical(t) for t in texts]
        x = self.features(norms, normalised=True)
        scores = np.asarray(x @ self.weights, dtype=np.float64) + self.bias
        if self._vectors is not None:
            scores += self._vectors.encode(norms) @ self.embed_weights
        return scores

    def scores_many(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.classes)))
        texts = [t[:MAX_CHARS] for t in texts]
        scores = self._raw_scores_many(texts)
        if self._request_focus > 0:
            parts = [(i, part) for i, t in enumerate(texts) if (part := request_part(t)) is not None]
            if parts:
                rows = [i for i, _ in parts]
                w = self._request_focus
                focus = self._raw_scores_many([part for _, part in parts])
                scores[rows] = (scores[rows] + w * focus) / (1.0 + w)
        return scores

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return _softmax(self.scores_many(texts) / self.temperature)

    def predict_many(self, texts: list[str]) -> list[IntentPrediction]:
        return [self._prediction(p) for p in self.predict_proba(texts)]

    # -- persistence --------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # concurrent trainers
        joblib.dump(self, tmp, compress=3)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        model = joblib.load(Path(path))
        if not isinstance(model, cls):
            raise TypeError(f"{path} does not hold an IntentClassifier")
        return model

    # -- training -----------------------------------------------------------------------
    @classmethod
    def train(cls, csv_path: Path, *, seed: int = 13) -> IntentClassifier:
        texts, labels = read_bitext(csv_path)
        model = cls.fit(texts, labels, seed=seed, vocab_texts=read_bitext_responses(csv_path))
        model.meta["csv_sha256"] = file_digest(csv_path)
        model.meta["seeds_sha256"] = seeds_digest()
        model.meta["sklearn"] = _sklearn_version()  # pickled estimators are version-bound
        return model

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        seed: int = 13,
        config: TrainConfig | None = None,
        groups: Sequence[Any] | None = None,
        vocab_texts: Sequence[str] = (),
    ) -> IntentClassifier:
        """Train on given utterances.

        ``groups`` (one per utterance) keeps phrasing families together in the folds
        that calibrate the model; ``vocab_texts`` is clean prose whose words the
        spelling corrector must not touch.
        """
        from intents.train import fit_model

        return fit_model(
            cls,
            list(texts),
            list(labels),
            seed=seed,
            config=config,
            groups=groups,
            vocab_texts=vocab_texts,
        )


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def load_or_train(model_path: Path, csv_path: Path = DEFAULT_CSV) -> IntentClassifier:
    """The stored model when it matches this CSV and CLASSIFIER_VERSION; else train and save."""
    model_path = Path(model_path)
    digest = file_digest(csv_path)
    if model_path.exists():
        try:
            model = IntentClassifier.load(model_path)
        except Exception:  # unreadable or from an incompatible library version
            model = None
        if (
            model is not None
            and model.meta.get("version") == CLASSIFIER_VERSION
            and model.meta.get("csv_sha256") == digest
            and model.meta.get("seeds_sha256") == seeds_digest()
            and model.meta.get("sklearn") == _sklearn_version()
        ):
            return model
    started = time.perf_counter()
    model = IntentClassifier.train(csv_path)
    model.meta["train_seconds"] = round(time.perf_counter() - started, 2)
    model.save(model_path)
    return model
