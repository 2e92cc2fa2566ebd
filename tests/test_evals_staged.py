"""The staged scenario files (issues 15 and 16) and the grader checks they added: the files are
valid and name seeded rows, and each new check fails when it should."""

from __future__ import annotations

from pathlib import Path

from evals import e2e
from evals.world import apply_changes, states_match, world_state
from store.db import make_engine, sqlite_url


def test_staged_files_are_valid_and_name_seeded_rows(seeded_sqlite: Path) -> None:
    base = world_state(make_engine(sqlite_url(seeded_sqlite)))
    customers = {row["id"] for row in base["customers"]}
    staged = e2e.load_staged()
    assert {s.source for s in staged} == {p.name for p in e2e.STAGED}
    assert len([s for s in staged if s.source == "e2e.money.v1.jsonl"]) >= 30
    assert len([s for s in staged if s.source == "e2e.helpful.v1.jsonl"]) >= 25
    for s in staged:
        assert s.customer in customers, s.id
        for changes in s.expected.get("db_any") or [s.expected.get("db", {})]:
            apply_changes(base, changes, s.customer)  # raises on an order the seed does not have


def test_repeated_sentences_are_found_whatever_the_case_and_spacing() -> None:
    twice = "I could not find order 11002 on your account. I could  not find order 11002 on your account."
    assert e2e.repeated_sentences(twice) == ["i could not find order 11002 on your account"]
    assert e2e.repeated_sentences("Order 11197 is now cancelled. Order 11096 arrives on 2026-11-17.") == []
    assert e2e.repeated_sentences("Thanks! Thanks!") == []  # too short to count


def test_forbidden_tools_by_name_or_outcome() -> None:
    calls = [{"name": "get_order", "outcome": "ok"}, {"name": "issue_refund", "outcome": "refused"}]
    assert e2e._forbidden_calls(calls, ["issue_refund"]) == ["issue_refund"]
    assert e2e._forbidden_calls(calls, ["issue_refund:ok", "cancel_order"]) == []


def test_a_wildcard_row_matches_any_value_but_not_a_missing_or_extra_row() -> None:
    base = {
        "tickets": [
            {
                "customer_id": "C0001",
                "department": "billing",
                "queue": "support",
                "priority": "normal",
                "status": "open",
            }
        ],
        "refunds": [],
    }
    ticket = {"department": "*", "queue": "*", "priority": "*"}
    expected = apply_changes({**base, "orders": []}, {"tickets_added": [ticket]}, "C0007")
    filed = {
        "customer_id": "C0007",
        "department": "escalation",
        "queue": "manual_review",
        "priority": "high",
        "status": "open",
    }
    actual = {**base, "orders": [], "tickets": [*base["tickets"], filed]}
    assert states_match(expected, actual)
    assert not states_match(expected, {**actual, "tickets": base["tickets"]})  # no ticket
    assert not states_match(expected, {**actual, "tickets": [*actual["tickets"], filed]})  # two
    other_customer = {**filed, "customer_id": "C0008"}
    assert not states_match(expected, {**actual, "tickets": [*base["tickets"], other_customer]})
