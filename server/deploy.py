"""A production-shaped deployment on this machine: `python -m server.deploy up|down|status`.

`up` creates the PostgreSQL database when missing (one database for Aegra's threads, runs,
checkpoints and Store, and for the store's own tables), seeds the store, runs Aegra's migrations
once, then starts the Aegra servers one after the other (each must answer ``/health`` before the
next starts: two first starts at once deadlock on a fresh database), with the Redis broker on and
a channel prefix and queue key of their own. PID files and logs go to ``var/up/``; the settings
used go to ``var/up/switchboard.env`` (so ``SWITCHBOARD_ENV_FILE=var/up/switchboard.env
switchboard ...`` works against it). `up` twice starts nothing new; `down` stops exactly the
processes named in the PID files.

Knobs (environment): ``UP_PORTS`` (default ``8181,8182``), ``UP_HOST`` (``127.0.0.1``),
``UP_DATABASE_URL`` (``postgresql://postgres@127.0.0.1:5432/switchboard``), ``UP_REDIS_URL``
(``redis://127.0.0.1:6379/0``), ``UP_DIR`` (``var/up``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORTS = (8181, 8182)
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/switchboard"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ENV_FILE = "switchboard.env"
APP = "aegra_api.main:app"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 20.0


class DeployError(RuntimeError):
    pass


# ---- settings ----------------------------------------------------------------------------------


def libpq_url(url: str) -> str:
    """``postgresql://`` form (what Aegra's DATABASE_URL and the checkpointer take)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped (the dotenv subset this module writes)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def write_env_file(path: Path, env: Mapping[str, str], header: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        "".join(f"# {line}\n" for line in header.splitlines()) + "".join(f"{k}={v}\n" for k, v in env.items())
    )
    tmp.chmod(0o600)  # it holds the token key
    tmp.replace(path)


def server_env(
    *,
    database_url: str,
    redis_url: str,
    prefix: str,
    token_key: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of one server (and of any `switchboard` command run against the deployment).

    ``SWITCHBOARD_*`` settings are the graph's (store, checkpoints, token key, shared rate limits);
    the rest are Aegra's. Every server of a deployment gets the same values.
    """
    env = {
        "SWITCHBOARD_DATABASE_URL": sqlalchemy_url(database_url),
        "SWITCHBOARD_CHECKPOINT_URL": libpq_url(database_url),
        "SWITCHBOARD_TOKEN_KEY": token_key,
        "SWITCHBOARD_RATE_LIMIT_STORAGE": redis_url,
        "AEGRA_CONFIG": str(ROOT / "langgraph.json"),
        "DATABASE_URL": libpq_url(database_url),
        "RUN_MIGRATIONS_ON_STARTUP": "false",  # run once, before the first server starts
        "REDIS_BROKER_ENABLED": "true",
        "REDIS_URL": redis_url,
        # Redis pub/sub channels are not per database: a prefix of its own per deployment
        "REDIS_CHANNEL_PREFIX": f"{prefix}:run:",
        "WORKER_QUEUE_KEY": f"{prefix}:jobs",
        "WORKER_COUNT": "2",
        "N_JOBS_PER_WORKER": "10",
        # PostgreSQL here allows 100 connections, shared with everything else on the machine
        "SQLALCHEMY_POOL_SIZE": "5",
        "SQLALCHEMY_MAX_OVERFLOW": "5",
        "LANGGRAPH_MIN_POOL_SIZE": "1",
        "LANGGRAPH_MAX_POOL_SIZE": "10",
        "CRON_ENABLED": "false",
        # Agent Protocol v2 commands bypass the run-context rewriting in server/auth.py (see there)
        "FF_V2_EVENT_STREAMING": "false",
        "LOG_LEVEL": "INFO",
    }
    env.update(extra or {})
    return env


def create_database(database_url: str) -> bool:
    """Create the database named in `database_url` when it does not exist; True when created."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(libpq_url(database_url))
    name = url.database
    if not name:
        raise DeployError(f"no database named in {url.render_as_string(hide_password=True)}")
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    except psycopg.OperationalError as exc:
        raise DeployError(f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)}: {exc}") from exc


