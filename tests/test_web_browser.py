"""The console and the chat in a real browser, on the production server (two Aegra processes).

A customer's chat page is served by one server and the operators' pages by the other, so every
decision also crosses processes. Refund orders are recently delivered, paid orders of the seeded
store (delivered 3–7 days before the seed's 2026-11-15, with the clock pinned there), one order
per test so the tests do not depend on each other: 11002 (C0177), 10987 (C0068), 10965 (C0149),
11027 (C0184), 10935 (C0056). Screenshots of every page go to var/screenshots/.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from store.db import make_engine
from store.schema import audit_log, decision_claims, refunds
from tests.browser import Person, chromium
from tests.servers import Servers, aegra_servers

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLOCK = "2026-11-15T12:00:00Z"  # the seed's today: the refund orders were delivered days before
THREAD_URL = re.compile(r"/chat/[0-9A-Za-z_-]+$")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, kb_dir: str, classifier_path: str) -> Iterator[Servers]:
    home = tmp_path_factory.mktemp("web-aegra")
    with aegra_servers(
        2, kb_dir=kb_dir, classifier_path=classifier_path, home=home, extra_env={"SWITCHBOARD_CLOCK": CLOCK}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture
def people(browser: Any) -> Iterator[list[Person]]:
    made: list[Person] = []
    yield made
    for person in made:
        person.close()
    errors = [f"{p.name}: {e}" for p in made for e in p.errors]
    assert not errors, f"script errors on the pages: {errors}"


def person(people: list[Person], browser: Any, servers: Servers, index: int, name: str, token: str) -> Person:
    made = Person(browser, servers.urls[index], name)
    people.append(made)
    made.sign_in(token)
    return made


def ask(customer: Person, text: str) -> str:
    """The customer starts a conversation in /chat; returns its thread id once the reply is in."""
    page = customer.page
    page.goto("/chat")
    page.fill("#message", text)
    page.click("#send")
    page.wait_for_url(THREAD_URL)  # the page becomes the conversation without a reload
    thread = page.url.rsplit("/", 1)[-1]
    page.wait_for_selector(f"#conversation[data-thread='{thread}'][data-version]:not([data-version=''])")
    assert page.locator("#conversation .msg.customer").last.inner_text().endswith(text)
    # an answer, or (a plan waits for review inside its subgraph, before any reply) the waiting banner
    assert page.locator("#conversation .msg.assistant, #conversation .status-banner.awaiting_approval").count() >= 1
    return thread


def refunds_of(servers: Servers, order_id: int) -> list[tuple[int, str]]:
    with make_engine(servers.database_url).connect() as conn:
        rows = conn.execute(
            select(refunds.c.amount_cents, refunds.c.status)
            .where(refunds.c.order_id == order_id)
            .order_by(refunds.c.id)
        ).all()
    return [(int(r.amount_cents), str(r.status)) for r in rows]


def live_refunds(servers: Servers, order_id: int) -> list[int]:
    return [cents for cents, status in refunds_of(servers, order_id) if status != "reversed"]


def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus (keyboard-only use)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def wait_until_decided(customer: Person) -> str:
    """The customer's page follows the decision by itself (no reload) and shows the outcome."""
    page = customer.page
    page.wait_for_selector("#conversation[data-status='awaiting_approval']", state="detached", timeout=90_000)
    return page.locator("#conversation").inner_text()


