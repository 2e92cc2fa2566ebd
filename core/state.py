"""The vocabulary every layer shares: what flows through the support graph.

Per-turn fields are reset by the intake node at the start of each turn; lists
that accumulate across a turn use reducers so parallel branches can append.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage, MessageLikeRepresentation
from langchain_core.messages.utils import convert_to_messages
from langgraph.graph.message import Messages, add_messages

Status = Literal["answered", "awaiting_approval", "needs_info", "escalated", "error", "with_agent"]
Outcome = Literal["ok", "refused", "failed"]


class ToolCallRecord(TypedDict):
    """One attempted tool call, as the customer-facing JSON reports it."""

    turn: int
    node: str
    name: str
    args: dict[str, Any]
    outcome: Outcome
    error: NotRequired[str | None]
    error_type: NotRequired[str | None]  # "AccessDenied": another customer's order, or none such


class NodeMetric(TypedDict):
    """Latency, tokens and cost of one node run."""

    turn: int
    node: str
    latency_ms: float
    tokens: int
    cost_usd: float
    outcome: Literal["ok", "error"]
    error_type: NotRequired[str | None]
    cache_hit: NotRequired[bool]
    cache_lookups: NotRequired[int]


class PendingAction(TypedDict):
    """A world-changing step held back until a person decides."""

    node: str
    step: int
    tool: str
    args: dict[str, Any]
    reason: str
    lane: NotRequired[str]  # the part of a multi-issue message that proposed it (its step keys)


class Decision(TypedDict):
    """What a person decided at an approval gate (``expire``: the deadline sweep rejected it)."""

    type: Literal["approve", "edit", "reject", "respond", "expire"]
    args: NotRequired[dict[str, Any]]
    message: NotRequired[str]
    actor: NotRequired[str]


class ApprovalProgress(TypedDict):
    """Where an approval stands between decisions (nodes/approval.py): four-eyes, deadline, queue."""

    id: str  # thread, branch, turn, node and step of the proposal: the approvals row's key
    kind: str  # the tool held, or "plan"
    needed: int  # approvals needed (2 above the four-eyes threshold)
    approved_by: list[str]  # actors whose approval of the current arguments counts
    proposed_args: dict[str, Any]  # as first proposed (for the audit's diff)
    level: int  # 1: operators' queue; 2: overdue, the supervisors' queue
    since: str  # ISO 8601, when it started waiting
    deadline: str  # ISO 8601
    seq: int  # decisions taken on it so far (part of each decision's audit key)
    outcome: str  # of the last decision: "" | recorded | refused | failed | escalated
    note: str  # what the last decision did, or why it was refused ("" when nothing to say)


class CaseView(TypedDict):
    """What the customer may see of the case a person handles (nodes/takeover.py)."""

    id: int
    status: str  # open | assigned | waiting_on_customer | resolved
    with_agent: bool  # a person holds the thread: the bot does not answer
    note: str  # "A person is looking at this."


NEW_TURN = "__new_turn__"
INPUT_REJECTED = "input rejected: "  # the prefix of `error` when intake could not read the message


def keep_turn(existing: list[Any], new: list[Any]) -> list[Any]:
    """Append records; a list that starts with `NEW_TURN` replaces what the last turn left."""
    if new and isinstance(new[0], str) and new[0] == NEW_TURN:
        return list(new[1:])
    return [*existing, *new]


UNREADABLE = "switchboard_unreadable"  # additional_kwargs key of a message that arrived unreadable


def _kind(value: object, *, plural: bool = False) -> str:
    for types, one, many in (
        (bool, "true/false", "true/false values"),
        (int | float, "a number", "numbers"),
        (dict, "an object", "objects"),
        (list | tuple, "a list", "lists"),
    ):
        if isinstance(value, types):
            return many if plural else one
    return type(value).__name__


def _unreadable(item: object) -> HumanMessage:
    """A placeholder for a message that cannot be a chat message; intake refuses it with `why`."""
    content = item.get("content") if isinstance(item, dict) else item
    if isinstance(item, dict) and "content" not in item:
        why = "a message needs a role and text content"
    elif isinstance(content, list):
        why = "the message must be text, not a list of " + " and ".join(
            sorted({_kind(p, plural=True) for p in content})
        )
    else:
        why = f"the message must be text, not {_kind(content)}"
    extra = {"id": item["id"]} if isinstance(item, dict) and isinstance(item.get("id"), str) else {}
    return HumanMessage(content="", additional_kwargs={UNREADABLE: why}, **extra)


def add_readable_messages(left: Messages, right: Messages) -> Messages:
    """`add_messages`, except that a message that cannot be a chat message (content 12345, an
    object, a list of numbers, no content at all) does not fail the run: it becomes an empty
    human message marked `UNREADABLE`, which intake refuses like any other unreadable input."""
    items = right if isinstance(right, list) else [right]
    readable: list[MessageLikeRepresentation] = []
    for item in items:
        if isinstance(item, BaseMessage):
            readable.append(item)
            continue
        try:
            readable.extend(convert_to_messages([item]))
        except Exception:  # pydantic's ValidationError, ValueError, NotImplementedError, KeyError
            readable.append(_unreadable(item))
    return add_messages(left, readable)


class InputState(TypedDict):
    """What a caller sends: the conversation so far (usually one new human message)."""

    messages: Annotated[list[AnyMessage], add_readable_messages]


class OutputState(TypedDict, total=False):
    """What a caller reads back after a turn, and all that a stream carries of the state (the
    `values`, `updates` and `checkpoints` modes): never a draft the reply check has not passed."""

    messages: Annotated[list[AnyMessage], add_readable_messages]
    status: Status
    reply: str
    intent: str | None
    department: str | None
    departments: Annotated[list[str], keep_turn]
    confidence: float
    tool_calls: Annotated[list[ToolCallRecord], keep_turn]
    citations: Annotated[list[str], keep_turn]
    node_metrics: Annotated[list[NodeMetric], keep_turn]
    spent_usd: Annotated[float, operator.add]  # model cost of the whole thread, for its budget
    turn: int
    case: CaseView | None  # the thread's case, when a person has (or had) it


class SupportState(OutputState, total=False):
    """The full internal state of one conversation thread."""

    customer_id: str  # the thread's owner, fixed by its first turn
    request: str  # the customer's latest message, validated and normalised
    injection_flags: list[str]
    safety: str  # "ok", or why the safety screen answered instead of a specialist
    fixed_reply: str | None  # a reply the workflow wrote itself; the model does not rephrase it
    entities: dict[str, Any]
    memory: dict[str, Any]  # what earlier conversations of this customer left (nodes/memory.py)
    alternatives: list[tuple[str, float]]
    facts: Annotated[list[str], keep_turn]  # statements backed by tool results or passages
    evidence: Annotated[list[str], keep_turn]  # everything a reply may state: tool facts and passages
    passages: Annotated[list[str], keep_turn]  # knowledge-base passages retrieved this turn
    branch: int  # bumped by each rollback, so a re-run path gets fresh idempotency keys
    question: str | None  # what we must ask the customer before acting
    pending_action: PendingAction | None
    # actions the parts of a multi-issue message hold for approval; merge_parts opens the gate
    held_actions: Annotated[list[PendingAction], keep_turn]
    # parts of a multi-issue message that ended with a question (their text): the next message
    # may be its answer ("Do you mean order 11096?" -> "11096")
    open_parts: Annotated[list[str], keep_turn]
    decision: Decision | None
    approval: ApprovalProgress | None  # the approval the gate waits on, between decisions
    draft: str
    draft_attempts: int
    draft_problems: list[str]
    error: str | None


# The plan-then-execute subgraph (graph/plan.py): its own input, output and state.


class PlanStep(TypedDict):
    department: str
    tool: str
    args: dict[str, Any]
    why: str


class PlanInput(TypedDict, total=False):
    customer_id: str  # the thread's owner: the steps act for it (graph/owner.py)
    spent_usd: float
    request: str
    entities: dict[str, Any]
    memory: dict[str, Any]
    turn: int
    branch: int


class PlanOutput(TypedDict, total=False):
    # Lists accumulate over the steps; the parent graph appends them to the turn's own lists.
    tool_calls: Annotated[list[dict[str, Any]], operator.add]
    facts: Annotated[list[str], operator.add]
    evidence: Annotated[list[str], operator.add]
    departments: Annotated[list[str], operator.add]
    reply: str
    status: str
    question: str | None
    plan_status: str


class PlanState(PlanInput, PlanOutput, total=False):
    plan: list[PlanStep]
    problems: list[str]
    cursor: int
    review_reasons: list[str]
    approval: ApprovalProgress | None  # the plan review between decisions


# The outreach graph (graph/outreach.py): an operator's message to many customers.


class OutreachInput(TypedDict, total=False):
    """What an operator asks for: who (any of the criteria, combined) and, optionally, the text."""

    outreach_id: str
    incident_id: int | None
    order_statuses: list[str]
    customer_ids: list[str]
    limit: int | None
    subject: str | None
    body: str | None


class OutreachState(OutreachInput, total=False):
    recipients: list[str]  # customer ids, as find_audience returned them
    audience: str  # the criteria in words
    incident: dict[str, str] | None  # the incident's title and body, when the audience is an incident's
    written_by: Literal["operator", "template", "model"]
    reason: str | None  # why a person must approve, if one must
    decision: Decision | None
    status: Literal["awaiting_approval", "queued", "rejected", "nobody", "error"]
    reply: str  # what the operator reads back
    tool_calls: Annotated[list[ToolCallRecord], operator.add]