def migrate(env: Mapping[str, str], *, python: str = sys.executable) -> None:
    """Aegra's Alembic migrations, once, under its advisory lock (a subprocess: Aegra reads its
    settings from the environment when first imported)."""
    code = "from aegra_api.core.migrations import run_migrations; run_migrations()"
    done = subprocess.run(
        [python, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise DeployError(f"Aegra migrations failed:\n{(done.stdout + done.stderr)[-3000:]}")


# ---- processes ---------------------------------------------------------------------------------


def server_command(host: str, port: int, *, python: str = sys.executable) -> list[str]:
    return [python, "-m", "uvicorn", APP, "--host", host, "--port", str(port), "--no-access-log"]


def start_server(
    host: str, port: int, env: Mapping[str, str], log_path: Path, *, python: str = sys.executable
) -> subprocess.Popen[bytes]:
    """One Aegra server in a session of its own (it outlives `make up`), output to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            server_command(host, port, python=python),
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_healthy(
    url: str,
    alive: Callable[[], bool],
    log_path: Path | None = None,
    timeout: float = START_TIMEOUT_S,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(url):
            return
        if not alive():
            tail = log_path.read_text(errors="replace")[-3000:] if log_path and log_path.exists() else ""
            raise DeployError(f"the server for {url} exited before answering /health:\n{tail}")
        time.sleep(0.5)
    raise DeployError(f"{url}/health did not answer within {timeout:.0f} s")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def _alive(pid: int | None) -> Callable[[], bool]:
    return lambda: pid is not None and pid_alive(pid)


def is_our_server(pid: int, port: int) -> bool:
    """The process is an Aegra server we started for `port` (not a recycled PID)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return APP.encode() in args and str(port).encode() in args and pid_alive(pid)


def stop_process_group(pid: int, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the session we started (leader `pid`), then SIGKILL it if it lingers."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.2)


def port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


# ---- the deployment ----------------------------------------------------------------------------


def _ports(text: str | None) -> tuple[int, ...]:
    if not text:
        return DEFAULT_PORTS
    ports = tuple(int(p) for p in text.replace(",", " ").split())
    if not ports or len(set(ports)) != len(ports):
        raise DeployError(f"UP_PORTS={text!r}: give distinct port numbers, e.g. 8181,8182")
    return ports


@dataclass(frozen=True)
class Deployment:
    run_dir: Path
    host: str
    ports: tuple[int, ...]
    database_url: str
    redis_url: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Deployment:
        environ = os.environ if environ is None else environ
        run_dir = Path(environ.get("UP_DIR") or ROOT / "var" / "up")
        if not run_dir.is_absolute():
            run_dir = ROOT / run_dir
        previous = read_env_file(run_dir / ENV_FILE)
        return cls(
            run_dir=run_dir,
            host=environ.get("UP_HOST") or "127.0.0.1",
            ports=_ports(environ.get("UP_PORTS") or previous.get("UP_PORTS")),
            database_url=environ.get("UP_DATABASE_URL") or previous.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            redis_url=environ.get("UP_REDIS_URL") or previous.get("REDIS_URL") or DEFAULT_REDIS_URL,
        )

    @property
    def env_file(self) -> Path:
        return self.run_dir / ENV_FILE

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    def pid_file(self, port: int) -> Path:
        return self.run_dir / f"aegra-{port}.pid"

    def log_file(self, port: int) -> Path:
        return self.run_dir / f"aegra-{port}.log"

    def running_pid(self, port: int) -> int | None:
        """The PID of our live server on `port`, from its PID file; a stale file is removed."""
        path = self.pid_file(port)
        try:
            pid = int(path.read_text().strip())
        except (OSError, ValueError):
            return None
        if is_our_server(pid, port):
            return pid
        path.unlink(missing_ok=True)
        return None

    def settings(self) -> dict[str, str]:
        """The deployment's environment: kept from the last `up` (token key, Redis prefix), else new."""
        from server.tokens import new_key

        previous = read_env_file(self.env_file)
        token_key = previous.get("SWITCHBOARD_TOKEN_KEY") or new_key()
        prefix = previous.get("UP_PREFIX") or f"switchboard-{uuid.uuid4().hex[:8]}"
        env = server_env(
            database_url=self.database_url,
            redis_url=self.redis_url,
            prefix=prefix,
            token_key=token_key,
        )
        env["UP_PREFIX"] = prefix
        env["UP_PORTS"] = ",".join(map(str, self.ports))
        # `switchboard approve|reject|edit|resume` with these settings decide through the API
        env["SWITCHBOARD_SERVER_URL"] = self.url(self.ports[0])
        return env


def up(dep: Deployment) -> list[str]:
    """Start what is not running yet; return the server URLs."""
    from store.db import ensure_store

    dep.run_dir.mkdir(parents=True, exist_ok=True)
    env = dep.settings()
    write_env_file(
        dep.env_file,
        env,
        f"Written by `make up` (python -m server.deploy up), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.\n"
        f"Servers: {', '.join(dep.url(p) for p in dep.ports)}\n"
        "Use: SWITCHBOARD_ENV_FILE=var/up/switchboard.env .venv/bin/switchboard ...",
    )
    running = {port: dep.running_pid(port) for port in dep.ports}
    if all(running.values()):
        for port in dep.ports:
            wait_healthy(dep.url(port), _alive(running[port]), dep.log_file(port))
        _say(f"already up: {', '.join(dep.url(p) for p in dep.ports)}")
        return [dep.url(p) for p in dep.ports]
    for port, pid in running.items():
        if pid is None and not port_free(dep.host, port):
            raise DeployError(
                f"port {port} on {dep.host} is taken by a process this deployment did not start "
                "(set UP_PORTS to other ports)"
            )
    if create_database(dep.database_url):
        _say(f"created database {dep.database_url.rsplit('/', 1)[-1]}")
    # seeded as of the servers' today (the real date unless SWITCHBOARD_CLOCK pins one), as `switchboard
    # setup` does: "delivered 6 days ago" is then 6 days before the day the deployment runs
    from core.settings import Settings

    report = ensure_store(env["SWITCHBOARD_DATABASE_URL"], today=Settings().now().date())
    _say(f"store: {'seeded now' if report.seeded_now else 'ready'} ({report.counts.get('customers', 0)} customers)")
    migrate(env)
    _say("Aegra migrations: done")
    for port in dep.ports:  # staggered: the next starts only once this one answers /health
        pid = running[port]
        if pid is None:
            proc = start_server(dep.host, port, env, dep.log_file(port))
            dep.pid_file(port).write_text(f"{proc.pid}\n")
            pid = proc.pid
            _say(f"started {dep.url(port)} (pid {pid}); waiting for /health")
        wait_healthy(dep.url(port), _alive(pid), dep.log_file(port))
    return [dep.url(p) for p in dep.ports]


def down(dep: Deployment) -> list[int]:
    """Stop the servers named in the PID files; return the PIDs stopped."""
    stopped = []
    for path in sorted(dep.run_dir.glob("aegra-*.pid")):
        port = int(path.stem.split("-", 1)[1])
        pid = dep.running_pid(port)
        if pid is not None:
            stop_process_group(pid)
            stopped.append(pid)
            _say(f"stopped {dep.url(port)} (pid {pid})")
        path.unlink(missing_ok=True)
    return stopped


def status(dep: Deployment) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for port in dep.ports:
        pid = dep.running_pid(port)
        rows.append({"url": dep.url(port), "pid": pid, "healthy": bool(pid) and healthy(dep.url(port))})
    return rows


def _say(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else ""
    dep = Deployment.from_environ()
    try:
        if command == "up":
            urls = up(dep)
            rel = dep.env_file.relative_to(ROOT) if dep.env_file.is_relative_to(ROOT) else dep.env_file
            _say("Switchboard is up: " + "  ".join(urls))
            _say(f"  settings: {rel}   logs and PID files: {dep.run_dir}")
            _say(f"  a token:  SWITCHBOARD_ENV_FILE={rel} .venv/bin/switchboard admin token --customer C0007")
            _say("  stop:     make down")
        elif command == "down":
            if not down(dep):
                _say("nothing was running")
        elif command == "status":
            for row in status(dep):
                _say(f"{row['url']}  pid {row['pid'] or '-'}  {'healthy' if row['healthy'] else 'down'}")
        else:
            _say("usage: python -m server.deploy up|down|status")
            return 2
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
