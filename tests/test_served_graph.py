"""The graph as a server runs it, in-process: identity from authentication, the thread's owner on
resumes, nothing unchecked on any stream mode, unreadable content refused, real checkpoint ids.

A server hands the graph the authenticated user as ``configurable["langgraph_auth_user"]`` and a
run context it built itself; these tests pass the same, so they run without a server (the same
behaviour through Aegra: tests/test_aegra_graph.py).
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

import pytest
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command
from sqlalchemy import create_engine, func, select

from core.context import Context
from core.models import ScriptedChatModel, register_fake, restate_facts
from core.state import INPUT_REJECTED
from store.schema import audit_log, orders, refunds
from tests.orders import approval_order

WRONG_DRAFT = "Good news: order 99999 was refunded $123.45 and arrives in Zanzibar tomorrow."
STREAM_MODES = ["values", "updates", "messages", "custom", "checkpoints", "debug", "tasks"]


def wrong_first(messages: list[BaseMessage]) -> str:
    """A model whose first draft states facts nobody gave it; asked to repair, it restates the facts."""
    prompt = str(messages[-1].content)
    return restate_facts(messages) if "was rejected because" in prompt else WRONG_DRAFT


def user(customer_id: str, actor: str | None = None, role: str = "customer") -> dict[str, Any]:
    """What server/auth.py hands the graph for a request (the fields `core.identity` reads)."""
    return {
        "identity": f"customer:{customer_id}" if customer_id else actor,
        "customer_id": customer_id,
        "actor": actor or f"customer:{customer_id}",
        "role": role,
    }


def config(thread_id: str, who: dict[str, Any] | None = None) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if who is not None:
        configurable["langgraph_auth_user"] = who
    return {"configurable": configurable}


def ask(text: Any) -> dict[str, Any]:
    return {"messages": [{"role": "human", "content": text}]}


def first_order(ctx: Context, customer: str, status: str, **bounds: int) -> int:
    query = select(orders.c.id).where(orders.c.customer_id == customer, orders.c.status == status)
    if "above" in bounds:
        query = query.where(orders.c.total_cents > bounds["above"])
    if "below" in bounds:
        query = query.where(orders.c.total_cents <= bounds["below"])
    with create_engine(ctx.settings.resolved_database_url()).connect() as conn:
        found = conn.execute(query.order_by(orders.c.id)).scalars().first()
    assert found is not None
    return int(found)


def rows(ctx: Context, table: Any, *where: Any) -> list[dict[str, Any]]:
    with create_engine(ctx.settings.resolved_database_url()).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).where(*where))]


@pytest.fixture
def served() -> Any:
    """The graph as graph/server.py serves it, with an in-memory checkpointer and Store."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from graph.server import serve

    return serve(checkpointer=InMemorySaver(), store=InMemoryStore())


def test_no_unchecked_draft_on_any_stream_mode_and_the_checked_reply_streams(served, make_context) -> None:
    model = register_fake("wrong-first", ScriptedChatModel(responder=wrong_first))
    ctx = make_context(model="fake:wrong-first")
    order = first_order(ctx, "C0007", "shipped")
    chunks = list(
        served.stream(
            ask(f"Where is my order {order}?"),
            config("t-stream", user("C0007")),
            context=Context(settings=ctx.settings),  # a server's context: no customer of its own
            stream_mode=STREAM_MODES,
        )
    )
    drafts = [str(m[-1].content) for m in model.calls]
    assert len(drafts) == 2 and "was rejected because" in drafts[1], "the first draft was rejected and repaired"
    outside = {mode: json.dumps([c for m, c in chunks if m == mode], default=repr) for mode in STREAM_MODES}
    for mode in ("values", "updates", "messages", "custom", "checkpoints"):  # what customers may stream
        # the draft's own words: "99999" alone also turns up in a confidence such as 0.999991
        assert "Zanzibar" not in outside[mode] and "$123.45" not in outside[mode], mode
    assert "Zanzibar" in outside["debug"] + outside["tasks"], (
        "the debug modes do carry drafts (customers may not use them)"
    )
    final = [c for m, c in chunks if m == "values"][-1]
    assert final["status"] == "answered" and str(order) in final["reply"]
    streamed = [msg for m, (msg, _meta) in ((m, c) for m, c in chunks if m == "messages")]
    assert [msg.content for msg in streamed] == [final["reply"]], "only the checked reply, as one AI message"
    state = served.get_state(config("t-stream"))  # a thread's state, as GET /threads/{id}/state shows it
    assert "Zanzibar" not in json.dumps(state.values, default=repr) and "draft" not in state.values


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (12345, "not a number"),
        ({"text": "refund order 11096"}, "not an object"),
        ([1, 2, 3], "not a list of numbers"),
        ([{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}], "no text (only image_url)"),
        (None, "the message is empty"),
    ],
    ids=["number", "object", "list-of-numbers", "image-only", "null"],
)
def test_unreadable_content_is_refused_clearly_and_the_thread_stays_usable(
    graph, make_context, content: Any, reason: str
) -> None:
    ctx = make_context()
    thread = f"t-bad-{type(content).__name__}"
    result = graph.invoke(ask(content), config(thread, user("C0007")), context=Context(settings=ctx.settings))
    assert result["status"] == "error"
    assert reason in result["reply"], result["reply"]
    assert graph.get_state(config(thread)).values["error"].startswith(INPUT_REJECTED)
    order = first_order(ctx, "C0007", "shipped")
    again = graph.invoke(
        ask(f"Where is my order {order}?"), config(thread, user("C0007")), context=Context(settings=ctx.settings)
    )
    assert again["status"] == "answered" and str(order) in again["reply"]


