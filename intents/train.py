"""Train the intent classifier and save it.

    python -m intents.train --out var/models/intent.joblib [--force]

Held-out accuracy is measured by `evals/routing` (``python -m evals.routing.run``), which
imports this package; this package never imports `evals/`.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from intents import augment
from intents.classifier import (
    _PLACEHOLDER,
    _SLANG,
    _SYNONYMS,
    _TOKEN,
    CLASSIFIER_VERSION,
    DEFAULT_CSV,
    OFF_TOPIC,
    IntentClassifier,
    SpellFixer,
    TrainConfig,
    _pre_tokens,
    _softmax,
    file_digest,
    load_or_train,
    normalise,
    read_core_seeds,
    read_seed_files,
    word_view,
)

# Words the speller may correct towards even when the training data has them rarely.
_EXTRA_VOCAB_TEXT = """
account address agent arrive arrival available bill buy cancel cancellation card change
charge charged checkout complaint contact customer date deliver delivery delete details
download edit email error express fee forgot human invoice item login manager methods
newsletter number order package password payment paypal person phone policy premium problem
profile purchase receive refund register registration reset return review service shipping
signup status subscribe subscription switch track tracking unsubscribe update upgrade
downgrade website where when which what while shipped overnight courier
"""
_EXTRA_VOCAB = _EXTRA_VOCAB_TEXT.split()


def _tokenizer_words(min_len: int = 5) -> set[str]:
    """Whole English words of the sentence-vector tokenizer's 32k vocabulary.

    A word that is one token there ("failing", "quit") is real English, so the speller
    must not "correct" it towards a training word ("filing"). Typos are rarely one token.
    """
    from retrieval.vectors import load_model

    words = set()
    for token in load_model().tokenizer.get_vocab():
        word = token[1:] if token.startswith("\u2581") else ""
        if len(word) >= min_len and word.isascii() and word.isalpha() and word.islower():
            words.add(word)
    return words - set(_SYNONYMS) - set(_SLANG)


def build_speller(texts: Sequence[str], vocab_texts: Sequence[str] = ()) -> SpellFixer:
    """A corrector towards the training vocabulary that leaves real English words alone."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(_pre_tokens(t))
    prose: Counter[str] = Counter()
    for t in vocab_texts:
        prose.update(re.findall(r"[a-z]+", _PLACEHOLDER.sub(" ", t).lower()))
    protected = {w for w in prose if len(w) > 2} | set(ENGLISH_STOP_WORDS) | _tokenizer_words()
    # canonical words are correction targets; misspelt synonym keys ("adress") are not
    for word in [*_EXTRA_VOCAB, *_SYNONYMS.values()]:
        counts[word] += 3
    for word in _SYNONYMS:
        if word in protected or counts[word] >= 3:
            counts[word] += 3
    for value in _SLANG.values():
        for word in value.split():
            counts[word] += 3
    return SpellFixer(counts, protected=protected)


