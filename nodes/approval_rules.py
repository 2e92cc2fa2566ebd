"""The approval lifecycle as code: how many people must approve, who may decide, by when, and
what happens to an approval nobody decided in time. Numbers come from the settings.

Kept apart from `nodes.policy` (which says *whether* an action waits for a person) so the two
change independently: this module says *how* a waiting action is reviewed.

- Four-eyes: a refund above ``refund_four_eyes_threshold_usd`` needs two different operators;
  whoever edited the amount counts as its first approver, so cannot be the second.
- Roles, from the authenticated identity (`core.identity`): operators and supervisors decide;
  an approval that went overdue waits in the supervisors' queue, where only supervisors decide;
  customers, services and unnamed callers never decide. The deadline sweep may only escalate
  or expire an approval that is past its deadline.
- Deadlines by kind (``approval_deadlines``) and what a sweep does past one (``approval_overdue``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from core.identity import OPERATOR_ROLES, Identity
from core.settings import Settings

HUMAN_DECISIONS = ("approve", "edit", "reject", "respond")
SWEEP_DECISIONS = ("escalate", "expire")  # what the deadline sweep sends, never a person
SUPERVISORS_LEVEL = 2
OverdueAction = Literal["escalate", "reject"]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$", re.I)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``2d``."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (e.g. 30m, 24h, 2d)")
    return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2).lower()])


def _per_kind(table: str, kind: str) -> str | None:
    """The value for ``kind`` in ``"issue_refund=24h,*=48h"`` (or the ``*`` value)."""
    entries = dict(part.split("=", 1) for part in (p.strip() for p in table.split(",")) if "=" in part)
    entries = {k.strip(): v.strip() for k, v in entries.items()}
    return entries.get(kind, entries.get("*"))


def deadline_for(kind: str, settings: Settings, level: int = 1) -> timedelta:
    """How long an approval of this kind may wait at this level."""
    if level >= SUPERVISORS_LEVEL:
        return parse_duration(settings.approval_escalated_deadline)
    return parse_duration(_per_kind(settings.approval_deadlines, kind) or "24h")


def overdue_action(kind: str, level: int, settings: Settings) -> OverdueAction:
    """Escalate to the supervisors' queue, or reject; an approval already escalated is rejected."""
    if level >= SUPERVISORS_LEVEL:
        return "reject"
    action = _per_kind(settings.approval_overdue, kind) or "reject"
    return "escalate" if action == "escalate" else "reject"


def overdue_decision(kind: str, level: int, settings: Settings) -> dict[str, Any]:
    """What the deadline sweep resumes an overdue approval with (the gate checks it is overdue)."""
    if overdue_action(kind, level, settings) == "escalate":
        return {"type": "escalate"}
    return {"type": "expire", "message": "it was not decided by its deadline"}


def _amount(args: dict[str, Any]) -> Decimal | None:
    try:
        amount = Decimal(str(args.get("amount_usd")))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def approvals_needed(tool: str, args: dict[str, Any], settings: Settings) -> int:
    """Four-eyes: how many different operators must approve this action (1 or 2)."""
    if tool == "issue_refund":
        amount = _amount(args)
        if amount is None or amount > Decimal(str(settings.refund_four_eyes_threshold_usd)):
            return 2  # an amount nobody can read is treated as a large one
    return 1


def plan_approvals_needed(steps: list[dict[str, Any]], settings: Settings) -> int:
    """A plan needs as many approvals as its most demanding step."""
    return max((approvals_needed(s["tool"], s["args"], settings) for s in steps), default=1)


def decision_refused(
    decision: str,
    who: Identity,
    *,
    level: int,
    approved_by: list[str],
    deadline: datetime,
    now: datetime,
) -> str | None:
    """Why ``who`` may not take ``decision`` on this approval now, or None when they may."""
    if decision in SWEEP_DECISIONS:
        if who.role not in (*OPERATOR_ROLES, "service"):
            return f"{who.actor or 'this caller'} may not {decision} an approval"
        if now < deadline:
            return f"the approval is not overdue (its deadline is {deadline.isoformat()})"
        return None
    if not who.is_operator or who.role not in OPERATOR_ROLES:
        caller = who.actor or "an unknown caller"
        return f"only an operator or a supervisor may decide an approval ({caller} has the role {who.role or 'none'})"
    if level >= SUPERVISORS_LEVEL and who.role != "supervisor":
        return (
            "this approval went past its deadline and waits in the supervisors' queue: only a supervisor may decide it"
        )
    if decision == "approve" and who.actor in approved_by:
        return (
            f"{who.actor} has already approved this (or edited it); "
            "four-eyes review needs a second, different operator to approve"
        )
    return None
