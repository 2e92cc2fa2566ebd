"""Evals and reports behind `switchboard eval` and `switchboard report` (being built)."""

from __future__ import annotations

from rich.console import Console


def run_evals(*, suite: str | None, model: str | None, as_json: bool, console: Console) -> int:
    raise NotImplementedError("switchboard eval is not built yet")


def write_report(out_dir: str) -> str:
    raise NotImplementedError("switchboard report is not built yet")
