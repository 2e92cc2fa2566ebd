"""Knowledge base: documents, incremental ingest, reopening from disk, and a recall floor.

Everything runs offline on tmp_path folders; the embedding weights come from an installed wheel.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval import DEFAULT_DOCS_DIR, KnowledgeBase, Passage, get_knowledge_base
from retrieval.documents import (
    MAX_CHARS,
    DocumentError,
    chunk_document,
    load_documents,
    parse_document,
)

ROOT = Path(__file__).resolve().parent.parent
N_DOCS = len(list(DEFAULT_DOCS_DIR.glob("*.md")))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[KnowledgeBase, dict]:
    persist = tmp_path_factory.mktemp("kb")
    kb = KnowledgeBase(persist)
    return kb, kb.ingest().to_dict()


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "docs"
    shutil.copytree(DEFAULT_DOCS_DIR, target)
    return target


# -- the documents ------------------------------------------------------------------------


def test_knowledge_base_documents_are_well_formed() -> None:
    docs = load_documents(DEFAULT_DOCS_DIR)
    assert len(docs) >= 34
    assert len({d.doc_id for d in docs}) == len(docs)
    for doc in docs:
        assert doc.path.stem == doc.doc_id
        words = len(doc.body.split())
        assert 150 <= words <= 400, (doc.doc_id, words)
        chunks = chunk_document(doc)
        assert chunks and all(len(c.text) <= MAX_CHARS for c in chunks), doc.doc_id


def test_malformed_front_matter_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: bad\ntitle: No category\n---\nbody\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="category"):
        parse_document(bad)
    bad.write_text("# no front matter\n", encoding="utf-8")
    with pytest.raises(DocumentError):
        parse_document(bad)


# -- ingest -------------------------------------------------------------------------------


def test_ingest_builds_the_collection(built: tuple[KnowledgeBase, dict]) -> None:
    kb, report = built
    assert report["added"] == N_DOCS
    assert report["updated"] == report["removed"] == report["unchanged"] == 0
    assert report["chunks"] > N_DOCS
    listed = kb.documents()
    assert len(listed) == N_DOCS
    assert {"id", "title", "category"} <= set(listed[0])
    refund = next(d for d in listed if d["id"] == "refund-policy")
    assert refund == {"id": "refund-policy", "title": "Refund policy", "category": "refunds"}


def test_chunks_carry_metadata(built: tuple[KnowledgeBase, dict]) -> None:
    kb, _ = built
    got = kb._collection.get(ids=["refund-policy#0"], include=["metadatas"])
    meta = got["metadatas"][0]
    assert meta["doc_id"] == "refund-policy" and meta["chunk"] == 0
    assert meta["category"] == "refunds" and len(meta["chunk_hash"]) == 64


def test_second_ingest_changes_nothing(built: tuple[KnowledgeBase, dict]) -> None:
    kb, first = built
    again = kb.ingest()
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    assert again.unchanged == N_DOCS and again.chunks == first["chunks"]


def test_incremental_edit_remove_and_add(tmp_path: Path, kb_copy: Path) -> None:
    kb = KnowledgeBase(tmp_path / "chroma", kb_copy)
    kb.ingest()
    newsletter = kb_copy / "newsletter.md"
    newsletter.write_text(
        newsletter.read_text(encoding="utf-8")
        + "\n## Carrier pigeons\nWe also announce deals by carrier pigeon on leap days.\n",
        encoding="utf-8",
    )
    (kb_copy / "service-status.md").unlink()
    (kb_copy / "store-locations.md").write_text(
        "---\nid: store-locations\ntitle: Showroom locations\ncategory: stores\n---\n"
        "# Showroom locations\nOur only showroom is in Columbus, Ohio, open 10 a.m. to 7 p.m.\n",
        encoding="utf-8",
    )
    report = kb.ingest()
    assert (report.added, report.updated, report.removed) == (1, 1, 1)
    assert report.unchanged == N_DOCS - 2
    ids = {d["id"] for d in kb.documents()}
    assert "service-status" not in ids and "store-locations" in ids
    assert kb.search("where is your showroom in ohio", k=1)[0].doc_id == "store-locations"
    assert kb.search("carrier pigeon deals on leap days", k=1)[0].doc_id == "newsletter"
    assert all(p.doc_id != "service-status" for p in kb.search("is the site down", k=10))


def test_interrupted_ingest_is_repaired(tmp_path: Path, kb_copy: Path) -> None:
    kb = KnowledgeBase(tmp_path / "chroma", kb_copy)
    total = kb.ingest().chunks
    kb._collection.delete(ids=["refund-policy#1"])  # as if a write had been cut short
    report = kb.ingest()
    assert report.updated == 1 and report.chunks == total


def test_new_index_version_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import retrieval.knowledge_base as kbm

    monkeypatch.setattr(kbm, "INDEX_VERSION", "chunks-old")
    KnowledgeBase(tmp_path / "chroma").ingest()
    monkeypatch.undo()
    report = KnowledgeBase(tmp_path / "chroma").ingest()
    assert report.rebuilt and report.added == N_DOCS


# -- search -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("got charged twice wtf", "duplicate-charges"),
        ("my password reset email never came", "password-reset"),
        ("account locked after too many wrong passwords", "locked-account"),
        ("refund of $900 stuck waiting for approval", "refund-manual-approval"),
        ("how do i download an invoice for my order", "invoices"),
    ],
)
def test_questions_find_the_expected_document(built: tuple[KnowledgeBase, dict], question: str, expected: str) -> None:
    kb, _ = built
    top = kb.search(question, k=3)
    assert expected in [p.doc_id for p in top], [p.doc_id for p in top]


def test_search_returns_one_passage_per_document_best_first(
    built: tuple[KnowledgeBase, dict],
) -> None:
    kb, report = built
    hits = kb.search("how long does a refund take", k=8)
    assert len(hits) == 8 and all(isinstance(p, Passage) for p in hits)
    assert len({p.doc_id for p in hits}) == 8
    assert [p.score for p in hits] == sorted((p.score for p in hits), reverse=True)
    assert hits[0].text and hits[0].title
    everything = kb.search("how long does a refund take", k=N_DOCS + 5)
    assert len(everything) == N_DOCS + 5
    assert len({p.doc_id for p in everything[:N_DOCS]}) == N_DOCS
    assert len(kb.search("refund", k=10_000)) == report["chunks"]


def test_a_word_of_an_articles_title_lifts_that_article(built: tuple[KnowledgeBase, dict]) -> None:
    kb, _ = built
    # the sentence vector blurs "internationally" among "ship", "long" and "take"
    top = [p.doc_id for p in kb.search("do you ship internationally? how long does it take", k=3)]
    assert "international-shipping" in top, top


def test_empty_query_and_empty_collection(tmp_path: Path, built: tuple[KnowledgeBase, dict]) -> None:
    kb, _ = built
    assert kb.search("   ") == [] and kb.search("refund", k=0) == []
    assert KnowledgeBase(tmp_path / "never-ingested").search("refund") == []


def test_get_knowledge_base_is_cached_per_path(tmp_path: Path) -> None:
    a = get_knowledge_base(tmp_path / "kb")
    assert get_knowledge_base(str(tmp_path / "kb")) is a
    assert get_knowledge_base(tmp_path / "other") is not a


def test_reopen_in_a_new_process_without_ingest(built: tuple[KnowledgeBase, dict]) -> None:
    kb, report = built
    question = "can i pay with klarna in installments"
    expected = kb.search(question, k=1)[0].doc_id
    # A fresh interpreter, network refused: it opens the folder, searches through the
    # KnowledgeBase, and also through a raw Chroma collection opened without naming an
    # embedding function (Chroma rebuilds ours from the registry, no ONNX download).
    script = (
        "import json, socket, sys\n"
        "def refuse(self, address):\n"
        "    raise OSError(f'network refused: {address!r}')\n"
        "socket.socket.connect = refuse\n"
        "import chromadb\n"
        "from retrieval import get_knowledge_base\n"
        "kb = get_knowledge_base(sys.argv[1])\n"
        "raw = chromadb.PersistentClient(sys.argv[1]).get_collection('northwind_kb')\n"
        "res = raw.query(query_texts=[sys.argv[2]], n_results=1, include=['metadatas'])\n"
        "print(json.dumps({'top': kb.search(sys.argv[2], k=1)[0].doc_id,\n"
        "                  'raw_top': res['metadatas'][0][0]['doc_id'],\n"
        "                  'count': raw.count()}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(kb.persist_dir), question],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"top": expected, "raw_top": expected, "count": report["chunks"]}


def test_ingest_cli_prints_the_report(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "retrieval.ingest", "--persist", str(tmp_path / "cli")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["added"] == N_DOCS and report["chunks"] > N_DOCS


# -- quality floor and boundaries ---------------------------------------------------------


def test_dev_split_recall_at_5_floor(built: tuple[KnowledgeBase, dict]) -> None:
    from evals.retrieval.run import read_questions, score

    kb, _ = built
    dev = [q for q in read_questions() if q["split"] == "dev"]
    assert len(dev) >= 40
    result = score(kb, dev, k=5)
    assert result["recall@5"] >= 0.85, result


def test_retrieval_imports_no_product_layers_above_it() -> None:
    forbidden = {"nodes", "tools", "graph", "evals"}
    for path in (ROOT / "retrieval").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & forbidden, (path.name, names)


def test_whole_documents_returns_each_passages_full_article(
    built: tuple[KnowledgeBase, dict],
) -> None:
    kb, _ = built
    passages = kb.search("how long do i have to send something back", k=3, whole_documents=True)
    for p in passages:
        source = (DEFAULT_DOCS_DIR / f"{p.doc_id}.md").read_text(encoding="utf-8")
        assert p.text in p.document
        assert len(p.document) > len(p.text) or p.document == p.text
        # every section of the article is there, not only the chunk that matched
        for heading in [line for line in source.splitlines() if line.startswith("## ")]:
            assert heading in p.document
    assert all(p.document == "" for p in kb.search("return window", k=2))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how many days do i have to return an item", "30 days"),
        ("can i return earbuds i already opened", "Items that cannot be returned: Opened in-ear"),
        ("i got it on dec 10 as a christmas present, can i still return it in january", "January 31"),
        ("what does error E-203 mean at checkout", "E-203"),
        # a deadline, not a duration: not "a return reaches us in 3 to 5 business days"
        ("How long do I have to return something?", "within 30 days"),
        ("refund policy How long do I have to return something?", "within 30 days"),  # as billing asks
    ],
)
def test_the_answer_is_the_sentence_that_answers_not_the_first_one(
    built: tuple[KnowledgeBase, dict], question: str, expected: str
) -> None:
    from dataclasses import asdict

    from retrieval.answers import pick_answer

    kb, _ = built
    passages = [asdict(p) for p in kb.search(question, k=3, whole_documents=True)]
    answer = pick_answer(question, passages)
    assert answer is not None and expected in answer[0], answer


@pytest.mark.parametrize(
    ("question", "deadline"),
    [
        ("How long do I have to return something?", True),
        ("how long do i actually have to send something back?", True),
        ("until when can i return it?", True),
        ("how long do I have to wait before I can pay again?", False),  # a wait is a duration
        ("how long does a refund take?", False),
    ],
)
def test_a_deadline_question_is_told_from_a_duration_question(question: str, deadline: bool) -> None:
    from retrieval.answers import asks_for_deadline

    assert asks_for_deadline(question) is deadline


def test_answer_units_keep_list_headings_and_abbreviations() -> None:
    from retrieval.answers import pick_answer, split_units

    text = (
        "# Shipping\n\nExpress orders placed before 2 p.m. Eastern Time ship today.\n\n"
        "## Not sent\n- Gift cards bought abroad\n\n## Options\n"
        "| Option | Delivery time | Cost |\n|---|---|---|\n| Express | 2 business days | $14.99 |"
    )
    units = split_units(text, "doc", 0)
    assert [u.answer_text for u in units] == [
        "Express orders placed before 2 p.m. Eastern Time ship today.",
        "Not sent: Gift cards bought abroad",
        "Options: Express: Delivery time 2 business days; Cost $14.99",  # each cell under its column
    ]
    assert pick_answer("anything", []) is None
    assert pick_answer("anything", [{"doc_id": "d", "text": "# Only a heading"}]) is None


def test_answer_level_floor_and_better_than_the_top_passage_baseline(
    built: tuple[KnowledgeBase, dict],
) -> None:
    from evals.retrieval.answers import read_rows
    from evals.retrieval.answers import score as score_answers

    kb, _ = built
    rows = read_rows()
    assert len(rows) >= 60 and {r["split"] for r in rows} == {"dev", "test"}
    report = score_answers(kb, rows)
    right = report["answer_right"]
    # measured 0.847 over all 72 (dev 0.833, test 0.861; issue 16); 0.764 before; the old top-passage picker 0.528
    assert right["pick_answer"] >= 0.82, report["misses"]
    assert right["pick_answer"] > right["lexical_top_passage"] + 0.1


def test_answer_level_floor_on_the_blind_second_set(built: tuple[KnowledgeBase, dict]) -> None:
    from evals.retrieval.answers import ANSWERS_V2, read_rows
    from evals.retrieval.answers import score as score_answers

    kb, _ = built
    rows = read_rows(ANSWERS_V2)
    assert len(rows) == 96 and {r["split"] for r in rows} == {"v2"}
    assert len({r["doc_id"] for r in rows}) == 48  # two questions per article
    report = score_answers(kb, rows)
    right = report["answer_right"]
    # measured 0.594 blind (old picker 0.365), 0.635 after issue 16's changes: a regression floor, not a goal
    assert right["pick_answer"] >= 0.60, report["answer_right"]
    assert right["pick_answer"] > right["lexical_top_passage"] + 0.15
