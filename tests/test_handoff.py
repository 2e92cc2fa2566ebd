"""Handing a conversation to a person: the case and its hand-over, takeover (the bot stays silent
while a person holds the thread), the person's replies in the same thread, release to the bot."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from sqlalchemy import create_engine, select

from core.models import ScriptedChatModel, register_fake
from store.schema import audit_log, node_runs, tickets, webhook_outbox
from switchboard import cases
from switchboard.app import UserError, run_turn
from tools.cases import get_case

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def escalate(graph, ctx) -> dict:  # noqa: ANN001
    first = run_turn(graph, ctx, "Where is my order 11096?")
    assert first["status"] == "answered"
    done = run_turn(graph, ctx, "it's late and this is unacceptable, I want to speak to a human", first["thread_id"])
    assert done["status"] == "escalated" and done["department"] == "escalation"
    return done


def messages(graph, thread_id: str) -> list:  # noqa: ANN001
    return graph.get_state({"configurable": {"thread_id": thread_id}}).values["messages"]


def test_an_escalation_opens_a_case_with_a_hand_over_a_person_can_act_on(graph, make_context) -> None:
    ctx = make_context("C0007", clock=T0)
    done = escalate(graph, ctx)
    assert done["case"] == {
        "id": done["case"]["id"],
        "status": "open",
        "with_agent": False,
        "note": f"Your case {done['case']['id']} is open: a person from our team will pick it up here soon.",
    }
    case = cases.show(ctx, done["case"]["id"])
    handover = case["handover"]
    assert (case["thread_id"], case["customer_id"], case["status"]) == (done["thread_id"], "C0007", "open")
    assert handover["wants"].startswith("to talk to a person: it's late and this is unacceptable")
    assert [(c["tool"], c["args"], c["outcome"]) for c in handover["checked"]] == [
        ("get_order", {"order_id": 11096}, "ok"),
        ("get_shipment", {"order_id": 11096}, "ok"),
    ]
    assert handover["orders"] == [
        {"order_id": 11096, "status": "shipped", "total_usd": "89.98", "refunded_usd": "0.00", "placed": "2026-11-12"}
    ]
    assert any("expected on 2026-11-17" in line for line in handover["told"])  # what the customer was told
    assert (handover["sentiment"], handover["urgency"]) == ("negative", "high")
    assert "Check the delivery of order 11096 with the carrier (it is shipped)." in handover["suggested_actions"]
    assert handover["written_by"] == "workflow" and handover["done"] == []
    for needed in (
        "C0007",
        "2 messages",
        "to talk to a person",
        "get order 11096",
        "Nothing was changed",
        "urgency high",
    ):
        assert needed in handover["summary"]
    assert handover["ticket_id"] == case["ticket_id"] is not None
    (row,) = cases.cases_view(ctx)
    assert (row["case_id"], row["urgency"], row["owner"]) == (case["id"], "high", None)


def test_the_bot_stays_silent_while_a_person_holds_the_thread_and_resumes_after_release(graph, make_context) -> None:
    ctx = make_context("C0007", clock=T0, webhook_urls="http://127.0.0.1:9/hooks")
    done = escalate(graph, ctx)
    thread, case_id = done["thread_id"], done["case"]["id"]
    with pytest.raises(UserError, match="must name a person"):
        cases.assign(ctx, case_id, "customer:C0007")
    assigned = cases.assign(ctx, case_id, "operator:ann")
    assert (assigned["status"], assigned["owner"]) == ("assigned", "operator:ann")
    with pytest.raises(UserError, match="held by operator:ann"):
        cases.reply(graph, ctx, case_id, "operator:bob", "hi")

    before = len(messages(graph, thread))
    held = run_turn(graph, ctx, "hello? is anyone there? where is my order 11096", thread)
    assert (held["status"], held["reply"], held["tool_calls"]) == ("with_agent", "", [])
    assert held["case"]["with_agent"] and "went to the person handling your case" in held["case"]["note"]
    after = messages(graph, thread)
    assert len(after) == before + 1 and isinstance(after[-1], HumanMessage)  # no bot reply
    (queued,) = cases.cases_view(ctx, owner="operator:ann")
    assert queued["unanswered"] == 1

    cases.reply(graph, ctx, case_id, "operator:ann", "Hi, this is Ann. Your parcel is with UPS; I have asked them.")
    last = messages(graph, thread)[-1]
    assert isinstance(last, AIMessage) and last.name == "ann" and "this is Ann" in last.content
    assert get_case(ctx.resources.engine, case_id)["status"] == "waiting_on_customer"
    assert cases.cases_view(ctx, owner="operator:ann")[0]["unanswered"] == 0
    again = run_turn(graph, ctx, "thanks Ann, I'll wait", thread)
    assert again["status"] == "with_agent" and again["case"]["status"] == "assigned"

    cases.release(graph, ctx, case_id, "operator:ann")
    back = run_turn(graph, ctx, "where is my order 11096?", thread)
    assert back["status"] == "answered" and back["department"] == "general"
    assert ("get_order", "ok") in [(c["name"], c["outcome"]) for c in back["tool_calls"]]
    said = [str(m.content) for m in messages(graph, thread)]
    assert "thanks Ann, I'll wait" in said and any("back with our virtual assistant" in s for s in said)
    assert back["case"]["status"] == "open" and not back["case"]["with_agent"]

    cases.resolve(graph, ctx, case_id, "operator:ann", "Your parcel was delivered this morning.")
    resolved = get_case(ctx.resources.engine, case_id)
    assert resolved["status"] == "resolved" and resolved["first_reply_at"] is not None
    engine = create_engine(ctx.settings.resolved_database_url())
    with engine.connect() as conn:
        assert conn.execute(select(tickets.c.status).where(tickets.c.id == resolved["ticket_id"])).scalar() == "closed"
        actions = conn.execute(
            select(audit_log.c.action).where(audit_log.c.thread_id == thread, audit_log.c.node == "case")
        ).scalars()
        events = conn.execute(select(webhook_outbox.c.event_type).order_by(webhook_outbox.c.id)).scalars().all()
        assert events == ["case.opened", *["case.updated"] * 6]  # each change notified once
        assert list(actions) == [
            "case_opened",
            "case_assign",
            "case_customer_message",
            "case_reply",
            "case_customer_message",
            "case_release",
            "case_resolve",
        ]


def test_a_person_cannot_reply_over_a_waiting_approval(graph, make_context) -> None:
    ctx = make_context("C0007", clock=T0)
    done = escalate(graph, ctx)
    # the case is open but nobody holds it, so the bot answers; this request waits for an approval
    waiting = run_turn(graph, ctx, "please refund $20 of order 10956 to a different card", done["thread_id"])
    assert waiting["status"] == "awaiting_approval"
    with pytest.raises(UserError, match="waits for an approval decision"):
        cases.reply(graph, ctx, done["case"]["id"], "operator:ann", "hello")


def test_a_capable_model_writes_the_summary_and_is_checked_like_any_reply(graph, make_context) -> None:
    register_fake(
        "handover",
        ScriptedChatModel(
            responder=lambda messages: (
                "Customer C0007 wants to talk to a person about order 11096, which is shipped. "
                "The assistant checked the order and its shipment; nothing was changed."
            )
        ),
    )
    ctx = make_context("C0007", clock=T0, smart_model="fake:handover")
    handover = cases.show(ctx, escalate(graph, ctx)["case"]["id"])["handover"]
    assert handover["written_by"] == "fake:handover" and handover["summary"].startswith("Customer C0007 wants")

    register_fake(
        "liar", ScriptedChatModel(responder=lambda messages: "Customer C0007 was refunded $450 on order 11096.")
    )
    lied = make_context("C0008", clock=T0, smart_model="fake:liar")
    first = run_turn(graph, lied, "I want to talk to a real person now")
    honest = cases.show(lied, first["case"]["id"])["handover"]
    assert honest["written_by"] == "workflow" and "$450" not in honest["summary"]
    assert any("450" in p for p in honest["model_summary_rejected"])
    with create_engine(lied.settings.resolved_database_url()).connect() as conn:
        errors = conn.execute(
            select(node_runs.c.error_type).where(
                node_runs.c.thread_id == first["thread_id"], node_runs.c.node == "escalation"
            )
        ).scalars()
        assert list(errors) == ["handover_rejected"]  # a rejected model summary is counted as the node's error
    assert json.dumps(honest)  # the hand-over is plain JSON
