"""The email channel: inbound messages processed per second, and the outbox's delivery rate.

Inbound: N customer mails (trusted DKIM pass, the address on file, a new thread each) are
stored with `MailChannel.receive`, then `process_next` runs until the inbox is empty: parse,
identity, threading, the turn (the scripted runner of the mail tests, so the figure is the
channel's own cost, not a model's) and the commit with its outbox row. SQLite store copy.

Outbox: the N replies are delivered over real SMTP to an aiosmtpd sink on loopback, one
connection per message (as `deliver_due` does), and counted when the sink has them all.
"""

from __future__ import annotations

import time
from email.message import EmailMessage

from benchmarks.common import emit, seeded_store_copy, workdir


def _mail(i: int) -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = "mx.northwind.example; dkim=pass header.d=example.com"
    msg["From"] = "Maya Patel <maya.patel@example.com>"
    msg["To"] = "support@northwind.example"
    msg["Subject"] = f"Where is my order 11096? ({i})"
    msg["Message-ID"] = f"<bench-{i}@mail.example.com>"
    msg.set_content(
        f"Hi,\n\nwhere is my order 11096? Message {i}.\n\nThanks,\nMaya\n\n"
        "On Mon, Nov 16, 2026 Support wrote:\n> an earlier reply\n"
    )
    return msg.as_bytes()


def run(quick: bool) -> None:
    from core.settings import Settings
    from mail.channel import MailChannel
    from store.db import create_schema, make_engine
    from tests.mail_support import ScriptedRunner, Sink

    count = 200 if quick else 1000
    with workdir("mail") as folder, Sink() as sink:
        engine = make_engine(seeded_store_copy(folder))
        create_schema(engine)
        settings = Settings(
            _env_file=None,
            smtp_url=sink.url,
            trusted_authserv_ids="mx.northwind.example",
            mail_replies_per_hour=10**9,
        )  # type: ignore[call-arg]
        runner = ScriptedRunner(engine)
        channel = MailChannel(engine, settings, runner)
        raws = [_mail(i) for i in range(count)]
        t0 = time.perf_counter()
        for raw in raws:
            channel.receive(raw, envelope_from="maya.patel@example.com")
        stored_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        done = channel.drain()
        processed_s = time.perf_counter() - t0
        if len(done) != count or any(d.outcome != "answered" for d in done):
            raise RuntimeError(f"{len(done)} processed, outcomes {sorted({d.outcome for d in done})}")
        t0 = time.perf_counter()
        sent = 0
        while sent < count:
            report = channel.deliver(limit=100)
            if not report.sent:
                raise RuntimeError(f"delivery stalled after {sent}: {report.errors[:3]}")
            sent += report.sent
        sink.wait_for(count, timeout_s=60)
        delivered_s = time.perf_counter() - t0
        if len(sink.messages) != count:
            raise RuntimeError(f"the sink got {len(sink.messages)} of {count}")
    details = {"messages": count, "store": "sqlite", "runner": "scripted"}
    emit(
        "mail_inbound_store_per_s",
        round(count / stored_s, 1),
        "msg/s",
        measure="MailChannel.receive: parse the headers, dedupe key, commit the raw message",
        **details,
    )
    emit(
        "mail_inbound_processed_per_s",
        round(count / processed_s, 1),
        "msg/s",
        measure="claim, parse, identity, thread, scripted turn, commit with the outbox row",
        **details,
    )
    emit(
        "mail_outbox_delivered_per_s",
        round(count / delivered_s, 1),
        "msg/s",
        measure="deliver_due over SMTP to a loopback aiosmtpd sink, one connection per message",
        **details,
    )
