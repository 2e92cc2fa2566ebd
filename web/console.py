"""The operator console: inbox, approval detail and decisions, thread view and rollback, metrics.

Operators only (a customer credential gets 403). Every read of a thread and every change to it
goes through the server's API for the thread's customer (``X-Switchboard-Customer``); a
decision is claimed first (`serverside.claim`), so a double click or two operators at once
resume the thread once and the second is told who was first.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from langgraph_sdk.client import LangGraphClient
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from core.context import Context
from core.settings import get_settings
from core.state import NEW_TURN
from nodes.policy import approval_reason
from tools.registry import TOOLS
from web import serverside
from web.api import (
    ASSISTANT,
    act_for,
    action_requests,
    age,
    api_error,
    as_dict,
    checked_checkpoint_id,
    checked_customer_id,
    checked_thread_id,
    client_for,
    interrupts_of,
    messages_of,
    money,
    parse_time,
    status_of,
    tool_calls_over,
)
from web.charts import bar_chart
from web.forms import edit_fields, parse_edit
from web.pages import render, secure
from web.serverside import off_loop
from web.session import Session, WebError, read_form, require_operator

DEPARTMENTS = ("billing", "technical", "general", "escalation")
KINDS = sorted(name for name, spec in TOOLS.items() if spec.changes_world)
SORTS = {"urgent": "longest waiting first", "newest": "newest first"}
STALE_AFTER = timedelta(seconds=60)  # an index entry younger than this may belong to a run still on its way


def _ids(request: Request) -> tuple[str, str]:
    return (
        checked_customer_id(request.path_params["customer_id"]),
        checked_thread_id(request.path_params["thread_id"]),
    )


async def _state(client: LangGraphClient, thread_id: str) -> dict[str, Any]:
    try:
        return as_dict(await client.threads.get_state(thread_id))
    except httpx.HTTPStatusError as exc:
        raise api_error(exc) from None


async def _history(client: LangGraphClient, thread_id: str) -> list[dict[str, Any]]:
    try:
        return [as_dict(h) for h in await client.threads.get_history(thread_id, limit=500)]
    except httpx.HTTPStatusError as exc:
        raise api_error(exc) from None


# ---- inbox -------------------------------------------------------------------------------------


async def collect_inbox(
    request: Request, session: Session, *, kind: str = "", sort: str = "urgent"
) -> list[dict[str, Any]]:
    """Waiting approvals: the Store's index, each entry checked against its thread's state."""
    index = await serverside.waiting_index()
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    limit = asyncio.Semaphore(8)

    async def one(client: LangGraphClient, thread_id: str, entry: dict[str, Any]) -> None:
        customer_id = str(entry.get("customer_id") or "")
        try:
            checked_customer_id(customer_id)
            checked_thread_id(thread_id)
        except WebError:
            return
        since = parse_time(entry.get("since"))
        old = since is None or now - since > STALE_AFTER
        async with limit:
            try:
                state = as_dict(await client.threads.get_state(thread_id, headers=act_for(customer_id)))
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code == 404 and old:
                    await serverside.forget_waiting(thread_id)
                return
        pending = interrupts_of(state)
        if not pending:
            if old and not state.get("next"):  # finished without waiting: left by a crash or a rollback
                await serverside.forget_waiting(thread_id)
            return
        values = state.get("values") or {}
        reason = str((values.get("pending_action") or {}).get("reason") or "")
        if not reason:
            reason = str(((pending[0].get("value") or {}).get("description")) or "")
        for interrupt in pending:
            for req, _config in action_requests(interrupt):
                args = req.get("args") or {}
                if kind and req.get("name") != kind:
                    continue
                rows.append(
                    {
                        "key": f"{thread_id}:{interrupt.get('id')}",
                        "thread_id": thread_id,
                        "customer_id": customer_id,
                        "action": str(req.get("name", "")),
                        "order_id": args.get("order_id"),
                        "amount": money(args.get("amount_usd")),
                        "amount_value": float(args.get("amount_usd") or 0)
                        if _is_number(args.get("amount_usd"))
                        else 0.0,
                        "reason": reason or str(req.get("description", "")),
                        "description": str(req.get("description", "")),
                        "args": args,
                        "since": entry.get("since"),
                        "age": age(entry.get("since"), now),
                        "url": f"/console/approvals/{customer_id}/{thread_id}",
                    }
                )

    async with client_for(request, session) as client:
        await asyncio.gather(*(one(client, t, e) for t, e in index.items()))
    rows.sort(key=lambda r: str(r["since"] or ""), reverse=(sort == "newest"))
    return rows


def _changes_world(tool: Any) -> bool:
    spec = TOOLS.get(str(tool))
    return bool(spec and spec.changes_world)


def _is_number(value: Any) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def _filters(request: Request) -> tuple[str, str]:
    kind = request.query_params.get("kind", "")
    sort = request.query_params.get("sort", "urgent")
    return (kind if kind in KINDS else ""), (sort if sort in SORTS else "urgent")


async def inbox_page(request: Request) -> Response:
    session = require_operator(request)
    kind, sort = _filters(request)
    rows = await collect_inbox(request, session, kind=kind, sort=sort)
    return render(
        request,
        "console/inbox.html",
        session=session,
        rows=rows,
        kind=kind,
        sort=sort,
        kinds=KINDS,
        sorts=SORTS,
        rows_url="/console/inbox/rows?" + urlencode({"kind": kind, "sort": sort}),
    )


async def inbox_rows(request: Request) -> Response:
    """The inbox's table body, polled by console.js so new approvals appear without a reload."""
    session = require_operator(request)
    kind, sort = _filters(request)
    rows = await collect_inbox(request, session, kind=kind, sort=sort)
    return render(request, "console/_inbox_rows.html", session=session, rows=rows)


