"""What a run needs from the world, opened once per process and keyed by the run's context.

Engines, the knowledge base, the classifier and models are expensive to open
and safe to share, so they are cached here by the setting that names them.
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from sqlalchemy.engine import Engine

from graph.context import Context

if TYPE_CHECKING:
    from nodes.routing.classifier import IntentClassifier
    from retrieval import KnowledgeBase


def store_engine(ctx: Context) -> Engine:
    from store.db import make_engine

    return make_engine(ctx.database_url)


@functools.lru_cache(maxsize=4)
def _classifier(path: str) -> IntentClassifier:
    from nodes.routing.classifier import load_or_train

    return load_or_train(Path(path))


def classifier(ctx: Context) -> IntentClassifier:
    return _classifier(ctx.classifier_path)


def knowledge_base(ctx: Context) -> KnowledgeBase:
    from retrieval import get_knowledge_base

    return get_knowledge_base(ctx.chroma_dir)


def kb_search(ctx: Context) -> Any:
    """A search function for the knowledge-base tool: plain dicts, so tools need not import retrieval.

    The index is opened on the first search, not when a desk opens: most turns never search it.
    """

    def search(query: str, k: int) -> list[dict[str, Any]]:
        # whole articles: the desks pick the answering sentence from any section
        return [asdict(p) for p in knowledge_base(ctx).search(query, k=k, whole_documents=True)]

    return search


def chat_model(ctx: Context, spec: str | None = None) -> BaseChatModel:
    from switchboard.models import load_chat_model

    return load_chat_model(
        spec or ctx.model,
        base_url=ctx.openai_base_url,
        api_key=ctx.openai_api_key,
        timeout_s=ctx.model_timeout_s,
        max_tokens=ctx.model_max_tokens,
        threads=ctx.llama_threads,
    )
