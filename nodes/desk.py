"""A specialist's desk for one turn, and what the three specialists share.

The `Desk` calls tools through the gateway and keeps the turn's record. Every call is
numbered, so the idempotency key of a world-changing step is the same when the node runs
again after a resume, and different for the next step.

Each specialist (billing, technical, general) is a table of scripts, one per intent, run
on a desk by `run_desk`. A script is plain code: it works on the embedded model, which
never chooses a tool. When a capable model is configured it may propose the plan instead
(`plan_with_model`); the gateway still checks every call against the node's permissions.
The helpers below resolve which order a message means, propose a world-changing step (or hold
it for a person), and turn failures into honest sentences.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from core.context import Context
from core.state import PendingAction, SupportState, ToolCallRecord
from nodes import prompts
from nodes.llm import ask_model, smart_model_allowed
from nodes.policy import approval_reason, refund_limits
from retrieval.answers import content_words, pick_answer, section_items
from retrieval.documents import parse_document
from tools.faults import parse_faults
from tools.gateway import ToolGateway, ToolOutcome
from tools.registry import tools_for

KB_TOOL = "search_knowledge_base"


def thread_id_of(config: RunnableConfig) -> str:
    return str((config.get("configurable") or {}).get("thread_id") or "no-thread")


@dataclass
class Desk:
    node: str
    turn: int
    gateway: ToolGateway
    branch: int = 0
    lane: str = ""  # which sub-request of a multi-issue message, so parallel desks never share keys
    records: list[ToolCallRecord] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    passages: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    question: str | None = None
    order_guessed: bool = False  # the order was inferred, not named: changes need a confirmation
    pending: PendingAction | None = None
    failures: list[ToolOutcome] = field(default_factory=list)

    @classmethod
    def open(cls, node: str, turn: int, ctx: Context, config: RunnableConfig, branch: int = 0, lane: str = "") -> Desk:
        gateway = ToolGateway(
            ctx.resources.engine,
            customer_id=ctx.customer_id,
            thread_id=thread_id_of(config),
            actor=ctx.actor,
            kb_search=ctx.resources.kb_search(),
            faults=parse_faults(ctx.settings.faults),
            attempts=ctx.settings.tool_attempts,
            backoff_s=ctx.settings.tool_backoff_s,
            clock=ctx.settings.now,
            refund_limits=refund_limits(ctx.settings),
        )
        return cls(node=node, turn=turn, gateway=gateway, branch=branch, lane=lane)

    def step_key(self, step: int, tool: str) -> str:
        """Stable across re-runs of the same node on the same branch; new after a rollback."""
        return f"b{self.branch}:turn{self.turn}:{self.node}{self.lane}:step{step}:{tool}"

    def done_earlier(self, tool: str) -> tuple[int, dict[str, Any]] | None:
        """The step at which this node, on this branch and turn, already ran ``tool`` (and its arguments):
        a node re-executed after a crash between the effect and the checkpoint. None on a first run."""
        prefix = self.step_key(0, tool).rsplit(":step", 1)[0] + ":step"
        for step_key, args in self.gateway.done_steps(prefix, tool):
            step = step_key.removeprefix(prefix).split(":", 1)[0]
            if step.isdigit():
                return int(step), args
        return None

    def replay_earlier(self, tool: str) -> bool:
        """When this node already ran ``tool`` on this branch and turn (a re-run after a crash that
        followed the effect, or a twin resume that got there first): say what was done, from the
        recorded result, and do nothing again. The world now shows the effect ("order N is cancelled"),
        so deciding afresh would read it as the customer's own history."""
        earlier = self.done_earlier(tool)
        if earlier is None:
            return False
        step, recorded = earlier
        self.call(tool, at_step=step, **recorded)  # the recorded result, never a second effect
        return True

    def call(self, tool: str, *, quiet: bool = False, at_step: int | None = None, **args: Any) -> ToolOutcome:
        """Run a tool. ``quiet`` keeps its result out of the reply (a lookup made only to decide);
        ``at_step`` reuses the key of a step proposed earlier (an approved action, a plan step)."""
        step = len(self.records) if at_step is None else at_step
        outcome = self.gateway.call(self.node, tool, args, step_key=self.step_key(step, tool))
        self._record(outcome, quiet=quiet)
        return outcome

    def _record(self, outcome: ToolOutcome, *, quiet: bool) -> None:
        tool = outcome.name
        record: ToolCallRecord = {
            "turn": self.turn,
            "node": self.node,
            "name": tool,
            "args": outcome.args,
            "outcome": outcome.outcome,
            "error": outcome.error,
            "error_type": outcome.error_type,
        }
        self.records.append(record)
        if outcome.ok:
            if tool == KB_TOOL:
                for passage in (outcome.result or {}).get("passages", []):
                    self.evidence.append(passage["text"])
                    self.passages.append(passage["text"])
                    if passage["doc_id"] not in self.citations:
                        self.citations.append(passage["doc_id"])
            else:
                self.evidence.extend(outcome.facts)
                if not quiet:
                    self.facts.extend(outcome.facts)
        else:
            self.failures.append(outcome)

    def call_parallel(self, calls: list[tuple[str, dict[str, Any]]]) -> list[ToolOutcome]:
        """Several independent reads at once; step numbers are fixed first, so keys stay deterministic."""
        from concurrent.futures import ThreadPoolExecutor

        first = len(self.records)
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [
                pool.submit(self.gateway.call, self.node, tool, args, step_key=self.step_key(first + i, tool))
                for i, (tool, args) in enumerate(calls)
            ]
            outcomes = [f.result() for f in futures]
        for outcome in outcomes:
            self._record(outcome, quiet=False)
        return outcomes

    def ask(self, question: str) -> None:
        self.question = question

    def hold_for_approval(self, tool: str, args: dict[str, Any], reason: str) -> None:
        self.pending = {"node": self.node, "step": len(self.records), "tool": tool, "args": args, "reason": reason}
        if self.lane:
            self.pending["lane"] = self.lane

    def tell(self, fact: str) -> None:
        """A statement of policy the workflow itself makes (no tool needed). Said once a turn."""
        if fact in self.facts:
            return
        self.facts.append(fact)
        self.evidence.append(fact)

    def cite(self, doc_id: str) -> None:
        if doc_id not in self.citations:
            self.citations.append(doc_id)

    def update(self) -> dict[str, Any]:
        return {
            "tool_calls": self.records,
            "facts": self.facts,
            "evidence": self.evidence,
            "passages": self.passages,
            "citations": self.citations,
            "question": self.question,
            "pending_action": self.pending,
        }