async def inbox_json(request: Request) -> Response:
    """The same list for tools (``Authorization: Bearer <operator token>``)."""
    session = require_operator(request)
    kind, sort = _filters(request)
    rows = await collect_inbox(request, session, kind=kind, sort=sort)
    return secure(JSONResponse([{k: v for k, v in r.items() if k != "amount_value"} for r in rows]))


# ---- approval detail and decisions -------------------------------------------------------------


def allowed_decisions(interrupt: dict[str, Any]) -> list[str]:
    """What every action of the interrupt allows; an edit only when it holds one action (a decision
    on a plan applies to all its steps, and one step's edited arguments fit no other)."""
    pairs = action_requests(interrupt)
    sets = [set(config.get("allowed_decisions") or []) for _req, config in pairs]
    common = set.intersection(*sets) if sets else set()
    if len(pairs) > 1:
        common.discard("edit")
    return [d for d in ("approve", "edit", "reject", "respond") if d in common]


def _approval_subject(thread_id: str, interrupt_id: str) -> str:
    return f"approval:{thread_id}:{interrupt_id}"


async def approval_page(request: Request) -> Response:
    session = require_operator(request)
    customer_id, thread_id = _ids(request)
    async with client_for(request, session, customer_id=customer_id) as client:
        state = await _state(client, thread_id)
    return await _approval_view(
        request, session, customer_id, thread_id, state, decided=request.query_params.get("decided", "")
    )


async def _approval_view(
    request: Request,
    session: Session,
    customer_id: str,
    thread_id: str,
    state: dict[str, Any],
    *,
    decided: str = "",
    edit_errors: list[Any] | None = None,
    status: int = 200,
) -> Response:
    values = state.get("values") or {}
    pending = interrupts_of(state)
    current = pending[0] if pending else None
    requests = []
    for req, config in action_requests(current) if current else []:
        spec = TOOLS.get(str(req.get("name")))
        args = req.get("args") or {}
        requests.append(
            {
                "name": req.get("name"),
                "description": req.get("description", ""),
                "args": args,
                "allowed": list(config.get("allowed_decisions") or []),
                "fields": edit_errors if edit_errors is not None else (edit_fields(spec, args) if spec else []),
                "tool_description": spec.description if spec else "",
            }
        )
    allowed = allowed_decisions(current) if current else []
    reason = str(
        (values.get("pending_action") or {}).get("reason")
        or ((current or {}).get("value") or {}).get("description")
        or (requests[0]["description"] if requests else "")
    )
    claims = await off_loop(serverside.claims_for, thread_id)
    approvals = [c for c in claims if c["subject"].startswith("approval:")]
    order_id = next((r["args"].get("order_id") for r in requests if isinstance(r["args"].get("order_id"), int)), None)
    order = await off_loop(serverside.order_facts, customer_id, thread_id, order_id) if order_id else []
    outcome = None
    if decided:
        mine = next((c for c in approvals if c["subject"] == _approval_subject(thread_id, decided)), None)
        outcome = {
            "claim": mine,
            "status": status_of(state),
            "reply": values.get("reply", ""),
            "tool_calls": [c for c in values.get("tool_calls") or [] if _changes_world(c.get("name"))],
            "recheck": [r for r in requests] if current and current.get("id") != decided else [],
            "graph_check": (values.get("decision") or {}).get("policy_check", ""),
        }
    return render(
        request,
        "console/approval.html",
        status=status,
        session=session,
        customer_id=customer_id,
        thread_id=thread_id,
        interrupt_id=(current or {}).get("id", ""),
        requests=requests,
        allowed=allowed,
        reason=reason,
        # what the workflow saw when it proposed, if the gate records it (nodes/approval.py)
        proposal_facts=list((values.get("pending_action") or {}).get("facts") or []),
        messages=messages_of(values),
        facts=values.get("facts") or [],
        order_id=order_id,
        order=order,
        tool_calls=values.get("tool_calls") or [],
        decision=values.get("decision"),
        approvals=approvals,
        outcome=outcome,
        thread_status=status_of(state),
    )


