"""Whether the best match answers the question: a logistic model over a few signals,
fitted on a calibration set (``bench/kb_search.py --calibrate`` writes ``calibration.json``).

The signals: how close the best entry is (``top``), how far ahead of the next one
(``margin``), whether several of its phrasings agree (``consensus``), how much of the
query's wording it contains (``coverage``), whether lexical search picks the same entry
(``agreement``), whether the entry exists in the query's language (cross-language
matches score lower, for right and wrong answers alike), and how much closer the best entry
is than the nearest general-assistant request (``scope``, see ``out_of_scope``); with a
re-ranker, how sure it is of its first choice (``rerank_probability``, its softmax over the
candidates) and by how much it prefers it to the second (``rerank_margin``); and ``scope`` as
each of the two joined models sees it (``first_scope``, ``second_scope``): on the
calibration set, e5's view of it told kiosk questions from other requests better than the
joined vectors' alone. With a background of other venues' FAQs (``index.background_index``),
``background``: how much closer the best entry is than the nearest of those.
"""
import json
import math
from dataclasses import astuple, dataclass, fields
from functools import cache
from pathlib import Path
from typing import Literal

from knowledgebase.retrieval.rerank import Reranker, reranker_from_dict

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
Mode = Literal["hybrid", "lexical"]


@dataclass(frozen=True)
class Features:
    top: float
    margin: float
    consensus: float
    coverage: float
    agreement: float
    same_language: float
    scope: float = 0.0
    rerank_probability: float = 0.0
    rerank_margin: float = 0.0
    first_scope: float = 0.0  # ``scope`` on e5's columns alone
    second_scope: float = 0.0  # on USE's
    background: float = 0.0  # ``top`` less the best background entry's (``index.background_index``)

    def as_list(self) -> list[float]:
        return list(astuple(self))


FEATURE_NAMES = tuple(f.name for f in fields(Features))
HYBRID_FEATURES = tuple(name for name in FEATURE_NAMES if name != "background")
BACKGROUND_FEATURES = FEATURE_NAMES  # for an index built with a background
LEXICAL_FEATURES = ("top", "margin", "coverage", "same_language")  # consensus, agreement, the scopes need dense


@dataclass(frozen=True)
class FusionParams:
    lexical_weight: float
    passage_offset: float
    cross_language_bonus: float
    document_offset: float
    summary_weight: float  # share of an FAQ's dense score that comes from its summary (see ``index``)


@dataclass(frozen=True)
class DecisionModel:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, features: Features) -> float:
        values = {name: value for name, value in zip(FEATURE_NAMES, features.as_list(), strict=True)}
        z = self.bias + sum(
            w * (values[name] - m) / s for name, m, s, w in zip(self.features, self.mean, self.scale, self.weights, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def answerable(self, features: Features) -> bool:
        return self.probability(features) >= self.threshold

    def as_dict(self) -> dict[str, object]:
        return {
            "features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
            "weights": list(self.weights), "bias": self.bias, "threshold": self.threshold,
        }


@dataclass(frozen=True)
class Calibration:
    model: str
    source: str
    fusion: FusionParams
    decisions: dict[str, DecisionModel]
    reranker: Reranker | None = None

    def decision(self, mode: Mode) -> DecisionModel:
        return self.decisions[mode]


def calibration_from_dict(data: dict[str, object]) -> Calibration:
    fusion = data["fusion"]
    decisions = data["decisions"]
    reranker = data.get("reranker")
    assert isinstance(fusion, dict) and isinstance(decisions, dict) and (reranker is None or isinstance(reranker, dict))
    return Calibration(
        model=str(data["model"]),
        source=str(data["source"]),
        fusion=FusionParams(**{k: float(v) for k, v in fusion.items()}),
        decisions={
            mode: DecisionModel(
                features=tuple(d["features"]), mean=tuple(d["mean"]), scale=tuple(d["scale"]),
                weights=tuple(d["weights"]), bias=float(d["bias"]), threshold=float(d["threshold"]),
            )
            for mode, d in decisions.items()
        },
        reranker=reranker_from_dict(reranker) if reranker is not None else None,
    )


@cache
def calibration_load(path: Path = CALIBRATION_FILE) -> Calibration:
    return calibration_from_dict(json.loads(path.read_text()))
