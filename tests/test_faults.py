"""Fault drills: the payment system flaky or down, the model down. The workflow must stay honest.

Faults reach the gateway through `Context(faults=...)` (the same spec as ``SWITCHBOARD_FAULTS``).
The gateway retries an outage `tool_attempts` times with backoff; after the last attempt the
specialist opens a `manual_review` ticket and says so. Thread ids are fixed, so the fault draws
(seeded by each call's identity) repeat exactly from run to run.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from core.context import Context
from store.schema import audit_log, orders, payments, tickets
from switchboard.app import run_turn
from tools.faults import parse_faults

QUESTION = "I need help to report a payment issue with order {order_id}"
STATUS_WORDS = "succeeded|failed|pending|disputed"
OUTAGE_NOTE = "Part of our system did not answer just now"


@dataclass
class Drill:
    questions: int = 0
    completed: int = 0  # a real payment status from the store, stated in the reply
    manual_review: int = 0  # no status; a manual_review ticket opened and the customer told
    crashes: list[str] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)  # a status stated without a successful lookup
    neither: list[str] = field(default_factory=list)
    not_routed: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        return (
            f"{name}: questions={self.questions} completed={self.completed} "
            f"({100 * self.completed / max(1, self.questions):.1f}%) manual_review={self.manual_review} "
            f"({100 * self.manual_review / max(1, self.questions):.1f}%) crashes={len(self.crashes)} "
            f"invented_statuses={len(self.invented)} unaccounted={len(self.neither)} not_routed={len(self.not_routed)}"
        )


def paid_orders(url: str, limit: int) -> list[tuple[int, str, list[str]]]:
    """(order id, owner, payment statuses) for seeded orders with payments, spread over the customers."""
    with create_engine(url).connect() as conn:
        rows = conn.execute(
            select(payments.c.order_id, orders.c.customer_id, payments.c.status)
            .join(orders, orders.c.id == payments.c.order_id)
            .order_by(payments.c.order_id, payments.c.id)
        ).all()
    statuses: dict[int, list[str]] = defaultdict(list)
    owner: dict[int, str] = {}
    for order_id, customer_id, status in rows:
        statuses[order_id].append(status)
        owner[order_id] = customer_id
    by_customer: dict[str, list[int]] = defaultdict(list)
    for order_id in sorted(owner):
        by_customer[owner[order_id]].append(order_id)
    picked: list[int] = []
    while len(picked) < limit and any(by_customer.values()):  # round robin: every customer before seconds
        for customer in sorted(by_customer):
            if by_customer[customer] and len(picked) < limit:
                picked.append(by_customer[customer].pop(0))
    assert len(picked) == limit, f"the seed has only {len(picked)} paid orders"
    return [(order_id, owner[order_id], statuses[order_id]) for order_id in picked]


def states_a_status(reply: str, order_id: int) -> bool:
    return bool(re.search(rf"\bfor order {order_id} ({STATUS_WORDS})\b|\bpayment of \$[\d,.]+ by\b", reply))


def run_drill(graph: Any, make_context: Any, url: str, *, faults: str, count: int, name: str) -> Drill:
    """`count` payment questions, each for the order's owner; the rate limit is off (an empty limit)."""
    drill = Drill()
    manual_threads = _manual_review_threads(url)
    contexts: dict[str, Context] = {}
    results: list[tuple[int, list[str], str, dict[str, Any]]] = []
    for i, (order_id, customer, statuses) in enumerate(paid_orders(url, count)):
        ctx = contexts.setdefault(customer, make_context(customer, faults=faults, tool_backoff_s=0.0, rate_limit=""))
        thread = f"{name}-{i:04d}"
        drill.questions += 1
        try:
            result = run_turn(graph, ctx, QUESTION.format(order_id=order_id), thread)
        except Exception as exc:  # the number a drill exists to keep at zero
            drill.crashes.append(f"{thread}: {type(exc).__name__}: {exc}")
            continue
        results.append((order_id, statuses, thread, result))
    manual_threads = _manual_review_threads(url) - manual_threads
    for order_id, statuses, thread, result in results:
        reply = result["reply"]
        looked_up = [c["outcome"] for c in result["tool_calls"] if c["name"] == "get_payment_status"]
        if not looked_up:
            drill.not_routed.append(f"{thread}: intent {result['intent']}")
            continue
        stated = all(re.search(rf"\bfor order {order_id} {status}\b", reply) for status in statuses)
        if looked_up[-1] == "ok" and stated:
            drill.completed += 1
        elif looked_up[-1] != "ok" and thread in manual_threads and OUTAGE_NOTE in reply:
            drill.manual_review += 1
        else:
            drill.neither.append(f"{thread}: lookup={looked_up} reply={reply[:160]!r}")
        if looked_up[-1] != "ok" and states_a_status(reply, order_id):
            drill.invented.append(f"{thread}: {reply[:160]!r}")
    print("\n" + drill.line(name))
    return drill


