"""Fitting the answerable decision: logistic regression by gradient descent (a few hundred
samples and six features need nothing heavier), and a threshold that keeps false
rejections of in-scope questions under a target."""
import numpy as np
import numpy.typing as npt

from knowledgebase.retrieval.decision import FEATURE_NAMES, DecisionModel

Matrix = npt.NDArray[np.float64]


# More similarity, coverage or agreement must never make an answer less likely: without this,
# correlated signals get weights of opposite signs that extrapolate badly (a weak match to
# an out-of-scope question scored as answerable).
MONOTONE = frozenset({"top", "margin", "consensus", "coverage", "agreement", "scope", "rerank_probability",
                      "rerank_margin", "first_scope", "second_scope", "background"})


def logistic_fit(
    x: Matrix, y: Matrix, *, nonnegative: npt.NDArray[np.bool_], l2: float = 1.0, steps: int = 4000, rate: float = 0.5
) -> tuple[Matrix, float]:
    """Weights and bias of an L2-regularised logistic regression on standardised ``x``, the
    ``nonnegative`` columns' weights kept at zero or above (projected gradient descent)."""
    weights = np.zeros(x.shape[1])
    bias = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ weights + bias)))
        weights -= rate * (x.T @ (p - y) + l2 * weights) / len(y)
        weights[nonnegative] = np.maximum(weights[nonnegative], 0.0)
        bias -= rate * float((p - y).mean())
    return weights, bias


def decision_fit(
    rows: list[list[float]], answerable: list[bool], *, names: tuple[str, ...], max_false_rejection: float
) -> DecisionModel:
    """A decision over the ``names`` columns of ``rows`` (ordered as ``FEATURE_NAMES``)."""
    columns = [FEATURE_NAMES.index(name) for name in names]
    x = np.array(rows, dtype=np.float64)[:, columns]
    y = np.array(answerable, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    weights, bias = logistic_fit((x - mean) / scale, y, nonnegative=np.array([name in MONOTONE for name in names]))
    model = DecisionModel(names, tuple(mean), tuple(scale), tuple(weights), bias, threshold=0.0)
    in_scope = np.array([p for p, a in zip(_probabilities(model, x), answerable, strict=True) if a])
    threshold = float(np.quantile(in_scope, max_false_rejection)) if len(in_scope) else 0.5
    return DecisionModel(names, _rounded(mean), _rounded(scale), _rounded(weights), round(float(bias), 6), round(threshold, 4))


def _rounded(values: Matrix) -> tuple[float, ...]:
    return tuple(round(float(v), 6) for v in values)


def _probabilities(model: DecisionModel, x: Matrix) -> Matrix:
    z = model.bias + ((x - np.array(model.mean)) / np.array(model.scale)) @ np.array(model.weights)
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)
