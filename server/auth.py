"""Who may call the server, and what each caller may do (``auth.path`` in langgraph.json).

One `langgraph_sdk.Auth` object, honoured by `langgraph dev` (langgraph-api) and by Aegra.

Authentication: a signed token (server/tokens.py) in ``Authorization: Bearer <token>`` or in
``X-Api-Key: <token>`` (what agent-chat-ui and the SDKs' ``api_key`` send). No token, a bad
signature, an unknown key or an expired token: 401 with the reason. Health checks stay open.

Identity: a request acts for one customer. A customer token acts for its own customer. An
operator token acts for the customer named in ``X-Switchboard-Customer`` (without it, for the
operator's own threads). The user's ``identity`` is therefore the owner of the threads it may
reach: ``customer:C0007``. Aegra scopes every thread and run by that identity itself; for
`langgraph dev` the handlers below stamp threads with ``metadata.owner`` and filter on it. The
graph receives the user as ``config["configurable"]["langgraph_auth_user"]`` with ``customer_id``,
``actor`` (who really called: ``customer:C0007`` or ``operator:ann``) and ``role``.

Authorisation (customers are untrusted; operators are staff):
- threads are stamped with their owner; reads, searches, streams and runs see only the owner's;
- a customer may not resume an interrupt (decide an approval) with a command: 403, audited;
- a run's context may not change a setting nor name another customer: 403, audited. A caller
  may put only ``customer_id`` in it (its own); the server sets ``customer_id`` from the token.
  Settings come from the server's configuration, for operators too;
- customers may not fork from a checkpoint, set breakpoints, edit thread state or metadata,
  delete threads, use the Store or crons, or change assistants; they may cancel their own runs;
- customers may not stream events, debug or tasks: those modes carry node inputs and raw model
  output, unchecked drafts too (values, updates, checkpoints, messages(-tuple), custom are open).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from langgraph_sdk import Auth

from core.settings import get_settings
from server.tokens import OPERATOR_ROLES, Principal, TokenError, verification_keys, verify

log = logging.getLogger(__name__)
auth = Auth()

ACT_FOR_HEADER = "x-switchboard-customer"
OWNER_KEY = "owner"  # thread metadata key; Aegra also writes it (= the identity) on every thread
CUSTOMER_CONTEXT_KEYS = frozenset({"customer_id"})  # what a caller may put in a run's context
# config.configurable keys a client may send (Aegra turns a configurable into the context when the
# context is empty, so anything else there is a setting in disguise); checkpoints: operators only
CUSTOMER_CONFIGURABLE_KEYS = frozenset({"thread_id"})
OPERATOR_CONFIGURABLE_KEYS = frozenset({"thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map"})
# events, debug and tasks carry every node's input (the whole state, drafts the reply check has not
# passed included) or every model call's output: the graph cannot filter them. The others carry
# only the graph's output channels (its output schema), messages the graph emits, custom events.
CUSTOMER_STREAM_MODES = frozenset({"values", "updates", "checkpoints", "messages", "messages-tuple", "custom"})
_CUSTOMER_ID = re.compile(r"^C\d{4,}$")

MISSING_TOKEN = (
    "missing token: send 'Authorization: Bearer <token>' or 'X-Api-Key: <token>' "
    "(an operator prints one with `switchboard admin token`)"
)


@functools.lru_cache(maxsize=1)
def _keys() -> dict[str, str]:
    return verification_keys(get_settings())


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _bearer(headers: Mapping[Any, Any]) -> str:
    normal = {_text(k).lower(): _text(v).strip() for k, v in headers.items()}
    scheme, _, token = normal.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return normal.get("x-api-key", "")


def user_for(principal: Principal, act_for: str = "") -> dict[str, Any]:
    """The user dict the server keeps for a verified principal (and the customer it acts for)."""
    act_for = act_for.strip()
    if principal.is_operator:
        if act_for and not _CUSTOMER_ID.match(act_for):
            raise Auth.exceptions.HTTPException(401, f"bad {ACT_FOR_HEADER} header {act_for!r}: expected e.g. C0007")
        customer_id = act_for
    else:
        if act_for and act_for != principal.customer_id:
            raise Auth.exceptions.HTTPException(401, "a customer token cannot act for another customer")
        customer_id = principal.customer_id
    identity = f"customer:{customer_id}" if customer_id else principal.subject
    permissions = ["threads:own"] + (["approvals:decide"] if principal.is_operator else [])
    return {
        "identity": identity,
        "display_name": principal.subject if identity == principal.subject else f"{principal.subject} for {identity}",
        "is_authenticated": True,
        "permissions": permissions,
        "role": principal.role,
        "customer_id": customer_id,
        "actor": principal.via or principal.subject,  # a service acting for a customer is audited as itself
        "token_expires_at": principal.expires_at,
    }


@auth.authenticate
async def authenticate(headers: dict[Any, Any]) -> Auth.types.MinimalUserDict:
    """Aegra passes a dict of str; langgraph-api passes bytes keys and values."""
    token = _bearer(headers)
    if not token:
        raise Auth.exceptions.HTTPException(401, MISSING_TOKEN)
    try:
        principal = verify(token, _keys())
    except (TokenError, ValueError) as exc:  # ValueError: the server's own key setting is unusable
        raise Auth.exceptions.HTTPException(401, str(exc)) from None
    act_for = next((_text(v) for k, v in headers.items() if _text(k).lower() == ACT_FOR_HEADER), "")
    return user_for(principal, act_for)  # type: ignore[return-value]


# ---- who is calling, as both servers hand it to the handlers ----------------------------------


@dataclass(frozen=True)
class Caller:
    identity: str
    role: str  # customer | operator | supervisor | studio
    customer_id: str
    actor: str

    @property
    def is_operator(self) -> bool:
        return self.role in (*OPERATOR_ROLES, "studio")


def _field(user: Any, name: str, default: Any = None) -> Any:
    """Read a user field: Aegra's `User` model and langgraph-api's `ProxyUser` both expose extras as attributes."""
    try:
        return getattr(user, name)
    except (AttributeError, KeyError):
        return default


def caller(ctx: Auth.types.AuthContext) -> Caller:
    user = ctx.user
    if isinstance(user, Auth.types.StudioUser):  # only `langgraph dev` lets LangGraph Studio in
        return Caller(identity=user.identity, role="studio", customer_id="", actor="studio")
    role = str(_field(user, "role", "") or "")
    if role not in ("customer", *OPERATOR_ROLES):
        raise Auth.exceptions.HTTPException(403, "unknown caller")
    return Caller(
        identity=str(user.identity),
        role=role,
        customer_id=str(_field(user, "customer_id", "") or ""),
        actor=str(_field(user, "actor", "") or user.identity),
    )


def _own(who: Caller) -> dict[str, str] | None:
    """The metadata filter that limits a request to the threads of the customer it acts for."""
    return None if who.role == "studio" else {OWNER_KEY: who.identity}


def _forbid(message: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(403, message)


async def _audit(
    who: Caller,
    action: str,
    detail: str,
    *,
    thread_id: Any = None,
    args: dict[str, Any] | None = None,
) -> None:
    """Write a refusal to the store's audit log (the same table the tool gateway writes)."""
    from store.db import make_engine
    from tools.audit import write_audit

    def write() -> None:
        write_audit(
            make_engine(get_settings().resolved_database_url()),
            action=action,
            outcome="refused",
            thread_id=str(thread_id) if thread_id else None,
            customer_id=who.customer_id or None,
            node="server.auth",
            actor=who.actor,
            args=args,
            detail=detail,
        )

    try:
        await asyncio.to_thread(write)
    except Exception:  # the refusal stands even if the audit row cannot be written
        log.exception("could not audit %s by %s", action, who.actor)


