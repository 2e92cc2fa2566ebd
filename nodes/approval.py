"""The approval gate: a world-changing step waits here for a person (LangGraph `interrupt`).

The interrupt payload follows the human-in-the-loop schema of LangChain's HITL middleware (and
Agent Inbox): action requests with name, arguments and a description, and the decisions
allowed, plus an ``approval`` block saying where the review stands (approvals had and needed,
deadline, queue, and why the last decision did not settle it).

Who decides comes from the run's identity (`core.identity.identity_of`: the server's
authenticated user, or the trusted in-process caller), never from the decision payload. The
rules (roles, four-eyes, deadlines) are `nodes.approval_rules`. A decision that is refused, or
that does not settle the approval (the first of two approvals), or that cannot be carried out,
leaves the approval waiting: the gate interrupts again with the same request and says why.

Nothing before `interrupt()` has side effects beyond idempotent bookkeeping (the inbox index,
the approval's ledger row and its ``approval.waiting`` event, written once), because the node
runs again from its start when resumed. Each decision is written to the ledger under a key of
thread, approval, the gate's task and the decision (`tools.approvals.record_decision`), so a
gate re-executed after a crash does not audit or notify twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.types import Command, interrupt

from core.context import Context
from core.identity import Identity, identity_of
from core.state import NEW_TURN, ApprovalProgress, Decision, PendingAction, SupportState
from nodes.approval_rules import (
    HUMAN_DECISIONS,
    SUPERVISORS_LEVEL,
    SWEEP_DECISIONS,
    approvals_needed,
    deadline_for,
    decision_refused,
)
from nodes.desk import Desk, report_failures, thread_id_of
from nodes.instrument import instrumented
from nodes.waiting import mark_decided, mark_waiting
from tools.approvals import DecisionRecord, open_approval, record_decision

ALLOWED_DECISIONS = ["approve", "edit", "reject", "respond"]
CANNOT_CARRY_OUT = ("ToolError", "AccessDenied", "InvalidArguments", "PermissionDenied", "PolicyRefused")
NeededFn = Callable[[dict[str, Any]], int]


# -- the request and the decision ----------------------------------------------------------------


def approval_id_of(thread_id: str, state: SupportState, action: PendingAction) -> str:
    """Stable for one proposal: the thread, branch, turn, node (lane) and step that proposed it."""
    return (
        f"{thread_id}:b{state.get('branch', 0)}:t{state.get('turn', 0)}:"
        f"{action['node']}{action.get('lane', '')}:s{action['step']}:{action['tool']}"
    )


def progress_view(progress: ApprovalProgress) -> dict[str, Any]:
    """Where the review stands, as the interrupt, the inbox and `ask --json` show it."""
    return {
        "id": progress["id"],
        "approvals": len(progress["approved_by"]),
        "needed": progress["needed"],
        "approved_by": list(progress["approved_by"]),
        "level": progress["level"],
        "queue": "supervisors" if progress["level"] >= SUPERVISORS_LEVEL else "operators",
        "since": progress["since"],
        "deadline": progress["deadline"],
        "decisions": progress["seq"],
        "outcome": progress["outcome"],
        "note": progress["note"],
    }


def approval_request(state: SupportState, progress: ApprovalProgress | None = None) -> dict[str, Any]:
    action = state["pending_action"]
    assert action is not None
    request: dict[str, Any] = {
        "action_requests": [
            {
                "name": action["tool"],
                "args": action["args"],
                "description": f"{action['reason']} (customer request: {state.get('request', '')[:200]})",
            }
        ],
        "review_configs": [{"action_name": action["tool"], "allowed_decisions": ALLOWED_DECISIONS}],
    }
    if progress is not None:
        request["approval"] = progress_view(progress)
    return request


def parse_decision(raw: Any) -> dict[str, Any]:
    """Accept ``{"decisions": [...]}`` (HITL middleware) or a single decision object.

    An ``actor`` in the payload is ignored: who decided comes from the run's identity."""
    if isinstance(raw, dict) and isinstance(raw.get("decisions"), list) and raw["decisions"]:
        raw = raw["decisions"][0]
    kinds = (*HUMAN_DECISIONS, *SWEEP_DECISIONS)
    if not isinstance(raw, dict) or raw.get("type") not in kinds:
        raise ValueError(f"a decision must be one of {ALLOWED_DECISIONS}")
    decision: dict[str, Any] = {"type": raw["type"]}
    edited = raw.get("edited_action") or {}
    args = raw.get("args") if isinstance(raw.get("args"), dict) else edited.get("args")
    if raw["type"] == "edit":
        if not isinstance(args, dict):
            raise ValueError("an edit decision needs the edited arguments")
        decision["args"] = args
    if raw.get("message"):
        decision["message"] = str(raw["message"])[:1000]
    return decision


