"""Who wrote, and what proves it: the address on file, trusted Authentication-Results, codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from mail.identity import aligned, find_customer, parse_authentication_results, sender_proof
from mail.parse import parse_message
from mail.proof import check_code, codes_in, issue_code, mark_used, record_wrong_code
from store.db import create_schema, make_engine

TRUSTED = frozenset({"mx.northwind.example"})


def mail(*auth: str, sender: str = "maya.patel@example.com") -> bytes:
    msg = EmailMessage()
    for value in auth:
        msg["Authentication-Results"] = value
    msg["From"] = sender
    msg["To"] = "support@northwind.example"
    msg["Subject"] = "hi"
    msg.set_content("hello")
    return msg.as_bytes()


def test_authentication_results_are_parsed_with_comments_and_quotes() -> None:
    header = parse_authentication_results(
        "mx.northwind.example 1; (a comment; with a semicolon) dkim=pass (good sig) header.d=example.com "
        'header.s="s1;x"; spf=softfail smtp.mailfrom=evil@example.net; dmarc=none'
    )
    assert header is not None and header.authserv_id == "mx.northwind.example"
    assert [(r.method, r.result) for r in header.results] == [
        ("dkim", "pass"),
        ("spf", "softfail"),
        ("dmarc", "none"),
    ]
    assert header.results[0].props["header.d"] == "example.com"
    assert parse_authentication_results("mx.northwind.example; none").results == ()


@pytest.mark.parametrize(
    ("headers", "verified", "method"),
    [
        (["mx.northwind.example; dkim=pass header.d=example.com"], True, "dkim"),
        (["mx.northwind.example; dkim=pass header.i=@mail.example.com"], True, "dkim"),
        (["mx.northwind.example; spf=pass smtp.mailfrom=bounce@example.com"], True, "spf"),
        (["mx.northwind.example; dmarc=pass header.from=example.com"], True, "dmarc"),
        (
            ["mx.northwind.example; dkim=pass header.d=evil.example"],
            False,
            None,
        ),  # not aligned with From
        (
            ["mx.northwind.example; dkim=fail header.d=example.com; spf=softfail smtp.mailfrom=example.com"],
            False,
            None,
        ),
        (
            ["mx.evil.example; dkim=pass header.d=example.com"],
            False,
            None,
        ),  # an untrusted host's word
        (["MX.Northwind.Example; DKIM=Pass header.d=EXAMPLE.COM"], True, "dkim"),
        # only the topmost trusted header counts: ours is prepended, a forged one sits below it
        (
            [
                "mx.northwind.example; dkim=fail header.d=example.com",
                "mx.northwind.example; dkim=pass header.d=example.com",
            ],
            False,
            None,
        ),
        ([], False, None),
    ],
)
def test_proof_needs_an_aligned_pass_from_a_trusted_host(
    headers: list[str], verified: bool, method: str | None
) -> None:
    proof = sender_proof(parse_message(mail(*headers)), TRUSTED)
    assert (proof.verified, proof.method) == (verified, method), proof.detail


def test_no_trusted_host_configured_means_no_proof() -> None:
    proof = sender_proof(parse_message(mail("mx.northwind.example; dkim=pass header.d=example.com")), frozenset())
    assert not proof.verified and "no trusted" in proof.detail


def test_alignment_is_relaxed_but_not_loose() -> None:
    assert aligned("example.com", "mail.example.com") and aligned("a@mail.example.com", "example.com")
    assert not aligned("example.com", "notexample.com") and not aligned("", "example.com")


def test_the_sender_is_a_customer_only_by_the_address_on_file(store_url: str) -> None:
    engine = make_engine(store_url)
    with engine.connect() as conn:
        assert find_customer(conn, "Maya.Patel@Example.com").id == "C0007"
        assert find_customer(conn, "maya.patel@example.com.evil.example") is None
        assert find_customer(conn, "maya.patel") is None
        assert find_customer(conn, "") is None


def test_codes_work_once_expire_and_retire_after_wrong_tries(store_url: str) -> None:
    engine = make_engine(store_url)
    create_schema(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        code = issue_code(
            conn,
            thread_id="t-1",
            customer_id="C0007",
            address="maya.patel@example.com",
            inbox_id=1,
            request_text="refund order 10956",
            now=now,
            ttl_s=3600,
        )
        assert codes_in(f"ok here it is: {code.lower().replace('-', ' ')}") == [code]
        assert check_code(conn, customer_id="C0001", text=code, now=now).match is None  # another customer
        assert check_code(conn, customer_id="C0007", text=code, now=now + timedelta(hours=2)).match is None  # expired
        found = check_code(conn, customer_id="C0007", text=f"yes {code}", now=now)
        assert found.match is not None and found.match.request_text == "refund order 10956"
        assert mark_used(conn, found.match, inbox_id=2, now=now)
        assert not mark_used(conn, found.match, inbox_id=3, now=now)  # once
        assert check_code(conn, customer_id="C0007", text=code, now=now).match is None
        other = issue_code(
            conn,
            thread_id="t-2",
            customer_id="C0007",
            address="maya.patel@example.com",
            inbox_id=4,
            request_text="cancel order 11197",
            now=now,
            ttl_s=3600,
        )
        for _ in range(5):
            wrong = check_code(conn, customer_id="C0007", text="ABCD-1234", now=now)
            assert wrong.tried and wrong.match is None
            record_wrong_code(conn, "C0007", now=now, max_tries=5)
        assert check_code(conn, customer_id="C0007", text=other, now=now).match is None  # retired