def _vectorizer(analyzer: str, ngrams: tuple[int, int], vocabulary: Any = None) -> Any:
    """Word n-grams over whitespace tokens, or character n-grams inside word boundaries."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=analyzer,
        token_pattern=r"\S+" if analyzer == "word" else None,
        lowercase=False,
        ngram_range=tuple(ngrams),
        sublinear_tf=True,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


def _count(docs: Sequence[str], *, analyzer: str, ngrams: tuple[int, int]) -> tuple[Any, np.ndarray]:
    """(document x n-gram count matrix, the n-grams)."""
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(
        analyzer=analyzer,
        token_pattern=r"\S+" if analyzer == "word" else None,
        lowercase=False,
        ngram_range=tuple(ngrams),
        dtype=np.float32,
    )
    counts = vec.fit_transform(docs).tocsr()
    return counts, vec.get_feature_names_out()


def _tfidf(
    counts: Any,
    terms: np.ndarray,
    fit_rows: np.ndarray,
    min_df: int,
    *,
    analyzer: str,
    config: TrainConfig,
) -> tuple[Any, Any]:
    """What ``TfidfVectorizer(sublinear_tf=True, min_df=min_df).fit(fit_rows)`` would give.

    Returns the fitted vectoriser (vocabulary and idf from ``fit_rows`` only) and the
    transformed matrix of every row, computed from the counts instead of the text.
    """
    from sklearn.preprocessing import normalize

    df = np.bincount(counts[fit_rows].indices, minlength=counts.shape[1])
    keep = np.flatnonzero(df >= min_df)
    idf = np.log((1.0 + len(fit_rows)) / (1.0 + df[keep])) + 1.0
    x = counts[:, keep].tocsr()
    x.data = 1.0 + np.log(x.data)
    x = normalize(x.multiply(idf.astype(np.float32)).tocsr(), norm="l2", copy=False)
    ngrams = config.word_ngrams if analyzer == "word" else config.char_ngrams
    vec = _vectorizer(analyzer, ngrams, vocabulary={t: i for i, t in enumerate(terms[keep])})
    vec.idf_ = idf
    return vec, x.astype(np.float32)


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


def _fit_vector_scorer(
    x: np.ndarray, y: np.ndarray, n_classes: int, config: TrainConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(coef [classes x dim], intercept) of a logistic regression on sentence vectors.

    TF-IDF only matches words the training data used; the static vectors put "annul",
    "nuke" and "reimbursement" near "cancel", "delete" and "refund", so the two scorers
    fail on different messages.
    """
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=config.embed_c, max_iter=3000, random_state=seed)
    model.fit(x, y)
    coef = np.zeros((n_classes, x.shape[1]))
    bias = np.full(n_classes, -10.0)
    coef[model.classes_] = model.coef_
    bias[model.classes_] = model.intercept_
    return coef, bias


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
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 2)

    group_list: list[Any] = list(range(len(texts))) if groups is None else list(groups)
    texts, labels = list(texts), list(labels)
    if config.seeds:
        seed_sets = [("seed", read_core_seeds()), ("seedfile", read_seed_files())]
        for tag, seeds in seed_sets:
            for intent, utterances in seeds.items():
                for n, utterance in enumerate(utterances):
                    texts.append(utterance)
                    labels.append(intent)
                    group_list.append(f"{tag}/{intent}/{n}")
    if config.off_topic:
        noise = augment.off_topic_utterances(random.Random(seed + 1), config.off_topic)
        texts = [*texts, *noise]
        labels = [*labels, *([OFF_TOPIC] * len(noise))]
        group_list.extend(f"off/{n}" for n in range(len(noise)))
    classes = sorted(set(labels) - {OFF_TOPIC}) + ([OFF_TOPIC] if OFF_TOPIC in labels else [])
    index = {c: i for i, c in enumerate(classes)}
    # The seed files hold deliberate typos ("wnat", "invioce"): their words must not become
    # correction targets, so the speller learns its vocabulary from the other rows only.
    speller_texts = [t for t, g in zip(texts, group_list, strict=True) if not str(g).startswith("seedfile/")]
    speller = build_speller(speller_texts, vocab_texts) if config.spell else None

    aug_t, aug_l, src = augment.augment_all(texts, labels, config.augment_copies, seed)
    lap("augment")
    cache: dict[str, str] = {}

    def norm(t: str) -> str:
        n = cache.get(t)
        if n is None:
            # normalise=False is the plain lower-case baseline, kept for ablations
            plain = " ".join(_TOKEN.findall(t.lower()))
            n = cache[t] = normalise(t, speller) if config.normalise else plain
        return n

    norms = [norm(t) for t in aug_t]
    words = [word_view(n) for n in norms] if config.normalise else norms
    y = np.array([index[label] for label in aug_l])
    src_arr = np.array(src)
    lap("normalise")

    from scipy import sparse

    # Count n-grams once; each fold then takes its own vocabulary and idf from its
    # training rows (held-out rows add no feature), without analysing the text again.
    word_counts, word_terms = _count(words, analyzer="word", ngrams=config.word_ngrams)
    char_counts, char_terms = _count(norms, analyzer="char_wb", ngrams=config.char_ngrams)
    lap("count")

    def featurise(fit_rows: np.ndarray) -> tuple[Any, Any, Any]:
        wv, xw = _tfidf(word_counts, word_terms, fit_rows, 1, analyzer="word", config=config)
        cv, xc = _tfidf(char_counts, char_terms, fit_rows, config.char_min_df, analyzer="char_wb", config=config)
        return wv, cv, sparse.hstack([xw, xc], format="csr")

    vectors = None
    if config.embed_blend > 0:
        from retrieval.vectors import load_model

        vectors = load_model(config.embedder).encode(norms)
        lap("sentence_vectors")

    # Out-of-fold scores on held-out groups: they set the blend scale and the temperature.
    group_of = _group_ids(group_list)
    rng = np.random.default_rng(seed)
    uniq = np.unique(group_of)
    fold_of_group = dict(zip(uniq, rng.permutation(len(uniq)) % config.calib_folds, strict=True))
    fold = np.array([fold_of_group[g] for g in group_of])[src_arr]
    oof: list[np.ndarray] = []
    oof_y: list[np.ndarray] = []
    oof_vec: list[np.ndarray] = []
    for k in range(config.calib_folds):
        train_rows = np.flatnonzero(fold != k)
        test_rows = np.flatnonzero(fold == k)
        _, _, x = featurise(train_rows)
        models = _fit_linear(x[train_rows], y[train_rows], len(classes), config, seed)
        oof.append(np.stack([x[test_rows] @ w.T + b for w, b in models]))
        oof_y.append(y[test_rows])
        if vectors is not None:
            vw, vb = _fit_vector_scorer(vectors[train_rows], y[train_rows], len(classes), config, seed)
            oof_vec.append(vectors[test_rows] @ vw.T + vb)
    lap("calibration_folds")
    oof_scores = np.concatenate(oof, axis=1)  # [models, rows, classes]
    oof_labels = np.concatenate(oof_y)
    temps = [_fit_temperature(s, oof_labels) for s in oof_scores]
    weights_m = [config.blend_svm, 1.0 - config.blend_svm][: len(temps)]
    blended = sum(w * s / t for w, s, t in zip(weights_m, oof_scores, temps, strict=True))
    if vectors is not None:
        blended = blended + config.embed_blend * np.concatenate(oof_vec)
    temperature = _fit_temperature(blended, oof_labels)
    oof_acc = float(np.mean(blended.argmax(axis=1) == oof_labels))

    word_vec, char_vec, x = featurise(np.arange(len(aug_t)))
    models = _fit_linear(x, y, len(classes), config, seed)
    lap("final_fit")
    coef = sum(w * m[0] / t for w, m, t in zip(weights_m, models, temps, strict=True))
    bias = sum(w * m[1] / t for w, m, t in zip(weights_m, models, temps, strict=True))
    embed_weights = None
    if vectors is not None:
        vw, vb = _fit_vector_scorer(vectors, y, len(classes), config, seed)
        embed_weights = config.embed_blend * vw.T
        bias = bias + config.embed_blend * vb
        lap("sentence_vector_fit")
    meta = {
        "version": CLASSIFIER_VERSION,
        "seed": seed,
        "config": {k: v for k, v in vars(config).items() if k != "extra"},
        "rows": len(texts),
        "rows_augmented": len(aug_t),
        "features": int(x.shape[1]) + (0 if vectors is None else int(vectors.shape[1])),
        "embedder": config.embedder if vectors is not None else None,
        "oof_accuracy": round(oof_acc, 4),
        "model_temperatures": [round(t, 4) for t in temps],
        "temperature": round(temperature, 4),
        "train_seconds": round(time.perf_counter() - started, 2),
        "train_timings": timings,
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
        embed_weights=embed_weights,
    )


def _group_ids(groups: Sequence[Any]) -> np.ndarray:
    ids: dict[Any, int] = {}
    return np.array([ids.setdefault(g, len(ids)) for g in groups])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("var/models/intent.joblib"))
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--seed", type=int, default=13)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