def _clock(at: Any) -> str:
    moment = parse_time(at)
    return f"{moment:%H:%M:%S} UTC" if moment else "a moment ago"


def _already_taken(
    customer_id: str, thread_id: str, interrupt_id: str, state: dict[str, Any], claims: list[dict[str, Any]]
) -> WebError:
    mine = next((c for c in claims if c.get("subject") == _approval_subject(thread_id, interrupt_id)), None)
    decided = (state.get("values") or {}).get("decision") or {}
    if mine:
        who = f"{mine['actor']} already chose “{mine['decision']}” at {_clock(mine.get('at'))}"
    elif decided:
        who = f"{decided.get('actor', 'someone')} already chose “{decided.get('type', '?')}”"
    else:
        who = "Nothing is waiting on this thread any more (it was decided elsewhere or rolled back)"
    return WebError(
        409,
        "Decision already taken",
        f"{who}. Your click changed nothing.",
        link=(f"/console/approvals/{customer_id}/{thread_id}?decided={interrupt_id}", "See the outcome"),
    )


async def decide(request: Request) -> Response:
    session = require_operator(request)
    customer_id, thread_id = _ids(request)
    form = await read_form(request)
    session.check_csrf(form.get("csrf"))
    kind = form.get("decision", "")
    interrupt_id = form.get("interrupt_id", "")
    actor = session.principal.subject
    async with client_for(request, session, customer_id=customer_id) as client:
        state = await _state(client, thread_id)
        pending = {str(i.get("id")): i for i in interrupts_of(state)}
        if interrupt_id not in pending:
            claims = await off_loop(serverside.claims_for, thread_id)
            raise _already_taken(customer_id, thread_id, interrupt_id, state, claims)
        req, _config = action_requests(pending[interrupt_id])[0]
        allowed = allowed_decisions(pending[interrupt_id])
        if kind not in allowed:
            raise WebError(400, "Not a decision this approval allows", f"Allowed here: {', '.join(allowed) or 'none'}.")
        payload: dict[str, Any] = {"type": kind, "actor": actor}
        note = ""
        if kind == "edit":
            spec = TOOLS.get(str(req.get("name")))
            if spec is None:
                raise WebError(400, "Cannot edit", f"No argument schema for {req.get('name')!r}.")
            args, fields = parse_edit(spec, form, req.get("args") or {})
            if args is None:
                return await _approval_view(
                    request, session, customer_id, thread_id, state, edit_errors=fields, status=422
                )
            payload["edited_action"] = {"name": req["name"], "args": args}
            payload["args"] = args
            reason = approval_reason(str(req["name"]), args, Context(customer_id=customer_id, settings=get_settings()))
            note = (
                f"Policy re-check of the edited arguments: {reason} — covered by this approval."
                if reason
                else "Policy re-check of the edited arguments: within policy."
            )
            note += " Edited: " + json.dumps(args, sort_keys=True)
        elif kind in ("reject", "respond"):
            message = " ".join(form.get("message", "").split())
            if not message:
                what = "a reason for the customer" if kind == "reject" else "the message to send instead"
                raise WebError(
                    400,
                    "Something to say is needed",
                    f"Write {what}.",
                    link=(f"/console/approvals/{customer_id}/{thread_id}", "Back"),
                )
            payload["message"] = message[:1000]
            note = message[:1000]
        subject = _approval_subject(thread_id, interrupt_id)
        winner = await off_loop(
            serverside.claim,
            subject,
            thread_id=thread_id,
            customer_id=customer_id,
            actor=actor,
            decision=kind,
            detail=note,
        )
        if winner is not None:
            raise _already_taken(customer_id, thread_id, interrupt_id, state, [winner])
        try:
            await client.runs.wait(
                thread_id,
                ASSISTANT,
                command={"resume": {interrupt_id: {"decisions": [payload]}}},
                multitask_strategy="reject",
            )
        except httpx.HTTPStatusError as exc:
            await off_loop(serverside.release, subject)
            if exc.response.status_code in (400, 409):  # not interrupted any more, or a run in flight
                raise WebError(
                    409,
                    "Decision already taken",
                    "Another decision on this thread is being carried out (or was just made elsewhere). Your click changed nothing.",
                    link=(f"/console/approvals/{customer_id}/{thread_id}", "Look again"),
                ) from None
            raise api_error(exc) from None
    return RedirectResponse(f"/console/approvals/{customer_id}/{thread_id}?decided={interrupt_id}", status_code=303)


