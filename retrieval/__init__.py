"""Retrieval over the store's knowledge base (``data/kb``).

Knows documents only: it never imports ``nodes``, ``tools``, ``graph`` or ``evals``.

    kb = get_knowledge_base("var/kb")
    kb.ingest()                      # incremental, by content hash
    kb.search("got charged twice")   # -> list[Passage], best first, one per document
"""

from importlib import import_module
from typing import Any

# Names load on first use (PEP 562): the intent classifier and the answer picker need only
# ``retrieval.vectors``, and importing chromadb for them would cost about a second.
_EXPORTS = {
    "DocumentError": ".documents",
    "StaticTokenEmbeddingFunction": ".embeddings",
    "DEFAULT_DOCS_DIR": ".knowledge_base",
    "IngestReport": ".knowledge_base",
    "KnowledgeBase": ".knowledge_base",
    "Passage": ".knowledge_base",
    "get_knowledge_base": ".knowledge_base",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_DOCS_DIR",
    "DocumentError",
    "IngestReport",
    "KnowledgeBase",
    "Passage",
    "StaticTokenEmbeddingFunction",
    "get_knowledge_base",
]
