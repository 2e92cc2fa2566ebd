"""Harder phrasing (issue 16): request wrappers and the asking sentences of a longer message.

Pure functions of intents.classifier; the trained model's figures are in evals/routing.
"""

from __future__ import annotations

import json

import pytest

from intents.augment import CONTEXT_FILE, add_context, context_sentences
from intents.classifier import normalise, request_part


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("can you ask someone to refund order 66201", "refund order <num>"),
        ("could you get someone over there to check my invoice", "check my invoice"),
        ("could someone swap the blue case in my order", "swap the blue case in my order"),
        ("I was wondering whether order 29930 could still be stopped", "order <num> could still be stopped"),
        # a wrapper around reaching a person stays: that is the request
        ("can you get someone to talk to me", "can you get agent to talk to me"),
        ("could someone call me back", "could agent call me back"),
        ("can you ask a real person to take over", "can you ask a agent to take over"),
        ("can someone help me", "can agent help me"),
    ],
)
def test_request_wrappers_are_dropped_unless_the_request_is_a_person(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_the_asking_sentences_of_a_story() -> None:
    text = (
        "Hi, this morning I placed an order for a set of knives. Later I realised my company gives "
        "everyone a knife set as a present. I'd like it stopped and not sent."
    )
    assert request_part(text) == "I'd like it stopped and not sent."


@pytest.mark.parametrize(
    "text",
    [
        "cancel my order",  # one sentence: the whole message is the request
        "Where is my order? Can you check it?",  # every sentence asks: nothing to focus on
    ],
)
def test_no_request_part_when_there_is_nothing_to_focus_on(text: str) -> None:
    assert request_part(text) is None


def test_without_an_asking_sentence_the_last_one_is_the_request() -> None:
    assert request_part("My parcel never came. The tracking has not moved in a week.") == (
        "The tracking has not moved in a week."
    )


def test_context_sentences_come_from_the_data_file_and_wrap_copies() -> None:
    rows = [json.loads(line) for line in CONTEXT_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    ctx = context_sentences()
    assert {r["where"] for r in rows} == set(ctx) == {"before", "after", "open"}
    assert sum(len(v) for v in ctx.values()) == len(rows)
    import random

    rng = random.Random(3)
    wrapped = [add_context("cancel order 123", rng) for _ in range(50)]
    assert all("cancel order 123" in w for w in wrapped)
    assert any(w != "cancel order 123" for w in wrapped)
