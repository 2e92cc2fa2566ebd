"""Retrieval over the store's knowledge base (``data/kb``).

Knows documents only: it never imports ``nodes``, ``tools``, ``graph`` or ``evals``.

    kb = get_knowledge_base("var/kb")
    kb.ingest()                      # incremental, by content hash
    kb.search("got charged twice")   # -> list[Passage], best first, one per document
"""

from .documents import DocumentError
from .embeddings import StaticTokenEmbeddingFunction
from .knowledge_base import (
    DEFAULT_DOCS_DIR,
    IngestReport,
    KnowledgeBase,
    Passage,
    get_knowledge_base,
)

__all__ = [
    "DEFAULT_DOCS_DIR",
    "DocumentError",
    "IngestReport",
    "KnowledgeBase",
    "Passage",
    "StaticTokenEmbeddingFunction",
    "get_knowledge_base",
]