EditCheck = Callable[[dict[str, Any]], str | None]
# The read-only tool that asks the policy about a held action's arguments before an edit counts
# (the operator hears the refusal at once; nothing is approved that the tool would refuse).
EDIT_CHECKS = {"issue_refund": "check_refund"}
_CHECK_FIELDS = {"order_id", "amount_usd", "line_id", "quantity", "to_card_last4"}


def policy_edit_check(desk: Desk, tool: str) -> EditCheck | None:
    """Ask the policy, through the audited gateway, about edited arguments for ``tool``."""
    checker = EDIT_CHECKS.get(tool)
    if checker is None:
        return None

    def check(args: dict[str, Any]) -> str | None:
        outcome = desk.call(checker, quiet=True, **{k: v for k, v in args.items() if k in _CHECK_FIELDS})
        if not outcome.ok:
            return outcome.error or outcome.outcome
        result = outcome.result or {}
        return str(result.get("message") or "the policy needs more detail") if result.get("verdict") == "ask" else None

    return check


# -- the review: one decision against the rules --------------------------------------------------


@dataclass
class Verdict:
    """What one decision did to an approval."""

    decision: str  # approve | edit | reject | respond | escalate | expire | invalid
    outcome: str  # recorded | approved | edited | rejected | responded | escalated | expired | refused
    final: bool  # settled: the gate goes on to carry it out
    progress: ApprovalProgress
    args: dict[str, Any]  # the arguments now under review, or to carry out
    message: str = ""
    notice: str = ""  # what to tell the customer now (an escalation)
    values: dict[str, Any] = field(default_factory=dict)  # the ledger row's new values

    @property
    def refused(self) -> bool:
        return self.outcome == "refused"


