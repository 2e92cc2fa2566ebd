"""A mail customer hears what a person decided: the decision is taken elsewhere (here the CLI's
local path), the mail service tells them once, in the same email thread."""

from __future__ import annotations

from contextlib import ExitStack
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from core.context import Context
from mail.channel import MailChannel
from store.db import create_schema
from store.schema import customers, refunds
from switchboard.app import open_graph, resume_turn
from switchboard.mail_graph import graph_parts
from tests.mail_support import Sink

CUSTOMER, ORDER = "C0068", 10987  # $889.96, delivered inside the return window: above $500, one approval


def a_mail(address: str, text: str) -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = "mx.northwind.example; dkim=pass header.d=example.com"
    msg["From"] = address
    msg["To"] = "support@northwind.example"
    msg["Subject"] = "Refund please"
    msg["Message-ID"] = "<decide-1@mail.example.com>"
    msg.set_content(text)
    return msg.as_bytes()


def test_the_outcome_of_a_decision_is_emailed_once(make_context: Any, tmp_path: Path) -> None:
    with Sink() as sink, ExitStack() as stack:
        ctx = make_context(CUSTOMER, smtp_url=sink.url, trusted_authserv_ids="mx.northwind.example",
                           checkpoint_url=f"sqlite:///{tmp_path / 'checkpoints.sqlite'}")  # fmt: skip
        engine = ctx.resources.engine
        create_schema(engine)
        with engine.connect() as conn:
            address = conn.execute(select(customers.c.email).where(customers.c.id == CUSTOMER)).scalar_one()
        run, resume, search, read = graph_parts(ctx.settings, stack)
        channel = MailChannel(engine, ctx.settings, run, resume, search, read_thread=read)
        channel.receive(a_mail(address, f"Please refund order {ORDER}, it stopped working."))
        (done,) = channel.drain()
        channel.deliver()
        (waiting_reply,) = sink.wait_for(1)
        assert "review" in waiting_reply.get_body(("plain",)).get_content().lower()

        thread_id = done.thread_id
        assert thread_id
        with open_graph(ctx.settings) as graph:  # a person decides elsewhere, on the same checkpoints
            resume_turn(graph, Context(customer_id=CUSTOMER, actor="operator:ann", settings=ctx.settings),
                        thread_id, {"type": "approve"})  # fmt: skip
        channel.deliver()
        channel.deliver()  # a second pass (or a second mail service) tells nobody twice
        outcome = sink.wait_for(2)[1]
        text = outcome.get_body(("plain",)).get_content()
        assert "889.96" in text and outcome["In-Reply-To"]
        assert len(sink.messages) == 2
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(refunds)
                                .where(refunds.c.order_id == ORDER)).scalar_one() == 1  # fmt: skip
