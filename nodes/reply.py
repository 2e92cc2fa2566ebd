"""Writing the reply: the model drafts from the turn's facts, the workflow checks, repairs once,
and falls back to a reply built from the same facts when the model cannot be trusted."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command

from core.context import Context
from core.state import Status, SupportState
from nodes import prompts
from nodes.desk import thread_id_of
from nodes.guards import facts as grounding
from nodes.guards.output import screen_reply
from nodes.instrument import instrumented
from nodes.llm import ask_model, note_fallback, smart_model_allowed
from nodes.memory import remember


def _done_tools(state: SupportState) -> set[str]:
    return {c["name"] for c in state.get("tool_calls", []) if c["outcome"] == "ok"}


def _fact_block(state: SupportState) -> str:
    return "\n".join(f"- {line}" for line in state.get("facts", []))


def _needs_no_model(state: SupportState) -> bool:
    return (
        bool(state.get("question") or state.get("fixed_reply"))
        or state.get("status") == "error"
        or not (state.get("facts") or state.get("evidence"))
    )


@instrumented("draft_reply")
def draft_reply(
    state: SupportState, runtime: Runtime[Context]
) -> Command[Literal["check_reply", "fallback_reply", "finalize"]]:
    ctx = runtime.context
    if _needs_no_model(state):
        return Command(goto="fallback_reply")
    attempt = state.get("draft_attempts", 0) + 1
    problems = state.get("draft_problems", [])
    template = prompts.REPAIR_USER if problems else prompts.REPLY_USER
    user = template.format(request=state["request"], facts=_fact_block(state), problems="; ".join(problems))
    # The first draft is an easy step for the fast model; a repair is a hard one for the smart model,
    # while the thread's budget lasts.
    spec = (smart_model_allowed(ctx, state.get("spent_usd", 0.0)) if problems else None) or ctx.settings.model
    draft = ask_model(ctx, [SystemMessage(prompts.REPLY_SYSTEM), HumanMessage(user)], spec=spec)
    if draft is None:  # the model failed or timed out: the deterministic reply takes over
        return Command(update={"draft_attempts": attempt}, goto="fallback_reply")
    return Command(update={"draft": draft, "draft_attempts": attempt}, goto="check_reply")


@instrumented("check_reply")
def check_reply(
    state: SupportState, runtime: Runtime[Context]
) -> Command[Literal["finalize", "draft_reply", "fallback_reply"]]:
    problems = grounding.check_reply(
        state.get("draft", ""),
        state.get("evidence", []),
        done_tools=_done_tools(state),
        key_facts=state.get("facts", []),
    )
    if not problems:
        return Command(update={"reply": state["draft"], "draft_problems": []}, goto="finalize")
    if state.get("draft_attempts", 0) < runtime.context.settings.reply_max_attempts:
        return Command(update={"draft_problems": problems}, goto="draft_reply")
    note_fallback("draft_rejected")  # every draft failed the check: the deterministic reply goes out
    return Command(update={"draft_problems": problems}, goto="fallback_reply")


def deterministic_reply(state: SupportState) -> str:
    """A reply built only from the turn's facts and passages: always true, never pretty."""
    if state.get("status") == "error" and state.get("reply"):
        return state["reply"]
    if state.get("fixed_reply"):
        return str(state["fixed_reply"])
    if state.get("question"):
        return str(state["question"])
    parts = list(state.get("facts", []))
    if not parts:
        return "Thank you for your message. A member of our team will look into it."
    return " ".join(parts)


@instrumented("fallback_reply")
def fallback_reply(state: SupportState) -> dict[str, Any]:
    return {"reply": deterministic_reply(state)}


# The measured baseline of `evals/safety_nets.py` (`build_graph(check_replies=False)`): what a
# workflow without the reply check would send. Never wired into the graph that serves customers.


@instrumented("check_reply")
def unchecked_reply(state: SupportState) -> dict[str, Any]:
    """The draft goes out as the model wrote it."""
    return {"reply": state.get("draft", "")}


@instrumented("fallback_reply")
def no_fallback(state: SupportState) -> dict[str, Any]:
    """A model that failed is an error, not a deterministic reply; a turn that needed no model
    (a question, a reply the workflow wrote itself) is answered as usual."""
    if state.get("draft_attempts") and not state.get("draft"):
        return {"status": "error", "error": "model_failed", "reply": "Sorry, I could not write a reply just now."}
    return {"reply": deterministic_reply(state)}


def turn_status(state: SupportState) -> Status:
    if state.get("status") in ("error", "escalated"):
        return state["status"]
    if state.get("pending_action") and not state.get("decision"):
        return "awaiting_approval"
    if state.get("question"):
        return "needs_info"
    return "answered"


@instrumented("finalize")
def finalize(
    state: SupportState, runtime: Runtime[Context], config: RunnableConfig
) -> Command[Literal["approval_gate", "__end__"]]:
    status: Status = turn_status(state)
    reply = screen_reply(state.get("reply") or deterministic_reply(state), state, runtime.context)
    remember(runtime.store, runtime.context.customer_id, thread_id_of(config), {**state, "status": status}, reply)
    goto: Literal["approval_gate", "__end__"] = "approval_gate" if status == "awaiting_approval" else "__end__"
    return Command(update={"reply": reply, "status": status, "messages": [AIMessage(content=reply)]}, goto=goto)
