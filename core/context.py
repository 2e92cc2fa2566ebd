"""What one run of the support graph carries: who it acts for, the settings, the resources.

Only ``customer_id`` and ``actor`` belong to the run. A trusted in-process caller (the CLI,
a test, Python code) sets them; on a server they come from authentication, and a caller's
run context names nothing at all that a node believes (see `nodes.intake`). ``settings`` is
the process's `Settings` unless a trusted caller hands in others; it is hidden from the JSON
schema a server publishes, so no HTTP client can send it. ``resources`` (engines, the
knowledge base, the classifier, models) follow from the settings and are opened once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from pydantic.json_schema import SkipJsonSchema

from core.resources import Resources
from core.settings import Settings, get_settings


@dataclass(frozen=True)
class Context:
    customer_id: str = ""
    actor: str = "workflow"
    settings: SkipJsonSchema[Settings] = field(default_factory=get_settings, repr=False, compare=False)

    @cached_property
    def resources(self) -> Resources:
        return Resources.of(self.settings)

    def with_(self, **changes: Any) -> Context:
        """A copy with run fields and/or settings changed: ``ctx.with_(customer_id="C2", model="fake:x")``."""
        run = {k: v for k, v in changes.items() if k in ("customer_id", "actor", "settings")}
        setting = {k: v for k, v in changes.items() if k not in run}
        if setting:
            run["settings"] = run.get("settings", self.settings).with_(**setting)
        return replace(self, **run)
