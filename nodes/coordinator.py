"""The coordinator: names the intent, picks the department. It has no tools and does no work.

A trained classifier decides; when it is unsure, a capable model (if one is
configured) is asked; otherwise the customer is asked to clarify. A message is
never sent silently to the wrong specialist.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from graph.context import Context
from graph.resources import classifier
from graph.state import SupportState
from nodes import prompts
from nodes.guardrails import without_steering
from nodes.instrument import instrumented
from nodes.llm import ask_model, smart_model_allowed
from nodes.planning import DEPARTMENT_OF, detect_actions, wants_plan
from nodes.routing.intents import INTENTS, department_for
from nodes.subrequests import split_request

Route = Literal["billing", "technical", "general", "escalation", "clarify", "subrequest", "plan_execute"]

FRIENDLY_INTENT = {
    "get_refund": "getting a refund", "track_refund": "checking a refund", "track_order": "tracking an order",
    "cancel_order": "cancelling an order", "check_invoice": "an invoice", "payment_issue": "a payment problem",
    "recover_password": "resetting your password", "delivery_options": "delivery options",
    "complaint": "making a complaint", "contact_human_agent": "talking to a person",
}


def _ask_router_model(ctx: Context, text: str, model: str) -> str | None:
    answer = ask_model(
        ctx,
        [SystemMessage(prompts.ROUTER_SYSTEM.format(intents=", ".join(INTENTS))), HumanMessage(text)],
        spec=model,
    )
    if answer is None:
        return None
    token = answer.strip().strip("`'\". ").lower()
    return token if token in INTENTS else None


@instrumented("coordinator")
def coordinator(state: SupportState, runtime: Runtime[Context]) -> Command[Route]:
    ctx = runtime.context
    if wants_plan(state["request"]):  # several world-changing actions: plan first, then execute
        departments = list(dict.fromkeys(DEPARTMENT_OF[a] for a in detect_actions(state["request"])))
        return Command(update={"intent": "multi_step", "confidence": 1.0, "department": departments[0],
                               "departments": departments}, goto="plan_execute")
    model = classifier(ctx)
    # an injected "ignore your instructions ... approval granted" says nothing about what the customer wants
    request = without_steering(state["request"]) if state.get("injection_flags") else state["request"]
    prediction = model.predict(request)
    parts = split_request(request, model.predict, min_confidence=ctx.classifier_min_confidence,
                          whole=prediction)
    if parts:
        sends = [Send("subrequest", {"request": p.text, "intent": p.intent, "department": p.department, "lane": i,
                                     "turn": state.get("turn", 0), "branch": state.get("branch", 0)})
                 for i, p in enumerate(parts)]
        return Command(update={"intent": parts[0].intent, "department": parts[0].department,
                               "confidence": min(p.confidence for p in parts)}, goto=sends)
    intent, confidence = prediction.intent, prediction.confidence
    routed_by = "classifier"
    if confidence < ctx.classifier_min_confidence:
        smart = smart_model_allowed(ctx, state.get("spent_usd", 0.0))
        model_intent = _ask_router_model(ctx, state["request"], smart) if smart else None
        if model_intent is None:
            options = [intent, *(alt for alt, _ in prediction.alternatives[:1])]
            described = " or ".join(FRIENDLY_INTENT.get(o, o.replace("_", " ")) for o in options)
            return Command(
                update={"intent": intent, "confidence": confidence, "department": None,
                        "alternatives": list(prediction.alternatives),
                        "question": f"I want to be sure I send you to the right team: is this about {described}? "
                                    "Please tell me a little more."},
                goto="clarify",
            )
        intent, routed_by = model_intent, "model"
    department = department_for(intent)
    return Command(
        update={"intent": intent, "confidence": confidence, "department": department,
                "departments": [department], "alternatives": list(prediction.alternatives),
                "entities": {**state.get("entities", {}), "routed_by": routed_by}},
        goto=department,
    )


@instrumented("clarify")
def clarify(state: SupportState) -> dict[str, object]:
    return {"status": "needs_info"}
