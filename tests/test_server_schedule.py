"""The server process runs the people-in-the-loop schedule (``http.app``: server/app.py): an overdue
approval is decided through the server's own API and the webhooks are delivered, with nobody
running `switchboard sweep`. On `langgraph dev`, behind server/auth.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from server.tokens import new_key, sign
from store.db import ensure_store, make_engine, sqlite_url
from store.schema import approvals, audit_log
from tests.orders import refundable_orders
from tests.servers import free_port, write_config
from tests.webhook_sink import webhook_sink

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_the_server_rejects_an_overdue_approval_and_delivers_the_webhooks_on_its_own(
    tmp_path: Path, kb_dir: str, classifier_path: str
) -> None:
    from langgraph_sdk import get_sync_client

    # Deadlines of seconds need the real clock, so the store is seeded at today's date (the seeded
    # world's ages hold whatever the day) and the server runs without the tests' pinned clock.
    store = tmp_path / "store.sqlite"
    ensure_store(sqlite_url(store), today=datetime.now(UTC).date())
    order = refundable_orders(sqlite_url(store), above_cents=50000, below_cents=100000, at=datetime.now(UTC))[0]
    config = write_config(tmp_path / "langgraph.json", {"support": "graph/server.py:graph"})
    spec = json.loads(config.read_text())
    spec["http"] = {"app": str(ROOT / "server" / "app.py") + ":app"}
    config.write_text(json.dumps(spec))
    port, key = free_port(), new_key()
    url = f"http://127.0.0.1:{port}"
    with webhook_sink() as sink:
        env = {
            **{k: v for k, v in os.environ.items() if k != "SWITCHBOARD_CLOCK"},
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGGRAPH_NO_VERSION_CHECK": "true",
            "LANGSMITH_TRACING": "false",
            "SWITCHBOARD_ENV_FILE": str(tmp_path / "no.env"),
            "SWITCHBOARD_HOME": str(tmp_path),
            "SWITCHBOARD_MODEL": "fake:facts",
            "SWITCHBOARD_DATABASE_URL": sqlite_url(store),
            "SWITCHBOARD_CHROMA_DIR": kb_dir,
            "SWITCHBOARD_CLASSIFIER_PATH": classifier_path,
            "SWITCHBOARD_RATE_LIMIT": "100000/minute",
            "SWITCHBOARD_TOKEN_KEY": key,
            "SWITCHBOARD_APPROVAL_DEADLINES": "*=3s",
            "SWITCHBOARD_APPROVAL_OVERDUE": "*=reject",
            "SWITCHBOARD_SWEEP_INTERVAL_S": "1",
            "SWITCHBOARD_SWEEP_SERVER_URL": url,
            "SWITCHBOARD_WEBHOOK_URLS": sink.url,
            "SWITCHBOARD_WEBHOOK_SECRET": sink.secret,
            "SWITCHBOARD_WEBHOOK_BACKOFF_S": "0.5",
        }
        log = tmp_path / "langgraph.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "langgraph"), "dev", "--config", str(config), "--host", "127.0.0.1"]
                + ["--port", str(port), "--no-browser", "--no-reload"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.time() + 90
            while time.time() < deadline:
                assert proc.poll() is None, log.read_text()[-2000:]
                try:
                    if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            customer = get_sync_client(
                url=url, api_key=sign(f"customer:{order.customer_id}", "customer", key=key, ttl_s=900)
            )
            thread = customer.threads.create()["thread_id"]
            first = customer.runs.wait(
                thread, "support", input={"messages": [{"role": "human", "content": f"please refund order {order.id}"}]}
            )
            assert first["status"] == "awaiting_approval"

            engine = make_engine(sqlite_url(store))
            expired = None
            until = time.time() + 60
            while time.time() < until and expired is None:
                with engine.connect() as conn:
                    expired = conn.execute(
                        select(approvals.c.status).where(
                            approvals.c.thread_id == thread, approvals.c.status == "expired"
                        )
                    ).scalar()
                time.sleep(0.5)
            assert expired == "expired", log.read_text()[-3000:]
            state = customer.threads.get_state(thread)
            assert state["next"] == [] and "could not review your request in time" in state["values"]["reply"]
            with engine.connect() as conn:
                actors = conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "approval")).scalars().all()
            assert actors == ["operator:sweep"]  # decided through the API as the server's own sweeper
            until = time.time() + 30
            while time.time() < until and len(sink.events()) < 2:
                time.sleep(0.5)
            assert sorted(e["type"] for e in sink.events().values()) == ["approval.overdue", "approval.waiting"]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
