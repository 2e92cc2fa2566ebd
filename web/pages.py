"""Rendering: Jinja2 templates with autoescaping on, and the headers every page carries.

Customer text reaches a page only through ``{{ }}`` (escaped); no template marks it safe. A field the
API's JSON lacks renders empty (jinja2's default `Undefined`): the pages show what a server returned. The
Content-Security-Policy allows scripts and styles from this server only (no inline script, so
an injected ``<script>`` or ``onerror=`` could not run even if it were ever left unescaped).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from web.api import age, money
from web.session import current_session

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"], default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["money"] = money
env.filters["age"] = age


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value or "")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


env.filters["when"] = _when


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    """A page (or a fragment) with the signed-in person, their CSRF token and the security headers."""
    if "session" not in context:
        try:
            context["session"] = current_session(request)
        except Exception:  # an error page for a broken session still renders
            context["session"] = None
    context.setdefault("signed_in", context["session"] is not None)
    context.setdefault("path", request.url.path)
    html = env.get_template(template).render(**context)
    return secure(HTMLResponse(html, status_code=status))


def safe_next(target: str) -> str:
    """A same-site path to return to after signing in ('' for anything else)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or target.startswith("/login"):
        return ""
    return target
