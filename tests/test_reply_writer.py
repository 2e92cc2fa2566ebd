"""Who writes a reply's text, and that nothing unchecked reaches the customer (nodes/reply.py).

The embedded default writes one checked opening sentence (the model names the message's topic in
the customer's own words, nodes/guards/opener.py); a capable model drafts whole replies, checked,
repaired once, replaced by the facts if it keeps failing. Scripted models stand in for both in
the fast tests; the slow ones run the real embedded model, and a real OpenAI-compatible server
(llama-cpp-python's own, on loopback) for the `openai:` provider.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from core.models import ScriptedChatModel, register_fake, smollm2_path
from nodes import reply
from nodes.guards.facts import check_reply
from nodes.guards.opener import LEAD_SORRY, LEAD_THANKS, check_opener, opener_lead, topic_grammar, topic_phrases
from store.schema import node_runs
from switchboard.app import run_turn

SHIPPED = 11096  # C0007's shipped order: UPS 1ZTS0R4CYRLRULHHYN, expected 2026-11-17 (seeded day 2026-11-15)


@pytest.fixture(autouse=True)
def _opener_not_resting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with the model not resting after another test's missed budget."""
    monkeypatch.setattr(reply, "_opener_rest_until", [0.0])
    monkeypatch.setattr(reply, "_opener_calls", [0])


def _state(graph: Any, thread_id: str) -> dict[str, Any]:
    return dict(graph.get_state({"configurable": {"thread_id": thread_id}}).values)


def test_the_writer_follows_the_model(make_context) -> None:
    assert reply.writer_mode(make_context(model="embedded:smollm2-135m")) == "opener"
    for capable in ("openai:gpt-4o-mini", "llamacpp:/models/any.gguf", "fake:facts"):
        assert reply.writer_mode(make_context(model=capable)) == "whole"
    assert reply.writer_mode(make_context(model="embedded:smollm2-135m", reply_writer="whole")) == "whole"
    assert reply.writer_mode(make_context(model="openai:gpt-4o-mini", reply_writer="facts")) == "facts"


@pytest.mark.parametrize(
    ("opener", "request_text", "ok"),
    [
        ("Thank you for your message about the invoice.", "can I get the invoice for order 10859?", True),
        ("I'm sorry about the trouble with your order.", "my order never arrived", True),
        ("Thank you for your message about the shipping charge.", "what's the shipping charge to the UK?", True),
        ("Thank you for your message about your order 11096.", "where is my order 11096?", False),  # a number
        ("Thank you, your order has shipped.", "where is my order?", False),  # a state
        ("Your refund has been processed.", "I want a refund", False),  # an action
        ("Thank you, we will fix it today.", "my kettle leaks", False),  # a promise
        ("I'm sorry, your order is not lost.", "where is my order?", False),  # a negation and a state
        ("I'm sorry for your loss.", "can I get the invoice?", False),  # an apology for nothing reported
        ("Thank you for your message about the account breach.", "I forgot my password", False),  # not said
        ("Thank you. Your order is fine.", "where is my order?", False),  # two sentences
        ("FACTS: thank you.", "hi", False),  # the prompt leaking
    ],
)
def test_the_opener_check_lets_through_only_what_states_nothing(opener: str, request_text: str, ok: bool) -> None:
    assert (check_opener(opener, request_text) == []) is ok, check_opener(opener, request_text)


def test_the_topic_grammar_allows_only_the_customers_own_words() -> None:
    grammar = topic_grammar("do you deliver to the UK and what's the shipping charge?")
    assert grammar is not None and '"shipping charge"' in grammar and '"the "' in grammar
    assert not any(f'"{word}"' in grammar for word in ("what's", "the", "and", "you"))
    # state words, negations and filler never become a topic the model could write
    assert topic_phrases("my refunded order never arrived, I want it delivered") == ["order"]
    assert topic_grammar("hi there!") is None  # nothing to name: no opener, no model call
    assert opener_lead("my kettle is broken") == LEAD_SORRY
    assert opener_lead("what payment methods do you accept?") == LEAD_THANKS


def test_the_opener_goes_before_the_facts_and_the_model_never_sees_them(graph, make_context) -> None:
    ctx = make_context(model="fake:topic", reply_writer="opener")
    writer = register_fake("topic", ScriptedChatModel(replies=["The invoice."]))
    result = run_turn(graph, ctx, "can I get the invoice for order 10859?")
    assert result["reply"].startswith(
        "Thank you for your message about the invoice. Invoice INV-10859 for order 10859 is paid: $829.98"
    )
    assert len(writer.calls) == 1
    prompt = " ".join(str(m.content) for m in writer.calls[0])
    assert "10859" in prompt and "829.98" not in prompt and "FACTS" not in prompt  # the message, not the facts
    assert "check_reply" in result["nodes"] and "fallback_reply" not in result["nodes"]


def test_an_opener_that_states_something_is_dropped_and_counted(graph, make_context) -> None:
    ctx = make_context(model="fake:claims", reply_writer="opener")
    register_fake("claims", ScriptedChatModel(replies=["Your refund of 500 dollars has been processed."]))
    result = run_turn(graph, ctx, "can I get the invoice for order 10859?")
    assert result["reply"].startswith("Invoice INV-10859 for order 10859 is paid")
    assert "processed" not in result["reply"] and "fallback_reply" in result["nodes"]
    with create_engine(ctx.settings.resolved_database_url()).connect() as conn:
        errors = conn.execute(
            select(node_runs.c.node, node_runs.c.error_type).where(node_runs.c.outcome == "error")
        ).all()
    assert ("check_reply", "opener_rejected") in errors


