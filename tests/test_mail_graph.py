"""The mail channel on the real support graph in one process (`switchboard mail serve`, runner
'graph', model ``fake:facts``): a verified customer's mail about a broken item gets a threaded,
grounded reply over SMTP, and a forged-From refund request changes nothing until the code sent
to the address on file comes back."""

from __future__ import annotations

import os
import re
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.db import create_schema, make_engine
from store.schema import mail_inbox, orders, refunds
from tests.mail_support import Sink, code_in, free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def send(port: int, msg: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(msg)


def mail(subject: str, text: str, msgid: str, *, trusted: bool, in_reply_to: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    if trusted:
        msg["Authentication-Results"] = "mx.northwind.example; dkim=pass header.d=example.com"
    msg["From"] = "Maya Patel <maya.patel@example.com>"
    msg["To"] = "support@northwind.example"
    msg["Subject"] = subject
    msg["Message-ID"] = msgid
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(text)
    return msg


def test_mail_through_the_graph(store_url: str, kb_dir: str, classifier_path: str, tmp_path: Path) -> None:
    engine = make_engine(store_url)
    create_schema(engine)
    with engine.connect() as conn:
        order = (
            conn.execute(
                select(orders.c.id).where(
                    orders.c.customer_id == "C0007",
                    orders.c.status == "delivered",
                    orders.c.total_cents < 50000,
                )
            )
            .scalars()
            .first()
        )
    port = free_port()
    with Sink() as sink:
        env = {
            **os.environ,
            "SWITCHBOARD_HOME": str(tmp_path),
            "SWITCHBOARD_DATABASE_URL": store_url,
            "SWITCHBOARD_CHECKPOINT_URL": f"sqlite:///{tmp_path / 'checkpoints.sqlite'}",
            "SWITCHBOARD_CHROMA_DIR": kb_dir,
            "SWITCHBOARD_CLASSIFIER_PATH": classifier_path,
            "SWITCHBOARD_MODEL": "fake:facts",
            "SWITCHBOARD_RATE_LIMIT": "100000/minute",
            "SWITCHBOARD_SMTP_URL": sink.url,
            "SWITCHBOARD_TRUSTED_AUTHSERV_IDS": "mx.northwind.example",
            "SWITCHBOARD_MAIL_POLL_S": "0.2",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "switchboard.cli", "mail", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=(tmp_path / "log").open("w"),
            text=True,
        )
        try:
            assert proc.stdout is not None and "listening" in proc.stdout.readline()
            send(
                port,
                mail(
                    "Broken lamp",
                    "The lamp I received arrived broken. What can I do?",
                    "<graph-1@mail.example.com>",
                    trusted=True,
                ),
            )
            [reply] = sink.wait_for(1, timeout_s=120)
            body = reply.get_body(("plain",)).get_content()
            assert reply["In-Reply-To"] == "<graph-1@mail.example.com>" and "[#t-" in reply["Subject"]
            # grounded: the graph answered from Maya's own orders in the store
            assert re.search(r"\b(11096|10956|10859)\b", body), body
            with engine.connect() as conn:
                refunds_before = conn.execute(select(func.count()).select_from(refunds)).scalar_one()

            forged = mail("Refund", f"Please refund order {order}.", "<graph-2@evil.example>", trusted=False)
            forged["Reply-To"] = "thief@evil.example"
            send(port, forged)
            replies = sink.wait_for(2, timeout_s=60)
            assert replies[1]["To"].addresses[0].addr_spec == "maya.patel@example.com"
            code = code_in(bytes(sink.messages[1][2]))
            assert code
            with engine.connect() as conn:
                assert conn.execute(select(func.count()).select_from(refunds)).scalar_one() == refunds_before

            send(
                port,
                mail(
                    f"Re: {replies[1]['Subject']}",
                    code,
                    "<graph-3@mail.example.com>",
                    trusted=False,
                    in_reply_to=replies[1]["Message-ID"],
                ),
            )
            replies = sink.wait_for(3, timeout_s=120)
            assert len(replies) == 3
            with engine.connect() as conn:
                outcome = conn.execute(
                    select(mail_inbox.c.outcome).where(mail_inbox.c.message_id == "graph-3@mail.example.com")
                ).scalar_one()
                refunded = conn.execute(
                    select(func.count()).select_from(refunds).where(refunds.c.order_id == order)
                ).scalar_one()
            assert outcome.startswith("confirmed"), outcome
            assert refunded >= 1 or "person" in replies[2].get_body(("plain",)).get_content().lower()
        finally:
            proc.terminate()
            assert proc.wait(60) == 0