def review(
    raw: Any,
    who: Identity,
    progress: ApprovalProgress,
    args: dict[str, Any],
    needed: NeededFn,
    ctx: Context,
    now: datetime,
    *,
    kind: str,
    edit_check: EditCheck | None = None,
) -> Verdict:
    """Apply one decision to an approval under the rules; nothing is written here. ``edit_check``
    says why the policy would refuse edited arguments (None: it would carry them out)."""
    nxt: ApprovalProgress = {**progress, "seq": progress["seq"] + 1, "outcome": "", "note": ""}
    try:
        decision = parse_decision(raw)
    except ValueError as exc:
        return _refused(nxt, "invalid", f"invalid decision: {exc}", args)
    kind_of = decision["type"]
    deadline = datetime.fromisoformat(progress["deadline"])
    refusal = decision_refused(
        kind_of, who, level=progress["level"], approved_by=progress["approved_by"], deadline=deadline, now=now
    )
    if refusal:
        return _refused(nxt, kind_of, refusal, args)
    message = str(decision.get("message", ""))
    if kind_of == "escalate":
        new_deadline = now + deadline_for(kind, ctx.settings, SUPERVISORS_LEVEL)
        nxt.update({"level": SUPERVISORS_LEVEL, "deadline": new_deadline.isoformat(), "outcome": "escalated"})
        nxt["note"] = (
            f"not decided by its deadline: moved to the supervisors' queue (decide by {new_deadline:%Y-%m-%d %H:%M} UTC)"
        )
        return Verdict(
            kind_of,
            "escalated",
            False,
            nxt,
            args,
            nxt["note"],
            notice="Your request is taking longer than we promised: it has been passed to a senior member of our "
            f"team, who will decide by {new_deadline:%Y-%m-%d %H:%M} UTC. Nothing has been changed yet.",
            values={"level": SUPERVISORS_LEVEL, "deadline_at": new_deadline, "overdue_at": now},
        )
    if kind_of == "expire":
        nxt["note"] = "not decided by its deadline: rejected"
        return Verdict(
            kind_of,
            "expired",
            True,
            nxt,
            args,
            message or "it was not reviewed in time",
            values=_settled("expired", who, now, nxt, args, overdue_at=now),
        )
    if kind_of in ("reject", "respond"):
        outcome = "rejected" if kind_of == "reject" else "responded"
        return Verdict(kind_of, outcome, True, nxt, args, message, values=_settled(outcome, who, now, nxt, args))
    if kind_of == "edit":
        # An edit is its author's approval of the new arguments; the rules run again on them, so an
        # amount raised past the four-eyes threshold needs a second operator, who cannot be the editor.
        edited = dict(decision["args"])
        if edit_check is not None and (why := edit_check(edited)):
            return _refused(nxt, kind_of, f"the policy refuses the edit: {why}", args)
        nxt.update({"approved_by": [who.actor], "needed": needed(edited)})
        if len(nxt["approved_by"]) >= nxt["needed"]:
            return Verdict(
                kind_of, "edited", True, nxt, edited, message, values=_settled("approved", who, now, nxt, edited)
            )
        nxt.update({"outcome": "recorded", "note": _still_needed(nxt, f"edited by {who.actor}")})
        return Verdict(kind_of, "recorded", False, nxt, edited, message, values=_counted(nxt, edited))
    nxt["approved_by"] = [*progress["approved_by"], who.actor]
    if len(nxt["approved_by"]) >= nxt["needed"]:
        return Verdict(kind_of, "approved", True, nxt, args, message, values=_settled("approved", who, now, nxt, args))
    nxt.update({"outcome": "recorded", "note": _still_needed(nxt, f"approved by {who.actor}")})
    return Verdict(kind_of, "recorded", False, nxt, args, message, values=_counted(nxt, args))


def _refused(progress: ApprovalProgress, kind: str, reason: str, args: dict[str, Any]) -> Verdict:
    progress.update({"outcome": "refused", "note": f"decision refused: {reason}"})
    return Verdict(kind, "refused", False, progress, args, reason)


def _still_needed(progress: ApprovalProgress, done: str) -> str:
    have, need = len(progress["approved_by"]), progress["needed"]
    return f"{done} ({have} of {need} approvals); waiting for a different operator to approve"


def _counted(progress: ApprovalProgress, args: dict[str, Any]) -> dict[str, Any]:
    return {"approvals": len(progress["approved_by"]), "needed": progress["needed"], "args_json": _json(args)}


def _settled(
    status: str, who: Identity, now: datetime, progress: ApprovalProgress, args: dict[str, Any], **more: Any
) -> dict[str, Any]:
    return {**_counted(progress, args), "status": status, "decided_at": now, "decided_by": who.actor[:64], **more}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# -- the ledger ----------------------------------------------------------------------------------


def open_progress(
    ctx: Context,
    *,
    approval_id: str,
    thread_id: str,
    customer_id: str,
    kind: str,
    department: str,
    reason: str,
    args: dict[str, Any],
    needed: int,
    request: dict[str, Any],
) -> ApprovalProgress:
    """The approval's starting point, anchored in its ledger row (the same on every re-run)."""
    row = open_approval(
        ctx.resources.engine,
        ctx.settings,
        approval_id=approval_id,
        thread_id=thread_id,
        customer_id=customer_id,
        kind=kind,
        department=department,
        reason=reason,
        args=args,
        needed=needed,
        deadline_s=deadline_for(kind, ctx.settings).total_seconds(),
        now=ctx.settings.now(),
        request=request,
    )
    return {
        "id": approval_id,
        "kind": kind,
        "needed": int(row["needed"]),
        "approved_by": [],
        "proposed_args": json.loads(row["proposed_args_json"]),
        "level": int(row["level"]),
        "since": row["created_at"].isoformat(),
        "deadline": row["deadline_at"].isoformat(),
        "seq": 0,
        "outcome": "",
        "note": "",
    }


