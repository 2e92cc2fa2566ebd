"""Outreach on the server: ``POST /outreach`` starts one, ``GET /outreach/{id}`` reads it,
``POST /outreach/{id}/decision`` decides it. JSON in and out, for tools and scripts.

Operators only, by their token (``Authorization: Bearer``) or their console session (then the
``X-CSRF-Token`` header must carry the session's CSRF token). The outreach graph runs in the
server's process on the deployment's checkpointer and store, exactly as `switchboard outreach`
runs it on the CLI's, and the same rules hold: the audience is chosen from the store, more than
the threshold waits for a person, and who decides comes from the credential, never from the body.
A customer's credential is refused (403), audited like every refusal of the pages (`web_refused`).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.context import Context
from core.settings import get_settings
from switchboard.app import UserError
from switchboard.outreach import decide_outreach, open_outreach_graph, outcome, start_outreach
from web.serverside import off_loop
from web.session import Session, WebError, require_session

_OUTREACH_ID = re.compile(r"^o-[A-Za-z0-9_-]{1,60}$")
CSRF_HEADER = "x-csrf-token"


class OutreachRequest(BaseModel):
    """Who to write to (criteria combine) and, optionally, the text ({name}: each first name)."""

    model_config = ConfigDict(extra="forbid")
    incident_id: int | None = Field(default=None, ge=1)
    order_statuses: list[str] = Field(default_factory=list, max_length=10)
    customer_ids: list[str] = Field(default_factory=list, max_length=5000)
    limit: int | None = Field(default=None, ge=1, le=100_000)
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=20_000)


class OutreachDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(pattern=r"^(approve|edit|reject)$")
    args: dict[str, Any] | None = None  # an edit: the new subject and/or body
    message: str | None = Field(default=None, max_length=1000)


async def _operator(request: Request) -> Session:
    session = require_session(request)
    if not session.principal.is_operator:  # audited as every 403 of the pages is (web/app.py)
        raise WebError(403, "Operators only", "Only support staff may start or decide an outreach.")
    session.check_csrf(request.headers.get(CSRF_HEADER))
    return session


async def _json_body(request: Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        raise WebError(400, "Not a valid request", problems) from None


def _checked_id(request: Request) -> str:
    outreach_id = request.path_params["outreach_id"]
    if not _OUTREACH_ID.match(outreach_id):
        raise WebError(404, "Outreach not found", "That is not an outreach id (o-...).")
    return outreach_id


def _run(work: Any, *args: Any) -> dict[str, Any]:
    with open_outreach_graph(get_settings()) as graph:
        try:
            return dict(work(graph, *args))
        except UserError as exc:
            raise WebError(404 if "unknown" in str(exc) else 409, "Cannot do that", str(exc)) from None


async def start(request: Request) -> Response:
    session = await _operator(request)
    asked: OutreachRequest = await _json_body(request, OutreachRequest)
    ctx = Context(actor=session.principal.subject)
    result = await off_loop(_run, start_outreach, ctx, asked.model_dump())
    return JSONResponse(result, status_code=201)


async def read(request: Request) -> Response:
    await _operator(request)
    return JSONResponse(await off_loop(_run, outcome, _checked_id(request)))


async def decide(request: Request) -> Response:
    session = await _operator(request)
    outreach_id = _checked_id(request)
    decided: OutreachDecision = await _json_body(request, OutreachDecision)
    decision = decided.model_dump(exclude_none=True)
    ctx = Context(actor=session.principal.subject)
    return JSONResponse(await off_loop(_run, decide_outreach, ctx, outreach_id, decision))


ROUTES = [
    ("/outreach", start, ["POST"]),
    ("/outreach/{outreach_id}", read, ["GET"]),
    ("/outreach/{outreach_id}/decision", decide, ["POST"]),
]
