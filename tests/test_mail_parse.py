"""Bodies and headers as mail in the wild sends them, and the dedupe key relays cannot change."""

from __future__ import annotations

from mail.body import html_to_text, strip_reply
from mail.conversation import clean_subject, reply_subject
from mail.inbox import dedupe_key
from mail.parse import decode_text, parse_message


def test_latin1_labels_read_as_windows_1252_and_unknown_labels_fall_back() -> None:
    assert decode_text(b"caf\xe9 \x93ok\x94", "iso-8859-1") == "café “ok”"
    assert decode_text("naïve".encode(), None) == "naïve"  # unlabelled 8-bit: UTF-8 first
    assert decode_text("naïve".encode(), "x-unknown") == "naïve"
    assert decode_text(b"\x81\x8d caf\xe9", "utf-8") == "\x81\x8d café"  # no codec fits: Latin-1, never fails


def test_html_quotes_scripts_and_outlook_history_are_removed() -> None:
    html = (
        '<div>New text<br>second line</div><blockquote type="cite">OLD</blockquote>'
        '<div class="gmail_quote">OLDER</div><script>x()</script><ul><li>one</li><li>two</li></ul>'
    )
    text = html_to_text(html)
    assert "New text\nsecond line" in text and "- one" in text and "- two" in text
    assert "OLD" not in text and "x()" not in text


def test_replies_lose_quotes_and_signatures_but_keep_lists_and_forwards() -> None:
    text = (
        "Please check:\n- item one\n- item two\n\nBest regards,\nMaya\n\n"
        "On Mon, 16 Nov 2026 at 09:00, Support <support@northwind.example> wrote:\n> old"
    )
    assert strip_reply(text) == "Please check:\n- item one\n- item two"
    forwarded = "FYI\n\n---------- Forwarded message ---------\nFrom: a@b.example\nSubject: x\n\nThe body"
    assert strip_reply(forwarded) == "FYI\n\nForwarded message:\nThe body"
    assert strip_reply("") == ""


def test_dedupe_key_ignores_trace_headers_added_on_the_way() -> None:
    raw = b"From: a@example.com\r\nTo: support@northwind.example\r\nSubject: hi\r\n\r\nhello\r\n"
    relayed = b"Received: from relay.example by mx; Mon, 16 Nov 2026\r\n" + raw
    assert dedupe_key(raw) == dedupe_key(relayed) and dedupe_key(raw)[0].startswith("sha256:")
    other = raw.replace(b"hello", b"hello!")
    assert dedupe_key(other) != dedupe_key(raw)
    assert dedupe_key(b"Message-ID: <x@y>\r\n\r\nbody")[0] == "mid:x@y"


def test_headers_that_do_not_parse_do_not_stop_the_message() -> None:
    raw = (
        b"From: =?utf-8?q?broken <\r\nSubject: =?x-bogus?Q?hello?=\r\nDate: yesterday\r\n"
        b'References: <a@b> junk <c@d>\r\nContent-Type: text/plain; charset="utf-8\r\n\r\nbody text\r\n'
    )
    parsed = parse_message(raw)
    assert parsed.text.strip() == "body text" and parsed.references == ["a@b", "c@d"]
    assert parsed.date is None and parsed.from_addr == ""


def test_subjects_keep_one_tag_and_no_prefix_pile() -> None:
    assert clean_subject("RE: Fwd: AW: Broken lamp [#t-0123456789ab]") == "Broken lamp"
    assert (
        reply_subject("Re: Re: Broken lamp [#t-0123456789ab]", "t-0123456789ab") == "Re: Broken lamp [#t-0123456789ab]"
    )
    assert reply_subject("", "t-1") == "Re: Your message to us [#t-1]"