# ---- threads: lookup, view, rollback -----------------------------------------------------------


async def find_threads(request: Request) -> Response:
    session = require_operator(request)
    customer_id = request.query_params.get("customer", "").strip().upper()
    threads: list[dict[str, Any]] = []
    if customer_id:
        checked_customer_id(customer_id)
        async with client_for(request, session, customer_id=customer_id) as client:
            try:
                found = await client.threads.search(limit=50, sort_by="updated_at", sort_order="desc")
            except httpx.HTTPStatusError as exc:
                raise api_error(exc) from None
        threads = [_thread_summary(as_dict(t)) for t in found]
    return render(request, "console/threads.html", session=session, customer_id=customer_id, threads=threads)


def _thread_summary(thread: dict[str, Any]) -> dict[str, Any]:
    first = next((m["text"] for m in messages_of(as_dict(thread.get("values"))) if m["role"] == "customer"), "")
    title = first or str(as_dict(thread.get("metadata")).get("name") or "") or "(no messages yet)"
    return {
        "thread_id": thread["thread_id"],
        "title": title[:120],
        "status": {"interrupted": "waiting for a person"}.get(str(thread.get("status")), str(thread.get("status"))),
        "updated_at": thread.get("updated_at"),
        "waiting": thread.get("status") == "interrupted",
    }


def _ancestry(history: list[dict[str, Any]], head: str) -> set[str]:
    parents = {
        h["checkpoint"]["checkpoint_id"]: ((h.get("parent_checkpoint") or {}).get("checkpoint_id")) for h in history
    }
    line: set[str] = set()
    node: str | None = head
    while node and node not in line:
        line.add(node)
        node = parents.get(node)
    return line


def timeline(history: list[dict[str, Any]], effects: list[dict[str, Any]], head: str) -> list[dict[str, Any]]:
    """Checkpoints oldest first, with the effects made in each step and what a rollback would undo."""
    on_branch = _ancestry(history, head)
    ordered = sorted(history, key=lambda h: str(h.get("created_at") or ""))
    rows = []
    for index, snap in enumerate(ordered):
        created = parse_time(snap.get("created_at"))
        upto = parse_time(ordered[index + 1].get("created_at")) if index + 1 < len(ordered) else None
        made = [
            e
            for e in effects
            if created is not None
            and parse_time(e["created_at"]) is not None
            and parse_time(e["created_at"]) > created  # type: ignore[operator]
            and (upto is None or parse_time(e["created_at"]) <= upto)  # type: ignore[operator]
        ]
        undo = [
            e
            for e in effects
            if e["compensated_at"] is None and (created is None or (parse_time(e["created_at"]) or created) > created)
        ]
        checkpoint_id = snap["checkpoint"]["checkpoint_id"]
        nxt = list(snap.get("next") or [])
        metadata = snap.get("metadata") or {}
        rows.append(
            {
                "checkpoint_id": checkpoint_id,
                "step": metadata.get("step"),
                "source": metadata.get("source"),
                "next": nxt,
                "created_at": snap.get("created_at"),
                "branch": (snap.get("values") or {}).get("branch", 0),
                "on_branch": checkpoint_id in on_branch,
                "head": checkpoint_id == head,
                "effects": [_effect_view(e) for e in made],
                "undo": len(undo),
                "can_roll_back": checkpoint_id in on_branch
                and checkpoint_id != head
                and bool(nxt)
                and nxt[0] != "__start__",
            }
        )
    return rows


def _effect_view(effect: dict[str, Any]) -> dict[str, Any]:
    args = json.loads(effect.get("args_json") or "{}")
    spec = TOOLS.get(effect["tool"])
    return {
        "tool": effect["tool"],
        "key": effect["idempotency_key"],
        "args": args,
        "amount": money(args.get("amount_usd")),
        "created_at": effect["created_at"],
        "compensated": effect["compensated_at"] is not None,
        "compensable": bool(spec and spec.compensate),
    }


async def thread_page(request: Request) -> Response:
    session = require_operator(request)
    customer_id, thread_id = _ids(request)
    async with client_for(request, session, customer_id=customer_id) as client:
        state = await _state(client, thread_id)
        history = await _history(client, thread_id)
    effects = await off_loop(serverside.effects_of, thread_id)
    audit = await off_loop(serverside.audit_rows, thread_id)
    head = str((state.get("checkpoint") or {}).get("checkpoint_id") or state.get("checkpoint_id") or "")
    values = state.get("values") or {}
    return render(
        request,
        "console/thread.html",
        session=session,
        customer_id=customer_id,
        thread_id=thread_id,
        thread_status=status_of(state),
        messages=messages_of(values),
        tool_calls=tool_calls_over(history),
        timeline=timeline(history, effects, head),
        effects=[_effect_view(e) for e in effects],
        audit=audit[-60:],
        rolled=request.query_params.get("rolled") == "1",
        last_rollback=next((a for a in reversed(audit) if a["action"] == "rollback"), None),
        waiting=bool(interrupts_of(state)),
    )


