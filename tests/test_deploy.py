"""`make up` / `make down`: two Aegra servers that answer, a second `up` that starts nothing, and nothing left after `down`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from server.deploy import is_our_server, pid_alive, port_free, read_env_file
from tests.pg import PG_ADMIN_URL
from tests.servers import ROOT, drop_redis_keys, free_port, streamed

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )


def admin_token(env: dict[str, str], *who: str) -> str:
    switchboard = str(Path(sys.executable).parent / "switchboard")
    done = subprocess.run([switchboard, "admin", "token", *who], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_make_up_twice_then_down_leaves_nothing_running(tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    database = f"up_{uuid.uuid4().hex[:10]}"
    run_dir = tmp_path / "up"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWITCHBOARD_", "UP_"))}
    env.update(
        UP_DIR=str(run_dir),
        UP_PORTS=",".join(map(str, ports)),
        UP_DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{database}",
        SWITCHBOARD_MODEL="fake:facts",  # the servers inherit it; the default embedded model is slow here
    )
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        first = make("up", env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"created database {database}" in first.stdout
        assert all(url in first.stdout for url in urls)
        pids = [int((run_dir / f"aegra-{p}.pid").read_text()) for p in ports]
        assert all(is_our_server(pid, port) for pid, port in zip(pids, ports, strict=True))
        assert all(httpx.get(f"{url}/health").status_code == 200 for url in urls)

        second = make("up", env)  # idempotent: the same two servers, no more
        assert second.returncode == 0, second.stdout + second.stderr
        assert "already up" in second.stdout
        assert [int((run_dir / f"aegra-{p}.pid").read_text()) for p in ports] == pids

        # the written settings drive the CLI against this deployment: its token key, its store
        cli_env = {**env, "SWITCHBOARD_ENV_FILE": str(run_dir / "switchboard.env")}
        switchboard = str(Path(sys.executable).parent / "switchboard")
        token = subprocess.run(
            [switchboard, "admin", "token", "--customer", "C0068"],
            env=cli_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for url in urls:
            assert httpx.post(f"{url}/threads/search", json={}).status_code == 401
            assert httpx.post(f"{url}/threads/search", json={}, headers={"X-Api-Key": token}).status_code == 200
        customers = subprocess.run(
            [switchboard, "admin", "customers", "--limit", "1", "--json"],
            env=cli_env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert '"C0001"' in customers.stdout
        # the README's walk-through: a customer's SDK client gets an answer and a waiting approval
        # on one server; an operator's token approves it on the other
        from langgraph_sdk import get_sync_client

        customer = get_sync_client(url=urls[0], api_key=token)
        thread = customer.threads.create()["thread_id"]
        answer, _ = streamed(
            customer, thread, input={"messages": [{"role": "human", "content": "Where is my order 10987?"}]}
        )
        assert answer["status"] == "answered" and "10987" in answer["reply"], answer
        waiting, _ = streamed(
            customer, thread, input={"messages": [{"role": "human", "content": "I want a refund for order 10987"}]}
        )
        assert waiting["status"] == "awaiting_approval", waiting
        assert (
            customer.threads.get_state(thread)["interrupts"][0]["value"]["action_requests"][0]["name"] == "issue_refund"
        )
        inbox = subprocess.run(
            [switchboard, "inbox", "--json"], env=cli_env, capture_output=True, text=True, check=True
        ).stdout
        assert [(r["thread_id"], r["customer_id"], r["action"]) for r in json.loads(inbox)] == [
            (thread, "C0068", "issue_refund")
        ]
        operator = get_sync_client(
            url=urls[1], api_key=admin_token(cli_env, "--operator", "ann"), headers={"X-Switchboard-Customer": "C0068"}
        )
        done, _ = streamed(operator, thread, command={"resume": {"decisions": [{"type": "approve"}]}})
        assert done["status"] == "answered" and "10987" in done["reply"], done
        assert customer.threads.get(thread)["status"] == "idle"

        settings = read_env_file(run_dir / "switchboard.env")
        assert database in settings["SWITCHBOARD_DATABASE_URL"] and database in settings["DATABASE_URL"]
        assert settings["REDIS_BROKER_ENABLED"] == "true"
        assert settings["REDIS_CHANNEL_PREFIX"].startswith(settings["UP_PREFIX"])
        assert settings["SWITCHBOARD_SERVER_URL"] == urls[0]

        down = make("down", env)
        assert down.returncode == 0, down.stdout + down.stderr
        assert not any(pid_alive(pid) for pid in pids)
        assert all(port_free("127.0.0.1", p) for p in ports)
        assert not list(run_dir.glob("*.pid"))
        assert "nothing was running" in make("down", env).stdout
    finally:
        subprocess.run([sys.executable, "-m", "server.deploy", "down"], cwd=ROOT, env=env, capture_output=True)
        prefix = read_env_file(run_dir / "switchboard.env").get("UP_PREFIX")
        if prefix:
            drop_redis_keys(prefix)
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
