"""Output guardrails: the last look at a reply before it reaches the customer.

`screen_reply` returns the reply to send: the draft itself when it is clean,
or a safe replacement when it would leak what it must not:

- another customer's data: email addresses, phone numbers, full names and
  customer ids of other customers, and order numbers that are neither the
  customer's own nor part of this turn's tool calls and evidence;
- the workflow's insides: prompt text from `nodes/prompts.py`, tool names and
  tool-call syntax from `tools/registry.py`;
- secrets: connection strings, API keys, tokens, private keys.

The replacement is built from this turn's facts (each fact screened the same
way) or, when none is clean, a generic reply. Every replacement is audited.
`nodes/guards/facts.py` checks a model's draft against the evidence; this screen
runs on every reply that goes out, written by a model or by the workflow.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable

from langgraph.config import get_config

from core.context import Context
from core.state import SupportState
from nodes import prompts
from store.lookups import Identifiers as Known
from store.lookups import identifiers
from tools.audit import write_audit
from tools.registry import TOOLS

log = logging.getLogger(__name__)

STORE_EMAIL_DOMAIN = "northwind.example"
GENERIC_REPLY = (
    "Thank you for your message. I can help with orders, deliveries, returns and refunds, billing and your "
    "account; a member of our team will look into anything I could not answer here."
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I)
PHONE = re.compile(r"(?<![\w-])(?:\+?\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?![\w-])")
TOLL_FREE = re.compile(r"^1?(800|833|844|855|866|877|888)\d{7}$")
NUMBER = re.compile(r"(?<![\w$.,-])#?(\d{4,10})(?![\w]|[.,]\d)")
ORDER_REF = re.compile(r"\b(?:order|purchase|invoice|inv)\s*(?:number|no\.?|id)?\s*[#:-]?\s*(\d{4,12})\b", re.I)
CUSTOMER_ID = re.compile(r"\bC\d{4,}\b")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b")
WORDS = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
SECRETS = {
    "connection string": re.compile(
        r"\b(postgres(?:ql)?|mysql|mariadb|sqlite|redis|rediss|mongodb(?:\+srv)?|amqps?|mssql|oracle)(\+\w+)?:/{2,3}\S",
        re.I,
    ),
    "api key": re.compile(
        r"\bsk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_-]{12,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{20,}|"
        r"\bxox[abprs]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{30,}|\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|"
        r"\bhf_[A-Za-z0-9]{20,}|\blsv2_[a-z]{2}_[A-Za-z0-9_]{20,}"
    ),
    "token": re.compile(
        r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|\bBearer\s+[A-Za-z0-9._~+/-]{16,}", re.I
    ),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "credential": re.compile(
        r"\b(api[_ -]?key|secret(?:[_ -]key)?|access[_ -]?token|auth[_ -]?token|password|passwd|pwd|client[_ -]secret)"
        r"\s*[:=]\s*['\"]?[^\s'\"]{6,}",
        re.I,
    ),
    "environment variable": re.compile(r"\b(OPENAI_API_KEY|SWITCHBOARD_[A-Z_]+|DATABASE_URL|LANGSMITH_API_KEY)\b"),
}
TOOL_SYNTAX = re.compile(
    r"\"(tool|tool_name|tool_calls|function|function_call|arguments|args|steps)\"\s*:|<\s*/?\s*(tool|function)_?(call|use|result)s?\b|"
    r"\b(ToolGateway|ToolSpec|ToolContext|PERMISSIONS|args_model|changes_world|idempotency[_ ]key|context_schema)\b",
    re.I,
)
TOOL_NAMES = re.compile(r"\b(" + "|".join(sorted(map(re.escape, TOOLS), key=len, reverse=True)) + r")\b", re.I)
PROMPT_MARKERS = re.compile(
    r"\bFACTS:|The customer wrote:|Known details:|Customer message:|\{(request|facts|problems|intents|"
    r"department|tools|intent|entities)\}"
)
SHINGLE = 6


def _shingles(text: str, n: int = SHINGLE) -> set[tuple[str, ...]]:
    words = [w.lower() for w in WORDS.findall(text)]
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _prompt_texts() -> list[str]:
    return [value for name, value in vars(prompts).items() if name.isupper() and isinstance(value, str)]


PROMPT_SHINGLES = frozenset(
    s for text in _prompt_texts() for part in re.split(r"\{\w+\}", text) for s in _shingles(part)
)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _name_candidates(text: str) -> set[str]:
    """Runs of two or three capitalised words ("Maya Patel"): how a name is written in a reply."""
    candidates = set()
    for run in re.findall(r"[A-Z][\w'’-]*(?:[ \t]+[A-Z][\w'’-]*)+", text):
        words = run.lower().split()
        candidates |= {" ".join(words[i : i + n]) for n in (2, 3) for i in range(len(words) - n + 1)}
    return candidates


def _order_candidates(text: str) -> set[int]:
    text = ISO_DATE.sub(" ", text)  # 2026-11-03 holds no order number
    found = {int(n) for n in NUMBER.findall(text)} | {int(n) for n in ORDER_REF.findall(text)}
    return {n for n in found if 0 < n < 2**31}


def _lookup(ctx: Context, texts: Iterable[str]) -> Known:
    text = "\n".join(texts)
    try:
        known = identifiers(
            ctx.resources.engine,
            ctx.customer_id,
            names=sorted(_name_candidates(text))[:400],
            emails=sorted({e.lower() for e in EMAIL.findall(text)})[:50],
            order_ids=sorted(_order_candidates(text))[:200],
        )
    except Exception as exc:  # the store is down: check what can be checked without it
        log.warning("output guard could not read the store (%s); screening without it", type(exc).__name__)
        return Known()
    known.own_phone = _digits(known.own_phone)
    return known


def _allowed_text(state: SupportState) -> str:
    """Text this turn may repeat: its tool calls (arguments and errors), evidence, facts and question."""
    parts = [
        json.dumps([{"args": c.get("args"), "error": c.get("error")} for c in state.get("tool_calls", [])], default=str)
    ]
    parts += list(state.get("evidence", [])) + list(state.get("facts", []))
    parts += [
        str(state.get("question") or ""),
        json.dumps(dict(state.get("pending_action") or {}).get("args", {}), default=str),
    ]
    return "\n".join(parts)


def problems_in(reply: str, state: SupportState, ctx: Context, known: Known | None = None) -> list[str]:
    """Why `reply` must not go out; empty when it may. Names kinds of problems, never the leaked text."""
    allowed = _allowed_text(state)
    known = known or _lookup(ctx, [reply])
    problems: list[str] = []
    for kind, pattern in SECRETS.items():
        if pattern.search(reply):
            problems.append(f"a {kind}")
    for secret in (ctx.settings.openai_api_key, ctx.settings.resolved_database_url()):
        if secret and len(secret) >= 8 and secret in reply:
            problems.append("a configured secret")
    if PROMPT_MARKERS.search(reply) or (_shingles(reply) & PROMPT_SHINGLES) - _shingles(allowed):
        problems.append("internal prompt text")
    if TOOL_SYNTAX.search(reply) or any(m.lower() not in allowed.lower() for m in TOOL_NAMES.findall(reply)):
        problems.append("tool names or definitions")
    allowed_lower = allowed.lower()
    for email in EMAIL.findall(reply):
        email = email.lower().rstrip(".")
        own = email == known.own_email or email.endswith("@" + STORE_EMAIL_DOMAIN)
        if email in known.other_emails or not (own or email in allowed_lower):
            problems.append("an email address that is not the customer's")
            break
    allowed_digits = {_digits(m) for m in PHONE.findall(allowed)}
    for phone in PHONE.findall(reply):
        digits = _digits(phone)
        own = bool(known.own_phone) and digits[-10:] == known.own_phone[-10:]
        if not (own or TOLL_FREE.match(digits) or digits in allowed_digits):
            problems.append("a phone number that is not the customer's")
            break
    if any(cid != ctx.customer_id and cid not in allowed for cid in CUSTOMER_ID.findall(reply)):
        problems.append("another customer's id")
    if known.other_names - {n for n in known.other_names if n in allowed_lower}:
        problems.append("another customer's name")
    allowed_ids = {int(n) for n in re.findall(r"\d{1,12}", allowed)}
    referenced = {int(n) for n in ORDER_REF.findall(reply)}
    for order_id in _order_candidates(reply):
        if order_id in allowed_ids:
            continue
        owner = known.order_owner.get(order_id)
        if owner is not None and owner != ctx.customer_id:
            problems.append("another customer's order number")
            break
        if owner is None and order_id in referenced:
            # An order number that is nobody's in the store, or the store could not say: nothing backs it.
            problems.append("an order number this turn did not look up")
            break
    return problems


def safe_reply(state: SupportState, ctx: Context, known: Known) -> str:
    """A reply from this turn's facts, keeping only the facts that pass the same screen."""
    facts = [f for f in state.get("facts", []) if f and not problems_in(f, state, ctx, known)]
    question = state.get("question")
    if question and not problems_in(str(question), state, ctx, known):
        facts.append(str(question))
    return " ".join(facts) if facts else GENERIC_REPLY


def _thread_id() -> str | None:
    """The running thread, when called inside a graph run (finalize); None elsewhere."""
    try:
        return (get_config().get("configurable") or {}).get("thread_id")
    except RuntimeError:
        return None


def screen_reply(reply: str, state: SupportState, ctx: Context) -> str:
    problems = problems_in(reply, state, ctx, _lookup(ctx, [reply]))
    if not problems:
        return reply
    replacement = safe_reply(state, ctx, _lookup(ctx, [*state.get("facts", []), str(state.get("question") or "")]))
    try:
        write_audit(
            ctx.resources.engine,
            action="reply_blocked",
            outcome="blocked",
            thread_id=_thread_id(),
            customer_id=ctx.customer_id,
            node="finalize",
            detail="reply replaced: it contained " + ", ".join(sorted(set(problems))),
        )
    except Exception as exc:  # the reply is already safe; a lost audit row must not lose the reply
        log.warning("could not audit a blocked reply: %s", type(exc).__name__)
    return replacement
