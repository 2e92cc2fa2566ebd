"""The reply: drafts checked against the facts, repaired once or replaced, cached, and the models kept to their budgets.

End to end on a real SQLite store, a real Chroma index and scripted models."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select

from core.models import ScriptedChatModel, register_fake
from store.schema import shipments
from switchboard.app import run_turn
from tests.graph_support import order_of


def test_a_wrong_draft_is_repaired_once(graph, make_context) -> None:
    ctx = make_context(model="fake:writer")
    order = order_of(ctx, "shipped")
    with create_engine(ctx.settings.resolved_database_url()).connect() as conn:
        shipment = conn.execute(select(shipments).where(shipments.c.order_id == order.id)).first()
    good = (
        f"Good news: order {order.id} was shipped on {shipment.shipped_at.date().isoformat()} and is expected "
        f"to reach you on {shipment.estimated_delivery.isoformat()}."
    )
    register_fake(
        "writer",
        ScriptedChatModel(
            replies=[
                f"Your order {order.id} was delivered on January 2.",  # invented date
                good,
            ]
        ),
    )
    result = run_turn(graph, ctx, f"where is my order {order.id}")
    assert result["reply"] == good
    assert result["nodes"]["draft_reply"]["tokens"] > 0


def test_a_model_that_keeps_inventing_falls_back_to_the_facts(graph, make_context) -> None:
    ctx = make_context(model="fake:liar")
    order = order_of(ctx, "shipped")
    register_fake("liar", ScriptedChatModel(responder=lambda _: "Your refund of $999.00 has been processed."))
    result = run_turn(graph, ctx, f"where is my order {order.id}")
    assert "999" not in result["reply"]
    assert f"Order {order.id}" in result["reply"]
    assert "fallback_reply" in result["nodes"]


def test_a_failing_model_falls_back_without_crashing(graph, make_context) -> None:
    ctx = make_context(model="fake:down")
    register_fake("down", ScriptedChatModel(fail_with=TimeoutError))
    result = run_turn(graph, ctx, "what payment methods do you accept?")
    assert result["status"] == "answered"
    assert result["reply"]


@pytest.mark.slow
def test_embedded_model_answers_a_real_question_grounded(graph, make_context) -> None:
    ctx = make_context(model="embedded:smollm2-135m")
    order = order_of(ctx, "shipped")
    result = run_turn(graph, ctx, f"Where is my order {order.id}?")
    assert result["status"] == "answered"
    assert result["nodes"]["draft_reply"]["tokens"] > 0, "the embedded model really ran"
    assert str(order.id) in result["reply"]


def test_a_fluent_reply_that_leaves_out_the_facts_is_not_sent(graph, make_context) -> None:
    ctx = make_context(model="fake:chatty")
    order = order_of(ctx, "shipped")
    register_fake("chatty", ScriptedChatModel(responder=lambda _: "Hi there, I'm Karen. How can I assist you today?"))
    result = run_turn(graph, ctx, f"where is my order {order.id}")
    assert "Karen" not in result["reply"] and str(order.id) in result["reply"]


def test_the_same_question_over_the_same_facts_is_answered_from_the_cache(graph, make_context, monkeypatch) -> None:
    from core.models import restate_facts
    from core.resources import Resources

    ctx = make_context(model="llamacpp:/models/any.gguf")  # a real provider's spec, so the cache applies …
    writer = ScriptedChatModel(responder=restate_facts)
    monkeypatch.setattr(Resources, "chat_model", lambda self, spec=None: writer)  # … served by a script
    order = order_of(ctx, "shipped")
    first = run_turn(graph, ctx, f"where is my order {order.id}")
    second = run_turn(graph, ctx, f"where is my order {order.id}")
    assert first["reply"] == second["reply"]
    assert len(writer.calls) == 1, "the second identical turn did not call the model"
    assert second["nodes"]["draft_reply"]["tokens"] == 0
    from switchboard.metrics import metrics_summary

    assert metrics_summary(create_engine(ctx.settings.resolved_database_url()))["totals"]["model_cache_hit_rate"] == 0.5


def test_the_smart_model_is_not_used_once_the_thread_budget_is_spent(make_context) -> None:
    from nodes.llm import smart_model_allowed

    ctx = make_context(smart_model="openai:gpt-4o-mini", thread_budget_usd=0.01)
    assert smart_model_allowed(ctx, 0.0) == "openai:gpt-4o-mini"
    assert smart_model_allowed(ctx, 0.02) is None
    assert smart_model_allowed(make_context(smart_model=None), 0.0) is None


def test_nothing_is_sent_to_langsmith_without_opting_in(graph, make_context, monkeypatch) -> None:
    import langsmith

    for name in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
        monkeypatch.delenv(name, raising=False)
    created: list[object] = []
    original = langsmith.Client.__init__

    def spy(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        created.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(langsmith.Client, "__init__", spy)
    run_turn(graph, make_context(), "where is my order 11096?")
    assert created == []


def test_a_node_that_raises_is_counted_as_an_error_with_its_type(graph, make_context, monkeypatch) -> None:
    import nodes.billing
    from store.schema import node_runs

    def broken(*_args: object) -> None:
        raise RuntimeError("the ledger is on fire")

    monkeypatch.setitem(nodes.billing.SCRIPTS, "check_invoice", broken)
    ctx = make_context()
    with pytest.raises(RuntimeError):
        run_turn(graph, ctx, "can you show me the invoice for order 10956?")
    from store.runs import flush

    flush()  # node runs are written in the background
    with create_engine(ctx.settings.resolved_database_url()).connect() as conn:
        errors = conn.execute(
            select(node_runs.c.node, node_runs.c.error_type).where(node_runs.c.outcome == "error")
        ).all()
    assert errors and set(errors) == {("billing", "RuntimeError")}  # once per attempt of its retry policy