def _manual_review_threads(url: str) -> set[str]:
    with create_engine(url).connect() as conn:
        return {
            r.thread_id for r in conn.execute(select(tickets.c.thread_id).where(tickets.c.queue == "manual_review"))
        }


def test_the_fault_spec_reaches_the_gateway() -> None:
    assert parse_faults("get_payment_status=0.3,model=1:200")["get_payment_status"].rate == 0.3
    assert parse_faults("model=1")["model"].rate == 1.0
    with pytest.raises(ValueError):
        parse_faults("get_payment_status=1.5")


def test_payment_lookups_survive_a_30_percent_outage(graph, make_context, store_url) -> None:
    drill = run_drill(graph, make_context, store_url, faults="get_payment_status=0.3", count=200, name="flaky")
    with create_engine(store_url).connect() as conn:  # the faults really fired: the gateway retried them
        retries = conn.execute(
            select(audit_log.c.id).where(audit_log.c.action == "tool_retry", audit_log.c.tool == "get_payment_status")
        ).all()
    print(f"flaky: {len(retries)} retried attempts")
    assert len(retries) >= 40
    assert drill.questions == 200
    assert drill.crashes == [] and drill.not_routed == []
    assert drill.completed / drill.questions >= 0.99, drill.neither
    assert drill.completed + drill.manual_review == drill.questions, drill.neither
    assert drill.invented == []


def test_payments_hard_down_goes_to_manual_review_and_invents_nothing(graph, make_context, store_url) -> None:
    drill = run_drill(graph, make_context, store_url, faults="get_payment_status=1", count=120, name="down")
    assert drill.crashes == [] and drill.not_routed == []
    assert drill.manual_review == drill.questions, drill.neither
    assert drill.completed == 0
    assert drill.invented == []


def test_model_hard_down_still_answers_from_the_facts(graph, make_context, store_url) -> None:
    drill = run_drill(graph, make_context, store_url, faults="model=1", count=40, name="model-down")
    assert drill.crashes == [] and drill.not_routed == []
    assert drill.completed == drill.questions, drill.neither


def test_model_and_payments_down_together(graph, make_context, store_url) -> None:
    drill = run_drill(graph, make_context, store_url, faults="get_payment_status=1,model=1", count=20, name="all-down")
    assert drill.crashes == [] and drill.invented == []
    assert drill.manual_review == drill.questions, drill.neither


def test_payments_and_tickets_down_still_tells_the_customer(graph, make_context, store_url) -> None:
    ctx = make_context(faults="get_payment_status=1,create_ticket=1", tool_backoff_s=0.0, rate_limit="")
    order_id, _, _ = next(o for o in paid_orders(store_url, 200) if o[1] == ctx.customer_id)
    result = run_turn(graph, ctx, QUESTION.format(order_id=order_id), "both-down-0")
    assert not states_a_status(result["reply"], order_id)
    assert re.search(r"did not answer|could not (check|reach|open)|try again", result["reply"]), result["reply"]