def decision_key(config: RunnableConfig, thread_id: str, progress: ApprovalProgress, decision: str) -> str:
    """Thread, approval, the gate's task (its checkpoint namespace: the same when it is re-executed) and decision."""
    task = str((config.get("configurable") or {}).get("checkpoint_ns", ""))
    return f"{thread_id}|{progress['id']}|{progress['seq']}|{task}|{decision}"


def write_verdict(
    ctx: Context,
    config: RunnableConfig,
    verdict: Verdict,
    *,
    who: Identity,
    thread_id: str,
    customer_id: str,
    before: ApprovalProgress,
    node: str,
    tool: str,
) -> bool:
    """The decision, its audit row, the ledger's new state and its notification, once."""
    action = {
        "refused": "decision_refused",
        "escalated": "approval_overdue",
        "failed": "approval_failed",
    }.get(verdict.outcome, "approval")
    event = (
        None if verdict.refused else "approval.overdue" if verdict.decision in SWEEP_DECISIONS else "approval.decided"
    )
    step = (config.get("metadata") or {}).get("langgraph_step", "")
    record = DecisionRecord(
        key=decision_key(config, thread_id, before, verdict.decision),
        approval_id=before["id"],
        thread_id=thread_id,
        customer_id=customer_id,
        actor=who.actor or "unknown",
        role=who.role,
        decision=verdict.decision,
        outcome=verdict.outcome,
        proposed_args=before["proposed_args"],
        args=verdict.args,
        detail=f"{len(verdict.progress['approved_by'])} of {verdict.progress['needed']} approvals; "
        f"step {step}; {verdict.progress['note'] or verdict.message}".strip("; "),
        node=node,
        tool=tool,
        audit_action=action,
    )
    return record_decision(
        ctx.resources.engine, ctx.settings, record, ctx.settings.now(), approval_values=verdict.values, event=event
    )


def decide(
    raw: Any,
    *,
    progress: ApprovalProgress,
    args: dict[str, Any],
    needed: NeededFn,
    ctx: Context,
    config: RunnableConfig,
    store: BaseStore | None,
    thread_id: str,
    customer_id: str,
    node: str,
    tool: str,
    edit_check: EditCheck | None = None,
) -> Verdict:
    """Review one decision under the rules and write it down; a settled approval leaves the inbox."""
    who = identity_of(config, ctx)
    verdict = review(
        raw, who, progress, args, needed, ctx, ctx.settings.now(), kind=progress["kind"], edit_check=edit_check
    )
    write_verdict(
        ctx,
        config,
        verdict,
        who=who,
        thread_id=thread_id,
        customer_id=customer_id,
        before=progress,
        node=node,
        tool=tool,
    )
    if verdict.final:
        mark_decided(store, thread_id)
    return verdict


# -- the nodes -----------------------------------------------------------------------------------


@instrumented("approval_gate")
def approval_gate(
    state: SupportState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["execute_decision", "approval_gate"]]:
    ctx = runtime.context
    action = state["pending_action"]
    assert action is not None
    thread_id = thread_id_of(config)
    owner = state.get("customer_id") or ctx.customer_id  # the thread knows its customer
    approval_id = approval_id_of(thread_id, state, action)
    progress = state.get("approval")
    if not progress or progress["id"] != approval_id:
        progress = open_progress(
            ctx,
            approval_id=approval_id,
            thread_id=thread_id,
            customer_id=owner,
            kind=action["tool"],
            department=action["node"],
            reason=action["reason"],
            args=action["args"],
            needed=approvals_needed(action["tool"], action["args"], ctx.settings),
            request=approval_request(state),
        )
    request = approval_request(state, progress)
    mark_waiting(runtime.store, thread_id, owner, request, since=progress["since"], approval=progress_view(progress))
    raw = interrupt(request)
    acting = ctx if owner == ctx.customer_id else ctx.with_(customer_id=owner)
    checker = Desk.open(
        action["node"],
        state.get("turn", 0),
        acting,
        config,
        branch=state.get("branch", 0),
        lane=f"{action.get('lane', '')}-review{progress['seq']}",
    )
    verdict = decide(
        raw,
        progress=progress,
        args=action["args"],
        needed=lambda args: approvals_needed(action["tool"], args, ctx.settings),
        ctx=ctx,
        config=config,
        store=runtime.store,
        thread_id=thread_id,
        customer_id=owner,
        node=action["node"],
        tool=action["tool"],
        edit_check=policy_edit_check(checker, action["tool"]),
    )
    update: dict[str, Any] = {"approval": verdict.progress}
    if checker.records:
        update["tool_calls"] = checker.records
    if verdict.args != action["args"]:
        update["pending_action"] = {**action, "args": verdict.args}
    if verdict.notice:
        update["messages"] = [AIMessage(content=verdict.notice)]
    if not verdict.final:
        return Command(update=update, goto="approval_gate")  # still waiting: interrupt again, saying why
    decision: Decision = {"type": verdict.decision, "actor": identity_of(config, ctx).actor}  # type: ignore[typeddict-item]
    if verdict.decision == "edit":
        decision["args"] = verdict.args
    if verdict.message:
        decision["message"] = verdict.message
    return Command(update={**update, "decision": decision}, goto="execute_decision")


