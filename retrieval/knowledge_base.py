"""The store's knowledge base: Markdown documents, chunked into a persistent Chroma collection."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import chromadb
from chromadb.config import Settings
from chromadb.errors import NotFoundError

from .answers import content_words
from .documents import Chunk, Document, chunk_document, load_documents
from .embeddings import DEFAULT_MODEL, StaticTokenEmbeddingFunction

DEFAULT_DOCS_DIR = Path(__file__).resolve().parent.parent / "data" / "kb"
COLLECTION = "northwind_kb"
# Bump when chunking or the text that is embedded changes: every document is then re-embedded.
INDEX_VERSION = "chunks-v1"
CODE = re.compile(r"\b[A-Za-z]{1,3}-\d{3,4}\b")  # error codes like E-203
TITLE_WORD_BONUS = 0.04
"""Cosine distance a chunk gains when the query uses all the rare words of its article's title
("do you ship internationally" -> "International shipping"); a field boost as in BM25F. Mean
token vectors blur one decisive word among many; 0.02-0.06 measured the same on the question
sets (recall@5 dev 1.00 / test 0.97), and this moves the named article into the top three."""


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk of a knowledge-base document."""

    doc_id: str
    title: str
    text: str
    score: float  # cosine similarity of the query and the chunk (plus the title bonus), higher is better
    chunk: int
    # the whole article the chunk is from (``search(..., whole_documents=True)``): the answer
    # to a question can sit in another section than the chunk that matched best
    document: str = ""


@dataclass(frozen=True)
class IngestReport:
    """What :meth:`KnowledgeBase.ingest` changed, counted in documents (``chunks`` is the total)."""

    added: int
    updated: int
    removed: int
    unchanged: int
    chunks: int
    rebuilt: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chunk_id(doc_id: str, index: int) -> str:
    return f"{doc_id}#{index}"


def _doc_of(chunk_id: str) -> str:
    return chunk_id.rpartition("#")[0]


def embedding_text(title: str, chunk_text: str) -> str:
    """The text that is embedded for a chunk: the document title gives every chunk its topic."""
    return f"{title}\n{chunk_text}"


