"""Messages that need no department: a greeting, a thank-you, a goodbye, or a language we do not read.

Sent through the classifier they get a clarifying question between two random intents ("is
this about delivery options or making a complaint?"); they deserve a plain answer. Only
whole messages made of such words count: "hi, where is my order?" is a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GREETING = r"hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening)|greetings|yo"
_THANKS = r"thanks?(?: you)?(?: (?:so|very) much)?|thx|ty|cheers|much appreciated|great|perfect|awesome|ok(?:ay)?|cool"
_BYE = r"bye|goodbye|see you|that'?s all|that is all|nothing else|no(?:pe)?,? (?:that'?s it|thanks?)"
_FILLER = r"(?:\s|[,.!?:;)(-]|there|again|team|guys|folks|a lot|lots|so much|:\)|:-\))*"


def _whole(words: str) -> re.Pattern[str]:
    return re.compile(rf"^{_FILLER}(?:{words})(?:{_FILLER}(?:{words}))*{_FILLER}$", re.IGNORECASE)


_ONLY_GREETING = _whole(_GREETING)
_ONLY_THANKS = _whole(f"{_THANKS}|{_BYE}")

# Function words of the languages customers most often write in besides English. A message is
# taken as written in one when at least three of its words are that language's and more of its
# words are that language's than English.
_FOREIGN = {
    "Spanish": "el la los las de del que y en un una por para con mi mis es está estoy dónde donde cuándo "
    "pedido quiero necesito hola gracias no sí pero muy también cómo porque",
    "French": "le la les de des du que et en un une pour avec mon ma mes est je suis où quand commande "
    "veux besoin bonjour merci pas mais très aussi comment pourquoi",
    "German": "der die das den dem des und ist ich nicht ein eine mit für auf wo wann meine mein bestellung "
    "möchte brauche hallo danke aber sehr auch wie warum",
    "Portuguese": "o a os as de do da que e em um uma por para com meu minha é está estou onde quando "
    "pedido quero preciso olá obrigado não mas muito também como porque",
    "Italian": "il lo la gli le di del che e in un una per con mio mia è sono dove quando ordine voglio "
    "ho bisogno ciao grazie non ma molto anche come perché",
    "Dutch": "de het een en van ik is niet met voor op waar wanneer mijn bestelling wil nodig hallo dank "
    "maar zeer ook hoe waarom",
}
_FOREIGN_WORDS = {language: frozenset(words.split()) for language, words in _FOREIGN.items()}
_ENGLISH = frozenset(
    (
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "my",
        "is",
        "are",
        "was",
        "i",
        "you",
        "it",
        "this",
        "that",
        "where",
        "when",
        "what",
        "how",
        "why",
        "can",
        "could",
        "would",
        "please",
        "not",
        "do",
        "does",
        "did",
        "have",
        "has",
        "order",
        "refund",
        "want",
        "need",
        "help",
        "hi",
        "thanks",
    )
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

GREETING_REPLY = (
    "Hello! I can help with orders and deliveries, returns and refunds, invoices and payments, "
    "and your account. What can I do for you?"
)
THANKS_REPLY = "You're welcome! If there is anything else, just write; I'm here."
LANGUAGE_REPLY = (
    "Sorry, I can only read English for now, and I would rather not guess at your request. Please "
    'write it in English, or write "I want to talk to a person" and a colleague will reply.'
)


@dataclass(frozen=True)
class CannedReply:
    kind: str  # "greeting", "thanks", "language:Spanish"
    reply: str


def written_in(text: str) -> str | None:
    """The language ``text`` is written in, when it is clearly one of ``_FOREIGN``'s; None for English."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 3:
        return None
    english = sum(w in _ENGLISH for w in words)
    counts = {language: sum(w in vocab for w in words) for language, vocab in _FOREIGN_WORDS.items()}
    language, hits = max(counts.items(), key=lambda item: item[1])
    return language if hits >= 3 and hits > english else None


def canned_reply(text: str) -> CannedReply | None:
    """The answer to a message that needs no department, or None for a request."""
    if _ONLY_GREETING.match(text):
        return CannedReply("greeting", GREETING_REPLY)
    if _ONLY_THANKS.match(text):
        return CannedReply("thanks", THANKS_REPLY)
    language = written_in(text)
    if language:
        return CannedReply(f"language:{language}", LANGUAGE_REPLY)
    return None
