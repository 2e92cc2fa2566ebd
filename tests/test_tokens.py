"""Bearer tokens: signed, expiring, with a key id so keys rotate; `switchboard admin token` prints one."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest

from core.settings import Settings
from server.auth import user_for
from server.tokens import (
    TokenError,
    issue_token,
    key_id,
    new_key,
    parse_ttl,
    sign,
    verification_keys,
    verify,
)

KEY, OLD, OTHER = new_key(), new_key(), new_key()


def keys(*ks: str) -> dict[str, str]:
    return {key_id(k): k for k in ks}


def test_a_customer_token_round_trips() -> None:
    principal = verify(sign("customer:C0007", "customer", key=KEY, ttl_s=60), keys(KEY))
    assert (principal.subject, principal.role, principal.customer_id, principal.is_operator) == (
        "customer:C0007",
        "customer",
        "C0007",
        False,
    )
    header = jwt.get_unverified_header(sign("operator:ann", "supervisor", key=KEY, ttl_s=60))
    assert header == {"alg": "HS256", "kid": key_id(KEY), "typ": "JWT"}


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (
            lambda: sign("customer:C0007", "customer", key=KEY, ttl_s=60, now=time.time() - 3600),
            "expired",
        ),
        (lambda: sign("customer:C0007", "customer", key=OTHER, ttl_s=60), "unknown or retired key"),
        (lambda: "not-a-token", "malformed"),
        (lambda: sign("customer:C0007", "customer", key=KEY, ttl_s=60)[:-4] + "AAAA", "signature"),
        (
            lambda: jwt.encode(
                {
                    "sub": "customer:C0007",
                    "role": "customer",
                    "exp": time.time() + 60,
                    "iat": time.time(),
                    "iss": "switchboard",
                    "aud": "switchboard-api",
                },
                KEY * 2,
                algorithm="HS512",
                headers={"kid": key_id(KEY)},
            ),
            "invalid token",
        ),
        (
            lambda: sign("customer:C0007", "operator", key=KEY, ttl_s=60),
            "no valid customer or operator",
        ),
    ],
)
def test_bad_tokens_are_refused_with_the_reason(token, reason: str) -> None:  # noqa: ANN001
    with pytest.raises(TokenError, match=reason):
        verify(token(), keys(KEY))


def test_rotation_accepts_previous_keys_until_they_are_dropped() -> None:
    old_token = sign("operator:ann", "operator", key=OLD, ttl_s=60)
    rotated = Settings(_env_file=None, token_key=KEY, token_previous_keys=f" {OLD} ,")  # type: ignore[call-arg]
    assert verify(old_token, verification_keys(rotated)).subject == "operator:ann"
    with pytest.raises(TokenError, match="retired"):
        verify(old_token, verification_keys(Settings(_env_file=None, token_key=KEY)))  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="at least 32"):
        verification_keys(Settings(_env_file=None, token_key="short"))  # type: ignore[call-arg]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("8h", 28800), ("30d", 2592000), ("45", 45)])
def test_lifetimes(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"customer": "C0007", "operator": "ann"},
        {"customer": "bob"},
        {"operator": "Ann Smith"},
        {"operator": "ann", "role": "root"},
        {"customer": "C0007", "role": "supervisor"},
        {"customer": "C0007", "ttl": "1y"},
    ],
)
def test_issue_token_refuses_what_it_cannot_name(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        issue_token(settings=Settings(_env_file=None, token_key=KEY), **kwargs)


def test_an_operator_acts_for_the_customer_it_names_and_a_customer_for_itself() -> None:
    ann = verify(issue_token(operator="ann", settings=Settings(_env_file=None, token_key=KEY)), keys(KEY))
    assert user_for(ann, "C0007")["identity"] == "customer:C0007"
    assert user_for(ann, "C0007")["actor"] == "operator:ann"
    assert user_for(ann)["identity"] == "operator:ann"
    customer = verify(issue_token(customer="C0007", settings=Settings(_env_file=None, token_key=KEY)), keys(KEY))
    assert user_for(customer, "C0007")["customer_id"] == "C0007"
    with pytest.raises(Exception, match="another customer"):
        user_for(customer, "C0008")


@pytest.fixture
def settings_read_again() -> Iterator[None]:
    """Settings are read once per process: an earlier test may have read them, and the ones this
    test reads (its token key) must not outlive it."""
    from core.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_prints_a_token_signed_with_the_configured_key(
    monkeypatch: pytest.MonkeyPatch, settings_read_again: None
) -> None:
    from typer.testing import CliRunner

    from switchboard.cli import app

    monkeypatch.setenv("SWITCHBOARD_TOKEN_KEY", KEY)
    result = CliRunner().invoke(app, ["admin", "token", "--operator", "ann", "--role", "supervisor", "--ttl", "15m"])
    assert result.exit_code == 0, result.output
    principal = verify(result.output.strip(), keys(KEY))
    assert (principal.subject, principal.role) == ("operator:ann", "supervisor")
    assert 880 < principal.expires_at - time.time() <= 900
    bad = CliRunner().invoke(app, ["admin", "token", "--customer", "nobody"])
    assert bad.exit_code == 2