def test_a_refund_asked_in_chat_is_edited_and_approved_in_the_console_and_the_customer_is_told(
    servers: Servers, browser: Any, people: list[Person]
) -> None:
    ann = person(people, browser, servers, 1, "ann", servers.token(operator="ann"))
    assert ann.page.url.endswith("/console"), "an operator lands in the console"
    ann.shot("console-login-landing")
    customer = person(people, browser, servers, 0, "customer", servers.token(customer="C0177"))
    assert customer.page.url.endswith("/chat"), "a customer lands in the chat"

    thread = ask(customer, "I want a refund of $700 for order 11002")
    banner = customer.page.locator(".status-banner.awaiting_approval")
    assert "Waiting for a person" in banner.inner_text()
    assert customer.page.locator("#send").is_disabled()
    customer.shot("chat-waiting-for-a-person")

    # the console was open before the request: the row arrives without a reload
    row = ann.page.locator(f"tr[data-key^='{thread}:']")
    row.wait_for(timeout=60_000)
    text = row.inner_text()
    assert "C0177" in text and "issue_refund" in text and "$700.00" in text and "a refund above $500" in text
    assert "new approval" in ann.page.locator("#inbox-news").inner_text()
    ann.shot("console-inbox")
    ann.page.select_option("#kind", "cancel_order")
    ann.page.click("form.filters button")
    assert ann.page.locator(f"tr[data-key^='{thread}:']").count() == 0
    ann.page.select_option("#kind", "issue_refund")
    ann.page.click("form.filters button")
    ann.page.locator(f"tr[data-key^='{thread}:'] a").click()

    page = ann.page
    page.wait_for_selector("#approve")
    assert "I want a refund of $700 for order 11002" in page.locator(".messages").inner_text()
    facts = page.locator("#order-facts").inner_text()
    assert "Order 11002" in facts and "delivered" in facts, facts
    ann.shot("console-approval")

    # an edit the tool's schema refuses is sent back with the reason, and nothing runs
    page.click("details.edit summary")
    page.fill("#f-amount_usd", "-5")
    page.click("#approve-edit")
    assert "amount must be positive" in page.locator(".field-error").inner_text()
    assert live_refunds(servers, 11002) == []
    ann.shot("console-edit-refused")

    page.fill("#f-amount_usd", "400")
    page.click("#approve-edit")
    outcome = page.locator("#outcome")
    outcome.wait_for()
    said = outcome.inner_text()
    assert "operator:ann chose edit" in said and "Policy re-check of the edited arguments" in said
    assert "issue_refund" in said and "→ ok" in said and "$400.00" in said
    ann.shot("console-outcome")

    told = wait_until_decided(customer)
    assert "$400.00" in told and "11002" in told
    customer.shot("chat-outcome")
    assert live_refunds(servers, 11002) == [40000], "exactly one refund, of the edited $400"

    customer.page.goto("/chat")
    assert customer.page.locator(f"a[href='/chat/{thread}']").count() == 1, "the conversation is in the list"
    customer.shot("chat-conversations")


def test_a_rejection_reaches_the_customer_with_its_reason(servers: Servers, browser: Any, people: list[Person]) -> None:
    customer = person(people, browser, servers, 0, "customer", servers.token(customer="C0068"))
    thread = ask(customer, "I want a refund of $700 for order 10987")
    bob = person(people, browser, servers, 1, "bob", servers.token(operator="bob"))
    bob.page.goto(f"/console/approvals/C0068/{thread}")
    bob.page.click("details.reject summary")
    bob.page.fill("#reject-reason", "The item came back damaged.")
    bob.page.click("#reject")
    bob.page.locator("#outcome").wait_for()
    assert "operator:bob chose reject" in bob.page.locator("#outcome").inner_text()
    told = wait_until_decided(customer)
    assert "did not approve" in told and "The item came back damaged." in told
    customer.shot("chat-rejected")
    assert refunds_of(servers, 10987) == []


def test_two_operators_approving_at_once_refund_once_and_the_second_is_told(
    servers: Servers, browser: Any, people: list[Person]
) -> None:
    customer = person(people, browser, servers, 0, "customer", servers.token(customer="C0149"))
    thread = ask(customer, "I want a refund of $700 for order 10965")
    ann = person(people, browser, servers, 0, "ann", servers.token(operator="ann"))
    bob = person(people, browser, servers, 1, "bob", servers.token(operator="bob"))
    for operator in (ann, bob):
        operator.page.goto(f"/console/approvals/C0149/{thread}")
        operator.page.wait_for_selector("#approve")
    ann.page.locator("#approve").click(no_wait_after=True)
    bob.page.locator("#approve").click(no_wait_after=True)
    pages = {}
    for operator in (ann, bob):
        operator.page.wait_for_selector("#outcome, .error-page", timeout=90_000)
        pages[operator.name] = operator.page.locator("main").inner_text()
    winners = [name for name, text in pages.items() if "Decision carried out" in text]
    losers = [name for name, text in pages.items() if "Decision already taken" in text]
    assert len(winners) == 1 and len(losers) == 1, pages
    assert f"operator:{winners[0]} already chose “approve”" in pages[losers[0]]
    assert "Your click changed nothing" in pages[losers[0]]
    (ann if losers[0] == "ann" else bob).shot("console-decision-already-taken")
    assert live_refunds(servers, 10965) == [70000]
    assert "$700.00" in wait_until_decided(customer)

    # a double click on one page submits once
    other = person(people, browser, servers, 0, "customer2", servers.token(customer="C0184"))
    second = ask(other, "I want a refund of $700 for order 11027")
    ann.page.goto(f"/console/approvals/C0184/{second}")
    ann.page.locator("#approve").dblclick()
    ann.page.locator("#outcome").wait_for()
    assert live_refunds(servers, 11027) == [70000]
    with make_engine(servers.database_url).connect() as conn:
        claims = conn.execute(select(decision_claims.c.actor).where(decision_claims.c.thread_id == second)).all()
    assert [c.actor for c in claims] == ["operator:ann"]


