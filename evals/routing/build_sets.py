"""Build a grouped split: the Bitext rows dealt into folds by phrasing family.

    python -m evals.routing.build_sets --out evals/routing/grouped_v2.jsonl

``grouped_v1.jsonl`` beside this file is the released split the evals and tests use.

Bitext utterances are generated from seed templates, so a random split puts
near-duplicates of every test sentence in training. Here each row is reduced to a
skeleton (normalised, synonyms folded, typos corrected, stemmed, filler and entity
values removed, word order dropped); within each intent the skeletons are clustered
(average-linkage cosine, the threshold lowered until no cluster holds more than 30 %
of the intent) and whole clusters are dealt to 5 folds. Fold 0 is the held-out set
that ``evals.routing.run`` and the tests use; all 5 folds give a cross-validated figure.

The output is a versioned data file: rebuilding it after the normaliser changes gives
a different split, so a new split gets a new file name rather than overwriting v1
(the script refuses to overwrite without ``--overwrite``).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np

from intents.catalog import department_for
from intents.classifier import DEFAULT_CSV, normalise, word_view
from intents.train import build_speller

HERE = Path(__file__).resolve().parent
OUT = HERE / "grouped_v1.jsonl"
FOLDS = 5
MAX_SHARE = 0.30

_FILLER_TEXT = """
    i me my you your to a an the of for with from in on at is are am be do does can could
    would will how what where when which help need want have got know tell it this there not
    no t don m d s like some any about by get please possible try trying was been has had
    should just let us question information problem problems issue issues trouble troubles
"""
_FILLER = frozenset(_FILLER_TEXT.split())


def skeleton(text: str, speller) -> str:
    norm = normalise(text, speller)
    words = {word_view(w) for w in norm.split() if w not in _FILLER and not w.startswith("<")}
    return " ".join(sorted(words)) or "empty"


def template(text: str, speller) -> str:
    norm = normalise(text, speller)
    return " ".join(word_view(w) for w in norm.split() if not w.startswith("<"))


def cluster_intent(skeletons: list[str]) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import CountVectorizer

    x = CountVectorizer(binary=True, token_pattern=r"\S+").fit_transform(skeletons).toarray()
    x = x.astype(float)
    for threshold in (0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1):
        labels = AgglomerativeClustering(
            n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average"
        ).fit_predict(x)
        if max(Counter(labels).values()) <= MAX_SHARE * len(skeletons):
            return labels
    return labels


def build(csv_path: Path = DEFAULT_CSV, out: Path = OUT) -> dict[str, int]:
    with csv_path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    texts = [r["instruction"] for r in rows]
    speller = build_speller(texts)
    skels = [skeleton(t, speller) for t in texts]
    templates = [template(t, speller) for t in texts]
    group = [""] * len(rows)
    fold = [0] * len(rows)
    for intent in sorted({r["intent"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["intent"] == intent]
        labels = cluster_intent([skels[i] for i in idx])
        clusters: dict[int, list[int]] = {}
        for i, lab in zip(idx, labels, strict=True):
            clusters.setdefault(int(lab), []).append(i)
        # a cluster too big to hold out whole is dealt out by exact skeleton instead,
        # and a skeleton too big by sentence template (word order and filler kept)
        limit = MAX_SHARE * len(idx)
        skel_size = Counter(skels[i] for i in idx)
        members: dict[str, list[int]] = {}
        for lab, rows_in in clusters.items():
            for i in rows_in:
                key = f"{lab}"
                if len(rows_in) > limit:
                    key = f"{lab}:{skels[i]}"
                    if skel_size[skels[i]] > limit:
                        key = f"{key}:{templates[i]}"
                members.setdefault(key, []).append(i)
        load = [0] * FOLDS
        # biggest clusters first, each to the emptiest fold (ties: lowest fold number)
        for n, (_, rows_in) in enumerate(sorted(members.items(), key=lambda kv: (-len(kv[1]), min(kv[1])))):
            f = min(range(FOLDS), key=lambda k: (load[k], k))
            load[f] += len(rows_in)
            for i in rows_in:
                group[i] = f"{intent}/{n:03d}"
                fold[i] = f
    with out.open("w", encoding="utf-8") as fh:
        for i, r in enumerate(rows):
            fh.write(
                json.dumps(
                    {
                        "row": i,
                        "text": r["instruction"],
                        "intent": r["intent"],
                        "department": department_for(r["intent"]),
                        "tags": r["tags"],
                        "group": group[i],
                        "fold": fold[i],
                    }
                )
                + "\n"
            )
    return dict(Counter(fold))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build a grouped split of the Bitext rows.")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.overwrite:
        parser.error(f"{args.out} exists: released splits are not rewritten; pass a new --out")
    print(build(args.csv, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
