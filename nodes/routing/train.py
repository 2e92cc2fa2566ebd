"""Train the intent classifier and save it.

    python -m nodes.routing.train --out var/models/intent.joblib [--report]

``--report`` also trains a second model without the held-out phrasing groups of
``evals/routing/grouped_v1.jsonl`` and prints its accuracy on them (and on the
hand-written hard set) as JSON; that takes one more training run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nodes.routing import augment
from nodes.routing.classifier import (
    _PLACEHOLDER,
    _SLANG,
    _SYNONYMS,
    CLASSIFIER_VERSION,
    DEFAULT_CSV,
    IntentClassifier,
    SpellFixer,
    TrainConfig,
    _pre_tokens,
    _softmax,
    file_digest,
    load_or_train,
    normalise,
    word_view,
)

# Words the speller may correct towards even when the training data has them rarely.
_EXTRA_VOCAB = """
account address agent arrive arrival available bill buy cancel cancellation card change
charge charged checkout complaint contact customer date deliver delivery delete details
download edit email error express fee forgot human invoice item login manager methods
newsletter number order package password payment paypal person phone policy premium
problem profile purchase receive refund register registration reset return review service
shipping signup status subscribe subscription switch track tracking unsubscribe update
upgrade downgrade website where when which what while shipped overnight courier
""".split()


def build_speller(texts: Sequence[str], vocab_texts: Sequence[str] = ()) -> SpellFixer:
    """A corrector towards the training vocabulary that leaves real English words alone."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(_pre_tokens(t))
    prose: Counter[str] = Counter()
    for t in vocab_texts:
        prose.update(re.findall(r"[a-z]+", _PLACEHOLDER.sub(" ", t).lower()))
    protected = {w for w, c in prose.items() if c >= 2 and len(w) > 2} | set(ENGLISH_STOP_WORDS)
    for word in [*_EXTRA_VOCAB, *_SYNONYMS, *_SYNONYMS.values()]:
        counts[word] += 3
    for value in _SLANG.values():
        for word in value.split():
            counts[word] += 3
    return SpellFixer(counts, protected=protected)


def _vectorizers(config: TrainConfig) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(
        token_pattern=r"\S+",
        lowercase=False,
        ngram_range=config.word_ngrams,
        sublinear_tf=True,
        min_df=1,
        dtype=np.float32,
    )
    char = TfidfVectorizer(
        analyzer="char_wb",
        lowercase=False,
        ngram_range=config.char_ngrams,
        sublinear_tf=True,
        min_df=config.char_min_df,
        dtype=np.float32,
    )
    return word, char


