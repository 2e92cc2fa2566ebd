"""Real Aegra servers for tests: N processes on one throwaway PostgreSQL database and a Redis prefix of their own.

`aegra_servers()` seeds the store into the throwaway database (the servers' threads, runs,
checkpoints and Store live there too), runs Aegra's migrations once, then starts the servers one
after the other on free loopback ports (two first starts at once deadlock), with short leases so
a killed server's runs are picked up in seconds, not a minute. Everything is torn down on exit:
processes (their whole session), the database, the Redis keys.

    with aegra_servers(2, kb_dir=..., classifier_path=..., home=tmp_path) as servers:
        client = servers.client(0, servers.token(customer="C0007"))
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.deploy import (
    migrate,
    pid_alive,
    server_env,
    start_server,
    stop_process_group,
    wait_healthy,
)
from server.tokens import new_key, sign, subject_for
from tests.pg import throwaway_postgres

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Seconds, not Aegra's defaults (lease 30, reaper 15): a killed server's runs are re-queued in ~7 s.
SHORT_LEASES = {
    "LEASE_DURATION_SECONDS": "5",
    "HEARTBEAT_INTERVAL_SECONDS": "2",
    "REAPER_INTERVAL_SECONDS": "2",
    "STUCK_PENDING_THRESHOLD_SECONDS": "10",
    "BLPOP_TIMEOUT_SECONDS": "1",
    "BLOCKING_SOCKET_TIMEOUT_SECONDS": "6",  # must exceed BLPOP_TIMEOUT_SECONDS by 5
    "POSTGRES_POLL_INTERVAL_SECONDS": "1",
    "WORKER_DRAIN_TIMEOUT": "5",
    "KEEPALIVE_INTERVAL_SECS": "1",
    # small pools: PostgreSQL here allows 100 connections for every helper and test on the machine
    "SQLALCHEMY_POOL_SIZE": "3",
    "SQLALCHEMY_MAX_OVERFLOW": "3",
    "LANGGRAPH_MAX_POOL_SIZE": "5",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, graphs: Mapping[str, str]) -> Path:
    """An Aegra config serving `graphs` (name -> "path.py:attr", relative to the repository) with our auth."""
    config = {
        "dependencies": [str(ROOT)],
        "graphs": {name: str(ROOT / spec) for name, spec in graphs.items()},
        "auth": {"path": str(ROOT / "server" / "auth.py") + ":auth"},
    }
    path.write_text(json.dumps(config, indent=2))
    return path


@dataclass
class Servers:
    urls: list[str]
    env: dict[str, str]  # every server's environment (store settings, token key, Aegra settings)
    database_url: str  # the store's SQLAlchemy URL (the same database Aegra uses)
    logs: list[Path]
    pids: list[int] = field(default_factory=list)
    home: Path | None = None

    def start_one(self) -> int:
        """Start one more server on a free port once the others are up; return its index."""
        assert self.home is not None
        port = free_port()
        log = self.home / f"aegra-{len(self.urls)}-{port}.log"
        proc = start_server("127.0.0.1", port, self.env, log)
        self.urls.append(f"http://127.0.0.1:{port}")
        self.logs.append(log)
        self.pids.append(proc.pid)
        wait_healthy(self.urls[-1], lambda: proc.poll() is None, log)
        return len(self.urls) - 1

    @property
    def token_key(self) -> str:
        return self.env["SWITCHBOARD_TOKEN_KEY"]

    def token(
        self,
        *,
        customer: str | None = None,
        operator: str | None = None,
        role: str | None = None,
        ttl_s: int = 900,
        now: float | None = None,
    ) -> str:
        subject, checked = subject_for(customer=customer, operator=operator, role=role)
        return sign(subject, checked, key=self.token_key, ttl_s=ttl_s, now=now)

    def client(self, index: int, token: str | None, *, act_for: str | None = None) -> Any:
        """A `langgraph_sdk` sync client for server `index`, sending the token as the SDK's API key."""
        from langgraph_sdk import get_sync_client

        headers = {"X-Switchboard-Customer": act_for} if act_for else None
        return get_sync_client(url=self.urls[index], api_key=token or None, headers=headers)

    def kill(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to server `index`'s whole session (SIGKILL: a crash, nothing cleaned up)."""
        with suppress(ProcessLookupError):
            os.killpg(self.pids[index], sig)

    def log_text(self, index: int) -> str:
        """Server `index`'s log without colour codes."""
        return _ANSI.sub("", self.logs[index].read_text(errors="replace"))

    def log_tail(self, index: int, chars: int = 4000) -> str:
        return self.log_text(index)[-chars:]


def drop_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextmanager
def aegra_servers(
    n: int = 2,
    *,
    kb_dir: str,
    classifier_path: str,
    home: Path,
    config: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    model: str = "fake:facts",
) -> Iterator[Servers]:
    """`n` Aegra servers sharing one throwaway database and one Redis prefix, started one after another."""
    from store.db import ensure_store

    home.mkdir(parents=True, exist_ok=True)
    prefix = f"sbtest-{uuid.uuid4().hex[:10]}"
    with throwaway_postgres("aegra") as url:
        ensure_store(url)
        env = server_env(
            database_url=url,
            redis_url=REDIS_URL,
            prefix=prefix,
            token_key=new_key(),
            extra={
                **SHORT_LEASES,
                "AEGRA_CONFIG": str(config or ROOT / "langgraph.json"),
                "SWITCHBOARD_ENV_FILE": str(home / "no.env"),  # a developer's .env must not leak in
                "SWITCHBOARD_HOME": str(home),
                "SWITCHBOARD_MODEL": model,
                "SWITCHBOARD_CHROMA_DIR": kb_dir,
                "SWITCHBOARD_CLASSIFIER_PATH": classifier_path,
                "SWITCHBOARD_RATE_LIMIT": "100000/minute",
                "LANGSMITH_TRACING": "false",
                **(extra_env or {}),
            },
        )
        servers = Servers(urls=[], env=env, database_url=url, logs=[], home=home)
        try:
            migrate(env)
            for _ in range(n):  # staggered: each answers /health before the next starts
                servers.start_one()
            yield servers
        finally:
            for pid in servers.pids:
                if pid_alive(pid):
                    stop_process_group(pid, timeout=10)
                with suppress(ChildProcessError):
                    os.waitpid(pid, 0)  # reap our child
            drop_redis_keys(prefix)


def streamed(client: Any, thread_id: str, assistant: str = "support", **kwargs: Any) -> tuple[dict[str, Any], bool]:
    """Run `assistant` on the thread, streamed to its end (`runs.wait` polls every 2 s with Redis):
    (the final values, whether the stream ended with its `end` event).

    Aegra 0.11 replays a run's buffered events, then subscribes for live ones: what is published in
    between is lost, and a run that ends in that gap leaves the stream without its last values and
    its `end`; under load the gap can also swallow every values event of a short run while its `end`
    arrives. Such a stream is read back from the thread's state once the run has finished."""
    values: dict[str, Any] = {}
    ended = False
    for chunk in client.runs.stream(thread_id, assistant, stream_mode="values", **kwargs):
        if chunk.event == "error":
            raise RuntimeError(f"run failed: {chunk.data}")
        if chunk.event == "values":
            values = chunk.data
        ended = ended or chunk.event == "end"
    if not ended or not values:
        for run in client.runs.list(thread_id, limit=1):
            client.runs.join(thread_id, run["run_id"])
        values = client.threads.get_state(thread_id)["values"]
    return values, ended
