"""`langgraph dev` serves the graph as `support` offline; the SDK drives a turn and an approval."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_store(tmp_path_factory: pytest.TempPathFactory, seeded_sqlite: Path) -> str:
    import shutil

    from store.db import sqlite_url

    target = tmp_path_factory.mktemp("server-store") / "store.sqlite"
    shutil.copy(seeded_sqlite, target)
    return sqlite_url(target)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, server_store: str, kb_dir: str, classifier_path: str
) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "langgraph.log"
    # The server's settings come from its environment; a run's context cannot change them.
    env = {
        **os.environ,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
        "SWITCHBOARD_MODEL": "fake:facts",
        "SWITCHBOARD_DATABASE_URL": server_store,
        "SWITCHBOARD_CHROMA_DIR": kb_dir,
        "SWITCHBOARD_CLASSIFIER_PATH": classifier_path,
    }
    cli = Path(sys.executable).parent / "langgraph"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(cli), "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser", "--no-reload"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
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
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_server_answers_and_resumes_an_approval(server: str, server_store: str) -> None:
    from langgraph_sdk import get_sync_client
    from sqlalchemy import create_engine, func, select

    from store.schema import orders, refunds

    context = {"customer_id": "C0007"}
    engine = create_engine(server_store)
    with engine.connect() as conn:
        big = conn.execute(
            select(orders.c.id).where(
                orders.c.customer_id == "C0007", orders.c.status == "delivered", orders.c.total_cents > 50000
            )
        ).scalar_one()
    client = get_sync_client(url=server)
    assistants = client.assistants.search(graph_id="support")
    assert assistants, "the graph is served as 'support'"

    thread = client.threads.create()
    result = client.runs.wait(
        thread["thread_id"],
        "support",
        context=context,
        input={"messages": [{"role": "human", "content": f"refund order {big} please"}]},
    )
    assert result["status"] == "awaiting_approval"
    assert "__interrupt__" in result
    request = result["__interrupt__"][0]["value"]["action_requests"][0]
    assert request["name"] == "issue_refund"

    done = client.runs.wait(
        thread["thread_id"],
        "support",
        context=context,
        command={"resume": {"decisions": [{"type": "approve", "actor": "operator:sdk"}]}},
    )
    assert done["status"] == "answered"
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(refunds).where(refunds.c.order_id == big)).scalar_one() == 1
        )
