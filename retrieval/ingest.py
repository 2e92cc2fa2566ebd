"""Ingest the knowledge base into a persistent Chroma collection and print the report as JSON.

python -m retrieval.ingest --persist var/kb [--docs data/kb]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .documents import DocumentError
from .knowledge_base import DEFAULT_DOCS_DIR, KnowledgeBase


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval.ingest", description=__doc__)
    parser.add_argument("--persist", required=True, type=Path, help="Chroma persist directory")
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS_DIR, help="Markdown folder")
    args = parser.parse_args(argv)
    try:
        report = KnowledgeBase(args.persist, args.docs).ingest()
    except DocumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