async def _rollback_target(
    client: LangGraphClient, thread_id: str, checkpoint_id: str
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    state = await _state(client, thread_id)
    history = await _history(client, thread_id)
    target = next((h for h in history if h["checkpoint"]["checkpoint_id"] == checkpoint_id), None)
    if target is None:
        raise WebError(404, "Checkpoint not found", f"Checkpoint {checkpoint_id} is not in this thread's history.")
    return state, target, history


async def rollback_confirm(request: Request) -> Response:
    session = require_operator(request)
    customer_id, thread_id = _ids(request)
    checkpoint_id = checked_checkpoint_id(request.query_params.get("to", ""))
    async with client_for(request, session, customer_id=customer_id) as client:
        state, target, _history_ = await _rollback_target(client, thread_id, checkpoint_id)
    after = parse_time(target.get("created_at"))
    effects = await off_loop(serverside.effects_of, thread_id)
    undo = [
        _effect_view(e)
        for e in reversed(effects)  # newest first: the order compensation runs in
        if e["compensated_at"] is None and (after is None or (parse_time(e["created_at"]) or after) > after)
    ]
    head = str((state.get("checkpoint") or {}).get("checkpoint_id") or "")
    return render(
        request,
        "console/rollback.html",
        session=session,
        customer_id=customer_id,
        thread_id=thread_id,
        target=target,
        target_next=list(target.get("next") or []),
        head=head,
        undo=undo,
        departments=DEPARTMENTS,
    )


async def rollback(request: Request) -> Response:
    session = require_operator(request)
    customer_id, thread_id = _ids(request)
    form = await read_form(request)
    session.check_csrf(form.get("csrf"))
    checkpoint_id = checked_checkpoint_id(form.get("to", ""))
    route = form.get("route", "")
    if route and route not in DEPARTMENTS:
        raise WebError(400, "Unknown department", f"Continue at one of: {', '.join(DEPARTMENTS)}.")
    actor = session.principal.subject
    back = (f"/console/threads/{customer_id}/{thread_id}", "Back to the thread")
    async with client_for(request, session, customer_id=customer_id) as client:
        state, target, _history_ = await _rollback_target(client, thread_id, checkpoint_id)
        head = str((state.get("checkpoint") or {}).get("checkpoint_id") or "")
        if head != form.get("head", ""):
            raise WebError(
                409, "The thread moved on", "It changed since you opened the rollback page: review it again.", link=back
            )
        subject = f"rollback:{thread_id}:{head}"
        winner = await off_loop(
            serverside.claim, subject, thread_id=thread_id, customer_id=customer_id, actor=actor, decision="rollback",
            detail=f"to {checkpoint_id}" + (f" route {route}" if route else ""),
        )  # fmt: skip
        if winner is not None:
            raise WebError(
                409,
                "Already rolled back",
                f"{winner['actor']} rolled this thread back at {_clock(winner.get('at'))}. Your click changed nothing.",
                link=back,
            )
        after = parse_time(target.get("created_at"))
        compensated = await off_loop(serverside.compensate, thread_id, after, actor=actor, checkpoint_id=checkpoint_id)
        await off_loop(
            serverside.audit,
            action="rollback",
            outcome="ok",
            thread_id=thread_id,
            customer_id=customer_id,
            node="rollback",
            actor=actor,
            args={"checkpoint_id": checkpoint_id, "route": route or None},
            detail=f"{len(compensated)} effect(s) compensated (console)",
        )
        values = state.get("values") or {}
        update: dict[str, Any] = {"branch": int(values.get("branch") or 0) + 1}
        nxt = list(target.get("next") or [])
        goto = route or (nxt[0] if nxt else "")
        if route:
            update.update(department=route, departments=[NEW_TURN, route], pending_action=None, decision=None)
        try:
            # the fork: a new head for the thread at the old checkpoint, through the server's API
            await client.threads.update_state(thread_id, update, as_node="coordinator", checkpoint_id=checkpoint_id)
            if goto and goto != "__start__":
                await client.runs.wait(thread_id, ASSISTANT, command={"goto": goto}, multitask_strategy="reject")
        except httpx.HTTPStatusError as exc:
            await off_loop(serverside.release, subject)  # compensation is idempotent: a retry only forks
            error = api_error(exc)
            raise WebError(
                error.status,
                "Effects reversed, but the thread was not forked",
                f"{len(compensated)} effect(s) were compensated (audited); the server refused the fork: {error.message}",
                link=back,
            ) from None
    return RedirectResponse(f"/console/threads/{customer_id}/{thread_id}?rolled=1", status_code=303)


# ---- metrics ---------------------------------------------------------------------------------------


async def metrics_page(request: Request) -> Response:
    session = require_operator(request)
    summary = await off_loop(serverside.metrics)
    nodes = summary["nodes"]
    charts = [
        bar_chart(
            "latency",
            "Latency per node (ms): p50 and p95",
            [(n["node"], [n["p50_ms"], n["p95_ms"]]) for n in nodes],
            series=["p50", "p95"],
            fmt=lambda v: f"{v:,.1f} ms",
        ),
        bar_chart(
            "errors", "Errors per node", [(n["node"], [n["runs"] - n["successes"]]) for n in nodes], series=["errors"]
        ),
        bar_chart("tokens", "Tokens per node", [(n["node"], [n["tokens"]]) for n in nodes], series=["tokens"]),
        bar_chart(
            "cost",
            "Cost per node (USD)",
            [(n["node"], [n["cost_usd"]]) for n in nodes],
            series=["cost"],
            fmt=lambda v: f"${v:,.4f}",
        ),
        bar_chart(
            "cache", "Reply-cache hits per node", [(n["node"], [n["cache_hits"]]) for n in nodes], series=["hits"]
        ),
    ]
    return render(request, "console/metrics.html", session=session, summary=summary, charts=charts, nodes=nodes)


ROUTES = [
    ("/console", inbox_page, ["GET"]),
    ("/console/inbox/rows", inbox_rows, ["GET"]),
    ("/console/inbox.json", inbox_json, ["GET"]),
    ("/console/approvals/{customer_id}/{thread_id}", approval_page, ["GET"]),
    ("/console/approvals/{customer_id}/{thread_id}", decide, ["POST"]),
    ("/console/threads", find_threads, ["GET"]),
    ("/console/threads/{customer_id}/{thread_id}", thread_page, ["GET"]),
    ("/console/threads/{customer_id}/{thread_id}/rollback", rollback_confirm, ["GET"]),
    ("/console/threads/{customer_id}/{thread_id}/rollback", rollback, ["POST"]),
    ("/console/metrics", metrics_page, ["GET"]),
]
