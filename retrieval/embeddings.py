"""Offline sentence embeddings for Chroma, from static token vectors shipped in a wheel.

The vectors themselves (and why they are read straight from the ``wordllama`` wheel) are in
``retrieval.vectors``; this module registers them with Chroma.
"""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from retrieval.vectors import _MODELS, DEFAULT_MODEL, EmbeddingModelMissing, load_model

__all__ = ["DEFAULT_MODEL", "EmbeddingModelMissing", "StaticTokenEmbeddingFunction", "load_model"]


@register_embedding_function
class StaticTokenEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function: mean of packaged static token vectors, unit length.

    Registered with Chroma under :meth:`name`, so a persisted collection reopens with it
    (``get_collection`` without passing a function) once this module is imported.
    The model loads lazily on the first call, so constructing one is free.
    """

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        if model not in _MODELS:
            raise ValueError(f"unknown embedding model {model!r}; known: {sorted(_MODELS)}")
        self.model = model

    def __call__(self, input: Documents) -> Embeddings:
        texts = [input] if isinstance(input, str) else list(input)
        return list(load_model(self.model).encode(texts))

    @staticmethod
    def name() -> str:
        return "switchboard-static-token"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> StaticTokenEmbeddingFunction:
        return StaticTokenEmbeddingFunction(model=config.get("model", DEFAULT_MODEL))

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        if config.get("model", DEFAULT_MODEL) not in _MODELS:
            raise ValueError(f"unknown embedding model {config.get('model')!r}")

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config.get("model") != new_config.get("model"):
            raise ValueError("changing the embedding model requires re-ingesting the collection")
