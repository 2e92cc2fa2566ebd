"""Content safety at intake: self-harm, abuse, harmful and off-topic requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["ok", "self_harm", "abusive", "harmful", "off_topic"]


@dataclass(frozen=True)
class SafetyVerdict:
    kind: Kind = "ok"
    reply: str | None = None  # when set, the workflow answers with this instead of routing
    escalate: bool = False  # a person must see this conversation


def screen_message(text: str) -> SafetyVerdict:
    return SafetyVerdict()
