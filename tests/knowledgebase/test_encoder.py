"""The joined sentence encoder: what its vectors mean, and loading it."""
from pathlib import Path

import numpy as np
import pytest

from knowledgebase.retrieval.encoder import PairEncoder, Vectors, pair_encoder_load


class _FixedEncoder:
    """Unit vectors looked up by text; queries and passages differ as e5's do."""

    def __init__(self, name: str, table: dict[str, list[float]]) -> None:
        self.name = name
        self.dim = len(next(iter(table.values())))
        self._table = {text: np.array(v, dtype=np.float32) / np.linalg.norm(v) for text, v in table.items()}

    def queries(self, texts: list[str]) -> Vectors:
        return np.stack([self._table[t] for t in texts])

    def passages(self, texts: list[str]) -> Vectors:
        return -self.queries(texts)


def test_a_pair_vector_is_a_unit_vector_whose_dot_product_averages_the_two_models_cosines() -> None:
    first = _FixedEncoder("a", {"x": [1.0, 0.0], "y": [0.6, 0.8]})
    second = _FixedEncoder("b", {"x": [0.0, 1.0, 0.0], "y": [0.0, 0.0, 1.0]})
    pair = PairEncoder(first, second)
    assert (pair.name, pair.dim, pair.split) == ("a+b", 5, 2)
    vectors = pair.queries(["x", "y"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert vectors[0] @ vectors[1] == pytest.approx((0.6 + 0.0) / 2)
    assert np.allclose(pair.passages(["x"]), -vectors[:1])  # each model's own query/passage handling


def test_without_either_model_file_there_is_no_encoder(tmp_path: Path) -> None:
    e5 = tmp_path / "e5-small-q4.bin"
    e5.write_bytes(b"")
    assert pair_encoder_load(e5, tmp_path / "use-multilingual") is None  # USE is missing
    assert pair_encoder_load(tmp_path / "missing.bin", tmp_path) is None
