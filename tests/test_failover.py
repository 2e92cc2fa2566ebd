"""`kill -9` of an Aegra server with runs in flight, just after their refunds were committed: the other
server's reaper re-queues them, they finish there, and every order is refunded exactly once.

The servers serve tests/failover_graph.py: the support graph, paused right after a refund is
committed and before LangGraph checkpoints the node, so the killed server's runs run the billing
node again on the survivor, which finds the refund made (once). The harness's short leases (tests/servers.py) make the recovery take seconds instead
of Aegra's default ~45 s.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.db import make_engine
from store.schema import audit_log, effects, refunds
from tests.orders import refundable_orders
from tests.servers import aegra_servers, write_config

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
DONE = ("success", "error", "interrupted", "timeout")
RUNS = 6
PAUSE_S = 6


def test_runs_of_a_killed_server_finish_on_the_other_and_refund_once(
    tmp_path: Path, kb_dir: str, classifier_path: str
) -> None:
    config = write_config(tmp_path / "aegra.json", {"support": "tests/failover_graph.py:graph"})
    extra = {"SWITCHBOARD_TEST_PAUSE_AFTER_REFUND_S": str(PAUSE_S)}
    with aegra_servers(
        2, kb_dir=kb_dir, classifier_path=classifier_path, home=tmp_path, config=config, extra_env=extra
    ) as servers:
        engine = make_engine(servers.database_url)
        first: dict[str, int] = {}  # a small refundable order (no approval) of RUNS customers
        for found in refundable_orders(servers.database_url, below_cents=20000):
            first.setdefault(found.customer_id, found.id)
        rows = sorted(first.items())[:RUNS]
        assert len(rows) == RUNS
        runs = []  # (thread, run, order, customer)
        for customer, order in rows:
            client = servers.client(len(runs) % 2, servers.token(customer=customer))
            thread = client.threads.create()["thread_id"]
            message = {"messages": [{"role": "human", "content": f"I want a refund for order {order}"}]}
            runs.append((thread, client.runs.create(thread, "support", input=message)["run_id"], order, customer))

        def refunded() -> dict[int, int]:
            with engine.connect() as conn:
                found = conn.execute(
                    select(refunds.c.order_id, func.count())
                    .where(refunds.c.order_id.in_([o for _, _, o, _ in runs]))
                    .group_by(refunds.c.order_id)
                ).all()
            return {int(o): int(n) for o, n in found}

        deadline = time.monotonic() + 90
        while len(refunded()) < len(runs):  # every run is now paused just after its refund
            assert time.monotonic() < deadline, f"refunds never committed: {refunded()}"
            time.sleep(0.2)
        logs = [servers.log_text(0), servers.log_text(1)]
        picked = [[line for line in log.splitlines() if "Worker picked up run" in line] for log in logs]
        on = [{rid for _, rid, _, _ in runs if any(rid in line for line in lines)} for lines in picked]
        victim = 0 if len(on[0]) >= len(on[1]) else 1  # the server executing the most of them
        in_flight = {  # its runs still paused after their refund
            rid
            for thread, rid, _, customer in runs
            if rid in on[victim]
            and servers.client(1 - victim, servers.token(customer=customer)).runs.get(thread, rid)["status"] not in DONE
        }
        assert in_flight, (on, victim)
        killed_at = time.monotonic()
        servers.kill(victim)

        statuses: dict[str, str] = {}
        while len(statuses) < len(runs):
            assert time.monotonic() - killed_at < 90, f"not finished 90 s after kill -9: {statuses}"
            for thread, rid, _, customer in runs:
                if rid not in statuses:
                    survivor = servers.client(1 - victim, servers.token(customer=customer))
                    if (status := survivor.runs.get(thread, rid)["status"]) in DONE:
                        statuses[rid] = status
            time.sleep(0.5)
        recovery_s = time.monotonic() - killed_at

        assert set(statuses.values()) == {"success"}, statuses
        assert refunded() == {order: 1 for _, _, order, _ in runs}
        with engine.connect() as conn:
            for thread, _, order, customer in runs:
                made = conn.execute(
                    select(func.count()).where(effects.c.thread_id == thread, effects.c.tool == "issue_refund")
                ).scalar_one()
                assert made == 1, f"order {order}: {made} refund effects"
                values = servers.client(1 - victim, servers.token(customer=customer)).threads.get_state(thread)
                assert values["values"]["status"] == "answered", values["values"].get("reply")
            replayed = dict(
                conn.execute(
                    select(audit_log.c.thread_id, func.count())
                    .where(audit_log.c.tool == "issue_refund", audit_log.c.action == "tool_replayed")
                    .group_by(audit_log.c.thread_id)
                ).all()
            )
        # the killed server's runs ran the billing node again on the survivor, which found the refund
        # the first run made and replayed its recorded result; the refund was not made again
        assert {rid: replayed.get(t, 0) for t, rid, _, _ in runs} == {
            rid: 1 if rid in in_flight else 0 for _, rid, _, _ in runs
        }
        replies = {
            o: servers.client(1 - victim, servers.token(customer=c)).threads.get_state(t)["values"]["reply"]
            for t, rid, o, c in runs
            if rid in in_flight
        }
        # the re-run says what the first run did (the recorded refund), not that the order is refunded already
        assert all(
            f"for order {o} has been issued" in r and "cannot be refunded" not in r for o, r in replies.items()
        ), replies
        print(
            f"{len(runs)} refund runs, {len(in_flight)} in flight on the killed server: all finished "
            f"{recovery_s:.1f} s after kill -9 (lease 5 s, reaper 2 s, pause {PAUSE_S} s); their replies: {replies}"
        )
