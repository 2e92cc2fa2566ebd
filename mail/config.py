"""The mail channel's settings, read from ``SWITCHBOARD_*`` variables like the rest of the app.

Kept apart from the app's `Settings` only until the merge: every field has the name it would
have there (``SWITCHBOARD_SUPPORT_ADDRESS`` is ``support_address``), so folding them into the one
settings class is a move, not a rename. Functions in `mail/` take a `MailSettings` argument and
never read the environment themselves.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class MailSettings(BaseSettings):
    """Where mail comes in and goes out, and the limits and proofs the channel applies."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", env_file=".env", extra="ignore")

    support_address: str = "support@northwind.example"  # customers write here; replies come from it
    support_name: str = "Northwind Customer Support"
    smtp_url: str = "smtp://127.0.0.1:2526"  # the relay replies go through
    # receiving hosts (authserv-id of Authentication-Results) whose DKIM/SPF verdicts are believed,
    # comma-separated; empty: no header is believed and every world-changing request needs a code
    trusted_authserv_ids: str = ""
    mail_signature: str = (
        "Northwind Customer Support\n"
        "support@northwind.example · 1-800-555-0199 · chat every day 8 a.m.–10 p.m. ET"
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

    @property
    def support_domain(self) -> str:
        return self.support_address.rsplit("@", 1)[-1].lower()

    @property
    def trusted_authserv(self) -> frozenset[str]:
        return frozenset(
            p.strip().lower() for p in self.trusted_authserv_ids.split(",") if p.strip()
        )