Script = Callable[[Desk, dict[str, Any], SupportState, Context], None]
OUTAGE_TYPES_EXCLUDED = {"ToolError", "AccessDenied", "InvalidArguments", "PermissionDenied", "PolicyRefused"}
TOLD_FAILURES = ("ToolError", "AccessDenied", "InvalidArguments", "PolicyRefused")  # said to the customer as they are


def earlier_orders(state: SupportState) -> list[int]:
    """Orders the customer named in this conversation's earlier messages, latest first: what "it"
    means when the Store keeps no memory of the thread (an eval, a caller without a Store)."""
    from nodes.entities import extract_entities

    found: list[int] = []
    for message in reversed(state.get("messages", [])[:-1]):
        if message.type == "human":
            found += [int(o) for o in extract_entities(str(message.content)).get("order_ids", []) if o not in found]
    return found


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
    desk.ask(
        f"Which order would you like {purpose}? Please give me the order number"
        + (f"; your recent orders are {recent}." if recent else ".")
    )
    return None


def _orders_described(text: str, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The orders whose item names share a word with ``text`` ("the headphones")."""
    words = content_words(text)
    return [o for o in orders if words & content_words(" ".join(o.get("items", [])))]


def _order_label(order: dict[str, Any]) -> str:
    items = order.get("items", [])
    more = f" and {len(items) - 2} more" if len(items) > 2 else ""
    return f"{order['order_id']} ({order['status']}{': ' + ', '.join(items[:2]) + more if items else ''})"


def article_of(desk: Desk, query: str, doc_id: str) -> dict[str, Any] | None:
    """Help article ``doc_id`` (a passage with its whole ``document``) when a search for ``query``
    finds it: read through the desk's knowledge-base tool, so it is audited and cited like any other."""
    outcome = desk.call(KB_TOOL, query=query[:480], k=3)
    passages = (outcome.result or {}).get("passages", []) if outcome.ok else []
    page = next((p for p in passages if p["doc_id"] == doc_id), None)
    return {**page, "document": str(page.get("document") or page["text"])} if page else None


def _as_sentence(text: str) -> str:
    """A list item as part of running text: "a replacement, ..., or" runs on into the next item."""
    text = text.strip()
    return text if text[-1:] in ".!?:;," or text.endswith((" or", " and")) else f"{text}."


def tell_section(
    desk: Desk,
    document: str,
    doc_id: str,
    heading: str | tuple[str, ...],
    *,
    keep: Callable[[str], bool] | None = None,
    limit: int = 4,
    lead: str = "",
) -> bool:
    """Say the sentences and list items under ``heading`` (or each of several headings, in order)
    of help article ``doc_id`` (those ``keep`` accepts, at most ``limit`` a heading), as one cited
    fact after ``lead``. False when there are none."""
    headings = (heading,) if isinstance(heading, str) else heading
    items = [s for h in headings for s in [s for s in section_items(document, h) if keep is None or keep(s)][:limit]]
    return tell_items(desk, items, doc_id, lead=lead)


def tell_items(desk: Desk, items: list[str], doc_id: str, *, lead: str = "") -> bool:
    """Sentences of help article ``doc_id`` said as one cited fact after ``lead``; False when there are none."""
    if not items:
        return False
    desk.tell(f"{lead}{' '.join(_as_sentence(i) for i in items)} (source: {doc_id})")
    desk.cite(doc_id)
    return True


@functools.lru_cache(maxsize=64)
def _article_body(path: str, mtime: float) -> str:
    return parse_document(Path(path)).body


def public_article(ctx: Context, doc_id: str) -> str | None:
    """The text of help article ``doc_id``, read from the knowledge base's documents.

    For what the workflow says about the store's own procedures ("download it in Account >
    Orders") where a desk has no search tool or its tool path is fixed: the articles are public
    and hold nothing of a customer's, so reading one needs no tool call and leaves no audit row,
    like the coordinator's article match. The reply cites the article all the same."""
    path = Path(ctx.resources.knowledge_base.docs_dir) / f"{doc_id}.md"
    try:
        return _article_body(str(path), path.stat().st_mtime)
    except (OSError, ValueError):
        return None


MAIL_ARTICLE = "email-not-received"
# "the reset email never shows up", "I never got a confirmation email", "not a single email in weeks"
MAIL_MISSING = re.compile(
    r"\b(?:e-?mails?|mails?|links?|confirmations?|verification)\b.{0,60}?\b(?:never|not|hasn'?t|haven'?t|didn'?t|"
    r"isn'?t|doesn'?t|won'?t|still hasn'?t)\s+(?:\w+\s+)?(?:arriv\w*|c[ao]me?|show\w*|turn\w* up|got|get|here|"
    r"received?|in my inbox)|\b(?:never|not|haven'?t|hasn'?t|didn'?t)\s+(?:got|get|gotten|had|received?|seen)\s+"
    r"(?:a |an |any |the |my |your )?(?:single )?(?:\w+ )?(?:e-?mails?|confirmation|verification|link)\b",
    re.IGNORECASE,
)
_MAIL_LEAD = "If our emails are not reaching you, check: "
_RESEND_LINE = {  # which line of the article's "Resending" section answers which kind of mail
    "Password reset": re.compile(r"\b(?:password|reset|verif\w*|unlock|sign ?up|register\w*|account)\b", re.I),
    "Order confirmation": re.compile(r"\bconfirm\w*\b", re.I),
    "Shipping and tracking": re.compile(r"\b(?:shipping|shipped|tracking|dispatch\w*)\b", re.I),
    "Gift cards": re.compile(r"\bgift\b", re.I),
}


def address_missing_mail(desk: Desk, request: str) -> None:
    """ "The reset email never arrives": the request is answered, and so is its obstacle, from the
    help article on mail that does not arrive (what to check, and how to get that mail again)."""
    if not MAIL_MISSING.search(request) or any(f.startswith(_MAIL_LEAD) for f in desk.facts):
        return
    page = article_of(desk, f"emails not received spam {request}", MAIL_ARTICLE)
    if page is None:
        return
    document = str(page["document"])
    # a sentence another search picked from the same article (its introduction, say) gives way to these
    desk.facts = [f for f in desk.facts if not f.endswith(f"(source: {MAIL_ARTICLE})")]
    tell_section(desk, document, MAIL_ARTICLE, "Check these first", limit=3, lead=_MAIL_LEAD)
    kinds = [kind for kind, pattern in _RESEND_LINE.items() if pattern.search(request)]
    tell_section(desk, document, MAIL_ARTICLE, "Resending", keep=lambda s: s.startswith(tuple(kinds)), limit=2)
    if not kinds:  # no mail at all: make sure ours gets through
        tell_section(desk, document, MAIL_ARTICLE, "Make sure our email gets through", limit=1)


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
        if failure.error_type in TOLD_FAILURES and failure.error:
            desk.tell(failure.error[0].upper() + failure.error[1:].rstrip(".") + ".")
    if not outages:
        return
    desk.tell("Part of our system did not answer just now, so I could not check everything.")
    if not any(r["name"] == "create_ticket" and r["outcome"] == "ok" for r in desk.records):
        names = ", ".join(sorted({f.name for f in outages}))
        ticket = desk.call(
            "create_ticket",
            subject=f"Manual review: {names} unavailable",
            body=f"Tools failed during {desk.node} turn {desk.turn}: {names}",
            priority="high",
            queue="manual_review",
        )
        desk.tell(
            "A person will review your request and reply."
            if ticket.ok
            else "Please try again in a few minutes; nothing was changed."
        )


def plan_with_model(desk: Desk, state: SupportState, ctx: Context) -> bool:
    """Let a capable model propose tool steps. False when there is no usable plan."""
    smart = smart_model_allowed(ctx, state.get("spent_usd", 0.0))
    if not smart:
        return False
    tools = "; ".join(f"{s.name}: {s.description}" for s in tools_for(desk.node))
    answer = ask_model(
        ctx,
        [
            SystemMessage(prompts.PLANNER_SYSTEM.format(department=desk.node, tools=tools)),
            HumanMessage(
                prompts.PLANNER_USER.format(
                    intent=state.get("intent"), entities=json.dumps(state.get("entities", {})), request=state["request"]
                )
            ),
        ],
        spec=smart,
    )
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
    node: str,
    scripts: dict[str, Script],
    fallback: Script,
    state: SupportState,
    runtime: Runtime[Context],
    config: RunnableConfig,
) -> dict[str, Any]:
    ctx = runtime.context
    desk = Desk.open(node, state.get("turn", 0), ctx, config, branch=state.get("branch", 0))
    entities = dict(state.get("entities", {}))
    memory = state.get("memory", {})
    remembered = memory.get("order_ids", [])
    if remembered and "order_id" not in entities:
        entities["remembered_order_id"] = remembered[0]
    this_thread = memory.get("thread_order_ids") or earlier_orders(state)
    if this_thread and "order_id" not in entities:
        entities["thread_order_id"] = this_thread[0]
    if not plan_with_model(desk, state, ctx):
        scripts.get(state.get("intent") or "", fallback)(desk, entities, state, ctx)
    address_missing_mail(desk, state["request"])
    report_failures(desk)
    return desk.update()
