"""Splitting a message into its requests, with a scripted classifier: the workflow's rules, not the model's."""

from __future__ import annotations

from intents.catalog import department_for
from intents.classifier import IntentPrediction
from nodes.subrequests import split_request


def scripted(readings: dict[str, tuple[str, float]]):  # noqa: ANN201
    """A classifier that reads each clause as the test says (anything else: unsure)."""

    def predict(text: str) -> IntentPrediction:
        intent, confidence = next(
            (reading for start, reading in readings.items() if text.lower().startswith(start)), ("complaint", 0.1)
        )
        return IntentPrediction(intent, department_for(intent), confidence, ())

    return predict


WHOLE_UNSURE = IntentPrediction("get_refund", "billing", 0.5, ())


def test_a_part_that_names_no_person_does_not_ask_for_one() -> None:
    predict = scripted({"can you refund": ("get_refund", 0.99), "i'll live with it": ("contact_human_agent", 0.9)})
    message = "Can you refund $200 of order 10903 and I'll live with it?"
    assert split_request(message, predict, min_confidence=0.5, whole=WHOLE_UNSURE) == []


def test_a_part_that_names_a_person_is_its_own_request() -> None:
    predict = scripted({"can you refund": ("get_refund", 0.99), "i want to talk": ("contact_human_agent", 0.9)})
    message = "Can you refund $200 of order 10903 and I want to talk to a manager about it"
    parts = split_request(message, predict, min_confidence=0.5, whole=WHOLE_UNSURE)
    assert [(p.intent, p.department) for p in parts] == [
        ("get_refund", "billing"),
        ("contact_human_agent", "escalation"),
    ]


def test_a_question_and_an_act_are_two_requests_however_sure_the_whole_is() -> None:
    predict = scripted({"what is the fee": ("check_cancellation_fee", 0.9), "also refund": ("get_refund", 0.97)})
    whole = IntentPrediction("check_cancellation_fee", "billing", 0.9, ())  # clear, and one department
    parts = split_request(
        "what is the fee to cancel order 10956? also refund it", predict, min_confidence=0.5, whole=whole
    )
    assert [p.intent for p in parts] == ["check_cancellation_fee", "get_refund"]
    # two readings of one thing, neither an act, stay one request when the whole is clear
    predict = scripted({"i forgot": ("recover_password", 0.9), "can't sign in": ("registration_problems", 0.7)})
    whole = IntentPrediction("recover_password", "technical", 0.9, ())
    assert split_request("I forgot my password and can't sign in", predict, min_confidence=0.5, whole=whole) == []
