"""The support manager's figures against a seeded history whose right answers were computed by hand.

The history is six real conversations on the real graph (scripted model), on two days:

    day 1 (2026-11-16)
      A general    "where is my order"                     answered in 1 turn            cost $0.010
      B billing    refund over $500                        approved after 2 h, answered   cost $0.020
      C general    order question, then "a human please"   escalated; a person replied     cost $0.030
                                                           after 30 min
    day 2 (2026-11-17)
      D technical  close my account                        never decided: expired by the   cost $0.005
                                                           sweep after 48 h (overdue)
      E billing    refund over $1,000 (four-eyes)          approved by two after 1 h/5 h,  cost $0.015
                                                           answered
      F general    two questions, both answered            2 turns                         cost $0.020

The scripted model costs nothing and the graph stamps node runs with the real time, so each
conversation's node runs are moved to its day and given the cost above: those are the seeded parts.

By hand (nearest-rank percentiles):
  overall: 6 conversations, 5 resolved (all but C). Contained (resolved, no case, no approval): A, F
  = 2/6 = 0.3333. Escalated (a case): C = 1/6 = 0.1667. First contact (resolved in 1 turn, no case):
  A, B, D, E = 4/6 = 0.6667. Turnaround of approvals a person decided: B 2 h, E 5 h (D expired:
  none) -> p50 2, p95 5. Overdue: D = 1. Handoff to first reply: C 30 min. Cost $0.100 / 5 resolved
  = $0.02.
  day 1 (A, B, C): 2 resolved; contained A 1/3; escalated 1/3; FCR A, B 2/3; turnaround 2/2; overdue 0;
  handoff 30; $0.060 / 2 = $0.03.  day 2 (D, E, F): 3 resolved; contained F 1/3; escalated 0; FCR D, E
  2/3; turnaround 5/5; overdue 1; no handoff; $0.040 / 3 = $0.013333.
  general (A, C, F): 2 resolved; contained A, F 2/3; escalated 1/3; FCR A 1/3; handoff 30; $0.06 / 2.
  billing (B, E): 2 resolved; contained 0; FCR 1.0; turnaround p50 2 p95 5; $0.035 / 2 = $0.0175.
  technical (D): 1 resolved; contained 0; FCR 1.0; overdue 1; $0.005.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, update

from store.runs import flush
from store.schema import node_runs
from switchboard import cases
from switchboard.app import resume_turn, run_turn
from switchboard.kpi import kpi_report, nearest_rank
from switchboard.sweep import sweep

T1 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
COST = {"A": 0.010, "B": 0.020, "C": 0.030, "D": 0.005, "E": 0.015, "F": 0.020}


def seed_history(graph, make_context) -> dict[str, str]:  # noqa: ANN001
    threads: dict[str, str] = {}
    day1 = make_context("C0007", clock=T1)
    a = run_turn(graph, day1, "Where is my order 11096?")
    threads["A"] = a["thread_id"]
    b = run_turn(graph, day1.with_(customer_id="C0068"), "please refund order 10987")  # $889.96: one approval
    threads["B"] = b["thread_id"]
    resume_turn(
        graph, day1.with_(actor="operator:ann", clock=T1 + timedelta(hours=2)), b["thread_id"], {"type": "approve"}
    )
    c = run_turn(graph, day1, "Where is my order 11096?")
    c = run_turn(graph, day1, "it's late and this is unacceptable, I want to speak to a human", c["thread_id"])
    threads["C"] = c["thread_id"]
    cases.reply(graph, day1.with_(clock=T1 + timedelta(minutes=30)), c["case"]["id"], "operator:ann", "Ann here.")

    d = run_turn(graph, make_context("C0010", clock=T2), "please close my account")
    threads["D"] = d["thread_id"]
    big = make_context("C0233", clock=T2)
    e = run_turn(graph, big, "please refund order 10996")  # $1,569.96: two approvals
    threads["E"] = e["thread_id"]
    resume_turn(
        graph, big.with_(actor="operator:ann", clock=T2 + timedelta(hours=1)), e["thread_id"], {"type": "approve"}
    )
    resume_turn(
        graph, big.with_(actor="operator:bob", clock=T2 + timedelta(hours=5)), e["thread_id"], {"type": "approve"}
    )
    day2 = make_context("C0007", clock=T2)
    f = run_turn(graph, day2, "Where is my order 11096?")
    f = run_turn(graph, day2, "and what is your return policy?", f["thread_id"])
    threads["F"] = f["thread_id"]
    sweep(graph, day2.settings, T2 + timedelta(hours=49))  # D expires

    statuses = {k: graph.get_state({"configurable": {"thread_id": t}}).values for k, t in threads.items()}
    assert {k: (v["status"], v["turn"]) for k, v in statuses.items()} == {  # the premises of the hand count
        "A": ("answered", 1),
        "B": ("answered", 1),
        "C": ("escalated", 2),
        "D": ("answered", 1),
        "E": ("answered", 1),
        "F": ("answered", 2),
    }
    engine = create_engine(day1.settings.resolved_database_url())
    flush()  # the node runs written in the background are all in the table
    with engine.begin() as conn:
        for name, thread in threads.items():
            conn.execute(
                update(node_runs).where(node_runs.c.thread_id == thread).values(at=T1 if name in "ABC" else T2)
            )
            first = conn.execute(
                select(node_runs.c.id).where(node_runs.c.thread_id == thread).order_by(node_runs.c.id)
            ).first()
            assert first is not None
            conn.execute(update(node_runs).where(node_runs.c.thread_id == thread).values(cost_usd=0.0))
            conn.execute(update(node_runs).where(node_runs.c.id == first[0]).values(cost_usd=COST[name]))
    return threads


def figures(**given: object) -> dict[str, object]:
    base: dict[str, object] = {
        "approvals": 0,
        "approvals_decided": 0,
        "approval_turnaround_p50_h": None,
        "approval_turnaround_p95_h": None,
        "approvals_overdue": 0,
        "handoffs": 0,
        "handoffs_replied": 0,
        "handoff_first_reply_p50_min": None,
        "handoff_first_reply_p95_min": None,
    }
    return {**base, **given}


def test_kpis_match_a_history_computed_by_hand(graph, make_context, tmp_path: Path) -> None:
    threads = seed_history(graph, make_context)
    ctx = make_context()
    report = kpi_report(ctx.resources.engine, graph, T2 + timedelta(hours=60))
    assert {c["thread_id"]: (c["day"], c["department"]) for c in report["conversations"]} == {
        threads["A"]: ("2026-11-16", "general"),
        threads["B"]: ("2026-11-16", "billing"),
        threads["C"]: ("2026-11-16", "general"),
        threads["D"]: ("2026-11-17", "technical"),
        threads["E"]: ("2026-11-17", "billing"),
        threads["F"]: ("2026-11-17", "general"),
    }
    assert report["overall"] == figures(
        conversations=6,
        resolved=5,
        containment=0.3333,
        escalation_rate=0.1667,
        first_contact_resolution=0.6667,
        approvals=3,
        approvals_decided=2,
        approval_turnaround_p50_h=2.0,
        approval_turnaround_p95_h=5.0,
        approvals_overdue=1,
        handoffs=1,
        handoffs_replied=1,
        handoff_first_reply_p50_min=30.0,
        handoff_first_reply_p95_min=30.0,
        cost_usd=0.1,
        cost_per_resolved_usd=0.02,
    )
    assert report["by_day"] == {
        "2026-11-16": figures(
            conversations=3,
            resolved=2,
            containment=0.3333,
            escalation_rate=0.3333,
            first_contact_resolution=0.6667,
            approvals=1,
            approvals_decided=1,
            approval_turnaround_p50_h=2.0,
            approval_turnaround_p95_h=2.0,
            handoffs=1,
            handoffs_replied=1,
            handoff_first_reply_p50_min=30.0,
            handoff_first_reply_p95_min=30.0,
            cost_usd=0.06,
            cost_per_resolved_usd=0.03,
        ),
        "2026-11-17": figures(
            conversations=3,
            resolved=3,
            containment=0.3333,
            escalation_rate=0.0,
            first_contact_resolution=0.6667,
            approvals=2,
            approvals_decided=1,
            approval_turnaround_p50_h=5.0,
            approval_turnaround_p95_h=5.0,
            approvals_overdue=1,
            cost_usd=0.04,
            cost_per_resolved_usd=0.013333,
        ),
    }
    assert report["by_department"] == {
        "billing": figures(
            conversations=2,
            resolved=2,
            containment=0.0,
            escalation_rate=0.0,
            first_contact_resolution=1.0,
            approvals=2,
            approvals_decided=2,
            approval_turnaround_p50_h=2.0,
            approval_turnaround_p95_h=5.0,
            cost_usd=0.035,
            cost_per_resolved_usd=0.0175,
        ),
        "general": figures(
            conversations=3,
            resolved=2,
            containment=0.6667,
            escalation_rate=0.3333,
            first_contact_resolution=0.3333,
            handoffs=1,
            handoffs_replied=1,
            handoff_first_reply_p50_min=30.0,
            handoff_first_reply_p95_min=30.0,
            cost_usd=0.06,
            cost_per_resolved_usd=0.03,
        ),
        "technical": figures(
            conversations=1,
            resolved=1,
            containment=0.0,
            escalation_rate=0.0,
            first_contact_resolution=1.0,
            approvals=1,
            approvals_overdue=1,
            cost_usd=0.005,
            cost_per_resolved_usd=0.005,
        ),
    }

    from evals.report import write_report

    index = write_report(tmp_path / "report", engine=ctx.resources.engine, routing=None, kpi=report)
    page = index.read_text()
    for plot in ("kpi_rates_by_day.png", "kpi_approvals_by_day.png", "kpi_by_department.png", "kpi_cost_by_day.png"):
        assert f'src="{plot}"' in page and (index.parent / plot).stat().st_size > 5000
    assert "containment" in page and "0.3333" in page


def test_nearest_rank_percentiles() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([5.0, 1.0, 3.0, 2.0], 50) == 2.0 and nearest_rank([5.0, 1.0, 3.0, 2.0], 95) == 5.0
    assert nearest_rank([7.0], 95) == 7.0 and nearest_rank(list(map(float, range(1, 21))), 95) == 19.0
