"""`kill -9` of an Aegra server with runs in flight: the other server's reaper re-queues them and they finish.

Uses the probe graph (a node that sleeps) so that runs are surely in flight; the harness's short
leases (tests/servers.py) make the recovery take seconds instead of Aegra's default ~45 s.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.servers import aegra_servers, write_config

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
DONE = ("success", "error", "interrupted", "timeout")


def test_runs_of_a_killed_server_finish_on_the_other(tmp_path: Path, kb_dir: str, classifier_path: str) -> None:
    config = write_config(tmp_path / "aegra.json", {"probe": "tests/probe_graph.py:graph"})
    with aegra_servers(2, kb_dir=kb_dir, classifier_path=classifier_path, home=tmp_path, config=config) as servers:
        client = servers.client(0, servers.token(customer="C0007"))
        runs = []
        for _ in range(4):
            tid = client.threads.create()["thread_id"]
            runs.append((tid, client.runs.create(tid, "probe", input={"note": "sleep:3"})["run_id"]))
        deadline = time.monotonic() + 20
        while any(client.runs.get(t, r)["status"] == "pending" for t, r in runs):
            assert time.monotonic() < deadline, "the runs never started"
            time.sleep(0.2)
        picked = [
            sum(
                "Worker picked up run" in line and rid in line
                for _, rid in runs
                for line in servers.log_text(i).splitlines()
            )
            for i in range(2)
        ]
        victim = picked.index(max(picked))  # the server executing the most of them
        assert picked[victim] >= 1, picked
        survivor = servers.client(1 - victim, servers.token(customer="C0007"))
        killed_at = time.monotonic()
        servers.kill(victim)
        statuses = {}
        while len(statuses) < len(runs):
            assert time.monotonic() - killed_at < 60, f"not finished after 60 s: {statuses}"
            for tid, rid in runs:
                if rid not in statuses and (status := survivor.runs.get(tid, rid)["status"]) in DONE:
                    statuses[rid] = status
            time.sleep(0.5)
        recovery_s = time.monotonic() - killed_at
        assert set(statuses.values()) == {"success"}, statuses
        for tid, _ in runs:  # the re-executed run completed the thread's state
            assert survivor.threads.get_state(tid)["values"]["seen"]["context"]["customer_id"] == "C0007"
        print(f"recovered {len(runs)} runs {recovery_s:.1f} s after kill -9 (lease 5 s, reaper 2 s)")
