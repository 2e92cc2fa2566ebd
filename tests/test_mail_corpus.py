"""52 realistic emails, each to its right outcome; the store shows no action that should not happen.

The corpus (tests/mail_corpus/*.eml) runs in order on one seeded store through `MailChannel`
with the scripted turn runner; expectations.toml says what each message must lead to.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.settings import Settings
from mail.channel import MailChannel
from mail.parse import parse_message
from store.db import create_schema, ensure_store, make_engine
from store.schema import mail_outbox, mail_undeliverable
from tests.mail_support import ScriptedRunner, actions, code_in, fill, help_search
from tests.pg import throwaway_postgres

CORPUS = Path(__file__).parent / "mail_corpus"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "expectations.toml").read_text())["case"]


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "trusted_authserv_ids": "mx.northwind.example",
        "mail_max_attachment_bytes": 64 * 1024,
        "mail_max_attachments": 10,
        "smtp_url": "smtp://127.0.0.1:9",
    }
    return Settings(_env_file=None, **{**values, **overrides})  # type: ignore[call-arg]


def test_the_corpus_has_at_least_40_messages_and_every_one_is_expected() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(files) >= 40
    assert files == [c["file"] for c in CASES]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def mail_store(request: pytest.FixtureRequest, store_url: str) -> Any:
    if request.param == "sqlite":
        yield store_url
        return
    with throwaway_postgres("switchboard_mail") as url:
        ensure_store(url)
        yield url


def test_each_corpus_message_gets_its_outcome(mail_store: str) -> None:
    engine = make_engine(mail_store)
    create_schema(engine)
    runner = ScriptedRunner(engine)
    channel = MailChannel(engine, settings(), runner, runner.resume, help_search)
    replies: dict[str, str] = {}
    threads: dict[str, str] = {}
    codes: dict[str, str] = {}
    failures: list[str] = []
    for case in CASES:
        ref = case["file"][:2]
        raw = fill((CORPUS / case["file"]).read_bytes(), replies, threads, codes)
        sender = case.get("envelope_from", parse_message(raw).from_addr)
        calls, acted = len(runner.calls), len(actions(engine))
        stored = channel.receive(raw, envelope_from=sender, envelope_to=["support@northwind.example"])
        if case.get("duplicate"):
            if not stored.duplicate or channel.process_next() is not None:
                failures.append(f"{ref}: a second delivery was processed again")
            continue
        item = channel.process_next()
        assert item is not None and not stored.duplicate, ref
        with engine.connect() as conn:
            reply = conn.execute(select(mail_outbox).where(mail_outbox.c.inbox_id == item.inbox_id)).first()
            marked = {r.address for r in conn.execute(select(mail_undeliverable.c.address))}
        problems = check(case, item, reply, runner, calls, len(actions(engine)) - acted, threads, marked)
        failures.extend(f"{ref}: {p}" for p in problems)
        if item.thread_id:
            threads[ref] = item.thread_id
        if reply is not None:
            replies[ref] = reply.message_id
            if code := code_in(reply.raw):
                codes[ref] = code
    assert not failures, "\n".join(failures)
    # the store: exactly the two authorised refunds (32 verified, 29 once its code came back)
    keys = sorted(a["message_key"] for a in actions(engine))
    assert keys == sorted(["mid:verified-32@mail.example.com", "mid:forged-29@evil.example"])


def check(
    case: dict[str, Any],
    item: Any,
    reply: Any,
    runner: ScriptedRunner,
    calls_before: int,
    acted: int,
    threads: dict[str, str],
    marked: set[str],
) -> list[str]:
    problems = []
    if item.outcome != case["outcome"]:
        problems.append(f"outcome {item.outcome!r} ({item.detail}), expected {case['outcome']!r}")
    if "customer" in case and (item.customer_id or "") != case["customer"]:
        problems.append(f"customer {item.customer_id!r}, expected {case['customer']!r}")
    noise = case["outcome"].startswith("ignored:")
    if noise and reply is not None:
        problems.append("noise was answered")
    if not noise and reply is None:
        problems.append("no reply was written")
    if reply is not None:
        if "to" in case and reply.to_addr != case["to"]:
            problems.append(f"reply to {reply.to_addr!r}, expected {case['to']!r}")
        if reply.kind != case.get("kind", reply.kind if case["outcome"] == "empty" else "reply"):
            problems.append(f"reply kind {reply.kind!r}, expected {case.get('kind', 'reply')!r}")
        if reply.status != case.get("status", "pending"):
            problems.append(f"outbox status {reply.status!r}, expected {case.get('status', 'pending')!r}")
        body = parse_message(reply.raw).text
        problems += [f"reply lacks {s!r}" for s in case.get("reply_has", []) if s not in body]
        problems += [f"reply has {s!r}" for s in case.get("reply_not", []) if s in body]
    called = len(runner.calls) > calls_before
    if "runner_called" in case and called != case["runner_called"]:
        problems.append(f"runner called: {called}")
    if case.get("understood_has") or case.get("understood_not"):
        text = runner.calls[-1].text if called else ""
        problems += [
            f"understood lacks {s!r} in {text[:200]!r}" for s in case.get("understood_has", []) if s not in text
        ]
        problems += [f"understood has {s!r}" for s in case.get("understood_not", []) if s in text]
    if "acts" in case and bool(acted) != case["acts"]:
        problems.append(f"{acted} world-changing action(s), expected {'one' if case['acts'] else 'none'}")
    if acted > 1:
        problems.append(f"{acted} actions for one message")
    expected_thread = case.get("thread")
    if expected_thread == "new" and item.thread_id in threads.values():
        problems.append(f"thread {item.thread_id} is not new")
    if expected_thread and expected_thread.startswith("same:") and item.thread_id != threads.get(expected_thread[5:]):
        problems.append(f"thread {item.thread_id}, expected that of {expected_thread[5:]}")
    if "marks" in case and not set(case["marks"]) <= marked:
        problems.append(f"undeliverable {sorted(marked)}, expected {case['marks']}")
    if case.get("marks") == [] and ("james.anderson@example.com" in marked or "noah.rossi@example.com" in marked):
        problems.append(f"a forged or delayed bounce marked {sorted(marked)}")
    return problems


@pytest.mark.parametrize("name", [c["file"] for c in CASES])
def test_every_corpus_message_parses_without_raising(name: str) -> None:
    parsed = parse_message((CORPUS / name).read_bytes())
    assert isinstance(parsed.new_text, str)
