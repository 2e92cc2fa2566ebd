"""What each technique adds: train with parts switched off and score every held-out set.

    python -m evals.routing.ablate [--json] [--only NAME,...]

Each row trains twice (all Bitext rows, for the hand-written sets; the grouped split
without fold 0, for the grouped set), about a minute per row on two cores.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from evals.routing.run import HARD, HARD_BLIND, HARD_DEV, fit_on, grouped_split, read_jsonl, score
from intents.classifier import (
    DEFAULT_CSV,
    IntentClassifier,
    TrainConfig,
    read_bitext,
    read_bitext_responses,
)

PLAIN = {"normalise": False, "spell": False, "augment_copies": 0, "seeds": False, "off_topic": 0}
VARIANTS: dict[str, dict[str, Any]] = {
    "plain tf-idf + svm": PLAIN,
    "+ normalisation": {**PLAIN, "normalise": True},
    "+ spelling correction": {**PLAIN, "normalise": True, "spell": True},
    "+ noisy copies x4": {**PLAIN, "normalise": True, "spell": True, "augment_copies": 4},
    "+ seed utterances": {"off_topic": 0},
    "+ off-topic class (shipped)": {},
    "shipped - spelling": {"spell": False},
    "shipped - noisy copies": {"augment_copies": 0},
    "shipped + logistic blend": {"blend_svm": 0.5},
}


def run_variant(overrides: dict[str, Any], seed: int = 13) -> dict[str, Any]:
    config = TrainConfig(**overrides)
    texts, labels = read_bitext(DEFAULT_CSV)
    started = time.perf_counter()
    full = IntentClassifier.fit(texts, labels, seed=seed, config=config, vocab_texts=read_bitext_responses(DEFAULT_CSV))
    seconds = time.perf_counter() - started
    train_rows, test_rows = grouped_split(0)
    grouped = fit_on(train_rows, DEFAULT_CSV, seed, config=config)
    row: dict[str, Any] = {"train_seconds": round(seconds, 1)}
    g = score(grouped, test_rows)
    c = score(grouped, [r for r in test_rows if set(r["tags"]) & set("QWZ")])
    row["grouped"] = (g["intent_acc"], g["department_acc"])
    row["grouped/colloquial"] = (c["intent_acc"], c["department_acc"])
    for name, path in (("hard", HARD), ("hard_dev", HARD_DEV), ("hard_blind", HARD_BLIND)):
        s = score(full, read_jsonl(path))
        row[name] = (s["intent_acc"], s["department_acc"])
    row["gibberish_conf"] = round(full.predict("asdkjh qwe").confidence, 3)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ablation of the intent classifier.")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated variant names")
    args = parser.parse_args(argv)
    names = [n for n in VARIANTS if not args.only or n in args.only.split(",")]
    cols = ("grouped", "grouped/colloquial", "hard", "hard_dev", "hard_blind")
    if not args.json:
        print(f"{'variant':<30}" + "".join(f"{c:>20}" for c in cols) + f"{'train s':>9}")
    results = {}
    for name in names:
        row = results[name] = run_variant(VARIANTS[name])
        if args.json:
            continue
        cells = "".join(f"{row[c][0]:>10.1%}/{row[c][1]:>7.1%}  " for c in cols)
        print(f"{name:<30}{cells}{row['train_seconds']:>7}", flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
