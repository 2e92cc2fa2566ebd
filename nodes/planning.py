"""Plan then execute: multi-step or high-risk requests get a plan first, a person's review when
policy says so, then one checkpointed step at a time.

"Cancel my order, refund it to a different card and close my account" becomes
an ordered plan over the tools of three departments. Each step runs under its
own department's permissions, with an idempotency key of its own, and a
checkpoint after it: a crash resumes at the next step, never repeats one.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt
from pydantic import ValidationError

from core.context import Context
from core.state import ApprovalProgress, PlanState, PlanStep
from nodes import prompts
from nodes.approval import decide, open_progress, parse_decision, progress_view
from nodes.approval_rules import plan_approvals_needed
from nodes.desk import Desk, thread_id_of
from nodes.guards.message import own_words
from nodes.guards.routing import ASKS_COST
from nodes.instrument import instrumented
from nodes.llm import ask_model, smart_model_allowed
from nodes.policy import approval_reason
from nodes.waiting import mark_waiting
from tools.registry import PERMISSIONS, TOOLS

ACTIONS: dict[str, re.Pattern[str]] = {
    # "cancel my newsletter" is not an order: the newsletter pattern below takes it
    "cancel_order": re.compile(
        r"\bcancel+(ing)?\b(?!.{0,15}\b(fee|subscription|newsletter|e-?mails?|membership)\b)", re.I
    ),
    "issue_refund": re.compile(r"\b(refund|money back)\b", re.I),
    "update_shipping_address": re.compile(
        r"\b(change|update)\b.{0,30}\baddress\b|\bnew (?:shipping |delivery )?address\b"
        r"|\b(?:send|ship|deliver|redirect)\b[^.?!]{0,30}\bto\s+\d{1,6}\s+[A-Za-z]",
        re.I,
    ),
    "set_newsletter": re.compile(
        r"\b(unsubscribe|opt[- ]?out)\b|\b(cancel+|stop|end)\b.{0,15}\b(newsletter|e-?mails)\b", re.I
    ),
    "send_password_reset": re.compile(r"\breset\b.{0,20}\bpassword\b", re.I),
    "close_account": re.compile(r"\b(close|delete|deactivate|terminate|remove)\b.{0,20}\baccount\b", re.I),
}
STEP_ORDER = list(ACTIONS)  # a closure comes last: nothing can run on a closed account
DEPARTMENT_OF = {
    "cancel_order": "general",
    "issue_refund": "billing",
    "update_shipping_address": "general",
    "set_newsletter": "general",
    "send_password_reset": "technical",
    "close_account": "technical",
}
REVIEW_ALWAYS_FROM_STEPS = 3


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*;\s*")


def detect_actions(text: str) -> list[str]:
    """The world-changing actions a message asks for, in the order they can safely run. A sentence
    that asks what cancelling costs ("what is the fee to cancel order 10859?") asks for no cancellation."""
    found = {
        name
        for sentence in _SENTENCE.split(text)
        for name, pattern in ACTIONS.items()
        if pattern.search(sentence) and not (name == "cancel_order" and ASKS_COST.search(sentence))
    }
    return [name for name in STEP_ORDER if name in found]


def wants_plan(text: str) -> bool:
    return len(detect_actions(text)) >= 2


def template_plan(text: str, entities: dict[str, Any]) -> tuple[list[PlanStep], list[str]]:
    """Deterministic plan from the actions the message names; notes explain dropped steps."""
    actions = detect_actions(text)
    default_order = entities.get("order_id") or entities.get("remembered_order_id")
    order_for = {a: _order_named_after(text, ACTIONS[a]) or default_order for a in actions}
    steps: list[PlanStep] = []
    notes: list[str] = []
    for action in actions:
        args: dict[str, Any] = {}
        if action in ("cancel_order", "issue_refund", "update_shipping_address"):
            args["order_id"] = order_for[action]
        if action == "issue_refund":
            if "cancel_order" in actions and order_for["cancel_order"] == order_for[action]:
                notes.append(
                    "Cancelling an order that has not shipped releases its payment, so no refund step is needed for it."
                )
                continue
            if "amount_usd" in entities:
                args["amount_usd"] = entities["amount_usd"]
            if "to_card_last4" in entities:
                args["to_card_last4"] = entities["to_card_last4"]
        if action == "update_shipping_address":
            args["address"] = entities.get("address")
        if action == "set_newsletter":
            args["subscribed"] = False
        steps.append(
            {
                "department": DEPARTMENT_OF[action],
                "tool": action,
                "args": args,
                "why": f"the message asks to {action.replace('_', ' ')}",
            }
        )
    return steps, notes


def _order_named_after(text: str, action: re.Pattern[str]) -> int | None:
    """The first order number after the words that name the action ("cancel order 11197 and refund 10956")."""
    match = action.search(text)
    if not match:
        return None
    found = re.search(r"\b(1\d{4})\b", text[match.start() :])
    return int(found.group(1)) if found else None


def model_plan(ctx: Context, state: PlanState) -> list[PlanStep] | None:
    smart = smart_model_allowed(ctx, state.get("spent_usd", 0.0))
    if not smart:
        return None
    tools = "; ".join(f"{name} ({DEPARTMENT_OF.get(name, '?')}): {TOOLS[name].description}" for name in DEPARTMENT_OF)
    answer = ask_model(
        ctx,
        [
            SystemMessage(prompts.MULTI_STEP_PLANNER_SYSTEM.format(tools=tools)),
            HumanMessage(
                prompts.PLANNER_USER.format(
                    intent="multi_step", entities=json.dumps(state.get("entities", {})), request=state["request"]
                )
            ),
        ],
        spec=smart,
    )
    match = re.search(r"\[.*\]", answer or "", re.S)
    try:
        raw = json.loads(match.group()) if match else None
    except json.JSONDecodeError:
        return None
    if not isinstance(raw, list):
        return None
    steps: list[PlanStep] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("tool"), str):
            return None
        tool = item["tool"]
        steps.append(
            {
                "department": DEPARTMENT_OF.get(tool, "unknown"),
                "tool": tool,
                "args": {k: v for k, v in (item.get("args") or {}).items() if k != "customer_id"},
                "why": str(item.get("why", "proposed by the planner model"))[:200],
            }
        )
    return steps


def validate_plan(steps: list[PlanStep]) -> list[str]:
    """Why a plan must not run: unknown tools, steps outside their department, missing or bad arguments."""
    problems = []
    if not steps:
        problems.append("the plan has no steps")
    for n, step in enumerate(steps, start=1):
        spec = TOOLS.get(step["tool"])
        if spec is None:
            problems.append(f"step {n}: unknown tool {step['tool']!r}")
            continue
        if step["tool"] not in PERMISSIONS.get(step["department"], frozenset()):
            problems.append(f"step {n}: {step['department']} may not call {step['tool']}")
        if any(v is None for v in step["args"].values()):
            missing = ", ".join(k for k, v in step["args"].items() if v is None)
            problems.append(f"step {n} ({step['tool']}): missing {missing}")
            continue
        try:
            spec.args_model.model_validate(step["args"])
        except ValidationError as exc:
            problems.append(f"step {n} ({step['tool']}): {exc.errors()[0]['msg']}")
    return problems


def check_refund_steps(steps: list[PlanStep], desk: Desk, share: str | None = None) -> tuple[list[str], list[str]]:
    """Ask the refund policy (`tools.refund_policy`, through ``check_refund``) about every refund
    step, at plan time, so the reviewer sees what will be paid and why it waits.

    A step with no stated amount gets what is still refundable on its order, or ``share`` of the
    order's total ("refund half of it"). A step the policy refuses (outside the return window, a
    disputed payment, nothing left) is dropped, and the refusal is said: a part of the request is
    never dropped silently. Returns (notes for the customer, approval reasons for the reviewer).
    """
    notes: list[str] = []
    reasons: list[str] = []
    for step in list(steps):
        args = step["args"]
        if step["tool"] != "issue_refund" or not isinstance(args.get("order_id"), int):
            continue
        asked = {k: args[k] for k in ("order_id", "amount_usd", "to_card_last4") if args.get(k) is not None}
        outcome = desk.call("check_refund", quiet=True, **asked)
        if outcome.ok and outcome.result and share and "amount_usd" not in asked:
            cents = int((Decimal(outcome.result["total_cents"]) * Decimal(share)).quantize(Decimal(1)))
            outcome = desk.call("check_refund", quiet=True, **asked, amount_usd=f"{cents / 100:.2f}")
        if not outcome.ok:
            if outcome.error_type == "PolicyRefused":
                steps.remove(step)
                notes.append(f"{outcome.error}")
            continue  # an outage: left as it is, and the tool decides again when the step runs
        result = outcome.result or {}
        if result.get("verdict") not in ("refund", "approval"):
            steps.remove(step)
            notes.append(str(result.get("message") or f"The refund for order {args['order_id']} needs more detail."))
            continue
        args["amount_usd"] = result["amount_usd"]
        args.setdefault("reason", "customer request")
        if "destination" not in result.get("approval_rules", []):
            args.pop("to_card_last4", None)  # the card that paid is the original method
        reasons.extend(r for r in result.get("approvals", []) if r not in reasons)
    return notes, reasons


@instrumented("make_plan")
def make_plan(
    state: PlanState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["review_plan", "execute_step", "__end__"]]:
    ctx = runtime.context
    entities = dict(state.get("entities", {}))
    remembered = state.get("memory", {}).get("order_ids", [])
    if remembered and "order_id" not in entities:
        entities["remembered_order_id"] = remembered[0]
    steps, notes = template_plan(own_words(state["request"]), entities)  # quoted text asks for nothing
    proposed = model_plan(ctx, state)
    if proposed is not None and not validate_plan(proposed):
        steps, notes = proposed, []
    problems = validate_plan(steps)
    lookups = Desk.open("billing", state.get("turn", 0), ctx, config, branch=state.get("branch", 0), lane="-plan")
    checked: list[str] = []
    if not problems:
        refused, checked = check_refund_steps(steps, lookups, entities.get("refund_share"))
        notes = [*notes, *refused]
        if not steps:  # every step turned out to be done already or refused: say so, run nothing
            return Command(
                update={
                    "plan": [],
                    "problems": [],
                    "plan_status": "done",
                    "facts": notes,
                    "evidence": notes,
                    "tool_calls": lookups.records,
                },
                goto="__end__",
            )
    if problems:  # an invalid plan is rejected, never run
        if any("order_id" in p for p in problems):
            return Command(
                update={
                    "plan": steps,
                    "problems": problems,
                    "plan_status": "rejected",
                    "question": "Which order is this about? Please give me the order number so I can plan these steps.",
                },
                goto="__end__",
            )
        fact = "I could not make a safe plan for this request: " + "; ".join(problems) + "."
        return Command(
            update={
                "plan": steps,
                "problems": problems,
                "plan_status": "rejected",
                "facts": [fact],
                "evidence": [fact],
            },
            goto="__end__",
        )
    reasons = [r for s in steps if (r := approval_reason(s["tool"], s["args"], ctx))]
    reasons.extend(r for r in checked if not any(r in given for given in reasons))
    if len(steps) >= REVIEW_ALWAYS_FROM_STEPS:
        reasons.append(f"a plan of {len(steps)} world-changing steps")
    described = "; ".join(f"{n}. {s['tool'].replace('_', ' ')} {json.dumps(s['args'])}" for n, s in enumerate(steps, 1))
    update: dict[str, Any] = {
        "plan": steps,
        "problems": [],
        "cursor": 0,
        "review_reasons": reasons,
        "facts": notes,
        "evidence": notes,
        "tool_calls": lookups.records,
    }
    if reasons:
        update["evidence"] = [*notes, *reasons]  # the reply may say why a person reviews it
        update.update(
            status="awaiting_approval",
            plan_status="in_review",
            reply=f"Here is my plan: {described}. A member of our team reviews it first "
            f"({'; '.join(reasons)}); I will go ahead as soon as it is approved.",
        )
        return Command(update=update, goto="review_plan")
    return Command(update={**update, "plan_status": "approved"}, goto="execute_step")


def review_request(state: PlanState, progress: ApprovalProgress | None = None) -> dict[str, Any]:
    steps = state["plan"]
    request: dict[str, Any] = {
        "action_requests": [
            {
                "name": s["tool"],
                "args": s["args"],
                "description": f"step {n} of {len(steps)} ({s['department']}): {s['why']}",
            }
            for n, s in enumerate(steps, 1)
        ],
        "review_configs": [
            {"action_name": s["tool"], "allowed_decisions": ["approve", "edit", "reject"]} for s in steps
        ],
        "description": "; ".join(state.get("review_reasons", [])),
    }
    if progress is not None:
        request["approval"] = progress_view(progress)
    return request


def plan_decision(raw: Any, plan: list[PlanStep]) -> Any:
    """The reviewer's decisions, one per step (or one for all), as one decision on the whole plan:
    the steps approved or edited go on (an edit of any step is an edit of the plan), rejected steps
    are dropped, and a plan with no step left is rejected."""
    items: list[Any] = raw["decisions"] if isinstance(raw, dict) and isinstance(raw.get("decisions"), list) else [raw]
    try:
        decisions = [parse_decision(d) for d in items]
    except ValueError:
        return raw  # the review refuses it and says why
    if len(decisions) == 1 and decisions[0]["type"] != "edit":
        return decisions[0]
    if len(decisions) == 1:
        decisions = decisions * len(plan)
    steps: list[PlanStep] = []
    for step, decision in zip(plan, decisions, strict=False):
        if decision["type"] == "approve":
            steps.append(step)
        elif decision["type"] == "edit":
            steps.append({**step, "args": decision.get("args", step["args"])})
    if not steps:
        return {"type": "reject", "message": decisions[0].get("message") or "not approved"}
    if steps == plan:
        return {"type": "approve"}
    return {"type": "edit", "args": {"steps": steps}}


@instrumented("review_plan")
def review_plan(
    state: PlanState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["execute_step", "review_plan", "__end__"]]:
    """The plan waits for a person under the same rules as a single action (nodes/approval.py)."""
    ctx = runtime.context
    thread_id = thread_id_of(config)
    approval_id = f"{thread_id}:b{state.get('branch', 0)}:t{state.get('turn', 0)}:plan"
    progress = state.get("approval")
    if not progress or progress["id"] != approval_id:
        progress = open_progress(
            ctx,
            approval_id=approval_id,
            thread_id=thread_id,
            customer_id=ctx.customer_id,
            kind="plan",
            department="plan",
            reason="; ".join(state.get("review_reasons", [])),
            args={"steps": state["plan"]},
            needed=plan_approvals_needed([dict(s) for s in state["plan"]], ctx.settings),
            request=review_request(state),
        )
    request = review_request(state, progress)
    mark_waiting(
        runtime.store, thread_id, ctx.customer_id, request, since=progress["since"], approval=progress_view(progress)
    )
    raw = interrupt(request)
    verdict = decide(
        plan_decision(raw, state["plan"]),
        progress=progress,
        args={"steps": state["plan"]},
        needed=lambda args: plan_approvals_needed(args["steps"], ctx.settings),
        ctx=ctx,
        config=config,
        store=runtime.store,
        thread_id=thread_id,
        customer_id=ctx.customer_id,
        node="plan",
        tool="plan",
    )
    steps: list[PlanStep] = verdict.args["steps"]
    if not verdict.final:  # still waiting (a refusal, or the first of two approvals): ask again
        return Command(update={"approval": verdict.progress, "plan": steps}, goto="review_plan")
    problems = validate_plan(steps) if verdict.outcome in ("approved", "edited") else []
    if verdict.outcome not in ("approved", "edited") or problems:  # rejected, or edited into something that may not run
        why = "; ".join(problems) if problems else (verdict.message or "not approved")
        fact = (
            "We could not review this plan in time, so nothing was changed."
            if verdict.decision == "expire"
            else f"After review, our team did not approve this plan ({why}), so nothing was changed."
        )
        return Command(
            update={
                "approval": verdict.progress,
                "plan": [],
                "plan_status": "rejected",
                "status": "answered",
                "reply": "",
                "facts": [fact],
                "evidence": [fact],
            },
            goto="__end__",
        )
    return Command(
        update={
            "approval": verdict.progress,
            "plan": steps,
            "plan_status": "approved",
            "status": "answered",
            "reply": "",
            "cursor": 0,
        },
        goto="execute_step",
    )


@instrumented("execute_step")
def execute_step(
    state: PlanState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["execute_step", "__end__"]]:
    """Run one step, then come back: the checkpoint between steps is what resume continues from."""
    cursor = state.get("cursor", 0)
    step = state["plan"][cursor]
    desk = Desk.open(
        step["department"], state.get("turn", 0), runtime.context, config, branch=state.get("branch", 0), lane="-plan"
    )
    outcome = desk.call(step["tool"], at_step=cursor, **step["args"])
    facts = (
        list(outcome.facts)
        if outcome.ok
        else [f"Step {cursor + 1} ({step['tool'].replace('_', ' ')}) could not be done: {outcome.error}."]
    )
    last = cursor + 1 >= len(state["plan"])
    if not outcome.ok and not last:  # later steps may depend on this one: stop and say so
        facts.append("I stopped there, so the remaining steps were not done.")
        last = True
    return Command(
        update={
            "tool_calls": desk.records,
            "facts": facts,
            "evidence": facts,
            "cursor": cursor + 1,
            "plan_status": "done" if last else "running",
        },
        goto="__end__" if last else "execute_step",
    )
