"""Score knowledge-base search on the versioned customer questions.

    python -m evals.retrieval.run [--k 5] [--json] [--persist DIR] [--misses]

Builds the collection in a temporary folder (or uses ``--persist``, ingesting incrementally),
asks every question of ``questions.v1.jsonl`` and prints, per split (``dev``: used for tuning;
``test``: held out, looked at only to report), recall@1/3/k and MRR@k at document level, plus the
p50/p95 latency of one ``search`` call. A question is a hit at n when any of its
``expected_doc_ids`` is among the first n documents returned.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from retrieval import KnowledgeBase

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "questions.v1.jsonl"
DATASET_VERSION = "v1"


def read_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def cutoffs(k: int) -> list[int]:
    return sorted({c for c in (1, 3, k) if c <= k})


def score(kb: KnowledgeBase, questions: Sequence[dict[str, Any]], k: int = 5) -> dict[str, Any]:
    """Recall at each cutoff, MRR@k and latency for ``questions`` (one split)."""
    kb.search("warm up", k=k)  # loads the embedding model outside the timings
    hits = {c: 0 for c in cutoffs(k)}
    reciprocal = 0.0
    latencies: list[float] = []
    misses: list[dict[str, Any]] = []
    for q in questions:
        start = time.perf_counter()
        passages = kb.search(q["question"], k=k)
        latencies.append((time.perf_counter() - start) * 1000)
        ranked = list(dict.fromkeys(p.doc_id for p in passages))
        expected = set(q["expected_doc_ids"])
        rank = next((i for i, doc in enumerate(ranked) if doc in expected), None)
        if rank is not None:
            reciprocal += 1 / (rank + 1)
        for c in hits:
            hits[c] += rank is not None and rank < c
        if rank is None or rank > 0:
            misses.append(
                {
                    "id": q["id"],
                    "question": q["question"],
                    "expected": q["expected_doc_ids"],
                    "rank": None if rank is None else rank + 1,
                    "got": ranked[:3],
                }
            )
    n = len(questions)
    latencies.sort()
    return {
        "n": n,
        **{f"recall@{c}": round(hits[c] / n, 4) if n else 0.0 for c in hits},
        f"mrr@{k}": round(reciprocal / n, 4) if n else 0.0,
        "p50_ms": round(statistics.median(latencies), 3) if latencies else 0.0,
        "p95_ms": round(latencies[int(0.95 * (n - 1))], 3) if latencies else 0.0,
        "not_first": misses,
    }


def run(kb: KnowledgeBase, k: int = 5, path: Path = QUESTIONS) -> dict[str, Any]:
    questions = read_questions(path)
    splits = sorted({q["split"] for q in questions})
    return {
        "dataset": path.name,
        "k": k,
        "splits": {s: score(kb, [q for q in questions if q["split"] == s], k) for s in splits},
    }


def _print_table(result: dict[str, Any], ingest: dict[str, Any], show_misses: bool) -> None:
    k = result["k"]
    cols = [f"recall@{c}" for c in cutoffs(k)] + [f"mrr@{k}", "p50_ms", "p95_ms"]
    print(f"{result['dataset']}  k={k}  ingest {ingest['seconds']:.2f}s, {ingest['chunks']} chunks")
    print(f"{'split':6} {'n':>4} " + " ".join(f"{c:>10}" for c in cols))
    for name, row in result["splits"].items():
        print(f"{name:6} {row['n']:>4} " + " ".join(f"{row[c]:>10}" for c in cols))
    if show_misses:
        for name, row in result["splits"].items():
            for m in row["not_first"]:
                print(f"  {name} {m['id']} rank={m['rank']} {m['question']!r} expected={m['expected']} got={m['got']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.retrieval.run", description=__doc__)
    parser.add_argument("--k", type=int, default=5, help="passages asked of search (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--persist", type=Path, help="reuse this Chroma folder (default: a temp one)")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--misses", action="store_true", help="list questions not ranked first")
    parser.add_argument(
        "--fail-under",
        type=float,
        default=None,
        help="exit 1 if recall@k of the test split is below this",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        kb = KnowledgeBase(args.persist or Path(tmp))
        ingest = kb.ingest().to_dict()
        result = run(kb, args.k, args.questions)
    result["ingest"] = ingest
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_table(result, ingest, args.misses)
    test = result["splits"].get("test")
    if args.fail_under is not None and test and test[f"recall@{args.k}"] < args.fail_under:
        print(f"test recall@{args.k} {test[f'recall@{args.k}']} < {args.fail_under}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