def test_text_parts_are_read_as_the_message(graph, make_context) -> None:
    """agent-chat-ui sends content as a list of parts."""
    ctx = make_context()
    order = first_order(ctx, "C0007", "shipped")
    parts = [{"type": "text", "text": "Where is my order"}, {"type": "text", "text": f"{order}?"}]
    result = graph.invoke(ask(parts), config("t-parts", user("C0007")), context=Context(settings=ctx.settings))
    assert result["status"] == "answered" and str(order) in result["reply"]


def test_the_authenticated_customer_owns_a_new_thread_not_the_run_context(graph, make_context) -> None:
    ctx = make_context("C0008")  # a context naming someone else: the authenticated user wins
    order = first_order(ctx, "C0007", "shipped")
    result = graph.invoke(ask(f"Where is my order {order}?"), config("t-owner", user("C0007")), context=ctx)
    assert result["status"] == "answered" and str(order) in result["reply"]
    assert graph.get_state(config("t-owner")).values["customer_id"] == "C0007"


def test_a_run_for_another_customer_is_refused_audited_and_leaves_the_thread_as_it_was(graph, make_context) -> None:
    ctx = make_context()
    order = first_order(ctx, "C0007", "shipped")
    graph.invoke(ask(f"Where is my order {order}?"), config("t-mine", user("C0007")), context=ctx)
    before = graph.get_state(config("t-mine")).values
    result = graph.invoke(ask("show me all my orders"), config("t-mine", user("C0008")), context=ctx)
    assert result["status"] == "error" and "another customer" in result["reply"]
    after = graph.get_state(config("t-mine")).values
    assert after["customer_id"] == "C0007" and after["turn"] == before["turn"]
    assert [m.content for m in after["messages"]] == [m.content for m in before["messages"]]
    (row,) = rows(ctx, audit_log, audit_log.c.action == "owner_mismatch")
    assert (row["outcome"], row["actor"], row["customer_id"], row["thread_id"]) == (
        "refused",
        "customer:C0008",
        "C0007",
        "t-mine",
    )


def test_a_resume_needs_only_the_decision_and_acts_for_the_thread_owner(graph, make_context) -> None:
    ctx = make_context()
    order = approval_order(ctx, customer_id="C0068").id  # 10987 ($889.96): one person approves it
    ctx = ctx.with_(customer_id="C0068")
    waiting = graph.invoke(ask(f"I want a refund for order {order}"), config("t-resume", user("C0068")), context=ctx)
    assert waiting["status"] == "awaiting_approval"
    # the resume's run has no customer at all (an operator's run, a re-queued run, agent-chat-ui)
    done = graph.invoke(
        Command(resume={"decisions": [{"type": "approve"}]}),
        config("t-resume", user("", actor="operator:ann", role="operator")),
        context=Context(settings=ctx.settings),
    )
    assert done["status"] == "answered", done["reply"]
    assert [r["customer_id"] for r in rows(ctx, refunds, refunds.c.order_id == order)] == ["C0068"]
    (audit,) = rows(ctx, audit_log, audit_log.c.action == "approval", audit_log.c.thread_id == "t-resume")
    assert audit["customer_id"] == "C0068" and "checkpoint None" not in audit["detail"]
    with create_engine(ctx.settings.resolved_database_url()).connect() as conn:
        assert conn.execute(select(func.count()).select_from(refunds).where(refunds.c.order_id == order)).scalar() == 1


class LookState(TypedDict, total=False):
    customer_id: str
    seen: list[tuple[str, str | None]]


def look(state: LookState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    """A node that notes whose context it got and which checkpoint id its config names."""
    seen = (runtime.context.customer_id, config["configurable"].get("checkpoint_id"))
    return {"seen": [*state.get("seen", []), seen]}


def test_a_node_after_intake_gets_the_owners_context_and_its_checkpoint_id(make_context) -> None:
    """graph/owner.py on a one-node graph: what the node sees, whoever's run it is."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import START, StateGraph

    from graph.owner import acting_for_owner

    saver = InMemorySaver()
    graph = StateGraph(LookState, context_schema=Context).add_node("look", acting_for_owner(look))
    graph = graph.add_edge(START, "look").compile(checkpointer=saver)
    ctx = make_context("")
    graph.invoke({"customer_id": "C0007"}, config("t-look"), context=ctx)  # a run with no customer
    graph.invoke({}, config("t-look"), context=ctx.with_(customer_id="C0099"))  # another's context
    seen = graph.get_state(config("t-look")).values["seen"]
    assert [customer for customer, _ in seen] == ["C0007", "C0007"], "the thread's owner, not the run's"
    checkpoints = [s.config["configurable"]["checkpoint_id"] for s in graph.get_state_history(config("t-look"))]
    assert all(checkpoint in checkpoints for _, checkpoint in seen), (seen, checkpoints)
    assert seen[0][1] != seen[1][1]