class KnowledgeBase:
    """Documents in ``docs_dir`` indexed in a Chroma collection persisted under ``persist_dir``.

    Opening is cheap: no embedding model loads and nothing is read until the first
    :meth:`ingest` or :meth:`search`. A search on a collection that was never ingested
    returns no passages.
    """

    def __init__(self, persist_dir: Path, docs_dir: Path = DEFAULT_DOCS_DIR) -> None:
        self.persist_dir = Path(persist_dir)
        self.docs_dir = Path(docs_dir)
        self.persist_dir.mkdir(parents=True, exist_ok=True)
        self._embedder = StaticTokenEmbeddingFunction(DEFAULT_MODEL)
        self._client = chromadb.PersistentClient(
            path=str(self.persist_dir),
            settings=Settings(anonymized_telemetry=False, allow_reset=False),
        )
        self._collection = self._open_collection()
        self._lock = threading.RLock()
        self._titles: dict[str, tuple[set[str], float]] | None = None  # doc id -> title words, their weight
        self._title_idf: dict[str, float] = {}

    # -- collection -------------------------------------------------------------------------

    def _open_collection(self) -> Any:
        return self._client.get_or_create_collection(
            COLLECTION,
            embedding_function=cast(Any, self._embedder),  # chromadb's protocol is narrower than its runtime
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"index_version": INDEX_VERSION, "embedding_model": DEFAULT_MODEL},
        )

    def _read(self, method: str, **kwargs: Any) -> Any:
        """Call a read method of the collection; reopen it once if another process rebuilt it."""
        try:
            return getattr(self._collection, method)(**kwargs)
        except NotFoundError:
            self._collection = self._open_collection()
            return getattr(self._collection, method)(**kwargs)

    def _is_current(self) -> bool:
        meta = self._collection.metadata or {}
        return meta.get("index_version") == INDEX_VERSION and meta.get("embedding_model") == DEFAULT_MODEL

    # -- ingest -----------------------------------------------------------------------------

    def ingest(self) -> IngestReport:
        """Bring the collection in line with ``docs_dir``.

        Documents are compared by the hash of their file: new ones are added, changed ones
        re-chunked and re-embedded, deleted ones removed, unchanged ones left alone. A document
        whose chunks are incomplete (an interrupted earlier ingest) counts as changed. If the
        collection was built by another chunking or embedding version it is rebuilt.
        """
        start = time.perf_counter()
        with self._lock:
            rebuilt = False
            self._titles = None  # titles may change with the documents
            # A fresh handle: another process may have rebuilt the collection since we opened it.
            self._collection = self._open_collection()
            if not self._is_current():
                self._client.delete_collection(COLLECTION)
                self._collection = self._open_collection()
                rebuilt = True
            docs = load_documents(self.docs_dir)
            indexed = self._indexed_state()
            on_disk = {d.doc_id for d in docs}
            added = updated = unchanged = 0
            to_write: list[tuple[Document, list[Chunk]]] = []
            stale_ids: list[str] = []
            for doc in docs:
                state = indexed.get(doc.doc_id)
                if state is None:
                    added += 1
                elif state["hash"] != doc.content_hash or not state["complete"]:
                    updated += 1
                    stale_ids.extend(state["ids"])
                else:
                    unchanged += 1
                    continue
                to_write.append((doc, chunk_document(doc)))
            removed_docs = [doc_id for doc_id in indexed if doc_id not in on_disk]
            for doc_id in removed_docs:
                stale_ids.extend(indexed[doc_id]["ids"])
            if stale_ids:
                self._collection.delete(ids=stale_ids)
            if to_write:
                self._write(to_write)
            return IngestReport(
                added=added,
                updated=updated,
                removed=len(removed_docs),
                unchanged=unchanged,
                chunks=self._collection.count(),
                rebuilt=rebuilt,
                seconds=round(time.perf_counter() - start, 3),
            )

    def _indexed_state(self) -> dict[str, dict[str, Any]]:
        got = self._collection.get(include=["metadatas"])
        state: dict[str, dict[str, Any]] = {}
        for chunk_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
            entry = state.setdefault(
                str(meta["doc_id"]),
                {"hash": meta.get("doc_hash"), "ids": [], "n_chunks": meta.get("n_chunks")},
            )
            entry["ids"].append(chunk_id)
            if meta.get("doc_hash") != entry["hash"]:
                entry["hash"] = None  # mixed versions of one document: treat as changed
        for entry in state.values():
            entry["complete"] = entry["n_chunks"] == len(entry["ids"])
        return state

    def _write(self, items: list[tuple[Document, list[Chunk]]]) -> None:
        ids: list[str] = []
        texts: list[str] = []
        to_embed: list[str] = []
        metadatas: list[dict[str, Any]] = []
        for doc, chunks in items:
            for chunk in chunks:
                ids.append(_chunk_id(doc.doc_id, chunk.index))
                texts.append(chunk.text)
                to_embed.append(embedding_text(doc.title, chunk.text))
                metadatas.append(
                    {
                        "doc_id": doc.doc_id,
                        "title": doc.title,
                        "category": doc.category,
                        "chunk": chunk.index,
                        "n_chunks": len(chunks),
                        "chunk_hash": chunk.content_hash,
                        "doc_hash": doc.content_hash,
                    }
                )
        embeddings = self._embedder(to_embed)
        batch = self._client.get_max_batch_size()  # Chroma refuses larger upserts
        for start in range(0, len(ids), batch):
            end = start + batch
            self._collection.upsert(
                ids=ids[start:end],
                documents=texts[start:end],
                embeddings=embeddings[start:end],
                metadatas=metadatas[start:end],
            )

    # -- search -----------------------------------------------------------------------------

    def _title_words(self) -> dict[str, tuple[set[str], float]]:
        """Each article's title words and their summed IDF over all titles; read once per ingest."""
        if self._titles is None:
            got = self._read("get", include=["metadatas"])
            titles = {str(m["doc_id"]): content_words(str(m["title"])) for m in got["metadatas"] or []}
            df = Counter(w for words in titles.values() for w in words)
            self._title_idf = {w: math.log(len(titles) / n) for w, n in df.items()}
            self._titles = {d: (ws, sum(self._title_idf[w] for w in ws)) for d, ws in titles.items()}
        return self._titles

    def _boost_title_matches(self, query: str, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        titles = self._title_words()
        asked = content_words(query)
        if not asked or not titles:
            return ranked
        boosted = []
        for cid, dist in ranked:
            words, mass = titles.get(_doc_of(cid), (set(), 0.0))
            share = sum(self._title_idf[w] for w in words & asked) / mass if mass > 0 else 0.0
            boosted.append((cid, dist - TITLE_WORD_BONUS * share))
        return sorted(boosted, key=lambda item: item[1])

    def _exact_code_hits(self, query: str) -> list[str]:
        """Ids of chunks containing an error or reference code quoted in the query (embeddings blur them)."""
        codes = list(dict.fromkeys(m.upper() for m in CODE.findall(query)))[:3]
        hits: list[str] = []
        for code in codes:
            res = self._read("get", where_document={"$contains": code}, include=[])
            hits.extend(cid for cid in res["ids"] if cid not in hits)
        return hits

    def search(self, query: str, k: int = 5, *, whole_documents: bool = False) -> list[Passage]:
        """The ``k`` passages most similar to ``query``, best first.

        At most one passage per document (its best chunk), unless ``k`` is larger than the
        number of documents, in which case further chunks fill the list. ``whole_documents``
        also fills each passage's ``document`` with its article's full text.
        """
        query = query.strip()
        if k <= 0 or not query:
            return []
        with self._lock:
            query_embeddings = self._embedder.embed_query([query])
            n = max(8 * k, 40)
            while True:
                # Ids and distances only: asking Chroma for documents and metadata of every
                # candidate costs several ms; we fetch them below for the chosen ``k`` only.
                res = self._read("query", query_embeddings=query_embeddings, n_results=n, include=["distances"])
                ranked = list(zip(res["ids"][0], res["distances"][0], strict=True))
                if len(ranked) < n or len({_doc_of(cid) for cid, _ in ranked}) >= k:
                    break  # the whole collection was returned, or enough documents
                n *= 4
            ranked = self._boost_title_matches(query, ranked)
            exact = self._exact_code_hits(query)
            if exact:  # a chunk naming the exact code the customer quotes ("E-203") goes first
                ranked = [(cid, -1.0) for cid in exact] + [(c, d) for c, d in ranked if c not in exact]
            best: list[tuple[str, float]] = []
            rest: list[tuple[str, float]] = []
            seen: set[str] = set()
            for cid, dist in ranked:
                if _doc_of(cid) in seen:
                    rest.append((cid, dist))
                else:
                    seen.add(_doc_of(cid))
                    best.append((cid, dist))
            chosen = (best + rest)[:k]
            if not chosen:
                return []
            got = self._read("get", ids=[cid for cid, _ in chosen], include=["documents", "metadatas"])
            full: dict[str, str] = {}
            if whole_documents:
                doc_ids = sorted({_doc_of(cid) for cid, _ in chosen})
                rows = self._read("get", where={"doc_id": {"$in": doc_ids}}, include=["documents", "metadatas"])
                parts: dict[str, list[tuple[int, str]]] = {}
                for text, meta in zip(rows["documents"], rows["metadatas"], strict=True):
                    parts.setdefault(str(meta["doc_id"]), []).append((int(meta["chunk"]), str(text)))
                full = {d: "\n\n".join(t for _, t in sorted(p)) for d, p in parts.items()}
        by_id = dict(zip(got["ids"], zip(got["documents"], got["metadatas"], strict=True), strict=True))
        passages: list[Passage] = []
        for cid, dist in chosen:
            if cid not in by_id:  # deleted by a concurrent ingest between the two calls
                continue
            text, meta = by_id[cid]
            passages.append(
                Passage(
                    doc_id=str(meta["doc_id"]),
                    title=str(meta["title"]),
                    text=str(text),
                    score=round(1.0 - float(dist), 6),
                    chunk=int(meta["chunk"]),
                    document=full.get(str(meta["doc_id"]), ""),
                )
            )
        return passages

    # -- listing ----------------------------------------------------------------------------

    def documents(self) -> list[dict[str, str]]:
        """The indexed documents: ``id``, ``title`` and ``category``, sorted by id."""
        with self._lock:
            got = self._read("get", where={"chunk": 0}, include=["metadatas"])
        docs = [
            {"id": str(m["doc_id"]), "title": str(m["title"]), "category": str(m["category"])}
            for m in got["metadatas"] or []
        ]
        return sorted(docs, key=lambda d: d["id"])


_cache: dict[tuple[Path, Path], KnowledgeBase] = {}
_cache_lock = threading.Lock()


def get_knowledge_base(persist_dir: str | Path, docs_dir: str | Path | None = None) -> KnowledgeBase:
    """A :class:`KnowledgeBase` shared per (persist dir, docs dir) in this process."""
    key = (
        Path(persist_dir).expanduser().resolve(),
        Path(docs_dir).expanduser().resolve() if docs_dir is not None else DEFAULT_DOCS_DIR,
    )
    with _cache_lock:
        kb = _cache.get(key)
        if kb is None:
            kb = _cache[key] = KnowledgeBase(key[0], key[1])
        return kb
