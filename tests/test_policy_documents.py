"""The help articles and the refund policy's code cannot disagree.

Every number an article states about refunds (the 30-day window, the $500 threshold and its
30 days, the velocity limit, the holiday exception, 5 to 10 business days) is written here from
`core.settings.Settings` through `tools.refund_policy.article_claims`, and must be in the article
word for word. Change a setting without its article, or an article without its setting, and this
fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.settings import Settings
from nodes.policy import refund_limits
from tools.refund_policy import article_claims

KB = Path(__file__).resolve().parent.parent / "data" / "kb"


def article(doc_id: str) -> str:
    return re.sub(r"\s+", " ", (KB / f"{doc_id}.md").read_text(encoding="utf-8"))


DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(("doc_id", "claim"), article_claims(refund_limits(DEFAULTS)))
def test_each_article_states_the_number_the_policy_uses(doc_id: str, claim: str) -> None:
    assert claim in article(doc_id), f"{doc_id}.md does not say {claim!r}: the article and the settings disagree"


@pytest.mark.parametrize(
    "change",
    [
        {"return_window_days": 14},
        {"refund_approval_threshold_usd": 750.0},
        {"refund_approval_window_days": 60},
        {"refund_velocity_max_refunds": 5},
        {"refund_velocity_max_usd": 2000.0},
        {"refund_velocity_days": 30},
        {"holiday_returns_until": "01-15"},
        {"refund_card_days": "3-5"},
    ],
)
def test_a_setting_changed_without_its_article_is_caught(change: dict[str, object]) -> None:
    claims = article_claims(refund_limits(DEFAULTS.with_(**change)))
    missing = [(doc, claim) for doc, claim in claims if claim not in article(doc)]
    assert missing, f"changing {change} left every article agreeing: the check would not notice"


def test_the_refund_settings_are_the_ones_the_policy_reads() -> None:
    limits = refund_limits(DEFAULTS)
    assert limits.return_window_days == DEFAULTS.return_window_days
    assert limits.approval_threshold_cents == round(DEFAULTS.refund_approval_threshold_usd * 100)
    assert limits.approval_window_days == DEFAULTS.refund_approval_window_days
    assert (limits.velocity_max_refunds, limits.velocity_days) == (
        DEFAULTS.refund_velocity_max_refunds,
        DEFAULTS.refund_velocity_days,
    )
    assert limits.velocity_max_cents == round(DEFAULTS.refund_velocity_max_usd * 100)


def test_the_reply_and_the_tools_state_the_timeline_from_the_settings() -> None:
    """What a refund's confirmation and a cancellation-fee answer say comes from the same limits."""
    from tools.billing import describe_fee, describe_refund

    refund = {"refund_id": 1, "amount": "$1.00", "order_id": 1, "arrives_in": "5 to 10 business days"}
    assert "5 to 10 business days" in " ".join(describe_refund(refund))
    fee = {"order_id": 1, "order_status": "delivered", "cancellable": False, "return_label_fee": "$6.95"}
    assert "within 14 days of delivery" in " ".join(describe_fee({**fee, "return_window_days": 14}))
