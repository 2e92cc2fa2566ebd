"""Who wrote, and what proves it: the address on file, and DKIM/SPF verdicts we can believe.

A sender is a customer only when the From address equals the address on file
(``customers.email``, compared without case). A From header proves nothing by itself, so a
world-changing request also needs proof: an ``Authentication-Results`` header (RFC 8601) with
``dkim=pass`` (signing domain aligned with the From domain), ``dmarc=pass`` or ``spf=pass``
(envelope domain aligned), written by a receiving host named in ``trusted_authserv_ids``.

Only the topmost header of a trusted host counts: that is the one our MTA prepends. RFC 8601
section 5 requires that MTA to delete any header claiming its own authserv-id that arrived with
the message (OpenDKIM, OpenDMARC and Postfix's milters do), so a sender cannot write its own.
authres (the PyPI parser) was not used: its last release is from 2019, and the grammar needed
here (comments, quoted strings, ``method=result`` and ``ptype.property=value``) is small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from mail.parse import ParsedMail, raw_headers
from store.schema import customers


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    name: str


def find_customer(conn: Connection, address: str) -> Customer | None:
    """The customer whose address on file is exactly this one (case aside), or None."""
    if not address or "@" not in address:
        return None
    row = conn.execute(
        select(customers.c.id, customers.c.email, customers.c.name).where(
            func.lower(customers.c.email) == address.strip().lower()
        )
    ).first()
    return Customer(row.id, row.email.lower(), row.name) if row else None


def customer_by_id(conn: Connection, customer_id: str) -> Customer | None:
    row = conn.execute(
        select(customers.c.id, customers.c.email, customers.c.name).where(customers.c.id == customer_id)
    ).first()
    return Customer(row.id, row.email.lower(), row.name) if row else None


# -- Authentication-Results (RFC 8601) ---------------------------------------------------------


@dataclass(frozen=True)
class MethodResult:
    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str
    results: tuple[MethodResult, ...]


def _strip_comments(value: str) -> str:
    out, depth, quoted, escaped = [], 0, False, False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if ch == '"' and depth == 0:
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
            continue
        elif not quoted and ch == ")" and depth:
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out)


def _split_outside_quotes(value: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


_TOKEN_RE = re.compile(r'([A-Za-z0-9_.\-/]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]+)')


def parse_authentication_results(value: str) -> AuthResults | None:
    """One header's authserv-id and method results; None when it does not parse."""
    parts = _split_outside_quotes(_strip_comments(value), ";")
    head = parts[0].split()
    if not head:
        return None
    results: list[MethodResult] = []
    for part in parts[1:]:
        pairs = _TOKEN_RE.findall(part)
        if not pairs:
            continue
        method, result = pairs[0]
        props = {k.lower(): v.strip('"').lower() for k, v in pairs[1:]}
        results.append(MethodResult(method.split("/")[0].lower(), result.strip('"').lower(), props))
    return AuthResults(head[0].lower(), tuple(results))


def _domain(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip().strip(".").lower()


def aligned(a: str, b: str) -> bool:
    """Relaxed alignment (DMARC): the same domain, or one is a subdomain of the other."""
    a, b = _domain(a), _domain(b)
    return bool(a and b) and (a == b or a.endswith("." + b) or b.endswith("." + a))


@dataclass(frozen=True)
class Proof:
    verified: bool
    method: str | None  # dkim | dmarc | spf
    authserv_id: str | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "method": self.method,
            "authserv_id": self.authserv_id,
            "detail": self.detail,
        }


def sender_proof(parsed: ParsedMail, trusted: frozenset[str]) -> Proof:
    """Whether a trusted receiving host vouches that the From domain really sent this mail."""
    if not parsed.from_addr:
        return Proof(False, None, None, "no From address")
    if not trusted:
        return Proof(False, None, None, "no trusted authserv-id is configured")
    from_domain = _domain(parsed.from_addr)
    for value in raw_headers(parsed.message, "Authentication-Results"):
        header = parse_authentication_results(value)
        if header is None or header.authserv_id not in trusted:
            continue
        for r in header.results:  # only the topmost trusted header counts: return inside the loop
            if r.result != "pass":
                continue
            if r.method == "dkim" and aligned(r.props.get("header.d") or r.props.get("header.i", ""), from_domain):
                return Proof(
                    True,
                    "dkim",
                    header.authserv_id,
                    f"dkim=pass header.d={r.props.get('header.d', '')}",
                )
            if r.method == "dmarc" and aligned(r.props.get("header.from", ""), from_domain):
                return Proof(True, "dmarc", header.authserv_id, "dmarc=pass")
            if r.method == "spf" and aligned(r.props.get("smtp.mailfrom", ""), from_domain):
                return Proof(
                    True,
                    "spf",
                    header.authserv_id,
                    f"spf=pass smtp.mailfrom={r.props['smtp.mailfrom']}",
                )
        verdicts = ", ".join(f"{r.method}={r.result}" for r in header.results) or "none"
        return Proof(
            False,
            None,
            header.authserv_id,
            f"no aligned pass from {header.authserv_id} ({verdicts})",
        )
    return Proof(False, None, None, "no Authentication-Results from a trusted host")
