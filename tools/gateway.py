"""Every tool call goes through here: permission, argument validation, ownership, idempotency, audit.

A call outside the node's permission is refused, audited and never executed.
A world-changing call claims its idempotency key in the effects ledger inside
the same transaction as the effect, so a resumed, replayed or concurrent run
gets the recorded result instead of doing the effect twice.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from store.schema import effects
from tools.audit import write_audit
from tools.base import AccessDenied, PolicyRefused, ToolContext, ToolError
from tools.faults import Fault, maybe_fail
from tools.refund_policy import RefundLimits
from tools.registry import TOOLS, allowed

Outcome = Literal["ok", "refused", "failed"]


@dataclass
class ToolOutcome:
    name: str
    args: dict[str, Any]
    outcome: Outcome
    error: str | None = None
    error_type: str | None = None
    result: dict[str, Any] | None = None
    facts: list[str] = field(default_factory=list)
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def idempotency_key(thread_id: str, step_key: str) -> str:
    raw = f"{thread_id}|{step_key}"
    return raw if len(raw) <= 120 else hashlib.sha256(raw.encode()).hexdigest()


def _canonical(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, default=str)


class ToolGateway:
    """Calls tools on behalf of one customer in one thread."""

    def __init__(
        self,
        engine: Engine,
        *,
        customer_id: str,
        thread_id: str,
        actor: str = "workflow",
        kb_search: Callable[[str, int], list[dict[str, Any]]] | None = None,
        faults: dict[str, Fault] | None = None,
        attempts: int = 4,
        backoff_s: float = 0.05,
        clock: Callable[[], datetime] | None = None,
        refund_limits: RefundLimits | None = None,
    ) -> None:
        """``clock``: the workflow's present (`Settings.now`), handed to every tool so each date rule
        reads the same day (the real time when none is given); ``refund_limits``: the refund policy's
        numbers (`nodes.policy.refund_limits`); without them refunds are refused, never guessed."""
        self.clock = clock or (lambda: datetime.now(UTC))
        self.refund_limits = refund_limits
        self.engine = engine
        self.faults = faults or {}
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.customer_id = customer_id
        self.thread_id = thread_id
        self.actor = actor
        self.kb_search = kb_search

    def _audit(self, node: str, name: str, args: dict[str, Any], action: str, outcome: str, detail: str) -> None:
        write_audit(
            self.engine,
            action=action,
            outcome=outcome,
            thread_id=self.thread_id,
            customer_id=self.customer_id,
            node=node,
            actor=self.actor,
            tool=name,
            args=args,
            detail=detail,
        )

    def done_steps(self, step_prefix: str, name: str) -> list[tuple[str, dict[str, Any]]]:
        """(step key, arguments) of the effects of tool ``name`` this thread already made at step keys
        starting with ``step_prefix``: what a node re-executed after a crash did the first time."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(effects.c.idempotency_key, effects.c.args_json).where(
                    effects.c.thread_id == self.thread_id, effects.c.tool == name
                )
            ).all()
        own = f"{self.thread_id}|{step_prefix}"
        return [
            (key.removeprefix(f"{self.thread_id}|"), json.loads(args))
            for key, args in rows
            if key.startswith(own) and key.endswith(f":{name}")  # a hashed (long) key is not matched: none
        ]

    def call(
        self, node: str, name: str, args: dict[str, Any] | None = None, *, step_key: str | None = None
    ) -> ToolOutcome:
        args = dict(args or {})
        spec = TOOLS.get(name)
        if spec is None or not allowed(node, name):
            reason = f"unknown tool {name!r}" if spec is None else f"node {node!r} may not call {name!r}"
            self._audit(node, name, args, "tool_refused", "refused", reason)
            return ToolOutcome(name, args, "refused", error=reason, error_type="PermissionDenied")
        try:
            parsed = spec.args_model.model_validate(args)
        except ValidationError as exc:
            reason = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}" for e in exc.errors())
            self._audit(node, name, args, "tool_refused", "refused", f"invalid arguments: {reason}")
            return ToolOutcome(
                name, args, "refused", error=f"invalid arguments: {reason}", error_type="InvalidArguments"
            )
        kwargs = dict(parsed)
        clean_args = parsed.model_dump(mode="json")
        key = idempotency_key(self.thread_id, step_key or f"{node}:{name}:{_canonical(clean_args)}")
        ctx = ToolContext(
            self.customer_id,
            self.thread_id,
            node,
            key if spec.changes_world else None,
            self.kb_search,
            now=self.clock(),
            refund_limits=self.refund_limits,
        )
        try:
            result, replayed = self._with_retries(spec.name, ctx, kwargs, clean_args, node, key)
        except PolicyRefused as exc:  # the written policy says no: audited with the rule's name
            self._audit(node, name, clean_args, "policy_refused", "refused", f"rule {exc.rule}: {exc}")
            return ToolOutcome(
                name,
                clean_args,
                "refused",
                error=str(exc),
                error_type="PolicyRefused",
                result={"rule": exc.rule, **exc.details},
            )
        except AccessDenied as exc:
            self._audit(node, name, clean_args, "tool_refused", "refused", f"ownership: {exc}")
            return ToolOutcome(name, clean_args, "refused", error=str(exc), error_type="AccessDenied")
        except ToolError as exc:
            self._audit(node, name, clean_args, "tool_failed", "failed", str(exc))
            return ToolOutcome(name, clean_args, "failed", error=str(exc), error_type="ToolError")
        except Exception as exc:  # an outage, not the customer's doing: report, never invent a result
            self._audit(node, name, clean_args, "tool_failed", "failed", f"{type(exc).__name__}: {exc}")
            return ToolOutcome(
                name, clean_args, "failed", error="the system did not answer", error_type=type(exc).__name__
            )
        return ToolOutcome(name, clean_args, "ok", result=result, facts=spec.describe(result), replayed=replayed)

    def _with_retries(
        self, name: str, ctx: ToolContext, kwargs: dict[str, Any], clean_args: dict[str, Any], node: str, key: str
    ) -> tuple[dict[str, Any], bool]:
        """Retry outages with exponential backoff and jitter; a refusal or business error is final."""
        spec = TOOLS[name]
        for attempt in range(self.attempts):
            try:
                maybe_fail(self.faults, name, f"{key}|{attempt}")
                if spec.changes_world:
                    return self._run_once(name, ctx, kwargs, clean_args, node)
                with self.engine.connect() as conn:
                    result = spec.fn(conn, ctx, **kwargs)
                self._audit(node, name, clean_args, "tool_call", "ok", f"attempt {attempt + 1}" if attempt else "")
                return result, False
            except ToolError:
                raise
            except Exception as exc:
                if attempt + 1 >= self.attempts:
                    raise
                self._audit(node, name, clean_args, "tool_retry", "failed", f"{type(exc).__name__}: {exc}")
                time.sleep(self.backoff_s * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _run_once(
        self, name: str, ctx: ToolContext, kwargs: dict[str, Any], clean_args: dict[str, Any], node: str
    ) -> tuple[dict[str, Any], bool]:
        spec = TOOLS[name]
        key = ctx.idempotency_key
        assert key is not None
        try:
            with self.engine.begin() as conn:
                # Claim the key first: a second claimant blocks here, then fails on the primary key.
                conn.execute(
                    insert(effects).values(
                        idempotency_key=key,
                        tool=name,
                        thread_id=self.thread_id,
                        customer_id=self.customer_id,
                        args_json=_canonical(clean_args),
                        result_json="{}",
                        created_at=datetime.now(UTC),
                    )
                )
                result = spec.fn(conn, ctx, **kwargs)
                conn.execute(
                    update(effects)
                    .where(effects.c.idempotency_key == key)
                    .values(result_json=json.dumps(result, default=str))
                )
                write_audit(
                    conn,
                    action="tool_call",
                    outcome="ok",
                    thread_id=self.thread_id,
                    customer_id=self.customer_id,
                    node=node,
                    actor=self.actor,
                    tool=name,
                    args=clean_args,
                    detail=f"effect {key}",
                )
            return result, False
        except IntegrityError:
            with self.engine.connect() as conn:
                row = conn.execute(select(effects).where(effects.c.idempotency_key == key)).first()
            if row is None:
                raise
            self._audit(node, name, clean_args, "tool_replayed", "ok", f"effect {key} already done")
            return json.loads(row.result_json), True
