"""What the three specialists share: order resolution, failure handling, model planning.

Each specialist is a table of scripts, one per intent, run on a `Desk`. A
script is plain code: it works on the embedded model, which never chooses a
tool. When a capable model is configured it may propose the plan instead; the
gateway still checks every call against the node's permissions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import SupportState
from nodes import prompts
from nodes.desk import KB_TOOL, Desk
from nodes.llm import ask_model, smart_model_allowed
from nodes.policy import approval_reason
from retrieval.answers import content_words, pick_answer
from tools.registry import tools_for

Script = Callable[[Desk, dict[str, Any], SupportState, Context], None]
OUTAGE_TYPES_EXCLUDED = {"ToolError", "AccessDenied", "InvalidArguments", "PermissionDenied"}


def resolve_order(
    desk: Desk, entities: dict[str, Any], *, statuses: tuple[str, ...], purpose: str, text: str = ""
) -> int | None:
    """The order the message (``text``) is about: named in it, remembered, the only one that fits,
    or the only one holding an item it names; otherwise ask."""
    if "order_id" in entities:
        return int(entities["order_id"])
    if "thread_order_id" in entities:  # the order this conversation is about ("cancel it"), whatever its status
        desk.order_guessed = True
        return int(entities["thread_order_id"])
    remembered = entities.get("remembered_order_id")
    if remembered is not None:  # said in an earlier conversation: not asked again, if it fits this request
        known = desk.call("get_order", order_id=int(remembered), quiet=True)
        if known.ok and known.result and known.result["status"] in statuses:
            desk.order_guessed = True
            return int(remembered)
    listed = desk.call("list_orders", limit=10, quiet=True)  # to choose, not to tell: the question lists them
    if not listed.ok:
        return None
    orders = listed.result["orders"] if listed.result else []
    candidates = [o for o in orders if o["status"] in statuses]
    if len(candidates) == 1:
        desk.order_guessed = True
        return int(candidates[0]["order_id"])
    described = _orders_described(text, candidates or orders)
    if len(described) == 1:  # "the broken headphones": the one order holding headphones
        desk.order_guessed = True
        return int(described[0]["order_id"])
    recent = ", ".join(_order_label(o) for o in (described or candidates or orders)[:4])
    desk.ask(f"Which order would you like {purpose}? Please give me the order number"
             + (f"; your recent orders are {recent}." if recent else "."))
    return None


def _orders_described(text: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The orders whose item names share a word with ``text`` ("the headphones")."""
    words = content_words(text)
    return [o for o in orders if words & content_words(" ".join(o.get("items", [])))]


def _order_label(order: dict[str, Any]) -> str:
    items = order.get("items", [])
    more = f" and {len(items) - 2} more" if len(items) > 2 else ""
    return f"{order['order_id']} ({order['status']}{': ' + ', '.join(items[:2]) + more if items else ''})"


def refundable(desk: Desk, order_id: int) -> tuple[dict[str, Any], int] | None:
    """(the order, cents still refundable on it), read through the desk's tools; None when a
    read failed. Pending and completed refunds count as paid out."""
    order = desk.call("get_order", order_id=order_id, quiet=True)
    refunds = desk.call("list_refunds", order_id=order_id, quiet=True)
    if not (order.ok and refunds.ok and order.result is not None and refunds.result is not None):
        return None
    already = sum(r["amount_cents"] for r in refunds.result["refunds"] if r["status"] in ("pending", "completed"))
    return order.result, int(order.result["total_cents"]) - already


def article_of(desk: Desk, query: str, doc_id: str) -> dict[str, Any] | None:
    """Help article ``doc_id`` (a passage with its whole ``document``) when a search for ``query``
    finds it: read through the desk's knowledge-base tool, so it is audited and cited like any other."""
    outcome = desk.call(KB_TOOL, query=query[:480], k=3)
    passages = (outcome.result or {}).get("passages", []) if outcome.ok else []
    page = next((p for p in passages if p["doc_id"] == doc_id), None)
    return {**page, "document": str(page.get("document") or page["text"])} if page else None


def search_kb(desk: Desk, state: SupportState, topic: str = "") -> None:
    """Search the help articles; the sentences that answer the request become a cited fact."""
    outcome = desk.call(KB_TOOL, query=f"{topic} {state['request']}".strip()[:480], k=3)
    passages = (outcome.result or {}).get("passages", []) if outcome.ok else []
    answer = pick_answer(state["request"], passages)
    if answer:
        desk.tell(f"{answer[0]} (source: {answer[1]})")


