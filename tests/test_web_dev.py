"""The same pages under `langgraph dev` (`make serve`), started from the repository's own langgraph.json.

One pass of the main scenario in a real browser: the `http.app` line is honoured, the inbox
reads the in-memory server's Store, and the decision goes through its API.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.tokens import new_key, sign, subject_for
from store.db import make_engine, sqlite_url
from store.schema import refunds
from tests.browser import Person, chromium
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.browser, pytest.mark.slow]


class DevServer:
    def __init__(self, url: str, store_url: str, token_key: str) -> None:
        self.url, self.store_url, self.token_key = url, store_url, token_key

    def token(self, *, customer: str | None = None, operator: str | None = None) -> str:
        subject, role = subject_for(customer=customer, operator=operator)
        return sign(subject, role, key=self.token_key, ttl_s=900)


@pytest.fixture(scope="module")
def dev(
    tmp_path_factory: pytest.TempPathFactory, seeded_sqlite: Path, kb_dir: str, classifier_path: str
) -> Iterator[DevServer]:
    home = tmp_path_factory.mktemp("web-dev")
    store = home / "store.sqlite"
    shutil.copy(seeded_sqlite, store)
    port, key = free_port(), new_key()
    env = {
        **os.environ,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
        "SWITCHBOARD_ENV_FILE": str(home / "no.env"),
        "SWITCHBOARD_HOME": str(home),
        "SWITCHBOARD_MODEL": "fake:facts",
        "SWITCHBOARD_DATABASE_URL": sqlite_url(store),
        "SWITCHBOARD_CHROMA_DIR": kb_dir,
        "SWITCHBOARD_CLASSIFIER_PATH": classifier_path,
        "SWITCHBOARD_RATE_LIMIT": "100000/minute",
        "SWITCHBOARD_TOKEN_KEY": key,
        "SWITCHBOARD_CLOCK": "2026-11-15T12:00:00Z",
    }
    log = home / "langgraph.log"  # outside the checkout: the reloader would watch it
    command = [str(Path(sys.executable).parent / "langgraph"), "dev", "--config", str(ROOT / "langgraph.json")]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-browser", "--no-reload"]
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"langgraph dev did not start: {log.read_text()[-2000:]}")
        yield DevServer(url, sqlite_url(store), key)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_make_serve_serves_both_pages_and_an_approval_goes_through(dev: DevServer) -> None:
    assert httpx.get(dev.url + "/login").status_code == 200
    with chromium() as browser:
        people: list[Any] = []
        try:
            customer = Person(browser, dev.url, "customer")
            ann = Person(browser, dev.url, "ann")
            people += [customer, ann]
            ann.sign_in(dev.token(operator="ann"))
            customer.sign_in(dev.token(customer="C0177"))
            customer.page.fill("#message", "I want a refund of $700 for order 11002")
            customer.page.click("#send")
            customer.page.wait_for_selector(".status-banner.awaiting_approval")
            thread = customer.page.url.rsplit("/", 1)[-1]

            row = ann.page.locator(f"tr[data-key^='{thread}:']")
            row.wait_for(timeout=60_000)  # no reload: the inbox polls
            assert "$700.00" in row.inner_text()
            row.locator("a").click()
            ann.page.click("#approve")
            ann.page.locator("#outcome").wait_for()
            ann.shot("dev-console-outcome")

            customer.page.wait_for_selector(".status-banner.awaiting_approval", state="detached", timeout=90_000)
            assert "$700.00" in customer.page.locator("#conversation").inner_text()
            customer.shot("dev-chat-outcome")
            assert not [e for p in people for e in p.errors]
        finally:
            for p in people:
                p.close()
    with make_engine(dev.store_url).connect() as conn:
        rows = conn.execute(select(refunds.c.amount_cents).where(refunds.c.order_id == 11002)).scalars().all()
    assert rows == [70000]


def test_an_outreach_is_started_and_decided_on_the_server_by_operators_only(dev: DevServer) -> None:
    from sqlalchemy import func

    from store.schema import audit_log, outreach_recipients

    def post(path: str, body: Any, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(dev.url + path, json=body, headers=headers, timeout=120)

    operator, customer = dev.token(operator="ann"), dev.token(customer="C0007")
    ask = {"order_statuses": ["delivered"], "limit": 150, "subject": "Warehouse move",
           "body": "Hello {name},\n\nDeliveries may take a day longer next week."}  # fmt: skip
    assert post("/outreach", ask, None).status_code == 401
    refused = post("/outreach", ask, customer)
    assert refused.status_code == 403 and refused.json()["error"] == "Operators only"
    bad = post("/outreach", {**ask, "send_now": True}, operator)
    assert bad.status_code == 400 and "send_now" in bad.json()["message"]

    waiting = post("/outreach", ask, operator)
    assert waiting.status_code == 201, waiting.text
    started = waiting.json()
    assert (started["status"], started["recipients"]) == ("awaiting_approval", 150)
    outreach_id = started["outreach_id"]
    read = httpx.get(f"{dev.url}/outreach/{outreach_id}", headers={"Authorization": f"Bearer {operator}"})
    assert read.json()["status"] == "awaiting_approval"
    assert post(f"/outreach/{outreach_id}/decision", {"type": "approve"}, customer).status_code == 403
    console = httpx.get(dev.url + "/console", headers={"Authorization": f"Bearer {customer}"})
    assert console.status_code == 403  # the pages' refusals are audited like the API's

    done = post(f"/outreach/{outreach_id}/decision", {"type": "approve", "actor": "operator:mallory"}, operator)
    assert done.status_code == 400  # the decider is the credential's, never a field of the body
    done = post(f"/outreach/{outreach_id}/decision", {"type": "approve"}, operator)
    assert done.status_code == 200 and done.json()["status"] == "queued", done.text
    again = post(f"/outreach/{outreach_id}/decision", {"type": "approve"}, operator)  # a double click
    assert again.status_code == 409 and "not waiting" in again.json()["message"]
    with make_engine(dev.store_url).connect() as conn:
        queued = conn.execute(
            select(func.count())
            .select_from(outreach_recipients)
            .where(outreach_recipients.c.outreach_id == outreach_id)
        ).scalar_one()
        audited = conn.execute(
            select(audit_log.c.action, audit_log.c.actor).where(
                audit_log.c.action.in_(["web_refused", "approval", "decision_refused"])
            )
        ).all()
    assert queued == 150
    assert ("approval", "operator:ann") in audited
    assert [a for a in audited if a[0] == "web_refused"] == [("web_refused", "customer:C0007")] * 3
