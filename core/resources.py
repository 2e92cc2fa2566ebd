"""What a run needs from the world, opened once per process and handed to nodes in the Context.

Engines, the knowledge base, the classifier and models are expensive to open and safe to
share, so each is opened on first use and cached by the setting that names it: two
contexts with the same database URL share one engine. Nodes reach them only as
``runtime.context.resources``; nothing here knows the graph or its nodes.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from sqlalchemy.engine import Engine

from core.settings import Settings

if TYPE_CHECKING:
    from langchain_community.cache import SQLiteCache

    from intents.classifier import IntentClassifier
    from retrieval import KnowledgeBase

KbSearch = Any  # Callable[[str, int], list[dict[str, Any]]]; tools take it without importing retrieval


@functools.lru_cache(maxsize=4)
def _classifier(path: str) -> IntentClassifier:
    from intents.classifier import load_or_train

    return load_or_train(Path(path))


@functools.lru_cache(maxsize=4)
def _reply_cache(path: str) -> SQLiteCache:
    from core.models import ReplyCache

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return ReplyCache(database_path=path)


@dataclass(frozen=True)
class Resources:
    settings: Settings

    @classmethod
    @functools.lru_cache(maxsize=16)
    def of(cls, settings: Settings) -> Resources:
        return cls(settings)

    @property
    def engine(self) -> Engine:
        from store.db import make_engine

        return make_engine(self.settings.resolved_database_url())

    @property
    def classifier(self) -> IntentClassifier:
        return _classifier(str(self.settings.resolved_classifier_path()))

    @property
    def knowledge_base(self) -> KnowledgeBase:
        from retrieval import get_knowledge_base

        return get_knowledge_base(str(self.settings.resolved_chroma_dir()))

    @property
    def reply_cache(self) -> SQLiteCache:
        return _reply_cache(str(self.settings.resolved_model_cache_path()))

    def kb_search(self) -> KbSearch:
        """A search function for the knowledge-base tool: plain dicts, so tools need not import retrieval.

        The index is opened on the first search, not when a desk opens: most turns never search it.
        """

        def search(query: str, k: int) -> list[dict[str, Any]]:
            # whole articles: the desks pick the answering sentence from any section
            return [asdict(p) for p in self.knowledge_base.search(query, k=k, whole_documents=True)]

        return search

    def chat_model(self, spec: str | None = None) -> BaseChatModel:
        from core.models import load_chat_model

        s = self.settings
        return load_chat_model(
            spec or s.model,
            base_url=s.openai_base_url,
            api_key=s.openai_api_key,
            timeout_s=s.model_timeout_s,
            max_tokens=s.model_max_tokens,
            threads=s.llama_threads,
        )
