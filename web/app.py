"""The pages' application: ``"http": {"app": "./web/app.py:app"}`` in langgraph.json.

Both servers make this app the root and add their own routes, middleware and lifespan to it
(`langgraph dev`: langgraph_api/server.py; Aegra: aegra_api/main.py, which requires a FastAPI
instance, hence FastAPI rather than a bare Starlette). The routes here are plain Starlette
routes that authenticate for themselves (web/session.py); the API's routes keep the server's
authentication (server/auth.py). The only exception handler added is for `WebError`, so the
servers' JSON errors on their own routes are untouched.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from server.app import lifespan
from web import chat, console, outreach, serverside
from web.pages import render, safe_next
from web.session import (
    WebError,
    check_login_csrf,
    current_session,
    end_session,
    login_csrf,
    login_nonce,
    read_form,
    set_login_cookie,
    start_session,
)

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger(__name__)
Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(endpoint: Endpoint) -> Endpoint:
    """An unexpected error on a page is a clear 500 page (details in the server's log, not the page)."""

    @functools.wraps(endpoint)
    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except WebError:
            raise
        except Exception:
            log.exception("page %s failed", request.url.path)
            raise WebError(
                500, "Something went wrong", "This page could not be shown. The error is in the server's log."
            ) from None

    return run


async def login_page(request: Request) -> Response:
    nonce = login_nonce(request)
    response = render(
        request,
        "login.html",
        next=safe_next(request.query_params.get("next", "")),
        login_csrf=login_csrf(nonce),
        error=request.query_params.get("error", ""),
    )
    set_login_cookie(response, request, nonce)
    return response


async def login(request: Request) -> Response:
    form = await read_form(request)
    check_login_csrf(request, form.get("login_csrf"))
    token = "".join(form.get("token", "").split())  # a pasted token may carry line breaks
    if not token:
        raise WebError(400, "No token", "Paste the token `switchboard admin token` printed for you.", sign_in=True)
    target = safe_next(form.get("next", ""))
    response = RedirectResponse(target or "/", status_code=303)
    principal = start_session(response, request, token)
    if not target:
        response.headers["location"] = "/console" if principal.is_operator else "/chat"
    elif target.startswith("/console") and not principal.is_operator:
        response.headers["location"] = "/chat"
    return response


async def logout(request: Request) -> Response:
    form = await read_form(request)
    session = current_session(request)
    if session is not None:
        session.check_csrf(form.get("csrf"))
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response


async def _audited(request: Request, exc: WebError) -> None:
    """A 403 is a refusal (a role, a stale form, a decision already taken): written to the audit log,
    as the API's refusals are (server/auth.py). The database is not async: off the event loop."""
    try:
        session = current_session(request)
        actor = session.principal.subject if session else "unknown"
    except WebError:
        actor = "unknown"
    detail = f"{request.method} {request.url.path}: {exc.title}"
    try:
        await serverside.off_loop(
            serverside.audit, action="web_refused", outcome="refused", actor=actor, detail=detail[:500]
        )
    except Exception:  # the refusal stands even if its audit row cannot be written
        log.exception("could not audit a refused page request: %s", detail)


async def web_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebError)
    if exc.status == 403:
        await _audited(request, exc)
    if request.headers.get("x-stream") or request.url.path.startswith("/outreach"):  # read by scripts: JSON
        response: Response = JSONResponse({"error": exc.title, "message": exc.message}, status_code=exc.status)
    elif exc.status == 401 and exc.sign_in and request.method == "GET" and not exc.clear:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    else:
        response = render(request, "error.html", status=exc.status, error=exc, signed_in=not exc.clear)
    if exc.clear:
        end_session(response)
    return response


# Aegra makes this app the server and serves its API docs from it: keep FastAPI's /docs there. Under
# `langgraph dev` the server has its own /docs and /openapi.json, which these must not shadow.
_AEGRA = "aegra_api.main" in sys.modules
app = FastAPI(
    lifespan=lifespan,  # the people-in-the-loop schedule (sweep, webhooks) runs in the server process
    title="Switchboard",
    summary="Agent Protocol API, operator console (/console) and customer chat (/chat)",
    docs_url="/docs" if _AEGRA else None,
    redoc_url="/redoc" if _AEGRA else None,
    openapi_url="/openapi.json" if _AEGRA else None,
)
app.add_route("/login", guarded(login_page), methods=["GET"])
app.add_route("/login", guarded(login), methods=["POST"])
app.add_route("/logout", guarded(logout), methods=["POST"])
for path, endpoint, methods in (*console.ROUTES, *chat.ROUTES, *outreach.ROUTES):
    app.add_route(path, guarded(endpoint), methods=methods)
app.mount("/web-static", StaticFiles(directory=STATIC), name="web-static")
app.add_exception_handler(WebError, web_error)
