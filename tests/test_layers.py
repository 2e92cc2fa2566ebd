"""The floor plan holds: arrows run one way (the import contracts in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_no_node_reads_the_environment_or_a_table_directly() -> None:
    """Nodes get settings from the run's context and reach the store through the gateway,
    the audit log or a named data-access module of store/, never by importing the schema."""
    offenders = []
    for path in (ROOT / "nodes").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("os.environ", "getenv(", "from store.schema import", "import store.schema"):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []
