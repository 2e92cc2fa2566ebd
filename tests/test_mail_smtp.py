"""Real SMTP both ways on loopback: our aiosmtpd server in, a sink SMTP server as the relay out.

Also the outbox's retries (relay down, then up), a permanent refusal, and the JSON webhook
served by a real HTTP server (uvicorn).
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from core.settings import Settings
from mail.channel import MailChannel
from mail.server import serve
from store.db import create_schema, make_engine
from store.schema import mail_inbox, mail_outbox, mail_undeliverable
from tests.mail_support import ScriptedRunner, Sink, actions, free_port, help_search

TRUSTED = "mx.northwind.example; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com"


def mail_settings(sink_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_url": sink_url,
        "trusted_authserv_ids": "mx.northwind.example",
        "mail_poll_s": 0.1,
        "mail_send_backoff_s": 0.2,
    }
    return Settings(_env_file=None, **{**values, **overrides})  # type: ignore[call-arg]


class Running:
    """`mail.server.serve` on a loopback port in a background thread."""

    def __init__(self, channel: MailChannel) -> None:
        self.channel = channel
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(
            serve(
                self.channel,
                "127.0.0.1",
                self.port,
                stop=self.stop,
                on_ready=lambda *_: self.ready.set(),
                handle_signals=False,
            )
        )

    def __enter__(self) -> Running:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(15)
        assert not self.thread.is_alive()

    def send(
        self,
        msg: EmailMessage | bytes,
        sender: str = "maya.patel@example.com",
        to: str = "support@northwind.example",
    ) -> Any:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            return client.sendmail(sender, [to], msg if isinstance(msg, bytes) else msg.as_bytes())


def customer_mail(
    text: str,
    *,
    subject: str = "Where is my order 11096?",
    in_reply_to: str | None = None,
    references: list[str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["Authentication-Results"] = TRUSTED
    msg["From"] = "Maya Patel <maya.patel@example.com>"
    msg["To"] = "support@northwind.example"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="mail.example.com")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join(references or [in_reply_to])
    msg.set_content(text)
    return msg


@pytest.fixture
def engine(store_url: str) -> Any:
    engine = make_engine(store_url)
    create_schema(engine)
    return engine


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as running:
        yield running


def test_a_mail_gets_a_threaded_reply_and_a_reply_continues_the_thread(engine: Any, sink: Sink) -> None:
    runner = ScriptedRunner(engine)
    channel = MailChannel(engine, mail_settings(sink.url), runner, runner.resume, help_search)
    with Running(channel) as server:
        first = customer_mail("It has been two weeks.", subject="<b>Where</b> is my lamp & my order 11096?")
        server.send(first)
        [reply] = sink.wait_for(1)
        assert reply["From"].addresses[0].addr_spec == "support@northwind.example"
        assert str(reply["To"]) == "Maya Patel <maya.patel@example.com>"
        assert reply["In-Reply-To"] == first["Message-ID"]
        assert first["Message-ID"] in reply["References"]
        assert reply["Message-ID"].endswith("@northwind.example>")
        assert reply["Auto-Submitted"] == "auto-replied"
        thread_tag = reply["Subject"].rsplit(" ", 1)[-1]
        assert reply["Subject"].startswith("Re: <b>Where</b> is my lamp & my order 11096? [#t-")
        assert reply.get_content_type() == "multipart/alternative"
        plain = reply.get_body(("plain",)).get_content()
        html = reply.get_body(("html",)).get_content()
        assert "<b>Where</b> is my lamp & my order 11096?" in plain and "Northwind Customer Support" in plain
        assert "&lt;b&gt;Where&lt;/b&gt; is my lamp &amp; my order" in html and "<b>Where" not in html

        second = customer_mail(
            "And when exactly will it arrive?",
            subject=f"Re: {reply['Subject']}",
            in_reply_to=reply["Message-ID"],
            references=[first["Message-ID"], reply["Message-ID"]],
        )
        server.send(second)
        replies = sink.wait_for(2)
        assert len(replies) == 2
        assert replies[1]["In-Reply-To"] == second["Message-ID"]
        assert thread_tag in replies[1]["Subject"]
        assert runner.calls[0].thread_id == runner.calls[1].thread_id
        assert all(i in replies[1]["References"] for i in (first["Message-ID"], reply["Message-ID"]))


def test_the_same_mail_delivered_twice_is_answered_once(engine: Any, sink: Sink) -> None:
    runner = ScriptedRunner(engine)
    channel = MailChannel(engine, mail_settings(sink.url), runner, runner.resume, help_search)
    msg = customer_mail("Please refund order 10956, the chair is wobbly.", subject="Refund")
    with Running(channel) as server:
        server.send(msg)
        server.send(msg)  # an MTA retry after a lost 250: accepted again, recognised
        sink.wait_for(1)
        time.sleep(1.0)  # room for a second reply, if one were coming
    assert len(sink.messages) == 1
    assert len(actions(engine)) == 1
    with engine.connect() as conn:
        row = conn.execute(select(mail_inbox.c.deliveries, mail_inbox.c.outcome)).one()
    assert (row.deliveries, row.outcome) == (2, "answered")


def test_mail_for_another_address_or_too_large_is_refused(engine: Any, sink: Sink) -> None:
    runner = ScriptedRunner(engine)
    channel = MailChannel(engine, mail_settings(sink.url, mail_max_message_bytes=20_000), runner)
    with Running(channel) as server:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            server.send(customer_mail("hello"), to="sales@northwind.example")
        assert refused.value.recipients["sales@northwind.example"][0] == 550
        with pytest.raises(smtplib.SMTPSenderRefused) as too_big:  # refused at MAIL FROM SIZE or DATA
            big = customer_mail("x" * 30_000)
            server.send(big)
        assert too_big.value.smtp_code == 552
    with engine.connect() as conn:
        assert conn.execute(select(mail_inbox.c.id)).first() is None


def test_the_outbox_retries_with_backoff_until_the_relay_answers(engine: Any) -> None:
    port = free_port()  # nothing listens there yet: the relay is down
    settings = mail_settings(f"smtp://127.0.0.1:{port}")
    runner = ScriptedRunner(engine)
    now = [datetime.now(UTC)]
    channel = MailChannel(engine, settings, runner, clock=lambda: now[0])
    channel.receive(customer_mail("Where is my order 11096?").as_bytes())
    assert channel.process_next().outcome == "answered"
    first = channel.deliver()
    assert (first.sent, first.retried) == (0, 1)
    with engine.connect() as conn:
        row = conn.execute(select(mail_outbox)).one()
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > now[0]
    assert channel.deliver().sent == 0  # not due yet
    with Sink(port) as sink:
        now[0] = row.next_attempt_at + timedelta(seconds=1)
        assert channel.deliver().sent == 1
        [got] = sink.wait_for(1)
        assert channel.deliver().sent == 0  # nothing left: a sent row is never sent again
    with engine.connect() as conn:
        row = conn.execute(select(mail_outbox)).one()
    assert row.status == "sent" and row.attempts == 2 and got["Message-ID"] == f"<{row.message_id}>"


class Refuser:
    async def handle_RCPT(
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,  # noqa: N802
        options: list[str],
    ) -> str:
        return "550 5.1.1 No such user"


def test_a_permanent_refusal_fails_the_row_and_marks_the_address(engine: Any) -> None:
    port = free_port()
    controller = Controller(Refuser(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        runner = ScriptedRunner(engine)
        channel = MailChannel(engine, mail_settings(f"smtp://127.0.0.1:{port}"), runner)
        channel.receive(customer_mail("Where is my order 11096?").as_bytes())
        channel.process_next()
        report = channel.deliver()
    finally:
        controller.stop()
    assert report.failed == 1
    with engine.connect() as conn:
        assert conn.execute(select(mail_outbox.c.status)).scalar_one() == "failed"
        assert conn.execute(select(mail_undeliverable.c.address)).scalar_one() == "maya.patel@example.com"
    channel.receive(customer_mail("Hello again").as_bytes())  # later replies to that address are held back
    channel.process_next()
    with engine.connect() as conn:
        statuses = [r.status for r in conn.execute(select(mail_outbox.c.status).order_by(mail_outbox.c.id))]
    assert statuses == ["failed", "suppressed"]


def test_the_webhook_stores_posted_mail_like_smtp(engine: Any, sink: Sink) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Route

    from mail.webhook import make_inbound_webhook

    settings = mail_settings(sink.url)
    app = Starlette(
        routes=[
            Route(
                "/mail/inbound",
                make_inbound_webhook(engine, settings, secret="s3cret"),
                methods=["POST"],
            )
        ]
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}/mail/inbound"
        deadline = time.time() + 10
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        payload = {
            "from": "Maya Patel <maya.patel@example.com>",
            "to": ["support@northwind.example"],
            "subject": "Broken lamp",
            "text": "My lamp from order 11096 arrived broken.",
            "html": "<p>My lamp from order 11096 arrived <b>broken</b>.</p>",
            "message_id": "<hook-1@mail.example.com>",
            "headers": {"Authentication-Results": TRUSTED},
            "attachments": [{"filename": "lamp.jpg", "content_type": "image/jpeg", "size": 48213}],
        }
        auth = {"Authorization": "Bearer s3cret"}
        assert httpx.post(url, json=payload).status_code == 401
        assert httpx.post(url, content=b"{not json", headers=auth).status_code == 400
        first = httpx.post(url, json=payload, headers=auth)
        again = httpx.post(url, json=payload, headers=auth)
        assert first.status_code == 200 and first.json()["duplicate"] is False
        assert again.json() == {"inbox_id": first.json()["inbox_id"], "duplicate": True}
    finally:
        server.should_exit = True
        thread.join(10)
    runner = ScriptedRunner(engine)
    channel = MailChannel(engine, settings, runner)
    item = channel.process_next()
    assert item.outcome == "answered" and channel.process_next() is None
    assert runner.calls[0].verified and "arrived broken" in runner.calls[0].text
    channel.deliver()
    [reply] = sink.wait_for(1)
    assert reply["In-Reply-To"] == "<hook-1@mail.example.com>"
    assert "lamp.jpg (0.0 MB)" in reply.get_body(("plain",)).get_content()


def test_json_shape_is_documented() -> None:
    from mail import webhook

    for key in (
        "from",
        "to",
        "subject",
        "text",
        "html",
        "message_id",
        "in_reply_to",
        "references",
        "headers",
        "attachments",
    ):
        assert f'"{key}"' in (webhook.__doc__ or "")
    raw, envelope_from, to = webhook.message_from_json(
        {
            "from": "a@example.com",
            "to": "support@northwind.example",
            "text": "hi",
            "references": ["x@y", "z@w"],
        }
    )
    assert envelope_from == "a@example.com" and to == ["support@northwind.example"]
    assert b"References: <x@y> <z@w>" in raw
    assert json.dumps  # the module reads JSON itself; nothing else is needed


def test_outcome_email_after_a_decision_goes_to_the_address_on_file_in_the_same_thread(engine: Any, sink: Sink) -> None:
    from mail.channel import acknowledge_waiting, announce_outcome

    settings = mail_settings(sink.url)
    runner = ScriptedRunner(engine)
    channel = MailChannel(engine, settings, runner, runner.resume)
    request = customer_mail("The sofa is the wrong colour. Please refund order 10859.", subject="Sofa")
    channel.receive(request.as_bytes())
    item = channel.process_next()
    assert item.outcome == "waiting_for_person"  # its reply is the acknowledgement
    # what the lead wires after `switchboard approve` (resume_turn's result) and for later waits
    result = {"status": "answered", "reply": "Good news: your refund for order 10859 was approved."}
    assert announce_outcome(engine, settings, thread_id=item.thread_id, result=result, key="decision-1")
    assert announce_outcome(engine, settings, thread_id=item.thread_id, result=result, key="decision-1") is None
    assert acknowledge_waiting(engine, settings, thread_id="t-not-a-mail-thread", result={}, key="x") is None
    while channel.deliver().sent:
        pass
    ack, outcome = sink.wait_for(2)
    assert outcome["To"].addresses[0].addr_spec == "maya.patel@example.com"
    assert outcome["Subject"] == ack["Subject"] and outcome["In-Reply-To"] == ack["Message-ID"]
    assert request["Message-ID"] in outcome["References"]
    assert "approved" in outcome.get_body(("plain",)).get_content()
    assert outcome["Auto-Submitted"] == "auto-replied"


def test_a_retried_mail_gets_the_same_text_and_one_reply(engine: Any) -> None:
    runner = ScriptedRunner(engine)
    now = [datetime.now(UTC)]
    channel = MailChannel(engine, mail_settings("smtp://127.0.0.1:9", mail_lease_s=5), runner, clock=lambda: now[0])
    channel.receive(customer_mail("Please refund order 10956.", subject="Wobbly chair").as_bytes())
    crashing = MailChannel(engine, channel.settings, lambda r: (runner(r), 1 / 0)[0], clock=lambda: now[0])
    assert crashing.process_next().outcome == "retry_later"  # acted, then failed before the commit
    now[0] += timedelta(minutes=1)
    assert channel.process_next().outcome == "answered"
    assert runner.calls[0].text == runner.calls[1].text == "Wobbly chair\n\nPlease refund order 10956."
    assert runner.calls[0].thread_id == runner.calls[1].thread_id
    assert runner.calls[0].message_key == runner.calls[1].message_key
    assert len(actions(engine)) == 1
    with engine.connect() as conn:
        assert len(conn.execute(select(mail_outbox.c.id)).all()) == 1
