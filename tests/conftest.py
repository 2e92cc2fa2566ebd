"""Shared fixtures. The network is blocked except loopback: tests never reach the internet."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")
os.environ.setdefault("LANGSMITH_TEST_TRACKING", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The workflow's clock is the seeded store's today (store.db.SEED_CLOCK), in this process and in the
# CLI and servers tests start: return windows and approval windows see the ages the seed describes.
from store.db import SEED_CLOCK  # noqa: E402 - after the environment above

os.environ.setdefault("SWITCHBOARD_CLOCK", SEED_CLOCK.isoformat())

LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkBlocked(RuntimeError):
    pass


def _check(sock: socket.socket, address: object) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if str(host) not in LOOPBACK and not str(host).startswith("127."):
        raise NetworkBlocked(f"tests may not reach {address!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded store file, built once; tests copy it so each starts from the same world."""
    from sqlalchemy import text

    from store.db import ensure_store, make_engine, sqlite_url

    path = tmp_path_factory.mktemp("store") / "seed.sqlite"
    ensure_store(sqlite_url(path))
    engine = make_engine(sqlite_url(path))
    with engine.connect() as conn:  # fold the WAL into the file so a plain copy holds everything
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path


@pytest.fixture
def store_url(seeded_sqlite: Path, tmp_path: Path) -> str:
    from store.db import sqlite_url

    target = tmp_path / "store.sqlite"
    shutil.copy(seeded_sqlite, target)
    return sqlite_url(target)


@pytest.fixture(scope="session")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    from retrieval import get_knowledge_base

    path = tmp_path_factory.mktemp("chroma")
    get_knowledge_base(path).ingest()
    return str(path)


@pytest.fixture(scope="session")
def classifier_path() -> str:
    """The classifier `make test` trained during set-up (trained here if missing)."""
    from intents.classifier import load_or_train

    path = ROOT / "var" / "models" / "intent.joblib"
    load_or_train(path)
    return str(path)


@pytest.fixture
def test_settings(store_url: str, kb_dir: str, classifier_path: str, tmp_path: Path):  # noqa: ANN201
    """The settings a test runs under: its own store copy, the scripted model, no rate limit to speak of."""
    from core.settings import Settings

    return Settings(_env_file=None).with_(  # type: ignore[call-arg]
        model="fake:facts",
        smart_model=None,
        opener_max_load=0.0,  # the embedded model's tests run it whatever else the machine is doing
        database_url=store_url,
        chroma_dir=kb_dir,
        classifier_path=classifier_path,
        rate_limit="100000/minute",
        model_cache_path=tmp_path / "model_cache.sqlite",
        clock=SEED_CLOCK,  # the seeded world's today: return windows, "late" and "due today" repeat
    )


@pytest.fixture
def make_context(test_settings):  # noqa: ANN001, ANN201
    from core.context import Context

    def make(customer_id: str = "C0007", **overrides: object) -> Context:
        return Context(customer_id=customer_id, settings=test_settings).with_(**overrides)

    return make


@pytest.fixture
def graph():  # noqa: ANN201
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from graph.builder import build_graph

    return build_graph().compile(checkpointer=InMemorySaver(), store=InMemoryStore())


@pytest.fixture(autouse=True)
def _clear_fakes() -> Iterator[None]:
    yield
    from core.models import unregister_fakes

    unregister_fakes()


@pytest.fixture(scope="session")
def aegra(tmp_path_factory: pytest.TempPathFactory, kb_dir: str, classifier_path: str):  # noqa: ANN201
    """Two Aegra servers on one throwaway PostgreSQL and a Redis prefix, shared by the server test
    modules (started once: ~10 s each on 2 cores). They serve ``support`` (the served graph on a
    scripted model whose first drafts are wrong: tests/scripted_graph.py) and ``probe``
    (tests/probe_graph.py: what a run receives)."""
    from tests.servers import aegra_servers, write_config

    home = tmp_path_factory.mktemp("aegra")
    config = write_config(
        home / "aegra.json",
        {"support": "tests/scripted_graph.py:graph", "probe": "tests/probe_graph.py:graph"},
    )
    with aegra_servers(
        2, kb_dir=kb_dir, classifier_path=classifier_path, home=home, config=config, model="fake:server-script"
    ) as servers:
        yield servers
