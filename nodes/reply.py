"""Writing the reply from the turn's facts; nothing goes out unchecked.

Who writes depends on the model (`writer_mode`, setting ``reply_writer``):

- ``whole`` (a capable model): the model drafts the whole reply from the facts, the check
  (`nodes.guards.facts`) compares every number, date and claimed action with the turn's evidence,
  a rejected draft is repaired once, and the reply built from the facts goes out if that fails too.
- ``opener`` (the embedded default): its whole drafts almost never pass the check (5.9 %, and the
  ones that passed were wrong: see `benchmarks/reply.py`), so the customer waited seconds for text
  nobody saw. It now names only the topic of an opening sentence ("Thank you for your message
  about the invoice."), in the customer's own words under a grammar and within a time budget
  (``opener_max_s``; after a miss it rests ``opener_rest_s``, and it is not asked while the
  machine's load per core is above ``opener_max_load``); `nodes.guards.opener` checks the
  sentence states nothing, and the reply built from the facts follows it. A rejected or late
  opener is dropped, never repaired. Where the facts already open the reply (an apology, a
  question, a reply the workflow wrote itself) or the message names nothing, no model runs.
- ``facts``: no model; the reply built from the facts.

Every reply, whoever wrote it, loses repeated sentences at `finalize`.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, Literal

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command

from core.context import Context
from core.models import takes_grammar
from core.state import Status, SupportState
from nodes import prompts
from nodes.desk import thread_id_of
from nodes.guards import facts as grounding
from nodes.guards.opener import check_opener, opener_lead, topic_grammar
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


WriterMode = Literal["whole", "opener", "facts"]
TOPIC_MAX_TOKENS = 12
# After an opener missed its time budget (the machine is busy: llama.cpp slows down badly when it
# shares the cores) the model is left alone for ``opener_rest_s``: the facts go out at once, not
# after another wait for text nobody would see. One clock for the process, like the model itself.
# The process's first call reads the whole prompt cold: its miss says little about the load.
_opener_rest_until = [0.0]
_opener_calls = [0]


def _opener_resting() -> bool:
    return time.monotonic() < _opener_rest_until[0]


def _cores_busy(ctx: Context) -> bool:
    """Other work already fills the cores a local model would run on (load average per core)."""
    limit = ctx.settings.opener_max_load
    return limit > 0 and os.getloadavg()[0] / (os.cpu_count() or 1) > limit


def _opener_missed(ctx: Context) -> None:
    if _opener_calls[0] > 1:
        _opener_rest_until[0] = time.monotonic() + ctx.settings.opener_rest_s


_OPENS_ITSELF = re.compile(r"^(I'm sorry|I am sorry|Sorry|Thank you|Thanks|Hello|Hi)\b")


def writer_mode(ctx: Context) -> WriterMode:
    """Who writes the reply's text: the setting, or for ``auto`` what the model can do."""
    chosen = ctx.settings.reply_writer
    if chosen != "auto":
        return chosen
    return "opener" if ctx.settings.model.startswith("embedded:") else "whole"


def _write_opener(state: SupportState, ctx: Context) -> Command[Literal["check_reply", "fallback_reply"]]:
    """The model names the message's topic; the workflow's lead makes it a sentence."""
    request = state.get("request", "")
    if _OPENS_ITSELF.match(deterministic_reply(state)):  # the facts already open the reply
        return Command(goto="fallback_reply")
    if _opener_resting() and ctx.settings.opener_rest_s > 0:  # the model missed its budget a moment ago
        return Command(goto="fallback_reply")
    options: dict[str, Any] = {"max_tokens": TOPIC_MAX_TOKENS}
    if takes_grammar(ctx.settings.model):  # llama.cpp: held to the customer's words, and to a time budget
        if _cores_busy(ctx):  # it would miss its budget: the facts go out at once
            return Command(goto="fallback_reply")
        grammar = topic_grammar(request)
        if grammar is None:  # nothing in the message to name
            return Command(goto="fallback_reply")
        options |= {"grammar": grammar, "max_seconds": ctx.settings.opener_max_s}
    user = prompts.TOPIC_USER.format(request=request[:300])
    _opener_calls[0] += 1
    topic = ask_model(ctx, [SystemMessage(prompts.TOPIC_SYSTEM), HumanMessage(user)], **options)
    # failed, or cut short by the time budget (the grammar ends every whole answer with a full
    # stop): the facts go out alone
    if not topic or ("grammar" in options and not topic.endswith(".")):
        if "max_seconds" in options:
            _opener_missed(ctx)
        return Command(update={"draft_attempts": 1}, goto="fallback_reply")
    topic = topic.strip().rstrip(".!") + "."
    opener = f"{opener_lead(request)} {topic[:1].lower()}{topic[1:]}"
    return Command(update={"draft": opener, "draft_attempts": 1}, goto="check_reply")


@instrumented("draft_reply")
def draft_reply(
    state: SupportState, runtime: Runtime[Context]
) -> Command[Literal["check_reply", "fallback_reply", "finalize"]]:
    ctx = runtime.context
    if _needs_no_model(state):
        return Command(goto="fallback_reply")
    mode = writer_mode(ctx)
    if mode == "facts":
        return Command(goto="fallback_reply")
    if mode == "opener":
        return _write_opener(state, ctx)  # type: ignore[return-value]  # a narrower Command
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
    if writer_mode(runtime.context) == "opener":
        opener_problems = check_opener(state.get("draft", ""), state.get("request", ""))
        if opener_problems:
            note_fallback("opener_rejected")  # the opener is dropped, never repaired
            return Command(update={"draft_problems": opener_problems}, goto="fallback_reply")
        reply = f"{state['draft']} {deterministic_reply(state)}"
        return Command(update={"reply": reply, "draft_problems": []}, goto="finalize")
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
def unchecked_reply(state: SupportState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The draft goes out as the model wrote it (an opener before the facts, as it would be sent)."""
    if writer_mode(runtime.context) == "opener":
        return {"reply": f"{state.get('draft', '')} {deterministic_reply(state)}".strip()}
    return {"reply": state.get("draft", "")}


@instrumented("fallback_reply")
def no_fallback(state: SupportState) -> dict[str, Any]:
    """A model that failed is an error, not a deterministic reply; a turn that needed no model
    (a question, a reply the workflow wrote itself) is answered as usual."""
    if state.get("draft_attempts") and not state.get("draft"):
        return {"status": "error", "error": "model_failed", "reply": "Sorry, I could not write a reply just now."}
    return {"reply": deterministic_reply(state)}


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def without_repeats(reply: str) -> str:
    """The reply with each sentence said once: two parts of a message refused for the same reason
    ("I could not find order 11002 on your account.") are told so once."""
    seen: set[str] = set()
    kept: list[str] = []
    for sentence in _SENTENCE_END.split(reply.strip()):
        key = " ".join(sentence.lower().split())
        if len(key.split()) >= 3 and key in seen:
            continue
        seen.add(key)
        kept.append(sentence)
    return " ".join(kept)


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
    reply = screen_reply(without_repeats(state.get("reply") or deterministic_reply(state)), state, runtime.context)
    remember(runtime.store, runtime.context.customer_id, thread_id_of(config), {**state, "status": status}, reply)
    goto: Literal["approval_gate", "__end__"] = "approval_gate" if status == "awaiting_approval" else "__end__"
    return Command(update={"reply": reply, "status": status, "messages": [AIMessage(content=reply)]}, goto=goto)
