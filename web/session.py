"""Who is signed in, and whether a form really came from our page.

A person signs in by pasting a token (`switchboard admin token ...`) into the login form; the
server checks it like any API call (server/tokens.py) and keeps it in a session cookie: signed
with a key derived from the token key, HttpOnly, SameSite=Strict, and expiring with the token.
Tools may send the same token as ``Authorization: Bearer``. Every request re-verifies the token,
so an expired or rotated-out token ends the session with a clear page, not a stack trace.

Every state-changing form carries a CSRF token bound to the session (an HMAC of the session's
random id), checked in constant time; a bearer caller has no ambient credential and needs none.
The login form itself is protected by a double-submit cookie.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from core.settings import get_settings
from server.tokens import Principal, TokenError, verification_keys, verify

SESSION_COOKIE = "sb_session"
LOGIN_COOKIE = "sb_login"
_SESSION_LABEL = b"switchboard/web-session/v1"
_FORM_LIMIT = 64 * 1024


class WebError(Exception):
    """A page-level error: rendered as a clear HTML page with this status (see web.app)."""

    def __init__(
        self,
        status: int,
        title: str,
        message: str,
        *,
        sign_in: bool = False,
        clear: bool = False,
        link: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.sign_in = sign_in  # offer the login form
        self.clear = clear  # drop the session cookie
        self.link = link  # (href, text): where to go from here


@functools.lru_cache(maxsize=1)
def _session_keys() -> tuple[bytes, ...]:
    """Cookie signing keys derived from the token keys: the first signs, all verify (rotation)."""
    settings = get_settings()
    keys = verification_keys(settings)
    if not keys:
        raise WebError(503, "Sign-in is not configured", "The server has no token key (SWITCHBOARD_TOKEN_KEY).")
    ordered = [settings.token_key, *(k for k in keys.values() if k != settings.token_key)]
    return tuple(session_key(k) for k in ordered if k)


def session_key(token_key: str) -> bytes:
    """The cookie signing key for a token key (HMAC-SHA256 of a fixed label: never the token key itself)."""
    return hmac.new(token_key.encode(), _SESSION_LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode(), hashlib.sha256).digest())


def seal(token: str, sid: str, *, key: bytes | None = None) -> str:
    """The session cookie's value: the token and the session id, signed (by `key`, or the current key)."""
    body = _b64(json.dumps({"t": token, "s": sid}, separators=(",", ":")).encode())
    return f"{body}.{_mac(key or _session_keys()[0], body)}"


def unseal(value: str, *, keys: tuple[bytes, ...] | None = None) -> tuple[str, str] | None:
    """(token, session id) from a cookie we signed (with any accepted key); None for anything else."""
    body, _, mac = value.partition(".")
    if not body or not mac or not any(hmac.compare_digest(mac, _mac(k, body)) for k in keys or _session_keys()):
        return None
    try:
        data = json.loads(_unb64(body))
        return str(data["t"]), str(data["s"])
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Session:
    principal: Principal
    token: str
    sid: str
    via_cookie: bool  # False: a tool sent `Authorization: Bearer` (no ambient credential, no CSRF)

    @property
    def csrf(self) -> str:
        return _mac(_session_keys()[0], f"csrf:{self.sid}")

    def check_csrf(self, submitted: str | None) -> None:
        if not self.via_cookie:
            return
        if not submitted or not any(
            hmac.compare_digest(submitted, _mac(k, f"csrf:{self.sid}")) for k in _session_keys()
        ):
            raise WebError(
                403,
                "This form is out of date",
                "The form's security token did not match your session (a stale tab, or a request from another "
                "site). Reload the page and try again.",
            )


def _keys() -> dict[str, str]:
    return verification_keys(get_settings())


def _verify(token: str) -> Principal:
    try:
        return verify(token, _keys())
    except TokenError as exc:
        if "expired" in str(exc):
            raise WebError(
                401,
                "Your session has expired",
                "The token you signed in with has expired. Ask for a new one (`switchboard admin token`) and sign in again.",
                sign_in=True,
                clear=True,
            ) from None
        raise WebError(
            401, "Please sign in again", f"Your credential was not accepted: {exc}.", sign_in=True, clear=True
        ) from None


def current_session(request: Request) -> Session | None:
    """The signed-in person, or None when the request carries no credential at all."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        token = bearer.strip()
        return Session(_verify(token), token, sid="bearer", via_cookie=False)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    opened = unseal(cookie)
    if opened is None:
        raise WebError(401, "Please sign in again", "Your session cookie is not valid here.", sign_in=True, clear=True)
    token, sid = opened
    return Session(_verify(token), token, sid=sid, via_cookie=True)


def require_session(request: Request) -> Session:
    session = current_session(request)
    if session is None:
        raise WebError(401, "Please sign in", "Sign in with your token to continue.", sign_in=True)
    return session


def require_operator(request: Request) -> Session:
    session = require_session(request)
    if not session.principal.is_operator:
        raise WebError(403, "Operators only", "The console is for support staff. Customers use the chat at /chat.")
    return session


def require_customer(request: Request) -> Session:
    session = require_session(request)
    if session.principal.is_operator:
        raise WebError(
            403,
            "Customers only",
            "The chat speaks for one customer, who signs in with their own token. Operators use /console.",
        )
    return session


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"


def start_session(response: Response, request: Request, token: str) -> Principal:
    """Check `token` and set the session cookie on `response`; it expires with the token."""
    principal = _verify(token)
    max_age = max(1, principal.expires_at - int(time.time()))
    response.set_cookie(
        SESSION_COOKIE,
        seal(token, secrets.token_urlsafe(16)),
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/",
    )
    return principal


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


# ---- the login form's own CSRF protection (there is no session yet) ----------------------------


def login_nonce(request: Request) -> str:
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)


def login_csrf(nonce: str) -> str:
    return _mac(_session_keys()[0], f"login:{nonce}")


def set_login_cookie(response: Response, request: Request, nonce: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict", secure=is_https(request), path="/"
    )


def check_login_csrf(request: Request, submitted: str | None) -> None:
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or not submitted or not hmac.compare_digest(submitted, login_csrf(nonce)):
        raise WebError(
            403, "The sign-in form is out of date", "Open the sign-in page again and paste your token there."
        )


# ---- forms ---------------------------------------------------------------------------------------


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (what our pages send), at most 64 KiB; the last value of a name wins."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise WebError(415, "Unsupported form", "Send the form as application/x-www-form-urlencoded.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _FORM_LIMIT:
            raise WebError(413, "Too much text", "The form was larger than 64 KiB.")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise WebError(400, "Unreadable form", "The form was not UTF-8 text.") from None
