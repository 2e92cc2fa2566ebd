"""Fault injection for tests and drills: ``SWITCHBOARD_FAULTS="get_payment_status=0.3,model=1:200"``.

Each entry is ``TARGET=RATE`` or ``TARGET=RATE:LATENCY_MS``; TARGET is a tool name (see
`switchboard admin tools`) or ``model``. Draws are seeded by the call's identity, so
a drill repeats exactly.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass


class InjectedFault(RuntimeError):
    """A failure injected on purpose; treated like an outage of the target."""


@dataclass(frozen=True)
class Fault:
    rate: float
    latency_ms: float = 0.0


def parse_faults(spec: str | None) -> dict[str, Fault]:
    """Parse the fault spec; raises ValueError with a readable message on a bad entry."""
    faults: dict[str, Fault] = {}
    for entry in (spec or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        target, sep, value = entry.partition("=")
        if not sep or not target.strip():
            raise ValueError(f"fault {entry!r} must look like TARGET=RATE[:LATENCY_MS]")
        rate_text, _, latency_text = value.partition(":")
        try:
            rate = float(rate_text)
            latency = float(latency_text) if latency_text else 0.0
        except ValueError as exc:
            raise ValueError(f"fault {entry!r}: rate and latency must be numbers") from exc
        if not 0.0 <= rate <= 1.0 or latency < 0:
            raise ValueError(f"fault {entry!r}: rate must be within 0..1 and latency >= 0")
        faults[target.strip()] = Fault(rate, latency)
    return faults


def maybe_fail(faults: dict[str, Fault], target: str, call_identity: str, seed: int = 0) -> None:
    """Sleep and/or raise `InjectedFault` for ``target`` as the spec says; a no-op otherwise."""
    fault = faults.get(target)
    if fault is None:
        return
    if fault.latency_ms:
        time.sleep(fault.latency_ms / 1000)
    draw = int.from_bytes(hashlib.sha256(f"{seed}|{target}|{call_identity}".encode()).digest()[:8], "big") / 2**64
    if draw < fault.rate:
        raise InjectedFault(f"{target} is failing (injected)")
