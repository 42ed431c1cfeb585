"""Re-ranking the first stage's best candidates with a learned linear score.

The first stage (``index``) fuses one dense number and one lexical number per entry, with
hand-set offsets. That ranking is good at finding the right entry among the first twenty,
less good at putting it first: an entry whose one phrasing happens to share a sentence frame
with the question ("Where is ...?", "Do you lend ...?") beats the entry whose phrasings and
summary all agree with it, and a question asked in a language the right entry lacks loses to
an unrelated entry written in that language. The re-ranker looks at each of the first
``RERANK_DEPTH`` candidates from several sides (``CANDIDATE_FEATURES``) and weighs them with
weights learned on the calibration set: a conditional logit, i.e. a softmax over each
question's candidates trained to put the right entry first (``reranker_fit``).
"""
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

RERANK_DEPTH = 20
Matrix = npt.NDArray[np.float64]

CANDIDATE_FEATURES = (
    "fused",  # the first stage's score
    "phrasing",  # best similarity to one of the entry's questions or alternates
    "phrasing_top3",  # mean of its three best: several phrasings agreeing
    "summary",  # similarity to the entry's summary vector (its topic)
    "answer",  # best similarity to one of its answers
    "lexical",  # BM25 share of the query (capped at 1)
    "coverage",  # IDF-weighted share of the query's terms the entry contains
    "same_language",  # the entry has a translation in the query's language
    "reciprocal_rank",  # 1 / (1 + position in the first stage)
    "gap",  # first-stage score minus the first stage's best
    "same_language_phrasing",  # best phrasing in the query's language (0 without one)
    "languages",  # share of the five kiosk languages the entry is written in (more chances to match by accident)
    "same_language_x_phrasing",  # the same signals when the entry is in the query's language,
    "same_language_x_summary",  # where similarities run higher for right and wrong entries alike
    "same_language_x_lexical",
)


@dataclass(frozen=True)
class Reranker:
    """A linear score over standardised ``CANDIDATE_FEATURES``."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]

    def scores(self, x: Matrix) -> npt.NDArray[np.float64]:
        return np.asarray(((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.weights), dtype=np.float64)

    def as_dict(self) -> dict[str, object]:
        return {"features": list(CANDIDATE_FEATURES), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights)}


def reranker_from_dict(data: dict[str, object]) -> Reranker:
    if list(data["features"]) != list(CANDIDATE_FEATURES):  # type: ignore[call-overload]
        raise ValueError("calibration.json's re-ranker was fitted on other candidate features; refit it")
    return Reranker(*(tuple(float(v) for v in data[name]) for name in ("mean", "scale", "weights")))  # type: ignore[attr-defined]


def softmax(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    e = np.exp(scores - scores.max())
    return np.asarray(e / e.sum(), dtype=np.float64)


def reranker_fit(lists: list[Matrix], right: list[int], *, l2: float = 1.0) -> Reranker:
    """The weights that maximise the softmax probability of the right candidate, ``lists[i]``
    being question ``i``'s candidates (rows of ``CANDIDATE_FEATURES``) and ``right[i]`` the
    row of its right entry; L2-regularised on standardised features."""
    from scipy.optimize import minimize

    depth, width = max(len(x) for x in lists), len(CANDIDATE_FEATURES)
    stacked = np.concatenate(lists)
    # a feature constant on the training lists (every entry in two languages) keeps scale 1, not ~0
    mean, std = stacked.mean(axis=0), stacked.std(axis=0)
    scale = np.where(std > 1e-6, std, 1.0)
    z = np.zeros((len(lists), depth, width))
    present = np.zeros((len(lists), depth), dtype=bool)
    for i, x in enumerate(lists):
        z[i, : len(x)] = (x - mean) / scale
        present[i, : len(x)] = True
    rows, target = np.arange(len(lists)), np.array(right)

    def loss(weights: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        s = np.where(present, z @ weights, -np.inf)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        value = -np.log(p[rows, target] + 1e-12).sum() + 0.5 * l2 * weights @ weights
        gradient = np.einsum("nk,nkd->d", p, z) - z[rows, target].sum(axis=0) + l2 * weights
        return float(value) / len(lists), gradient / len(lists)

    weights = minimize(loss, np.zeros(width), jac=True, method="L-BFGS-B").x
    return Reranker(*(tuple(round(float(v), 6) for v in values) for values in (mean, scale, weights)))