def propose(desk: Desk, ctx: Context, tool: str, args: dict[str, Any]) -> None:
    """Run a world-changing step, unless policy says a person must approve it first.

    An order the customer did not name (the only one that fits, or one from memory) is
    confirmed first: the workflow never changes an order on a guess.
    """
    if desk.order_guessed and "order_id" in args:
        desk.ask(f"Do you mean order {args['order_id']}? Please confirm by sending the order number.")
        return
    reason = approval_reason(tool, args, ctx)
    if reason:
        desk.hold_for_approval(tool, args, reason)
    else:
        desk.call(tool, **args)


def report_failures(desk: Desk) -> None:
    """Turn refusals into honest statements, and outages into a ticket in the manual-review queue."""
    outages = [f for f in desk.failures if f.error_type not in OUTAGE_TYPES_EXCLUDED]
    for failure in desk.failures:
        if failure.error_type in ("ToolError", "AccessDenied", "InvalidArguments") and failure.error:
            desk.tell(failure.error[0].upper() + failure.error[1:].rstrip(".") + ".")
    if not outages:
        return
    desk.tell("Part of our system did not answer just now, so I could not check everything.")
    if not any(r["name"] == "create_ticket" and r["outcome"] == "ok" for r in desk.records):
        names = ", ".join(sorted({f.name for f in outages}))
        ticket = desk.call("create_ticket", subject=f"Manual review: {names} unavailable",
                           body=f"Tools failed during {desk.node} turn {desk.turn}: {names}",
                           priority="high", queue="manual_review")
        desk.tell("A person will review your request and reply." if ticket.ok else
                  "Please try again in a few minutes; nothing was changed.")


def plan_with_model(desk: Desk, state: SupportState, ctx: Context) -> bool:
    """Let a capable model propose tool steps. False when there is no usable plan."""
    smart = smart_model_allowed(ctx, state.get("spent_usd", 0.0))
    if not smart:
        return False
    tools = "; ".join(f"{s.name}: {s.description}" for s in tools_for(desk.node))
    answer = ask_model(ctx, [
        SystemMessage(prompts.PLANNER_SYSTEM.format(department=desk.node, tools=tools)),
        HumanMessage(prompts.PLANNER_USER.format(intent=state.get("intent"), entities=json.dumps(state.get("entities", {})),
                                                 request=state["request"])),
    ], spec=smart)
    plan = parse_plan(answer)
    if plan is None:
        return False
    steps, question = plan
    if question and not steps:
        desk.ask(question)
    for step in steps[:6]:
        args = {k: v for k, v in step.get("args", {}).items() if k != "customer_id"}
        if step.get("tool") and approval_reason(step["tool"], args, ctx):
            propose(desk, ctx, step["tool"], args)
            break
        desk.call(str(step.get("tool")), **args)
    return True


def parse_plan(answer: str | None) -> tuple[list[dict[str, Any]], str | None] | None:
    if not answer:
        return None
    match = re.search(r"\{.*\}", answer, re.S)
    if not match:
        return None
    try:
        data = json.loads(match.group())
    except json.JSONDecodeError:
        return None
    steps = data.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, dict) and isinstance(s.get("tool"), str) for s in steps):
        return None
    if any(not isinstance(s.get("args", {}), dict) for s in steps):
        return None
    question = data.get("question")
    return steps, question if isinstance(question, str) else None


def run_desk(
    node: str, scripts: dict[str, Script], fallback: Script,
    state: SupportState, runtime: Runtime[Context], config: RunnableConfig,
) -> dict[str, Any]:
    ctx = runtime.context
    desk = Desk.open(node, state.get("turn", 0), ctx, config, branch=state.get("branch", 0))
    entities = dict(state.get("entities", {}))
    memory = state.get("memory", {})
    remembered = memory.get("order_ids", [])
    if remembered and "order_id" not in entities:
        entities["remembered_order_id"] = remembered[0]
    if memory.get("thread_order_ids") and "order_id" not in entities:
        entities["thread_order_id"] = memory["thread_order_ids"][0]
    if not plan_with_model(desk, state, ctx):
        scripts.get(state.get("intent") or "", fallback)(desk, entities, state, ctx)
    report_failures(desk)
    return desk.update()
