"""A specialist's desk for one turn: calls tools through the gateway and keeps the record.

Every call is numbered, so the idempotency key of a world-changing step is the
same when the node runs again after a resume, and different for the next step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig

from graph.context import Context
from graph.resources import kb_search, store_engine
from graph.state import PendingAction, ToolCallRecord
from tools.faults import parse_faults
from tools.gateway import ToolGateway, ToolOutcome

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
            store_engine(ctx), customer_id=ctx.customer_id, thread_id=thread_id_of(config),
            actor=ctx.actor, kb_search=kb_search(ctx), faults=parse_faults(ctx.faults),
            attempts=ctx.tool_attempts, backoff_s=ctx.tool_backoff_s,
        )
        return cls(node=node, turn=turn, gateway=gateway, branch=branch, lane=lane)

    def step_key(self, step: int, tool: str) -> str:
        """Stable across re-runs of the same node on the same branch; new after a rollback."""
        return f"b{self.branch}:turn{self.turn}:{self.node}{self.lane}:step{step}:{tool}"

    def call(self, tool: str, *, quiet: bool = False, at_step: int | None = None, **args: Any) -> ToolOutcome:
        """Run a tool. ``quiet`` keeps its result out of the reply (a lookup made only to decide);
        ``at_step`` reuses the key of a step proposed earlier (an approved action, a plan step)."""
        step = len(self.records) if at_step is None else at_step
        outcome = self.gateway.call(self.node, tool, args, step_key=self.step_key(step, tool))
        self._record(outcome, quiet=quiet)
        return outcome

    def _record(self, outcome: ToolOutcome, *, quiet: bool) -> None:
        tool = outcome.name
        record: ToolCallRecord = {"turn": self.turn, "node": self.node, "name": tool, "args": outcome.args,
                                  "outcome": outcome.outcome, "error": outcome.error, "error_type": outcome.error_type}
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
            futures = [pool.submit(self.gateway.call, self.node, tool, args,
                                   step_key=self.step_key(first + i, tool)) for i, (tool, args) in enumerate(calls)]
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
        """A statement of policy the workflow itself makes (no tool needed)."""
        self.facts.append(fact)
        self.evidence.append(fact)

    def update(self) -> dict[str, Any]:
        return {
            "tool_calls": self.records, "facts": self.facts, "evidence": self.evidence, "passages": self.passages,
            "citations": self.citations, "question": self.question, "pending_action": self.pending,
        }
