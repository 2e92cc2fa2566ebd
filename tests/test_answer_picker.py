"""The answer picker prefers the sentence that answers the question's ask (retrieval/answers.py).

Pure text in, no knowledge base: each case is a small article whose sentences share the topic
and differ in the kind of fact they state (one case reads two of the store's real articles).
"""

from __future__ import annotations

import pytest

from retrieval.answers import asked_kinds, pick_answer, split_units
from retrieval.documents import parse_document
from retrieval.knowledge_base import DEFAULT_DOCS_DIR as KB_DIR

ARTICLE = """# Locked accounts

## Unlocking
1. **Wait 30 minutes.** The lock lifts by itself.
2. Use the unlock email we send you.

## Locked three times in a day
After the third lock within 24 hours, the account stays locked until you reset your password.
See "Resetting your password".

## Statements
Your statement can show a pending hold for a short time after you order.
Our charges appear as "NWHT*NORTHWIND" on your statement.
"""


def _passage(text: str = ARTICLE, title: str = "Locked accounts") -> list[dict[str, str]]:
    return [{"doc_id": "kb", "title": title, "text": text, "document": text}]


def _articles(*doc_ids: str) -> list[dict[str, str]]:
    """The store's real help articles, as whole-document passages in the order given."""
    docs = [parse_document(KB_DIR / f"{doc_id}.md") for doc_id in doc_ids]
    return [{"doc_id": d.doc_id, "title": d.title, "text": d.body, "document": d.body} for d in docs]


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("how long till i can sign in again?", ["duration"]),
        ("how much is the fee to cancel?", ["amount"]),
        ("do I have to pay for the return label?", ["amount"]),
        ("who pays for shipping it back?", ["amount"]),
        ("when do you normally do your maintenance?", ["duration", "schedule"]),
        ("is there a minimum length for a review?", ["bound"]),
        ("how many addresses can I save?", ["count"]),
        ("how many times a year can I ask for my data?", ["frequency"]),
        ("how do I reset my password?", ["steps"]),
        ("what do I need to send you?", ["requirement"]),
        ("I closed my account by mistake, can I undo it?", ["undo"]),
        ("how would your charges show up on my statement?", ["label"]),
        ("my parcel is late", []),
    ],
)
def test_the_kind_of_fact_a_question_asks_for(question: str, kinds: list[str]) -> None:
    assert asked_kinds(question) == kinds


def test_a_question_whether_i_pay_gets_the_sentence_with_the_price() -> None:
    article = """# Return labels

After you start a return, we create a prepaid return label.
The label is also emailed to you, and you can re-download it from the order page.

## Cost
- Change-of-mind returns: $6.95 is deducted from the refund.
"""
    answer = pick_answer("do I have to pay for the return label?", _passage(article, "Return labels"), limit=1)
    assert answer is not None and "$6.95" in answer[0]


def test_a_when_question_gets_the_sentence_with_the_day_and_time() -> None:
    # the real article: three sentences on maintenance; one says when, two how long or how it is announced
    answer = pick_answer("when do you normally do maintenance?", _articles("service-status"), limit=1)
    assert answer is not None and "Tuesdays" in answer[0], answer


def test_a_short_lead_sentence_reads_with_the_next_one() -> None:
    texts = [u.text for u in split_units(ARTICLE, "locked", 0)]
    assert any(t.startswith("1. Wait 30 minutes. The lock lifts by itself") for t in texts)


def test_a_duration_question_gets_the_sentence_with_the_duration() -> None:
    article = """# Reset links

The reset link in the email opens a page where you choose a new password.
Reset links are valid for 60 minutes and can be used once.
"""
    answer = pick_answer("how long does the reset link in the email work?", _passage(article))
    assert answer is not None and "60 minutes" in answer[0]


def test_a_pointer_to_another_article_is_not_the_answer() -> None:
    article = """# Checkout

## Payment declined
See "Payment declined or failed" for what your payment being declined means.
Call the number on the back of your card and approve the payment, then try again.
"""
    answer = pick_answer(
        "my payment was declined at checkout, what do I do?", _passage(article, "Problems at checkout"), limit=1
    )
    assert answer is not None and answer[0] == (
        "Payment declined: Call the number on the back of your card and approve the payment, then try again."
    )


def test_how_a_charge_appears_is_answered_with_its_name() -> None:
    answer = pick_answer("how would your charges show up on my statement?", _passage(), limit=1)
    assert answer is not None and answer[0] == 'Statements: Our charges appear as "NWHT*NORTHWIND" on your statement.'


def test_a_word_the_sentence_only_begins_with_still_matches() -> None:
    # the real articles: "crypto" is in no sentence, "cryptocurrency" is in the one that answers
    answer = pick_answer("do you take crypto?", _articles("payment-methods", "two-factor-authentication"), limit=1)
    assert answer is not None and "cryptocurrency" in answer[0], answer
