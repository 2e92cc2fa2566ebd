"""Bearer tokens for customers and operators: signed JWTs (HS256) with an expiry and a key id.

A token names one principal: ``customer:C0007`` or ``operator:ann`` (role ``operator`` or
``supervisor``). The server's signing key is ``SWITCHBOARD_TOKEN_KEY``; its id (``kid`` in the
token header) is a short fingerprint of the key, so rotation needs no bookkeeping: put the old key
in ``SWITCHBOARD_TOKEN_PREVIOUS_KEYS`` (comma-separated), set a new ``SWITCHBOARD_TOKEN_KEY``, and
tokens signed with either are accepted until the old ones expire; then drop the old key.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal, cast

import jwt

from core.settings import Settings, get_settings

ISSUER = "switchboard"
AUDIENCE = "switchboard-api"
ALGORITHM = "HS256"
ROLES = ("customer", "operator", "supervisor")
OPERATOR_ROLES = ("operator", "supervisor")
MAX_TTL_S = 90 * 24 * 3600
MIN_KEY_CHARS = 32  # RFC 7518 §3.2: an HS256 key of at least 256 bits
_CUSTOMER_ID = re.compile(r"^C\d{4,}$")
_OPERATOR_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,39}$")
_SERVICE = re.compile(r"^service:[a-z][a-z0-9_-]{0,31}$")
_TTL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

Role = Literal["customer", "operator", "supervisor"]


def verification_keys(settings: Settings) -> dict[str, str]:
    """Key id -> key, for the signing key and every previous key still accepted."""
    keys = [k for k in (settings.token_key, *(k.strip() for k in settings.token_previous_keys.split(","))) if k]
    for key in keys:
        check_key(key)
    return {key_id(k): k for k in keys}


class TokenError(ValueError):
    """A token that cannot be accepted; the message says why, for a 401 response."""


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    subject: str  # "customer:C0007" or "operator:ann"
    role: Role
    expires_at: int
    token_id: str
    via: str = ""  # a service acting for the subject (e.g. "service:mail" for a customer whose mail it matched)

    @property
    def name(self) -> str:
        return self.subject.split(":", 1)[1]

    @property
    def is_operator(self) -> bool:
        return self.role in OPERATOR_ROLES

    @property
    def customer_id(self) -> str:
        """The customer a customer token speaks for ('' for an operator)."""
        return "" if self.is_operator else self.name


def key_id(key: str) -> str:
    """A short public fingerprint of a signing key (not the key: 48 bits of its SHA-256)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def check_key(key: str) -> str:
    if len(key) < MIN_KEY_CHARS:
        raise ValueError(f"a token key must have at least {MIN_KEY_CHARS} characters (make up generates one)")
    return key


def new_key() -> str:
    """A fresh random signing key (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def parse_ttl(text: str) -> int:
    """'90s', '15m', '8h', '30d' or plain seconds -> seconds (1 s .. 90 days)."""
    match = _TTL.match(text or "")
    if not match:
        raise ValueError(f"bad lifetime {text!r}: use e.g. 90s, 15m, 8h or 30d")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 1 <= seconds <= MAX_TTL_S:
        raise ValueError(f"lifetime {text!r} must be between 1 second and 90 days")
    return seconds


def subject_for(
    *, customer: str | None = None, operator: str | None = None, role: str | None = None
) -> tuple[str, Role]:
    """Check who a token is for and return (subject, role); exactly one of customer/operator."""
    if bool(customer) == bool(operator):
        raise ValueError("name exactly one of --customer ID or --operator NAME")
    if customer:
        if role not in (None, "customer"):
            raise ValueError("--role applies to operators only")
        if not _CUSTOMER_ID.match(customer):
            raise ValueError(f"bad customer id {customer!r}: expected e.g. C0007")
        return f"customer:{customer}", "customer"
    assert operator is not None
    role = role or "operator"
    if role not in OPERATOR_ROLES:
        raise ValueError(f"bad role {role!r}: operator or supervisor")
    if not _OPERATOR_NAME.match(operator):
        raise ValueError(f"bad operator name {operator!r}: lower-case letters, digits, . _ -")
    return f"operator:{operator}", role  # type: ignore[return-value]


def sign(subject: str, role: Role, *, key: str, ttl_s: int, now: float | None = None, via: str = "") -> str:
    """A signed token for `subject` that expires `ttl_s` seconds from now; ``via`` names the service that
    acts for the subject with it (the token still opens only the subject's threads)."""
    if via and not _SERVICE.match(via):
        raise ValueError(f"bad service name {via!r}: expected e.g. service:mail")
    if not key:
        raise ValueError("no signing key: set SWITCHBOARD_TOKEN_KEY (make up writes one to var/up/switchboard.env)")
    check_key(key)
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "role": role,
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": uuid.uuid4().hex,
        **({"via": via} if via else {}),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": key_id(key)})


def verify(token: str, keys: dict[str, str], *, leeway_s: int = 10) -> Principal:
    """Check signature, expiry, issuer and audience; raise `TokenError` with the reason."""
    if not keys:
        raise TokenError("the server has no token key configured (SWITCHBOARD_TOKEN_KEY)")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError("malformed token: expected a signed JWT") from None
    key = keys.get(str(header.get("kid", "")))
    if key is None:
        raise TokenError("token signed with an unknown or retired key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=leeway_s,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired: ask for a new one") from None
    except jwt.InvalidSignatureError:
        raise TokenError("bad token signature") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from None
    subject, role = str(claims["sub"]), str(claims.get("role", ""))
    kind, _, name = subject.partition(":")
    valid = (kind == "customer" and role == "customer" and _CUSTOMER_ID.match(name)) or (
        kind == "operator" and role in OPERATOR_ROLES and _OPERATOR_NAME.match(name)
    )
    via = str(claims.get("via", ""))
    if not valid or (via and not (kind == "customer" and _SERVICE.match(via))):
        raise TokenError("token names no valid customer or operator")
    return Principal(
        subject=subject,
        role=cast(Role, role),
        expires_at=int(claims["exp"]),
        token_id=str(claims.get("jti", "")),
        via=via,
    )


def issue_token(
    *,
    customer: str | None = None,
    operator: str | None = None,
    role: str | None = None,
    ttl: str | None = None,
    settings: Settings | None = None,
) -> str:
    """`switchboard admin token`: a token for one customer or operator, signed with the configured key."""
    settings = settings or get_settings()
    subject, checked_role = subject_for(customer=customer, operator=operator, role=role)
    return sign(subject, checked_role, key=settings.token_key, ttl_s=parse_ttl(ttl or settings.token_ttl))
