"""Settings: one typed object per run, read through the LangGraph runtime.

`Settings` reads the environment (prefix ``SWITCHBOARD_``) once, at the edge of
the process. `Context` is what a run carries: the customer it acts for and the
settings it runs under. Nodes read the context, never the environment.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_MODEL = "embedded:smollm2-135m"
CAPABLE_PROVIDERS = ("openai",)


class Settings(BaseSettings):
    """Process-wide configuration, from ``SWITCHBOARD_*`` variables or a ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", env_file=os.environ.get("SWITCHBOARD_ENV_FILE", ".env"), extra="ignore")

    home: Path = PROJECT_ROOT / "var"
    model: str = EMBEDDED_MODEL
    smart_model: str | None = None
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    database_url: str | None = None
    checkpoint_url: str | None = None
    chroma_dir: Path | None = None
    classifier_path: Path | None = None
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
    refund_approval_threshold_usd: float = 500.0
    max_message_chars: int = 4000
    reply_max_attempts: int = 2
    tool_attempts: int = 4
    tool_backoff_s: float = 0.05
    faults: str = ""
    safety_nets: bool = True
    rate_limit: str = "30/minute"  # per customer, `limits` notation
    rate_limit_storage: str = "memory://"  # redis://127.0.0.1:6379 when several workers share the load

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'store.sqlite'}"

    def resolved_chroma_dir(self) -> Path:
        return self.chroma_dir or self.home / "chroma"

    def resolved_classifier_path(self) -> Path:
        return self.classifier_path or self.home / "models" / "intent.joblib"

    def resolved_checkpoint_url(self) -> str:
        return self.checkpoint_url or f"sqlite:///{self.home / 'checkpoints.sqlite'}"


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def _setting(name: str) -> Any:
    return field(default_factory=lambda: getattr(get_settings(), name))


@dataclass(frozen=True)
class Context:
    """What one run of the support graph carries: who it acts for, and under which settings.

    The customer id is set by the caller (CLI, server client, test), never taken
    from the model or the message. Fields left out fall back to `Settings`.
    """

    customer_id: str = ""
    actor: str = "workflow"
    model: str = _setting("model")
    smart_model: str | None = _setting("smart_model")
    openai_base_url: str | None = _setting("openai_base_url")
    openai_api_key: str | None = _setting("openai_api_key")
    database_url: str = field(default_factory=lambda: get_settings().resolved_database_url())
    chroma_dir: str = field(default_factory=lambda: str(get_settings().resolved_chroma_dir()))
    classifier_path: str = field(default_factory=lambda: str(get_settings().resolved_classifier_path()))
    model_timeout_s: float = _setting("model_timeout_s")
    model_max_tokens: int = _setting("model_max_tokens")
    llama_threads: int = _setting("llama_threads")
    model_cache_ttl_s: float = _setting("model_cache_ttl_s")
    model_cache_path: str = field(default_factory=lambda: str(get_settings().home / "model_cache.sqlite"))
    thread_budget_usd: float = _setting("thread_budget_usd")
    classifier_min_confidence: float = _setting("classifier_min_confidence")
    kb_route_min_score: float = _setting("kb_route_min_score")
    refund_approval_threshold_usd: float = _setting("refund_approval_threshold_usd")
    max_message_chars: int = _setting("max_message_chars")
    reply_max_attempts: int = _setting("reply_max_attempts")
    tool_attempts: int = _setting("tool_attempts")
    tool_backoff_s: float = _setting("tool_backoff_s")
    faults: str = _setting("faults")
    safety_nets: bool = _setting("safety_nets")
    rate_limit: str = _setting("rate_limit")
    rate_limit_storage: str = _setting("rate_limit_storage")

    def with_(self, **changes: Any) -> Context:
        return replace(self, **changes)

    @property
    def planner_model(self) -> str | None:
        """The model trusted to route and plan: the smart slot, or the main model if it is capable."""
        if self.smart_model:
            return self.smart_model
        return self.model if self.model.split(":", 1)[0] in CAPABLE_PROVIDERS else None

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
