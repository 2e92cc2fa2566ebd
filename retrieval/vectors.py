"""Static sentence vectors from token embeddings shipped in a wheel (no network, no chromadb).

The PyPI package ``wordllama`` ships a 32,000 x 256 token-embedding matrix
(``weights/l2_supercat_256.safetensors``, distilled from large LLM embedding tables) and its
tokenizer (``tokenizers/l2_supercat_tokenizer_config.json``) inside the wheel. A sentence vector
is the mean of its token vectors, L2-normalised, exactly what ``WordLlamaInference.embed`` does.

We read those two files directly instead of importing ``wordllama``: its ``__init__`` calls
``logging.basicConfig`` and its loader falls back to downloading from the Hugging Face hub when a
path does not resolve. Here a missing file is an error, never a download.

Two users: the Chroma embedding function in ``retrieval.embeddings`` and the intent
classifier in ``intents`` (which must not pay for importing chromadb).
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODEL = "l2_supercat_256"
_MODELS = {
    # model name -> (weights file, tokenizer file), both relative to the wordllama package
    "l2_supercat_256": (
        "weights/l2_supercat_256.safetensors",
        "tokenizers/l2_supercat_tokenizer_config.json",
    ),
}


class EmbeddingModelMissing(RuntimeError):
    """The packaged embedding weights are not installed."""


@dataclass(frozen=True)
class _StaticModel:
    matrix: np.ndarray  # (vocab, dim) float32
    tokenizer: Any  # tokenizers.Tokenizer

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def encode_one(self, text: str) -> np.ndarray:
        """One text's unit vector (the single-message path: no batch overhead)."""
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        vec = self.matrix[np.clip(np.asarray(ids, dtype=np.int64), 0, self.matrix.shape[0] - 1)]
        vec = vec.mean(axis=0)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else vec

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        vocab = self.matrix.shape[0]
        for row, enc in enumerate(encodings):
            ids = np.asarray(enc.ids, dtype=np.int64)
            if ids.size == 0:
                continue
            np.clip(ids, 0, vocab - 1, out=ids)
            vec = self.matrix[ids].mean(axis=0)
            norm = float(np.linalg.norm(vec))
            if norm > 0:
                out[row] = vec / norm
        return out


_lock = threading.Lock()
_loaded: dict[str, _StaticModel] = {}


def _package_dir() -> Path:
    spec = importlib.util.find_spec("wordllama")  # locates the files without importing the package
    if spec is None or spec.origin is None:
        raise EmbeddingModelMissing("the 'wordllama' package (which ships the embedding weights) is not installed")
    return Path(spec.origin).parent


def load_model(name: str = DEFAULT_MODEL) -> _StaticModel:
    """Load (once per process) the static embedding model ``name`` from the installed wheel."""
    with _lock:
        if name in _loaded:
            return _loaded[name]
        if name not in _MODELS:
            raise ValueError(f"unknown embedding model {name!r}; known: {sorted(_MODELS)}")
        from safetensors import safe_open
        from tokenizers import Tokenizer

        weights_rel, tokenizer_rel = _MODELS[name]
        root = _package_dir()
        weights, tokenizer_file = root / weights_rel, root / tokenizer_rel
        for path in (weights, tokenizer_file):
            if not path.is_file():
                raise EmbeddingModelMissing(f"embedding file not found: {path}")
        with safe_open(str(weights), framework="np") as f:
            matrix = np.ascontiguousarray(f.get_tensor("embedding.weight"), dtype=np.float32)
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        model = _StaticModel(matrix=matrix, tokenizer=tokenizer)
        _loaded[name] = model
        return model
