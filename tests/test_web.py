"""The pages' building blocks without a server: session cookies, CSRF, the edit form built from a
tool's schema, charts, the checkpoint timeline, and reading the API's JSON."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.settings import get_settings
from tools.registry import TOOLS
from web import session as web_session
from web.api import age, interrupts_of, money, status_of, tool_calls_over
from web.charts import bar_chart
from web.console import allowed_decisions, timeline
from web.forms import edit_fields, parse_edit
from web.pages import env, safe_next
from web.session import Session, WebError, seal, session_key, unseal

KEY = "k" * 40
OLD_KEY = "o" * 40


@pytest.fixture
def token_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SWITCHBOARD_TOKEN_KEY", KEY)
    monkeypatch.setenv("SWITCHBOARD_TOKEN_PREVIOUS_KEYS", OLD_KEY)
    get_settings.cache_clear()
    web_session._session_keys.cache_clear()
    yield
    get_settings.cache_clear()
    web_session._session_keys.cache_clear()


def test_a_session_cookie_opens_only_with_our_keys(token_keys: None) -> None:
    cookie = seal("a.jwt.token", "sid-1")
    assert unseal(cookie) == ("a.jwt.token", "sid-1")
    assert "a.jwt.token" not in cookie.split(".")[-1]
    body, _, mac = cookie.partition(".")
    assert unseal(f"{body}.{mac[:-2]}xx") is None, "a changed signature"
    assert unseal(seal("other.token", "sid-1")[: len(body)] + "." + mac) is None, "a changed body"
    assert unseal(seal("t", "s", key=session_key(OLD_KEY))) == ("t", "s"), "a rotated-out key still verifies"
    assert unseal(seal("t", "s", key=session_key("z" * 40))) is None, "an unknown key does not"
    assert session_key(KEY) != KEY.encode(), "the cookie key is derived, not the token key"


def test_csrf_is_bound_to_the_session_and_not_needed_for_bearer_calls(token_keys: None) -> None:
    principal: Any = object()
    mine = Session(principal, "t", sid="one", via_cookie=True)
    other = Session(principal, "t", sid="two", via_cookie=True)
    mine.check_csrf(mine.csrf)
    for forged in (None, "", other.csrf, mine.csrf[:-1]):
        with pytest.raises(WebError) as refused:
            mine.check_csrf(forged)
        assert refused.value.status == 403
    Session(principal, "t", sid="bearer", via_cookie=False).check_csrf(None)


def test_the_edit_form_follows_the_tools_argument_schema() -> None:
    refund = TOOLS["issue_refund"]
    fields = {f.name: f for f in edit_fields(refund, {"order_id": 11002, "amount_usd": "700.00"})}
    assert list(fields) == ["order_id", "amount_usd", "reason", "to_card_last4", "line_id", "quantity"]
    assert (fields["line_id"].kind, fields["quantity"].kind) == ("integer", "integer")  # an item refund's line
    assert (fields["order_id"].kind, fields["order_id"].required, fields["order_id"].value) == (
        "integer",
        True,
        "11002",
    )
    assert (fields["amount_usd"].kind, fields["amount_usd"].value) == ("decimal", "700.00")
    assert fields["reason"].kind == "textarea" and fields["reason"].maxlength == 500
    assert fields["to_card_last4"].pattern == r"^(\d{4}|other)$" and not fields["to_card_last4"].required

    form = {"arg__order_id": "11002", "arg__amount_usd": "400", "arg__reason": "partial", "arg__to_card_last4": ""}
    args, _ = parse_edit(refund, form, {})
    assert args == {"order_id": 11002, "amount_usd": "400.00", "reason": "partial"}

    args, fields_ = parse_edit(refund, {**form, "arg__amount_usd": "-5", "arg__order_id": ""}, {})
    errors = {f.name: f.error for f in fields_ if f.error}
    assert args is None and errors == {"order_id": "required"}
    args, fields_ = parse_edit(refund, {**form, "arg__amount_usd": "-5"}, {})
    assert args is None and {f.name: f.error for f in fields_ if f.error} == {"amount_usd": "amount must be positive"}

    newsletter = TOOLS["set_newsletter"]
    assert [f.kind for f in edit_fields(newsletter, {"subscribed": True})] == ["boolean"]
    assert parse_edit(newsletter, {"arg__subscribed": "false"}, {})[0] == {"subscribed": False}
    assert parse_edit(TOOLS["close_account"], {}, {})[0] == {}


def test_charts_scale_to_the_largest_bar() -> None:
    chart = bar_chart("x", "Latency", [("intake", [1.0, 4.0]), ("billing", [2.0, None])], series=["p50", "p95"])
    widths = [[b.width for b in row.bars] for row in chart.rows]
    assert widths[0][1] == 420 and widths[0][0] == 105 and widths[1] == [210, 0]
    assert chart.rows[1].bars[1].text == "–" and not chart.empty
    assert bar_chart("e", "Errors", [("intake", [0])], series=["errors"]).empty


def _snap(cid: str, parent: str | None, at: datetime, nxt: list[str], step: int) -> dict[str, Any]:
    return {
        "checkpoint": {"checkpoint_id": cid},
        "parent_checkpoint": {"checkpoint_id": parent} if parent else None,
        "created_at": at.isoformat(),
        "next": nxt,
        "metadata": {"step": step, "source": "loop"},
        "values": {},
    }


def test_the_timeline_puts_each_effect_in_its_step_and_counts_what_a_rollback_undoes() -> None:
    t0 = datetime(2026, 11, 15, 12, tzinfo=UTC)
    history = [  # newest first, as the API returns it; "c3" is an abandoned branch, "f3" the fork
        _snap("f3", "c2", t0 + timedelta(seconds=9), [], 3),
        _snap("c3", "c2", t0 + timedelta(seconds=3), [], 3),
        _snap("c2", "c1", t0 + timedelta(seconds=2), ["execute_decision"], 2),
        _snap("c1", None, t0 + timedelta(seconds=1), ["billing"], 1),
    ]
    effect = {
        "tool": "issue_refund",
        "idempotency_key": "k",
        "args_json": '{"order_id": 11002, "amount_usd": "400.00"}',
        "created_at": t0 + timedelta(seconds=2.5),
        "compensated_at": None,
    }
    rows = {r["checkpoint_id"]: r for r in timeline(history, [effect], head="f3")}
    assert [e["amount"] for e in rows["c2"]["effects"]] == ["$400.00"] and rows["c1"]["effects"] == []
    assert (rows["c1"]["undo"], rows["c2"]["undo"], rows["c3"]["undo"]) == (1, 1, 0)
    assert rows["c3"]["on_branch"] is False and rows["f3"]["head"] is True
    assert [cid for cid, r in rows.items() if r["can_roll_back"]] == ["c1", "c2"]


def test_reading_the_api_json() -> None:
    waiting = {"value": {"action_requests": [{"name": "issue_refund", "args": {}}], "review_configs": []}, "id": "i1"}
    assert interrupts_of({"interrupts": [waiting]}) == [waiting]
    assert interrupts_of({"interrupts": [], "tasks": [{"interrupts": [waiting]}]}) == [waiting]
    assert status_of({"tasks": [{"interrupts": [waiting]}], "values": {"status": "answered"}}) == "awaiting_approval"
    assert status_of({"values": {}}) == "new"
    now = datetime(2026, 11, 15, 12, tzinfo=UTC)
    assert age((now - timedelta(minutes=75)).isoformat(), now) == "1 h 15 min"
    assert (money("700"), money(None), money("x")) == ("$700.00", "", "x")
    history = [
        {"values": {"tool_calls": [{"turn": 2, "name": "b", "args": {}, "outcome": "ok"}]}},
        {"values": {"tool_calls": [{"turn": 1, "name": "a", "args": {}, "outcome": "ok"}]}},
        {"values": {"tool_calls": [{"turn": 1, "name": "a", "args": {}, "outcome": "ok"}]}},
    ]
    assert [c["name"] for c in tool_calls_over(history)] == ["a", "b"]


def test_sign_in_returns_only_to_a_page_of_this_site() -> None:
    assert safe_next("/console/metrics?x=1") == "/console/metrics?x=1"
    for target in ("//evil.example/x", "https://evil.example", "/\\evil", "/login?next=/x", "console"):
        assert safe_next(target) == ""


def test_templates_escape_customer_text() -> None:
    page = env.get_template("chat/_conversation.html").render(
        conv={
            "thread_id": "t1",
            "status": "answered",
            "status_text": "",
            "version": "v",
            "waiting": False,
            "messages": [{"role": "customer", "text": '<img src=x onerror="alert(1)"><script>x()</script>'}],
        }
    )
    assert "<img" not in page and "<script>" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&lt;script&gt;" in page


def test_a_plan_is_decided_whole_and_only_a_single_action_is_edited() -> None:
    def interrupt(*configs: list[str]) -> dict[str, Any]:
        names = [f"tool{i}" for i in range(len(configs))]
        return {
            "id": "i",
            "value": {
                "action_requests": [{"name": n, "args": {}} for n in names],
                "review_configs": [
                    {"action_name": n, "allowed_decisions": c} for n, c in zip(names, configs, strict=True)
                ],
            },
        }

    everything = ["approve", "edit", "reject", "respond"]
    assert allowed_decisions(interrupt(everything)) == everything
    assert allowed_decisions(interrupt(["approve", "edit", "reject"], everything)) == ["approve", "reject"]
