"""Settings: the one source of configuration, read from the environment once per process.

Every setting is a ``SWITCHBOARD_*`` variable, a line in ``.env``, or a line in the file
``SWITCHBOARD_ENV_FILE`` names (a deployment's settings, e.g. ``var/up/switchboard.env``).
Nodes never read the environment: they read ``runtime.context.settings``.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024
PROJECT_ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_MODEL = "embedded:smollm2-135m"
CAPABLE_PROVIDERS = ("openai",)


def _env_files() -> tuple[str, ...]:
    named = os.environ.get("SWITCHBOARD_ENV_FILE")
    return (".env", named) if named else (".env",)


class Settings(BaseSettings):
    """Process-wide configuration. A run never changes it: a caller's run context cannot."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", env_file=_env_files(), extra="ignore", frozen=True)

    home: Path = PROJECT_ROOT / "var"
    # The store's present (ISO 8601, e.g. 2026-11-15T12:00:00Z): tests, evals and demos pin it so
    # dates, return windows and deadlines repeat; unset, the real time. Read it through `now()`.
    clock: datetime | None = None
    model: str = EMBEDDED_MODEL
    smart_model: str | None = None
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    database_url: str | None = None
    checkpoint_url: str | None = None
    chroma_dir: Path | None = None
    classifier_path: Path | None = None
    model_cache_path: Path | None = None
    model_timeout_s: float = 60.0
    model_max_tokens: int = 96
    llama_threads: int = 2  # on a busy 2-core machine 1 is faster
    model_cache_ttl_s: float = 3600.0  # same prompt, same facts: reuse the reply (0 turns caching off)
    thread_budget_usd: float = 0.05  # smart-model spend allowed per conversation thread
    classifier_min_confidence: float = 0.45
    # an unsure message whose best help article scores at least this (cosine), and clearly ahead of
    # the rest (see nodes.coordinator), is answered from the articles instead of with a clarifying
    # question; unrelated text ("do you have a store in Boston?") scored at most 0.28
    kb_route_min_score: float = 0.3
    # The store's written refund policy (data/kb: refund-policy, return-policy, refund-manual-approval,
    # refund-timelines); tools/refund_policy.py applies it, tests/test_policy_documents.py checks that
    # the articles state these same numbers.
    refund_approval_threshold_usd: float = 500.0  # a refund above it waits for a person...
    refund_approval_window_days: int = 30  # ...counting everything refunded on the order in this many days
    return_window_days: int = 30  # from the delivery date
    # the holiday exception: delivered between these days (MM-DD) -> returnable until this day of the next year
    holiday_delivered_from: str = "11-01"
    holiday_delivered_to: str = "12-24"
    holiday_returns_until: str = "01-31"
    # velocity: more refunds than this, or more money than this, on one account within the days below waits
    refund_velocity_max_refunds: int = 3
    refund_velocity_max_usd: float = 1000.0
    refund_velocity_days: int = 7
    refund_card_days: str = "5-10"  # business days for a card refund to show after we issue it
    max_message_chars: int = 4000
    reply_max_attempts: int = 2
    # Who writes the reply's text (nodes/reply.py): "whole" (the model drafts it all from the facts;
    # checked, repaired once, else the facts), "opener" (the model writes one short checked opening
    # sentence, the facts say the rest), "facts" (no model), "auto" (opener for the embedded model,
    # whose whole drafts almost never pass the check; whole for every other model).
    reply_writer: Literal["auto", "whole", "opener", "facts"] = "auto"
    opener_max_s: float = 1.5  # the opener stops being written after this long (then: no opener)
    opener_rest_s: float = 30.0  # after an opener missed that budget, no model for this long (0: never rest)
    # a local model is not asked for an opener while the 1-minute load average per core is above this
    # (it would share the cores with other work and miss its budget); 0: whatever the load
    opener_max_load: float = 1.0
    tool_attempts: int = 4
    tool_backoff_s: float = 0.05
    faults: str = ""
    rate_limit: str = "30/minute"  # per customer, `limits` notation
    rate_limit_storage: str = "memory://"  # redis://127.0.0.1:6379 when several workers share the load
    # Bearer tokens of the server (server/tokens.py): the signing key, keys still accepted while
    # they rotate (comma-separated), and the default lifetime of an issued token.
    token_key: str = ""
    token_previous_keys: str = ""
    token_ttl: str = "8h"
    # Outreach (a message to many customers): above this many recipients a person approves it
    # first; approved messages are handed to the mail outbox at most this many a minute.
    outreach_approval_threshold: int = 100
    outreach_per_minute: int = 60
    # Where the web pages (web/) call the server's own API; empty: the socket the page was served on.
    web_api_url: str = ""
    # The CLI as a client of a deployment: `switchboard approve|reject|edit|resume` decide through
    # this server's API when it is set (`make up` writes it), with this operator token (or one the
    # CLI signs with `token_key` for its `--as` operator).
    server_url: str = ""
    operator_token: str = ""
    # The email channel (mail/): where mail comes in and goes out, its limits and the proofs it believes.
    support_address: str = "support@northwind.example"  # customers write here; replies come from it
    support_name: str = "Northwind Customer Support"
    smtp_url: str = "smtp://127.0.0.1:2526"  # the relay replies go through
    # receiving hosts (authserv-id of Authentication-Results) whose DKIM/SPF verdicts are believed,
    # comma-separated; empty: no header is believed and every world-changing request needs a code
    trusted_authserv_ids: str = ""
    mail_signature: str = (
        "Northwind Customer Support\nsupport@northwind.example · 1-800-555-0199 · chat every day 8 a.m.–10 p.m. ET"
    )
    mail_max_message_bytes: int = 25 * MiB  # larger mail is refused at SMTP DATA (552)
    mail_max_attachment_bytes: int = 10 * MiB  # per attachment; larger ones are listed and noted
    mail_max_attachments: int = 10
    mail_max_text_chars: int = 4000  # the app's max_message_chars: longer text is cut and noted
    mail_lease_s: float = 300.0  # a claimed inbound message is retried after this long
    mail_max_attempts: int = 5  # processing attempts before a message is marked failed
    mail_send_attempts: int = 8  # SMTP attempts before an outgoing message is marked failed
    mail_send_backoff_s: float = 2.0  # first retry delay; doubles each time
    mail_send_backoff_max_s: float = 3600.0
    mail_code_ttl_s: float = 24 * 3600.0  # one-time confirmation codes expire after a day
    mail_code_max_tries: int = 5
    mail_unknown_replies_per_day: int = 3  # general-help replies to one unknown address
    mail_replies_per_hour: int = 20  # to one address: a loop breaker for broken autoresponders
    mail_poll_s: float = 1.0
    # The people in the loop (nodes/approval_rules.py, tools/webhooks.py, switchboard/sweep.py).
    # Deadlines per kind of approval (the tool held, "plan" for a plan review, "*" for the rest);
    # what a sweep does with one past its deadline (escalate: to the supervisors' queue, with
    # approval_escalated_deadline more; reject); refunds above the four-eyes threshold need two operators.
    approval_deadlines: str = "issue_refund=24h,plan=24h,*=48h"
    approval_overdue: str = "issue_refund=escalate,plan=escalate,*=reject"
    approval_escalated_deadline: str = "24h"
    refund_four_eyes_threshold_usd: float = 1000.0
    # Signed webhooks (HMAC-SHA256 of the body in X-Switchboard-Signature) to these URLs, comma-separated.
    webhook_urls: str = ""
    webhook_secret: str = ""
    webhook_attempts: int = 10  # deliveries tried before an event is marked failed for a URL
    webhook_backoff_s: float = 2.0  # first retry delay; doubles each time
    webhook_backoff_max_s: float = 3600.0
    webhook_timeout_s: float = 10.0
    sweep_interval_s: float = 60.0  # the server applies deadlines and delivers webhooks this often (0: never)
    # the server URL the scheduled sweep decides overdue approvals through (any server of the
    # deployment; it signs itself a supervisor token with token_key); empty: the schedule only delivers webhooks
    sweep_server_url: str = ""

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'store.sqlite'}"

    def resolved_chroma_dir(self) -> Path:
        return self.chroma_dir or self.home / "chroma"

    def resolved_classifier_path(self) -> Path:
        return self.classifier_path or self.home / "models" / "intent.joblib"

    def resolved_checkpoint_url(self) -> str:
        return self.checkpoint_url or f"sqlite:///{self.home / 'checkpoints.sqlite'}"

    def resolved_model_cache_path(self) -> Path:
        return self.model_cache_path or self.home / "model_cache.sqlite"

    @property
    def support_domain(self) -> str:
        return self.support_address.rsplit("@", 1)[-1].lower()

    @property
    def trusted_authserv(self) -> frozenset[str]:
        return frozenset(p.strip().lower() for p in self.trusted_authserv_ids.split(",") if p.strip())

    def now(self) -> datetime:
        """The current time as the workflow sees it (UTC, aware): the pinned clock, or the real one."""
        if self.clock is None:
            return datetime.now(UTC)
        return self.clock if self.clock.tzinfo else self.clock.replace(tzinfo=UTC)

    @property
    def planner_model(self) -> str | None:
        """The model trusted to route and plan: the smart slot, or the main model if it is capable."""
        if self.smart_model:
            return self.smart_model
        return self.model if self.model.split(":", 1)[0] in CAPABLE_PROVIDERS else None

    def with_(self, **changes: object) -> Settings:
        """A copy with some settings changed (tests, evals, benchmarks), validated like the original."""
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return type(self).model_validate({**self.model_dump(), **changes})


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