def test_rollback_from_the_thread_view_reverses_the_refund_and_is_audited(
    servers: Servers, browser: Any, people: list[Person]
) -> None:
    customer = person(people, browser, servers, 0, "customer", servers.token(customer="C0056"))
    thread = ask(customer, "I want a refund of $700 for order 10935")
    ann = person(people, browser, servers, 1, "ann", servers.token(operator="ann"))
    ann.page.goto("/console")  # from the inbox to the decision with the keyboard alone
    ann.page.locator(f"tr[data-key^='{thread}:']").wait_for()
    tab_to(ann.page, f"tr[data-key^='{thread}:'] a")
    ann.page.keyboard.press("Enter")
    ann.page.wait_for_selector("#approve")
    tab_to(ann.page, "#approve")
    ann.page.keyboard.press("Enter")
    ann.page.locator("#outcome").wait_for()
    assert live_refunds(servers, 10935) == [70000]

    ann.page.goto(f"/console/threads/C0056/{thread}")
    timeline = ann.page.locator("table.timeline")
    assert "execute_decision" in timeline.inner_text() and "issue_refund $700.00" in timeline.inner_text()
    ann.shot("console-thread")
    before_billing = timeline.locator("tr", has=ann.page.locator("td", has_text=re.compile(r"^\s*billing\s*$")))
    before_billing.locator("a", has_text="Roll back here").first.click()
    page = ann.page
    page.wait_for_selector("#confirm-rollback")
    undo = page.locator("ul.effects").inner_text()
    assert "issue_refund" in undo and "$700.00" in undo, "the confirmation lists what will be compensated"
    assert live_refunds(servers, 10935) == [70000], "nothing happens before the confirmation"
    ann.shot("console-rollback-confirm")
    page.click("#confirm-rollback")
    page.locator("#rolled").wait_for(timeout=90_000)
    assert "Rolled back by operator:ann" in page.locator("#rolled").inner_text()
    assert "1 effect(s) compensated" in page.locator("#rolled").inner_text()
    ann.shot("console-rolled-back")

    assert refunds_of(servers, 10935) == [(70000, "reversed")]
    with make_engine(servers.database_url).connect() as conn:
        audit = conn.execute(
            select(audit_log.c.action, audit_log.c.actor).where(
                audit_log.c.thread_id == thread, audit_log.c.action.in_(["compensation", "rollback"])
            )
        ).all()
    assert sorted((a.action, a.actor) for a in audit) == [
        ("compensation", "operator:ann"),
        ("rollback", "operator:ann"),
    ]
    # the same step ran again on the fork: billing proposed the refund anew, and it waits again
    assert "This thread waits for a decision" in page.locator("main").inner_text()
    page.goto("/console")
    page.locator(f"tr[data-key^='{thread}:']").wait_for()


def test_a_plan_is_decided_as_a_whole(servers: Servers, browser: Any, people: list[Person]) -> None:
    customer = person(people, browser, servers, 0, "customer", servers.token(customer="C0007"))
    thread = ask(customer, "cancel order 11197 and close my account")
    assert customer.page.locator(".status-banner.awaiting_approval").count() == 1
    ann = person(people, browser, servers, 1, "ann", servers.token(operator="ann"))
    ann.page.goto(f"/console/approvals/C0007/{thread}")
    decide = ann.page.locator("section.decide")
    text = decide.inner_text()
    assert "cancel_order" in text and "close_account" in text and "applies to every step" in text
    assert ann.page.locator("details.edit").count() == 0, "one step's edit would not fit the other"
    ann.shot("console-plan-approval")
    ann.page.click("details.reject summary")
    ann.page.fill("#reject-reason", "Please confirm by phone first.")
    ann.page.click("#reject")
    ann.page.locator("#outcome").wait_for()
    told = wait_until_decided(customer)
    assert "Please confirm by phone first." in told, told


HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> where is my order 11096?'


def test_a_hostile_message_is_shown_as_text_on_every_page(servers: Servers, browser: Any, people: list[Person]) -> None:
    customer = person(people, browser, servers, 0, "customer", servers.token(customer="C0007"))
    thread = ask(customer, HOSTILE)
    for view in (customer, None):
        page = customer.page
        if view is None:  # the server-rendered page, not the streamed one
            page.reload()
        assert HOSTILE in page.locator("#conversation").inner_text()
        assert page.evaluate("window.__pwned") is None
        assert page.locator("#conversation img, #conversation script").count() == 0
    customer.shot("chat-hostile-message")
    ann = person(people, browser, servers, 1, "ann", servers.token(operator="ann"))
    ann.page.goto(f"/console/threads/C0007/{thread}")
    assert HOSTILE in ann.page.locator(".messages").inner_text()
    assert ann.page.evaluate("window.__pwned") is None
    assert ann.page.locator(".messages img, .messages script").count() == 0
    ann.shot("console-thread-hostile-message")


def test_a_customer_credential_never_opens_the_console(servers: Servers, browser: Any, people: list[Person]) -> None:
    customer = person(people, browser, servers, 0, "customer", servers.token(customer="C0007"))
    response = customer.page.goto("/console")
    assert response is not None and response.status == 403
    assert "Operators only" in customer.page.locator("main").inner_text()
    customer.shot("console-refused-to-a-customer")
    url = servers.urls[1]
    as_customer = {"Authorization": f"Bearer {servers.token(customer='C0007')}"}
    as_operator = {"Authorization": f"Bearer {servers.token(operator='ann')}"}
    for path in ("/console", "/console/inbox.json", "/console/metrics", "/console/threads?customer=C0007"):
        assert httpx.get(url + path, headers=as_customer).status_code == 403, path
        assert httpx.get(url + path, headers=as_operator).status_code == 200, path
    assert httpx.get(url + "/chat", headers=as_operator).status_code == 403, "the chat speaks for a customer only"
    assert httpx.get(url + "/console", follow_redirects=False).status_code == 303, "no credential: sign in"


def test_the_metrics_page_draws_the_nodes(servers: Servers, browser: Any, people: list[Person]) -> None:
    ann = person(people, browser, servers, 1, "ann", servers.token(operator="ann"))
    ann.page.goto("/console/metrics")
    latency = ann.page.locator("#chart-latency svg rect")
    assert latency.count() >= 2 * 5, "p50 and p95 bars for the nodes that ran"
    assert "intake" in ann.page.locator("#chart-latency").inner_text()
    ann.shot("console-metrics")


# ---- error pages and form protection (HTTP, no browser needed) ------------------------------------


def signed_in_client(servers: Servers, index: int, token: str) -> httpx.Client:
    client = httpx.Client(base_url=servers.urls[index])
    page = client.get("/login")
    login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert login_csrf
    done = client.post("/login", data={"login_csrf": login_csrf.group(1), "token": token, "next": ""})
    assert done.status_code == 303
    return client


def test_the_chat_streams_progress_then_the_checked_reply_only(servers: Servers) -> None:
    customer = signed_in_client(servers, 0, servers.token(customer="C0007"))
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', customer.get("/chat").text)
    assert csrf
    with customer.stream(
        "POST",
        "/chat/new",
        data={"message": "Where is my order 11096?", "csrf": csrf.group(1)},
        headers={"X-Stream": "1"},
    ) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in response.iter_lines() if line.strip()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "thread" and kinds[-1] == "done" and kinds.index("progress") < kinds.index("reply"), kinds
    assert {e["text"] for e in events if e["event"] == "progress"} >= {"Reading your message", "Writing a reply"}
    thread = events[0]["thread_id"]
    page = customer.get(f"/chat/{thread}")
    replies = [e["text"] for e in events if e["event"] == "reply"]
    assert len(replies) == 1 and replies[0] and html.escape(replies[0], quote=False) in page.text
    assert events[-1]["status"] == "answered"


