"""The approval gate: a world-changing step waits here for a person (LangGraph `interrupt`).

The interrupt payload follows the human-in-the-loop schema of LangChain's HITL
middleware (and Agent Inbox): action requests with name, arguments and a
description, and the decisions allowed. Nothing before `interrupt()` has side
effects, because the node runs again from its start when resumed.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from core.context import Context
from core.state import NEW_TURN, Decision, SupportState
from nodes.desk import Desk, report_failures, thread_id_of
from nodes.instrument import instrumented
from nodes.waiting import mark_decided, mark_waiting
from tools.audit import write_audit

ALLOWED_DECISIONS = ["approve", "edit", "reject", "respond"]


def approval_request(state: SupportState) -> dict[str, Any]:
    action = state["pending_action"]
    assert action is not None
    return {
        "action_requests": [
            {
                "name": action["tool"],
                "args": action["args"],
                "description": f"{action['reason']} (customer request: {state.get('request', '')[:200]})",
            }
        ],
        "review_configs": [{"action_name": action["tool"], "allowed_decisions": ALLOWED_DECISIONS}],
    }


def parse_decision(raw: Any) -> Decision:
    """Accept ``{"decisions": [...]}`` (HITL middleware) or a single decision object."""
    if isinstance(raw, dict) and isinstance(raw.get("decisions"), list) and raw["decisions"]:
        raw = raw["decisions"][0]
    if not isinstance(raw, dict) or raw.get("type") not in ALLOWED_DECISIONS:
        raise ValueError(f"a decision must be one of {ALLOWED_DECISIONS}")
    decision: Decision = {"type": raw["type"], "actor": str(raw.get("actor", "operator"))}
    edited = raw.get("edited_action") or {}
    args = raw.get("args") if isinstance(raw.get("args"), dict) else edited.get("args")
    if raw["type"] == "edit":
        if not isinstance(args, dict):
            raise ValueError("an edit decision needs the edited arguments")
        decision["args"] = args
    if raw.get("message"):
        decision["message"] = str(raw["message"])[:1000]
    return decision


@instrumented("approval_gate")
def approval_gate(
    state: SupportState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["execute_decision"]]:
    request = approval_request(state)
    thread_id = thread_id_of(config)
    mark_waiting(runtime.store, thread_id, runtime.context.customer_id, request)  # the inbox's index
    raw = interrupt(request)
    mark_decided(runtime.store, thread_id)
    try:
        decision = parse_decision(raw)
    except ValueError as exc:
        decision = {"type": "reject", "message": f"invalid decision: {exc}", "actor": "workflow"}
    return Command(update={"decision": decision}, goto="execute_decision")


@instrumented("execute_decision")
def execute_decision(state: SupportState, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
    ctx = runtime.context
    action, decision = state["pending_action"], state["decision"]
    assert action is not None and decision is not None
    desk = Desk.open(
        action["node"], state.get("turn", 0), ctx, config, branch=state.get("branch", 0), lane=action.get("lane", "")
    )
    write_audit(
        desk.gateway.engine,
        action="approval",
        outcome=decision["type"],
        thread_id=desk.gateway.thread_id,
        customer_id=ctx.customer_id,
        node=action["node"],
        actor=decision.get("actor", "operator"),
        tool=action["tool"],
        args=decision.get("args", action["args"]),
        detail=f"checkpoint {config['configurable'].get('checkpoint_id', '')} {decision.get('message', '')}",
    )
    if decision["type"] in ("approve", "edit"):
        args = decision.get("args", action["args"]) if decision["type"] == "edit" else action["args"]
        # The same step key as when it was proposed: approving twice cannot act twice.
        desk.call(action["tool"], at_step=action["step"], **args)
        report_failures(desk)
    elif decision["type"] == "reject":
        desk.tell(
            "After review, our team did not approve this request."
            + (f" Reason: {decision['message']}" if decision.get("message") else "")
        )
    else:
        desk.tell(decision.get("message", "A member of our team will contact you."))
    return {
        "tool_calls": desk.records,
        "facts": [NEW_TURN, *desk.facts],
        "evidence": [NEW_TURN, *desk.evidence],
        "passages": [NEW_TURN],
        "reply": "",
        "draft": "",
        "draft_attempts": 0,
        "draft_problems": [],
        "question": None,
    }
