"""The mail channel on a deployment: each mail is a turn on the servers, through their API, with a
token that opens only the matched customer's threads (tests/conftest.py `aegra`: two Aegra servers)."""

from __future__ import annotations

from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select

from core.context import Context
from mail.channel import MailChannel
from store.db import create_schema, make_engine
from store.schema import customers, orders
from switchboard.mail_remote import server_parts
from tests.mail_support import Sink
from tests.servers import Servers

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def a_mail(address: str, text: str, msgid: str) -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = "mx.northwind.example; dkim=pass header.d=example.com"
    msg["From"] = address
    msg["To"] = "support@northwind.example"
    msg["Subject"] = "Where is my parcel?"
    msg["Message-ID"] = msgid
    msg.set_content(text)
    return msg.as_bytes()


def test_a_mail_is_a_turn_on_the_servers_for_its_customer_only(aegra: Servers) -> None:
    engine = make_engine(aegra.database_url)
    create_schema(engine)
    with engine.connect() as conn:
        customer, order, address = conn.execute(
            select(orders.c.customer_id, orders.c.id, customers.c.email)
            .join(customers, customers.c.id == orders.c.customer_id)
            .where(orders.c.status == "shipped", orders.c.customer_id.in_([f"C{n:04d}" for n in range(200, 230)]))
            .order_by(orders.c.id)
        ).first()
    with Sink() as sink:
        settings = Context().with_(
            database_url=aegra.database_url, token_key=aegra.token_key, server_url=aegra.urls[1],
            smtp_url=sink.url, trusted_authserv_ids="mx.northwind.example",
        ).settings  # fmt: skip
        run, resume, search, read = server_parts(settings, aegra.urls[1])
        channel = MailChannel(engine, settings, run, resume, search, read_thread=read)
        channel.receive(a_mail(address, f"Hello, where is my order {order}?", "<srv-1@mail.example.com>"))
        (done,) = channel.drain()
        channel.deliver()
        (reply,) = sink.wait_for(1)
        assert str(order) in reply.get_body(("plain",)).get_content()

        # the turn ran on the servers, in a thread of that customer's: visible to them, not to another
        assert done.thread_id
        mine = aegra.client(0, aegra.token(customer=customer)).threads.get_state(done.thread_id)
        assert any(str(order) in str(m.get("content")) for m in mine["values"]["messages"])
        other = f"C{int(customer[1:]) + 1:04d}"
        with pytest.raises(httpx.HTTPStatusError) as refused:
            aegra.client(0, aegra.token(customer=other)).threads.get_state(done.thread_id)
        assert refused.value.response.status_code in (403, 404)

        # the same mail delivered again is answered once: the turn is not run twice
        channel.receive(a_mail(address, f"Hello, where is my order {order}?", "<srv-1@mail.example.com>"))
        assert channel.drain() == []
        humans = [m for m in mine["values"]["messages"] if m.get("type") == "human"]
        assert len(humans) == 1