async def _refuse(
    who: Caller,
    action: str,
    detail: str,
    *,
    thread_id: Any = None,
    args: dict[str, Any] | None = None,
) -> Auth.exceptions.HTTPException:
    await _audit(who, action, detail, thread_id=thread_id, args=args)
    return _forbid(detail)


def _metadata(value: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The request's metadata dict, in place (langgraph-api reads the same object after the handler)."""
    meta = value.get("metadata")
    if not isinstance(meta, MutableMapping):
        meta = {}
        value["metadata"] = meta
    return meta


def _stamp_owner(value: MutableMapping[str, Any], who: Caller) -> None:
    meta = _metadata(value)
    meta[OWNER_KEY] = who.identity
    if who.customer_id:
        meta["customer_id"] = who.customer_id
    else:
        meta.pop("customer_id", None)


# ---- threads -----------------------------------------------------------------------------------


@auth.on.threads.create
async def on_thread_create(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    who = caller(ctx)
    _stamp_owner(value, who)
    # langgraph-api: an existing thread (if_exists="do_nothing") must match, or it would be handed
    # to whoever names its id; Aegra ignores this filter (no "metadata" key) and scopes by identity
    return _own(who)


@auth.on.threads.read
async def on_thread_read(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    return _own(caller(ctx))


@auth.on.threads.search
async def on_thread_search(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    return _own(caller(ctx))


def _is_cancel(value: Mapping[str, Any]) -> bool:
    """A run cancellation: langgraph-api sends `action`; Aegra the run id(s) from the path or body."""
    return bool(value.get("action") or value.get("run_id") or value.get("run_ids"))


@auth.on.threads.update
async def on_thread_update(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    who = caller(ctx)
    if not who.is_operator and not _is_cancel(value):
        raise await _refuse(
            who,
            "thread_update_refused",
            "customers may not change a thread's state or metadata",
            thread_id=value.get("thread_id"),
        )
    if isinstance(value.get("metadata"), MutableMapping) and who.role != "studio":
        _stamp_owner(value, who)  # the owner cannot be patched away
    return _own(who)


@auth.on.threads.delete
async def on_thread_delete(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    who = caller(ctx)
    if not who.is_operator:
        raise _forbid("customers may not delete threads or runs")
    return _own(who)


@dataclass
class RunRequest:
    """A run request as either server hands it to `threads.create_run`, normalised for checking."""

    server: str  # "langgraph-api" | "aegra" | "aegra-v2"
    context: dict[str, Any]
    configurable: dict[str, Any]
    command: Any
    checkpoint: Any
    breakpoints: Any
    stream_modes: frozenset[str] = frozenset()


def _modes(value: Any) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset([value] if isinstance(value, str) else (str(v) for v in value))


def read_run_request(value: Mapping[str, Any]) -> RunRequest:
    if isinstance(value.get("kwargs"), Mapping):  # langgraph-api: Auth.types.RunsCreate
        kwargs = value["kwargs"]
        config = kwargs.get("config") or {}
        configurable = dict(config.get("configurable") or {})
        # langgraph-api already copied the client's configurable into the context (or the context
        # into the configurable, plus its own keys), so the context says what the client asked for.
        return RunRequest(
            "langgraph-api",
            dict(kwargs.get("context") or {}),
            {},
            kwargs.get("command"),
            configurable.get("checkpoint_id"),
            kwargs.get("interrupt_before") or kwargs.get("interrupt_after"),
            _modes(kwargs.get("stream_mode")),
        )
    if "method" in value and isinstance(value.get("params"), Mapping):  # Aegra: POST /threads/{id}/commands
        params = value["params"]
        config = params.get("config") or {}
        return RunRequest(
            "aegra-v2",
            dict(params.get("context") or {}),
            dict(config.get("configurable") or {}),
            value["method"] if value["method"] != "run.start" else None,
            (config.get("configurable") or {}).get("checkpoint_id"),
            params.get("interrupt_before") or params.get("interrupt_after"),
        )
    config = value.get("config") or {}  # Aegra: RunCreate.model_dump()
    return RunRequest(
        "aegra",
        dict(value.get("context") or {}),
        dict(config.get("configurable") or {}),
        value.get("command"),
        value.get("checkpoint") or value.get("checkpoint_id"),
        value.get("interrupt_before") or value.get("interrupt_after"),
        _modes(value.get("stream_mode")),
    )


def context_problems(run: RunRequest, who: Caller) -> list[str]:
    """What in a run's context or configurable this caller may not set ([] when nothing)."""
    allowed = OPERATOR_CONFIGURABLE_KEYS if who.is_operator else CUSTOMER_CONFIGURABLE_KEYS
    problems = [k for k in run.context if k not in CUSTOMER_CONTEXT_KEYS and k not in allowed]
    problems += [f"configurable.{k}" for k in run.configurable if k not in allowed]
    named = run.context.get("customer_id") or run.configurable.get("customer_id")
    if named and named != who.customer_id and who.role != "studio":
        problems.append(f"customer_id={named!r} (this token acts for {who.customer_id or 'no customer'})")
    return sorted(set(problems))


@auth.on.threads.create_run
async def on_create_run(ctx: Auth.types.AuthContext, value: Any) -> dict[str, str] | None:
    who = caller(ctx)
    run = read_run_request(value)
    thread_id = value.get("thread_id")
    if run.command is not None and not who.is_operator:
        raise await _refuse(
            who,
            "decision_refused",
            "only an operator can resume a waiting approval; send a message instead",
            thread_id=thread_id,
            args={"command": run.command},
        )
    if run.server == "aegra-v2" and not who.is_operator:
        raise _forbid("customers use the runs endpoints (POST /threads/{id}/runs/stream), not protocol commands")
    if not who.is_operator and (run.checkpoint or run.breakpoints):
        raise _forbid("customers may not fork from a checkpoint or set breakpoints")
    if not who.is_operator and (hidden := run.stream_modes - CUSTOMER_STREAM_MODES):
        raise _forbid(
            f"customers may not stream {', '.join(sorted(hidden))}: use " + ", ".join(sorted(CUSTOMER_STREAM_MODES))
        )
    if who.role != "studio" and (problems := context_problems(run, who)):
        raise await _refuse(
            who,
            "context_refused",
            "a run's context may not set "
            + ", ".join(problems)
            + ": settings come from the server, the customer from the token",
            thread_id=thread_id,
            args={"context": run.context, "configurable": run.configurable},
        )
    if who.role == "studio":
        return None
    if run.server == "langgraph-api":
        kwargs = value["kwargs"]
        context = kwargs.get("context")
        if not isinstance(context, MutableMapping):
            context = kwargs["context"] = {}
        context["customer_id"] = who.customer_id  # in place: read after the handler returns
        _stamp_owner(value, who)  # a thread this run creates belongs to the caller's customer
        return _own(who)  # langgraph-api: a filter the existing thread must match
    # Aegra merges the returned dict (or, when None, `value`) over the request's config and context
    value["context"] = {**(value.get("context") or {}), "customer_id": who.customer_id}
    return None  # Aegra scopes the thread by identity itself


# ---- everything else ---------------------------------------------------------------------------


@auth.on.assistants
async def on_assistants(ctx: Auth.types.AuthContext, value: Any) -> None:
    if ctx.action not in ("read", "search") and not caller(ctx).is_operator:
        raise _forbid("customers may only read assistants")


@auth.on.crons
async def on_crons(ctx: Auth.types.AuthContext, value: Any) -> None:
    if not caller(ctx).is_operator:
        raise _forbid("customers may not schedule runs")


@auth.on.store
async def on_store(ctx: Auth.types.AuthContext, value: Any) -> None:
    if not caller(ctx).is_operator:
        raise _forbid("customers may not use the Store API")


@auth.on
async def on_anything_else(ctx: Auth.types.AuthContext, value: Any) -> None:
    """Fail closed for customers on any resource or action added later."""
    if not caller(ctx).is_operator:
        raise _forbid(f"customers may not {ctx.action} {ctx.resource}")