def test_no_model_runs_where_the_facts_already_open_the_reply(graph, make_context) -> None:
    ctx = make_context("C0184", model="fake:topic", reply_writer="opener")
    writer = register_fake("topic", ScriptedChatModel(replies=["The monitor."]))
    result = run_turn(
        graph,
        ctx,
        "This is the third time I'm writing about the monitor from order 10976, it came cracked. Nobody replied.",
    )
    assert result["status"] == "escalated" and result["reply"].startswith("I'm sorry you have had to write")
    assert writer.calls == []  # the apology opens it: no model, no wait


def test_the_facts_writer_never_calls_a_model(graph, make_context) -> None:
    ctx = make_context(model="fake:never", reply_writer="facts")
    writer = register_fake("never", ScriptedChatModel(fail_with=AssertionError))
    result = run_turn(graph, ctx, f"where is my order {SHIPPED}?")
    assert writer.calls == [] and result["reply"].startswith(f"Order {SHIPPED} ships with UPS")


def test_no_sentence_is_said_twice() -> None:
    assert (
        reply.without_repeats(
            "I could not find order 11002 on your account. I could not find order 11002 on your account."
        )
        == "I could not find order 11002 on your account."
    )
    assert reply.without_repeats("Yes. Yes. Order 1 is late.") == "Yes. Yes. Order 1 is late."  # short ones may repeat


def test_a_local_model_is_not_asked_while_other_work_fills_the_cores(make_context, monkeypatch) -> None:
    monkeypatch.setattr(reply.os, "getloadavg", lambda: (6.0, 5.0, 4.0))
    monkeypatch.setattr(reply.os, "cpu_count", lambda: 2)
    assert reply._cores_busy(make_context(opener_max_load=1.0))  # 3 per core
    assert not reply._cores_busy(make_context(opener_max_load=4.0))
    assert not reply._cores_busy(make_context(opener_max_load=0.0))  # 0: whatever the load


def test_two_parts_refused_for_the_same_reason_say_it_once(graph, make_context) -> None:
    result = run_turn(graph, make_context(), "refund order 11002 and tell me where it is")  # C0177's order
    assert result["reply"].count("I could not find order 11002 on your account.") == 1


# -- the real models --------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_embedded_model_writes_a_checked_opener_before_the_facts(graph, make_context) -> None:
    ctx = make_context(model="embedded:smollm2-135m", opener_max_s=300.0)  # a generous budget: it must finish
    request = f"Where is my order {SHIPPED}?"
    result = run_turn(graph, ctx, request)
    assert result["nodes"]["draft_reply"]["tokens"] > 0, "the embedded model really ran"
    opener = result["reply"].split(". ")[0] + "."
    assert opener.startswith((LEAD_THANKS, LEAD_SORRY)), result["reply"]
    assert check_opener(opener, request) == []
    assert result["reply"].endswith(f"Order {SHIPPED} was shipped on 2026-11-13 and is expected on 2026-11-17.")


@pytest.mark.slow
def test_a_model_past_its_budget_is_left_out_and_then_rested(graph, make_context) -> None:
    ctx = make_context(model="embedded:smollm2-135m", opener_max_s=0.0, opener_rest_s=600.0)
    for question in (f"Where is my order {SHIPPED}?", "what is the cancellation fee for order 11197"):
        missed = run_turn(graph, ctx, question)  # the first (cold) miss does not rest the model; the second does
        assert missed["nodes"]["draft_reply"]["tokens"] > 0 and "check_reply" not in missed["nodes"]
    assert missed["reply"] == "Order 11197 is pending: cancelling it is free."  # the facts, at once
    rested = run_turn(graph, ctx, "can I get the invoice for order 10859?")
    assert rested["nodes"]["draft_reply"]["tokens"] == 0  # resting: the model is not asked again
    assert rested["reply"].startswith("Invoice INV-10859")


@pytest.mark.slow
def test_a_busy_machine_gets_the_facts_without_waiting_for_the_model(graph, make_context, monkeypatch) -> None:
    monkeypatch.setattr(reply.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    ctx = make_context(model="embedded:smollm2-135m", opener_max_load=1.0)
    result = run_turn(graph, ctx, f"Where is my order {SHIPPED}?")
    assert result["nodes"]["draft_reply"]["tokens"] == 0 and result["reply"].startswith(f"Order {SHIPPED} ships")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def openai_compatible_server() -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with the embedded GGUF, on a free loopback port."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--model_alias", "smollm2"]
        + ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the llama.cpp server did not start")
            time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_model_behind_an_openai_compatible_server_still_drafts_whole_replies(
    graph, make_context, openai_compatible_server: str
) -> None:
    ctx = make_context(
        model="openai:smollm2",
        openai_base_url=openai_compatible_server,
        openai_api_key="none",
        model_timeout_s=300.0,
        thread_budget_usd=0.0,  # no planning call: this test is about the reply
    )
    assert reply.writer_mode(ctx) == "whole"
    result = run_turn(graph, ctx, f"Where is my order {SHIPPED}?")
    state = _state(graph, result["thread_id"])
    assert state["draft"] and state["draft_attempts"] >= 1, "the model drafted a whole reply"
    assert result["nodes"]["draft_reply"]["tokens"] > 0
    if result["reply"] == state["draft"]:  # the model's own words went out: only because the check passed them
        assert check_reply(state["draft"], state["evidence"], done_tools=set(), key_facts=state["facts"]) == []
    else:  # every draft failed the check: the reply built from the facts went out instead
        assert "fallback_reply" in result["nodes"] and result["reply"].startswith(f"Order {SHIPPED} ships with UPS")
