"""Input guardrails: size and encoding limits, Unicode normalisation, injection flags.

The CLI and the server call `validate_message` before a run starts; the intake
node calls it again, so a graph driven by any client gets the same checks.
"""

from __future__ import annotations

import re
import unicodedata

ZERO_WIDTH_AND_BIDI = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, 0x00AD,
     0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069],
    None,
)
# Latin look-alikes from Cyrillic and Greek that NFKC leaves alone.
HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁһӏАВЕКМНОРСТХІЈЅαοερτυνκΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlABEKMHOPCTXIJSaoeptuvkABEZHIKMNOPTYX",
)
INJECTION_PATTERNS = {
    "override_instructions": r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|rules|polic(y|ies)|prompt)\b",
    "role_claim": r"(^|\n)\s*(system|assistant|developer)\s*[:>]|\byou are now\b|\bact as (an? )?(admin|system)",
    "admin_mode": r"\b(admin|developer|god|debug|maintenance)\s*mode\b|\bsudo\b",
    "approval_claim": r"\b(pre-?approved|already approved|approval (is )?granted|manager approved|approved by)\b",
    "policy_claim": r"\bnew (refund )?polic(y|ies)\b|\bpolicy (has )?changed\b",
    "tool_call": r"<\s*/?\s*(tool|function)_?call|\"(tool|function)\"\s*:|\bcall the \w+ tool\b|\bissue_refund\s*\(",
    "prompt_probe": r"\b(system prompt|your instructions|reveal (your|the) (prompt|rules))\b",
}
_INJECTION = {name: re.compile(p, re.I) for name, p in INJECTION_PATTERNS.items()}


class InputRejected(ValueError):
    """A message the workflow will not process; the text is a one-line reason for the customer."""


def normalise(text: str) -> str:
    """NFKC, drop zero-width and direction-override characters, map look-alike letters, squeeze spaces."""
    text = unicodedata.normalize("NFKC", text).translate(ZERO_WIDTH_AND_BIDI).translate(HOMOGLYPHS)
    return re.sub(r"[ \t]+", " ", text).strip()


def validate_message(raw: str | bytes, *, max_chars: int) -> str:
    """Return the normalised message, or raise `InputRejected` with a clear reason."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputRejected("the message is not valid UTF-8 text") from exc
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in raw):
        raise InputRejected("the message contains invalid characters (unpaired surrogates)")
    if "\x00" in raw:
        raise InputRejected("the message looks like binary data, not text")
    controls = sum(1 for ch in raw if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t")
    if controls > max(2, len(raw) // 50):
        raise InputRejected("the message contains control characters; please send plain text")
    if len(raw) > max_chars:
        raise InputRejected(f"the message is too long ({len(raw)} characters; the limit is {max_chars})")
    text = normalise("".join(ch for ch in raw if unicodedata.category(ch) != "Cc" or ch in "\n\t"))
    if not text:
        raise InputRejected("the message is empty")
    return text


def injection_flags(text: str) -> list[str]:
    """Names of the injection patterns the text matches. Flags are audited; they change no policy."""
    return [name for name, pattern in _INJECTION.items() if pattern.search(text)]
