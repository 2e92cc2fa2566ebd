"""Per-customer rate limiting: a clear 'please wait' instead of a silent drop.

A moving window from the `limits` package, counted per (store, customer): a
customer id only means something inside one store, so two deployments sharing a
Redis never share buckets. Storage is in-process memory by default; a
``redis://`` URI shares the count between processes.

The run context names the limit and the storage (`Context.rate_limit`, e.g. "30/minute";
`Context.rate_limit_storage`, "memory://" or "redis://127.0.0.1:6379"). An empty
limit turns limiting off; an unreadable one is logged and replaced by `FALLBACK_RATE_LIMIT`. When the storage cannot be reached the turn goes
ahead (logged): an outage of the limiter must not take support down with it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from core.context import Context

log = logging.getLogger(__name__)

FALLBACK_RATE_LIMIT = "30/minute"
DEFAULT_STORAGE = "memory://"
NAMESPACE = "switchboard-turns"
REDIS_TIMEOUT_S = 0.5


@functools.lru_cache(maxsize=8)
def _limiter(storage_uri: str) -> MovingWindowRateLimiter:
    options: dict[str, float] = {}
    if storage_uri.startswith(("redis://", "rediss://", "redis+unix://")):
        options = {"socket_timeout": REDIS_TIMEOUT_S, "socket_connect_timeout": REDIS_TIMEOUT_S}
    return MovingWindowRateLimiter(storage_from_string(storage_uri, **options))


@functools.lru_cache(maxsize=32)
def parse_limit(spec: str) -> RateLimitItem:
    """ "20/minute", "5 per second", "100/hour;1000/day" (the first entry); ValueError when unreadable."""
    return parse(spec)


def settings_of(ctx: Context) -> tuple[str, str]:
    """(limit, storage) from the run context."""
    return (ctx.settings.rate_limit or "").strip(), ctx.settings.rate_limit_storage or DEFAULT_STORAGE


def bucket_key(ctx: Context) -> str:
    store = hashlib.sha256(str(ctx.settings.resolved_database_url()).encode()).hexdigest()[
        :12
    ]  # the URL may hold a password
    return f"{store}:{ctx.customer_id}"


def wait_message(ctx: Context) -> str | None:
    """None when the customer may go ahead; otherwise the reply asking them to wait."""
    spec, storage = settings_of(ctx)
    if not spec:
        return None
    try:
        item = parse_limit(spec)
    except ValueError:
        log.error("rate limit %r is not readable (try '30/minute'); using %s", spec, FALLBACK_RATE_LIMIT)
        item = parse_limit(FALLBACK_RATE_LIMIT)
    key = bucket_key(ctx)
    try:
        limiter = _limiter(storage)
        if limiter.hit(item, NAMESPACE, key):
            return None
        reset_at = limiter.get_window_stats(item, NAMESPACE, key).reset_time
    except Exception as exc:  # storage down or misconfigured: serve the customer, say so in the log
        log.warning(
            "rate limiter storage %s failed (%s: %s); letting the turn through",
            storage.split("@")[-1],
            type(exc).__name__,
            exc,
        )
        return None
    seconds = max(1, math.ceil(reset_at - time.time()))
    return (
        f"You have sent a lot of messages in a short time. Please wait about {seconds} second"
        f"{'s' if seconds != 1 else ''} and send your message again; I have not acted on this one."
    )
