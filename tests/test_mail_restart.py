"""`switchboard mail serve` as a process: kill -9 in the middle of a message, restart, and
nothing is lost or done twice; SIGTERM stops it cleanly.

The server runs the scripted runner (``--runner tests.mail_support:factory``) with a slow turn:
the refund is written, then the turn sleeps, and the kill lands in that sleep, after the effect
and before the channel's commit. The restarted server takes the message again when its lease
runs out; the runner's per-message key keeps the refund single, and the outbox key keeps the
reply single.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from store.db import create_schema, make_engine
from store.schema import mail_inbox, mail_outbox
from tests.mail_support import Sink, actions, free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
TRUSTED = "mx.northwind.example; dkim=pass header.d=example.com"


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "switchboard.cli",
        "mail",
        "serve",
        "--port",
        str(port),
        "--runner",
        "tests.mail_support:factory",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log.open("a"), text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # {"listening": "127.0.0.1:PORT"} once the port is open
    if not line:
        pytest.fail(f"mail serve did not start: {log.read_text()[-2000:]}")
    assert json.loads(line)["listening"].endswith(f":{port}")
    return proc


def mail(n: int, text: str) -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = TRUSTED
    msg["From"] = "Maya Patel <maya.patel@example.com>"
    msg["To"] = "support@northwind.example"
    msg["Subject"] = f"Message {n}"
    msg["Message-ID"] = f"<restart-{n}@mail.example.com>"
    msg.set_content(text)
    return msg.as_bytes()


def send(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("maya.patel@example.com", ["support@northwind.example"], raw)


def wait(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def setup(store_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    engine = make_engine(store_url)
    create_schema(engine)
    with Sink() as sink:
        env = {
            **os.environ,
            "SWITCHBOARD_DATABASE_URL": store_url,
            "SWITCHBOARD_SMTP_URL": sink.url,
            "SWITCHBOARD_TRUSTED_AUTHSERV_IDS": "mx.northwind.example",
            "SWITCHBOARD_MAIL_LEASE_S": "2",
            "SWITCHBOARD_MAIL_POLL_S": "0.2",
            "MAIL_TEST_DELAY_S": "1.5",
            "PYTHONPATH": str(ROOT),
        }
        yield {"engine": engine, "sink": sink, "env": env, "log": tmp_path / "mail.log"}


def test_kill_minus_9_mid_message_then_restart_loses_nothing_and_repeats_nothing(
    setup: dict[str, Any],
) -> None:
    engine, sink, env, log = setup["engine"], setup["sink"], setup["env"], setup["log"]
    port = free_port()
    proc = start(env, port, log)
    try:
        send(port, mail(1, "Please refund order 10956, the chair is wobbly."))
        send(port, mail(2, "Where is my order 11096?"))
        send(port, mail(3, "Please cancel order 11197."))
        # the refund is written and the turn is asleep before its commit: kill it there
        wait(lambda: len(actions(engine)) == 1, 20, "the first refund")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    with engine.connect() as conn:
        rows = conn.execute(select(mail_inbox.c.id, mail_inbox.c.status).order_by(mail_inbox.c.id)).all()
    assert len(rows) == 3, "every message answered 250 was stored"
    assert rows[0].status == "processing" and len(sink.messages) == 0

    proc = start(env, port, log)
    try:

        def finished() -> bool:
            with engine.connect() as conn:
                statuses = {r.status for r in conn.execute(select(mail_inbox.c.status))}
                sent = conn.execute(select(mail_outbox.c.id).where(mail_outbox.c.status == "sent")).all()
            return statuses == {"done"} and len(sent) == 3

        wait(finished, 60, "all three messages answered after the restart")
        sink.wait_for(3)
        time.sleep(1.0)  # room for a duplicate, if one were coming
    finally:
        proc.terminate()  # SIGTERM: a clean stop
        assert proc.wait(20) == 0
    keys = sorted(a["message_key"] for a in actions(engine))
    assert keys == ["mid:restart-1@mail.example.com", "mid:restart-3@mail.example.com"]
    answered = sorted(str(m["In-Reply-To"]) for m in sink.wait_for(3))
    assert len(sink.messages) == 3
    assert answered == [f"<restart-{n}@mail.example.com>" for n in (1, 2, 3)]
    with engine.connect() as conn:
        first = conn.execute(select(mail_inbox.c.attempts).where(mail_inbox.c.id == rows[0].id)).scalar_one()
    assert first == 2, "the killed message was taken again, once"


def test_sigterm_finishes_the_message_in_hand_and_exits_cleanly(setup: dict[str, Any]) -> None:
    engine, env, log = setup["engine"], setup["env"], setup["log"]
    port = free_port()
    proc = start(env, port, log)

    def status() -> str | None:
        with engine.connect() as conn:
            return conn.execute(select(mail_inbox.c.status)).scalar()

    try:
        send(port, mail(7, "Where is my order 11096?"))
        wait(lambda: status() == "processing", 20, "the worker to take the message")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0
    with engine.connect() as conn:
        assert conn.execute(select(mail_inbox.c.status, mail_inbox.c.outcome)).one() == (
            "done",
            "answered",
        )
    with pytest.raises(OSError):
        send(port, mail(8, "anyone there?"))
    assert "mail: stopped" in log.read_text()
