"""Compare offline embedding / ranking options on the retrieval questions (the choice's evidence).

    python -m evals.retrieval.compare [--k 5] [--json]

Every option ranks the same chunks (``retrieval.documents``, title prefixed as in the product)
by exact scoring in numpy, outside Chroma, and is scored by ``evals.retrieval.run.score``:
recall@1/3/k and MRR@k per split, and p50 latency of ranking one query (no Chroma overhead).

- ``tfidf-word+char``: scikit-learn TF-IDF over word 1-2 grams and char_wb 3-5 grams, fitted
  on the knowledge base (sparse; refit on every change of the knowledge base).
- ``lsa-128``: the same projected to 128 dimensions with TruncatedSVD (dense, fitted).
- ``hashing-word+char``: HashingVectorizer on the same features (stateless, no IDF).
- ``bm25``: Okapi BM25 (k1=1.5, b=0.75) over English word tokens, stop words removed.
- ``static-token``: the product's embedding: mean of packaged static token vectors.
- ``rrf(static-token, bm25)``: reciprocal rank fusion (k=60) of the two.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from evals.retrieval.run import read_questions, score
from retrieval import DEFAULT_DOCS_DIR
from retrieval.documents import chunk_document, load_documents
from retrieval.embeddings import load_model
from retrieval.knowledge_base import embedding_text

Scorer = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class _Hit:
    doc_id: str


class _Ranker:
    """Looks like ``KnowledgeBase.search`` to ``score``: best chunk per document, best first."""

    def __init__(self, scorer: Scorer, chunk_docs: np.ndarray) -> None:
        self.scorer, self.chunk_docs = scorer, chunk_docs

    def search(self, query: str, k: int = 5) -> list[_Hit]:
        order = np.argsort(-self.scorer(query), kind="stable")
        return [_Hit(d) for d in dict.fromkeys(self.chunk_docs[order])][:k]


def _bm25(texts: list[str], k1: float = 1.5, b: float = 0.75) -> Scorer:
    vec = CountVectorizer(stop_words="english")
    tf = csr_matrix(vec.fit_transform(texts), dtype=np.float64)
    n_docs = tf.shape[0]
    df = np.bincount(tf.indices, minlength=tf.shape[1])
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    lengths = np.asarray(tf.sum(axis=1)).ravel()
    norm = k1 * (1 - b + b * lengths / lengths.mean())
    weighted = tf.copy()
    rows = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
    weighted.data = idf[tf.indices] * tf.data * (k1 + 1) / (tf.data + norm[rows])
    weighted = weighted.tocsc()

    def scorer(query: str) -> np.ndarray:
        terms = np.flatnonzero(vec.transform([query]).toarray().ravel())
        return np.asarray(weighted[:, terms].sum(axis=1)).ravel()

    return scorer


def _rrf(*scorers: Scorer, k: int = 60) -> Scorer:
    def scorer(query: str) -> np.ndarray:
        total: np.ndarray | None = None
        for s in scorers:
            values = s(query)
            ranks = np.empty(len(values))
            ranks[np.argsort(-values, kind="stable")] = np.arange(len(values))
            part = 1.0 / (k + ranks + 1)
            total = part if total is None else total + part
        assert total is not None
        return total

    return scorer


def build_scorers(texts: list[str]) -> dict[str, Scorer]:
    word = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), stop_words="english").fit(texts)
    char = TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(3, 5)).fit(texts)

    def tfidf(t: list[str]) -> Any:
        return normalize(hstack([word.transform(t), char.transform(t)]).tocsr())

    tfidf_matrix = tfidf(texts)
    svd = TruncatedSVD(128, random_state=0).fit(tfidf_matrix)
    lsa_matrix = normalize(svd.transform(tfidf_matrix))
    hw = HashingVectorizer(ngram_range=(1, 2), stop_words="english", alternate_sign=False)
    hc = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), alternate_sign=False)

    def hashing(t: list[str]) -> Any:
        return normalize(hstack([hw.transform(t), hc.transform(t)]).tocsr())

    hashing_matrix = hashing(texts)
    model = load_model()
    static_matrix = model.encode(texts)
    bm25 = _bm25(texts)

    def static(q: str) -> np.ndarray:
        return static_matrix @ model.encode([q])[0]

    return {
        "tfidf-word+char": lambda q: (tfidf_matrix @ tfidf([q]).T).toarray().ravel(),
        "lsa-128": lambda q: lsa_matrix @ normalize(svd.transform(tfidf([q]))).ravel(),
        "hashing-word+char": lambda q: (hashing_matrix @ hashing([q]).T).toarray().ravel(),
        "bm25": bm25,
        "static-token": static,
        "rrf(static-token, bm25)": _rrf(static, bm25),
    }


def compare(k: int = 5) -> dict[str, Any]:
    docs = load_documents(DEFAULT_DOCS_DIR)
    chunks = [(d, c) for d in docs for c in chunk_document(d)]
    texts = [embedding_text(d.title, c.text) for d, c in chunks]
    chunk_docs = np.array([d.doc_id for d, _ in chunks])
    questions = read_questions()
    splits = sorted({q["split"] for q in questions})
    results: dict[str, Any] = {}
    for name, scorer in build_scorers(texts).items():
        ranker = _Ranker(scorer, chunk_docs)
        results[name] = {
            s: {
                key: v
                for key, v in score(ranker, [q for q in questions if q["split"] == s], k).items()
                if key != "not_first"
            }
            for s in splits
        }
    return {"chunks": len(texts), "k": k, "options": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.retrieval.compare", description=__doc__)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = compare(args.k)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    k = args.k
    print(f"{result['chunks']} chunks, k={k}, {time.perf_counter() - start:.1f}s")
    print(f"{'option':26} {'split':5} {'R@1':>6} {'R@3':>6} {f'R@{k}':>6} {'MRR':>6} {'p50 ms':>7}")
    for name, by_split in result["options"].items():
        for split, row in by_split.items():
            print(
                f"{name:26} {split:5} {row['recall@1']:>6.3f} {row['recall@3']:>6.3f} "
                f"{row[f'recall@{k}']:>6.3f} {row[f'mrr@{k}']:>6.3f} {row['p50_ms']:>7.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