@instrumented("execute_decision")
def execute_decision(
    state: SupportState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["draft_reply", "approval_gate"]]:
    ctx = runtime.context
    action, decision = state["pending_action"], state["decision"]
    assert action is not None and decision is not None
    owner = state.get("customer_id") or ctx.customer_id
    if owner != ctx.customer_id:  # a resume without the run's context: act for the thread's owner
        ctx = ctx.with_(customer_id=owner)
    desk = Desk.open(
        action["node"], state.get("turn", 0), ctx, config, branch=state.get("branch", 0), lane=action.get("lane", "")
    )
    if decision["type"] in ("approve", "edit"):
        # The same step key as when it was proposed: approving twice cannot act twice.
        outcome = desk.call(action["tool"], at_step=action["step"], **action["args"])
        progress = state.get("approval")
        if not outcome.ok and outcome.error_type in CANNOT_CARRY_OUT and progress:
            return _not_carried_out(ctx, config, state, progress, desk, outcome.error or "refused")
        report_failures(desk)
    elif decision["type"] == "expire":
        desk.tell(
            "We could not review your request in time, so nothing was changed. "
            "Please write to us again if you still need it."
        )
    elif decision["type"] == "reject":
        desk.tell(
            "After review, our team did not approve this request."
            + (f" Reason: {decision['message']}" if decision.get("message") else "")
        )
    else:
        desk.tell(decision.get("message", "A member of our team will contact you."))
    return Command(
        update={
            "tool_calls": desk.records,
            "facts": [NEW_TURN, *desk.facts],
            "evidence": [NEW_TURN, *desk.evidence],
            "passages": [NEW_TURN],
            "reply": "",
            "draft": "",
            "draft_attempts": 0,
            "draft_problems": [],
            "question": None,
        },
        goto="draft_reply",
    )


def _not_carried_out(
    ctx: Context, config: RunnableConfig, state: SupportState, progress: ApprovalProgress, desk: Desk, error: str
) -> Command[Literal["draft_reply", "approval_gate"]]:
    """The decision cannot be carried out (refused by the tool): the approval waits again, saying why."""
    action = state["pending_action"]
    assert action is not None
    who = identity_of(config, ctx)
    waiting: ApprovalProgress = {
        **progress,
        "approved_by": [],
        "seq": progress["seq"] + 1,
        "outcome": "failed",
        "note": f"the decision could not be carried out: {error}; still waiting (edit or reject it)",
    }
    verdict = Verdict(
        "execute",
        "failed",
        False,
        waiting,
        action["args"],
        error,
        values={"status": "waiting", "decided_at": None, "decided_by": None, "approvals": 0},
    )
    write_verdict(
        ctx,
        config,
        verdict,
        who=who,
        thread_id=thread_id_of(config),
        customer_id=ctx.customer_id,
        before=progress,
        node=action["node"],
        tool=action["tool"],
    )
    return Command(update={"approval": waiting, "decision": None, "tool_calls": desk.records}, goto="approval_gate")
