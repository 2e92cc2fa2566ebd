"""Assembles the support graph. Read it top to bottom to follow one customer message.

intake -> coordinator -> {billing | technical | general | escalation | clarify | subrequest x N (Send) -> merge_parts
                          | plan_execute (subgraph: make_plan -> review_plan (interrupt) -> execute_step ...)}
       -> draft_reply <-> check_reply (bounded repair) | fallback_reply -> finalize
       -> approval_gate (interrupt; again until the review is settled) -> execute_decision -> draft_reply ...
          when a step waits for a person (execute_decision returns to the gate if it cannot be carried out).

`build_graph()` returns the uncompiled builder: the CLI, the server and each
test compile it with their own checkpointer.

Intake says whose thread it is (the authenticated customer on a server); every node after it
acts for that owner, whoever's run resumed the thread (`graph.owner.acting_for_owner`).
"""

from __future__ import annotations

from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from core.context import Context
from core.state import InputState, OutputState, SupportState
from graph.owner import acting_for_owner
from graph.plan import build_plan_graph
from nodes.approval import approval_gate, execute_decision
from nodes.billing import billing
from nodes.coordinator import clarify, coordinator
from nodes.escalation import escalation
from nodes.general import general
from nodes.intake import intake
from nodes.reply import (
    check_reply,
    draft_reply,
    fallback_reply,
    finalize,
    no_fallback,
    unchecked_reply,
)
from nodes.subrequests import merge_parts, subrequest
from nodes.technical import technical

# Transient storage errors are worth one more try; a bad argument is not (tools return those).
STORE_RETRY = RetryPolicy(max_attempts=3, initial_interval=0.2, backoff_factor=2.0, jitter=True)


SupportGraph = CompiledStateGraph[SupportState, Context, InputState, OutputState]
"""The compiled support graph, as callers hold it (typed, so `invoke(..., context=Context)` checks)."""


def build_graph(*, check_replies: bool = True) -> StateGraph[SupportState, Context, InputState, OutputState]:
    """The support graph, uncompiled. ``check_replies=False`` is the measured baseline of
    `evals/safety_nets.py` (drafts go out unchecked, no fallback); nothing serves it."""
    builder = StateGraph(SupportState, context_schema=Context, input_schema=InputState, output_schema=OutputState)
    owned = acting_for_owner
    builder.add_node("intake", intake)
    builder.add_node("coordinator", owned(coordinator))
    builder.add_node("clarify", owned(clarify))
    for name, node in (
        ("billing", billing),
        ("technical", technical),
        ("general", general),
        ("escalation", escalation),
    ):
        builder.add_node(name, owned(node), retry_policy=STORE_RETRY)
        builder.add_edge(name, "draft_reply")
    builder.add_node("plan_execute", build_plan_graph().compile())
    builder.add_edge("plan_execute", "draft_reply")
    builder.add_node("subrequest", owned(subrequest), retry_policy=STORE_RETRY)
    builder.add_node("merge_parts", owned(merge_parts))
    builder.add_edge("subrequest", "merge_parts")
    builder.add_edge("merge_parts", "draft_reply")
    builder.add_node("draft_reply", owned(draft_reply))
    if check_replies:
        builder.add_node("check_reply", owned(check_reply))
        builder.add_node("fallback_reply", owned(fallback_reply))
    else:
        builder.add_node("check_reply", owned(unchecked_reply))
        builder.add_node("fallback_reply", owned(no_fallback))
        builder.add_edge("check_reply", "finalize")
    builder.add_node("finalize", owned(finalize))
    builder.add_node("approval_gate", owned(approval_gate))
    builder.add_node("execute_decision", owned(execute_decision), retry_policy=STORE_RETRY)

    builder.add_edge(START, "intake")
    builder.add_edge("clarify", "finalize")
    builder.add_edge("fallback_reply", "finalize")
    return builder