def test_without_javascript_a_message_posts_and_an_operator_responds_instead(servers: Servers) -> None:
    customer = signed_in_client(servers, 0, servers.token(customer="C0233"))
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', customer.get("/chat").text)
    assert csrf
    sent = customer.post(
        "/chat/new", data={"message": "I want a refund of $700 for order 10996", "csrf": csrf.group(1)}
    )
    assert sent.status_code == 303
    thread = sent.headers["location"].rsplit("/", 1)[-1]
    assert "Waiting for a person" in customer.get(sent.headers["location"]).text
    again = customer.post(f"/chat/{thread}/messages", data={"message": "hello?", "csrf": csrf.group(1)})
    assert again.status_code == 409 and "You can write again once they have decided" in again.text

    operator = signed_in_client(servers, 1, servers.token(operator="dan"))
    page = operator.get(f"/console/approvals/C0233/{thread}").text
    form = dict(re.findall(r'name="(csrf|interrupt_id)" value="([^"]+)"', page))
    answer = "We will call you tomorrow about this refund."
    done = operator.post(f"/console/approvals/C0233/{thread}", data={**form, "decision": "respond", "message": answer})
    assert done.status_code == 303 and "decided=" in done.headers["location"]
    assert html.escape(answer, quote=False) in customer.get(f"/chat/{thread}").text
    assert refunds_of(servers, 10996) == []
    twice = operator.post(f"/console/approvals/C0233/{thread}", data={**form, "decision": "approve"})
    assert twice.status_code == 409 and "operator:dan already chose “respond”" in twice.text


def test_forms_without_the_session_csrf_token_change_nothing(servers: Servers) -> None:
    customer = signed_in_client(servers, 0, servers.token(customer="C0008"))
    refused = customer.post("/chat/new", data={"message": "hello", "csrf": "forged"})
    assert refused.status_code == 403 and "out of date" in refused.text
    assert httpx.post(servers.urls[0] + "/login", data={"token": servers.token(operator="ann")}).status_code == 403
    operator = signed_in_client(servers, 1, servers.token(operator="ann"))
    forged = operator.post("/console/approvals/C0008/t-nothing", data={"decision": "approve", "interrupt_id": "x"})
    assert forged.status_code == 403
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', operator.get("/console").text)
    assert csrf
    missing = operator.post(
        "/console/approvals/C0008/t-no-such-thread",
        data={"decision": "approve", "interrupt_id": "x", "csrf": csrf.group(1)},
    )
    assert missing.status_code == 404 and "Thread not found" in missing.text


def test_error_pages_say_what_happened(servers: Servers) -> None:
    from web.session import SESSION_COOKIE, seal, session_key

    url = servers.urls[0]
    expired = servers.token(operator="ann", ttl_s=60, now=time.time() - 3600)
    cookie = seal(expired, "sid", key=session_key(servers.token_key))
    page = httpx.get(url + "/console", cookies={SESSION_COOKIE: cookie})
    assert page.status_code == 401 and "Your session has expired" in page.text
    assert f"{SESSION_COOKIE}=" in page.headers.get("set-cookie", "") and "Max-Age=0" in page.headers["set-cookie"]
    tampered = httpx.get(url + "/console", cookies={SESSION_COOKIE: cookie[:-3] + "abc"})
    assert tampered.status_code == 401 and "not valid" in tampered.text
    operator = signed_in_client(servers, 0, servers.token(operator="ann"))
    missing = operator.get("/console/threads/C0007/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and "Thread not found" in missing.text
    customer = signed_in_client(servers, 0, servers.token(customer="C0007"))
    other = customer.get("/chat/00000000-0000-0000-0000-000000000000")
    assert other.status_code == 404 and "Conversation not found" in other.text
    with httpx.Client(base_url=url) as fresh:
        form = re.search(r'name="login_csrf" value="([^"]+)"', fresh.get("/login").text)
        assert form
        token = servers.token(operator="ann", ttl_s=600)
        signed_in = fresh.post("/login", data={"login_csrf": form.group(1), "token": token, "next": "/console/metrics"})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/metrics"
    set_cookie = signed_in.headers["set-cookie"]
    assert set_cookie.startswith(f"{SESSION_COOKIE}=") and token not in set_cookie.split(";")[0][:20]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
    max_age = int(re.search(r"Max-Age=(\d+)", set_cookie).group(1))  # type: ignore[union-attr]
    assert 590 <= max_age <= 600, "the session ends when the token does"
