"""Outreach to many customers: chosen from the store, approved above the threshold, sent once each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import func, select

from core.context import Context
from graph.outreach import build_outreach_graph
from mail.channel import MailChannel
from mail.outreach import hand_over_due
from store.db import create_schema
from store.schema import audit_log, mail_outbox, outreach_recipients
from switchboard.outreach import decide_outreach, start_outreach
from tests.mail_support import Sink, help_search

OPERATOR = "operator:ann"


@pytest.fixture
def outreach_graph() -> Any:
    return build_outreach_graph().compile(checkpointer=InMemorySaver())


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as running:
        yield running


@pytest.fixture
def ctx(make_context: Any, sink: Sink) -> Context:
    context = make_context("", actor=OPERATOR, smtp_url=sink.url, outreach_per_minute=100_000)
    create_schema(context.resources.engine)
    return context.with_(actor=OPERATOR)


def queued(ctx: Context, outreach_id: str) -> int:
    with ctx.resources.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outreach_recipients)
                                .where(outreach_recipients.c.outreach_id == outreach_id)).scalar_one())  # fmt: skip


def deliver_all(ctx: Context, now: datetime | None = None) -> None:
    channel = MailChannel(ctx.resources.engine, ctx.settings, lambda request: {}, None, help_search,
                          clock=lambda: now or datetime.now(UTC) + timedelta(minutes=5))  # fmt: skip
    while channel.deliver(limit=200).sent:
        pass


def test_a_small_outreach_is_queued_at_once_and_each_customer_gets_one_message(outreach_graph, ctx, sink) -> None:
    result = start_outreach(outreach_graph, ctx, {"customer_ids": ["C0007", "C0008", "C0009"]})
    assert result["status"] == "queued" and result["recipients"] == 3 and result["written_by"] == "template"
    deliver_all(ctx)
    sink.wait_for(3)
    recipients = [to for _, tos, _ in sink.messages for to in tos]
    assert len(recipients) == len(set(recipients)) == 3
    deliver_all(ctx)  # a second pass, as after a restart: nothing more goes out
    assert len(sink.messages) == 3


def test_an_outreach_to_150_customers_waits_then_sends_exactly_150(outreach_graph, ctx, sink) -> None:
    request = {"order_statuses": ["delivered"], "limit": 150, "subject": "Shipping update",
               "body": "Hello {name},\n\nOur warehouse moves next week; deliveries may take a day longer."}  # fmt: skip
    waiting = start_outreach(outreach_graph, ctx, request)
    assert waiting["status"] == "awaiting_approval" and waiting["recipients"] == 150
    assert "more than 100" in waiting["reply"] and queued(ctx, waiting["outreach_id"]) == 0
    action = waiting["request"]["action_requests"][0]
    assert action["name"] == "queue_outreach" and action["args"]["recipients"] == 150

    done = decide_outreach(outreach_graph, ctx, waiting["outreach_id"], {"type": "approve", "actor": OPERATOR})
    assert done["status"] == "queued" and queued(ctx, waiting["outreach_id"]) == 150
    deliver_all(ctx)
    assert len(sink.wait_for(150, timeout_s=60)) == 150
    deliver_all(ctx)
    assert len(sink.messages) == 150
    with ctx.resources.engine.connect() as conn:
        audited = conn.execute(select(func.count()).select_from(audit_log)
                               .where(audit_log.c.action == "outreach_sent")).scalar_one()  # fmt: skip
    assert audited == 150


def test_a_rejected_outreach_sends_nothing_and_an_edited_one_sends_the_edit(outreach_graph, ctx, sink) -> None:
    request = {"order_statuses": ["delivered"], "limit": 120}
    rejected = start_outreach(outreach_graph, ctx, request)
    done = decide_outreach(outreach_graph, ctx, rejected["outreach_id"], {"type": "reject", "message": "too broad"})
    assert done["status"] == "rejected" and queued(ctx, rejected["outreach_id"]) == 0

    edited = start_outreach(outreach_graph, ctx, {**request, "limit": 101})
    body = "Hello {name},\n\nThis is the edited text."
    done = decide_outreach(outreach_graph, ctx, edited["outreach_id"], {"type": "edit", "args": {"body": body}})
    assert done["status"] == "queued"
    deliver_all(ctx)
    got = sink.wait_for(101, timeout_s=60)
    texts = [m.get_body(preferencelist=("plain",)).get_content() for m in got]
    assert all("This is the edited text." in t for t in texts) and not any("{name}" in t for t in texts)


def test_messages_are_spread_over_time(outreach_graph, make_context, sink) -> None:
    slow = make_context("", actor=OPERATOR, smtp_url=sink.url, outreach_per_minute=60,
                        clock="2026-11-15T12:00:00Z")  # fmt: skip
    create_schema(slow.resources.engine)
    start_outreach(outreach_graph, slow, {"customer_ids": ["C0007", "C0008", "C0009", "C0010"]})
    noon = datetime(2026, 11, 15, 12, 0, 1, tzinfo=UTC)
    assert hand_over_due(slow.resources.engine, slow.settings, noon) == 2  # due at +0 s and +1 s
    assert hand_over_due(slow.resources.engine, slow.settings, noon + timedelta(seconds=5)) == 2
    with slow.resources.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(mail_outbox)).scalar_one() == 4


def test_nobody_matching_sends_nothing_and_an_unknown_incident_is_an_error(outreach_graph, ctx) -> None:
    assert start_outreach(outreach_graph, ctx, {"customer_ids": ["C9999"]})["status"] == "nobody"
    assert start_outreach(outreach_graph, ctx, {"incident_id": 999})["status"] == "error"