def _fit_linear(
    x: Any, y: np.ndarray, n_classes: int, config: TrainConfig, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(coef [classes x features], intercept) for each base model, in a fixed order.

    A class missing from ``y`` (possible in a calibration fold) gets zero weights and a
    very low intercept, so every model scores all ``n_classes`` columns.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    def full(model: Any) -> tuple[np.ndarray, np.ndarray]:
        coef = np.zeros((n_classes, x.shape[1]))
        bias = np.full(n_classes, -10.0)
        coef[model.classes_] = model.coef_
        bias[model.classes_] = model.intercept_
        return coef, bias

    out = []
    svm = LinearSVC(C=config.svm_c, random_state=seed)
    svm.fit(x, y)
    out.append(full(svm))
    if config.blend_svm < 1.0:
        lr = LogisticRegression(C=config.lr_c, max_iter=300, random_state=seed)
        lr.fit(x, y)
        out.append(full(lr))
    return out


def _nll(scores: np.ndarray, y: np.ndarray, temperature: float) -> float:
    p = _softmax(scores / temperature)
    return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    grid = np.exp(np.linspace(np.log(0.01), np.log(20.0), 200))
    losses = [_nll(scores, y, t) for t in grid]
    return float(grid[int(np.argmin(losses))])


def fit_model(
    cls: type[IntentClassifier],
    texts: list[str],
    labels: list[str],
    *,
    seed: int = 13,
    config: TrainConfig | None = None,
    groups: Sequence[Any] | None = None,
    vocab_texts: Sequence[str] = (),
) -> IntentClassifier:
    config = config or TrainConfig()
    started = time.perf_counter()
    group_list: list[Any] = list(range(len(texts))) if groups is None else list(groups)
    if config.seeds:
        for intent, utterances in augment.SEED_UTTERANCES.items():
            for n, utterance in enumerate(utterances):
                texts = [*texts, utterance]
                labels = [*labels, intent]
                group_list.append(f"seed/{intent}/{n}")
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    speller = build_speller(texts, vocab_texts) if config.spell else None

    aug_t, aug_l, src = augment.augment_all(texts, labels, config.augment_copies, seed)
    cache: dict[str, str] = {}

    def norm(t: str) -> str:
        n = cache.get(t)
        if n is None:
            n = cache[t] = normalise(t, speller)
        return n

    norms = [norm(t) for t in aug_t]
    words = [word_view(n) for n in norms]
    y = np.array([index[label] for label in aug_l])
    src_arr = np.array(src)

    from scipy import sparse

    def featurise(fit_rows: np.ndarray) -> tuple[Any, Any, Any]:
        wv, cv = _vectorizers(config)
        wv.fit([words[i] for i in fit_rows])
        cv.fit([norms[i] for i in fit_rows])
        x = sparse.hstack([wv.transform(words), cv.transform(norms)], format="csr")
        return wv, cv, x

    # Out-of-fold scores on held-out groups: they set the blend scale and the temperature.
    group_of = _group_ids(group_list)
    rng = np.random.default_rng(seed)
    uniq = np.unique(group_of)
    fold_of_group = dict(zip(uniq, rng.permutation(len(uniq)) % config.calib_folds, strict=True))
    fold = np.array([fold_of_group[g] for g in group_of])[src_arr]
    oof: list[np.ndarray] = []
    oof_y: list[np.ndarray] = []
    for k in range(config.calib_folds):
        train_rows = np.flatnonzero(fold != k)
        test_rows = np.flatnonzero(fold == k)
        _, _, x = featurise(train_rows)
        models = _fit_linear(x[train_rows], y[train_rows], len(classes), config, seed)
        oof.append(np.stack([x[test_rows] @ w.T + b for w, b in models]))
        oof_y.append(y[test_rows])
    oof_scores = np.concatenate(oof, axis=1)  # [models, rows, classes]
    oof_labels = np.concatenate(oof_y)
    temps = [_fit_temperature(s, oof_labels) for s in oof_scores]
    weights_m = [config.blend_svm, 1.0 - config.blend_svm][: len(temps)]
    blended = sum(w * s / t for w, s, t in zip(weights_m, oof_scores, temps, strict=True))
    temperature = _fit_temperature(blended, oof_labels)
    oof_acc = float(np.mean(blended.argmax(axis=1) == oof_labels))

    word_vec, char_vec, x = featurise(np.arange(len(aug_t)))
    models = _fit_linear(x, y, len(classes), config, seed)
    coef = sum(w * m[0] / t for w, m, t in zip(weights_m, models, temps, strict=True))
    bias = sum(w * m[1] / t for w, m, t in zip(weights_m, models, temps, strict=True))
    meta = {
        "version": CLASSIFIER_VERSION,
        "seed": seed,
        "config": {k: v for k, v in vars(config).items() if k != "extra"},
        "rows": len(texts),
        "rows_augmented": len(aug_t),
        "features": int(x.shape[1]),
        "oof_accuracy": round(oof_acc, 4),
        "model_temperatures": [round(t, 4) for t in temps],
        "temperature": round(temperature, 4),
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    return cls(
        speller=speller,
        word_vec=word_vec,
        char_vec=char_vec,
        weights=np.asarray(coef).T,
        bias=np.asarray(bias),
        temperature=temperature,
        classes=classes,
        meta=meta,
    )


def _group_ids(groups: Sequence[Any]) -> np.ndarray:
    ids: dict[Any, int] = {}
    return np.array([ids.setdefault(g, len(ids)) for g in groups])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("var/models/intent.joblib"))
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--report", action="store_true", help="print held-out metrics as JSON")
    parser.add_argument("--force", action="store_true", help="retrain even if the model is fresh")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.force or args.seed != 13:
        model = IntentClassifier.train(args.csv, seed=args.seed)
        model.meta["train_seconds"] = round(time.perf_counter() - started, 2)
        model.save(args.out)
    else:
        model = load_or_train(args.out, args.csv)
    print(
        f"intent model {args.out} (version {CLASSIFIER_VERSION}, "
        f"csv {file_digest(args.csv)[:12]}, trained in {model.meta.get('train_seconds')} s)",
        file=sys.stderr,
    )
    if args.report:
        from evals.routing.run import evaluate

        print(json.dumps(evaluate(full_model=model, csv_path=args.csv, seed=args.seed), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
