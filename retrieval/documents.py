"""Read knowledge-base Markdown files and cut them into passages.

A document is a Markdown file with a front-matter block::

    ---
    id: refund-policy
    title: Refund policy
    category: refunds
    ---
    # Refund policy
    ...

Chunks follow the document's ``##`` sections; a long section is split on blank lines, and a
short one is merged with its neighbour, so chunks are roughly ``MIN_CHARS``..``MAX_CHARS``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

MIN_CHARS = 400
MAX_CHARS = 800
REQUIRED_FIELDS = ("id", "title", "category")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class DocumentError(ValueError):
    """A knowledge-base file is malformed."""


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    category: str
    body: str
    content_hash: str
    path: Path


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    index: int
    text: str
    content_hash: str


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_document(path: Path) -> Document:
    """Parse one Markdown file with front matter."""
    raw = path.read_text(encoding="utf-8")
    lines = raw.splitlines()
    if not lines or lines[0].strip() != "---":
        raise DocumentError(f"{path}: missing front matter")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise DocumentError(f"{path}: unterminated front matter") from None
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise DocumentError(f"{path}: bad front-matter line {line!r}")
        meta[key.strip()] = value.strip().strip("\"'")
    missing = [f for f in REQUIRED_FIELDS if not meta.get(f)]
    if missing:
        raise DocumentError(f"{path}: front matter lacks {', '.join(missing)}")
    if not _SLUG.match(meta["id"]):
        raise DocumentError(f"{path}: id {meta['id']!r} is not a lowercase slug")
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        raise DocumentError(f"{path}: empty body")
    return Document(
        doc_id=meta["id"],
        title=meta["title"],
        category=meta["category"],
        body=body,
        content_hash=sha256(raw),
        path=path,
    )


def load_documents(docs_dir: Path) -> list[Document]:
    """All ``*.md`` files of a folder, sorted by id; duplicate ids are an error."""
    docs = [parse_document(p) for p in sorted(Path(docs_dir).glob("*.md"))]
    seen: dict[str, Path] = {}
    for doc in docs:
        if doc.doc_id in seen:
            raise DocumentError(f"duplicate id {doc.doc_id!r} in {seen[doc.doc_id]} and {doc.path}")
        seen[doc.doc_id] = doc.path
    return sorted(docs, key=lambda d: d.doc_id)


def _sections(body: str) -> list[str]:
    """Split on ``#``/``##`` headings; the heading stays with its section."""
    sections: list[list[str]] = [[]]
    for line in body.splitlines():
        if re.match(r"^#{1,3} ", line) and any(s.strip() for s in sections[-1]):
            sections.append([])
        sections[-1].append(line)
    return ["\n".join(s).strip() for s in sections if "\n".join(s).strip()]


def _split_long(section: str, max_chars: int) -> list[str]:
    """Split a long section on blank lines (then on lines), repeating its heading."""
    if len(section) <= max_chars:
        return [section]
    first, _, rest = section.partition("\n")
    heading = first if first.startswith("#") else ""
    units = [p.strip() for p in re.split(r"\n\s*\n", rest if heading else section) if p.strip()]
    pieces: list[tuple[str, str]] = []  # (text, separator before it)
    for unit in units:
        if len(unit) <= max_chars:
            pieces.append((unit, "\n\n"))
        else:
            lines = [line for line in unit.splitlines() if line.strip()]
            pieces.extend((line, "\n\n" if i == 0 else "\n") for i, line in enumerate(lines))
    out: list[str] = []
    current = heading
    for piece, sep in pieces:
        joiner = "\n" if current == heading else sep
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) > max_chars and current and current != heading:
            out.append(current)
            current = f"{heading}\n{piece}" if heading else piece
        else:
            current = candidate
    if current and current != heading:
        out.append(current)
    return out


def chunk_document(doc: Document, min_chars: int = MIN_CHARS, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Cut a document into passages of about ``min_chars``..``max_chars`` characters."""
    parts: list[str] = []
    for section in _sections(doc.body):
        parts.extend(_split_long(section, max_chars))
    merged: list[str] = []
    for part in parts:
        if (
            merged
            and (len(merged[-1]) < min_chars or len(part) < min_chars // 2)
            and (len(merged[-1]) + len(part) + 2 <= max_chars)
        ):
            merged[-1] = f"{merged[-1]}\n\n{part}"
        else:
            merged.append(part)
    return [Chunk(doc_id=doc.doc_id, index=i, text=text, content_hash=sha256(text)) for i, text in enumerate(merged)]
