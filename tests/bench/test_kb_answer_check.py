"""The answer-check bench's bookkeeping: the scoring order, the floor fitted on other domains, the AUC."""
from types import SimpleNamespace

import pytest

from bench.kb_answer_check import auc, check_floor, checked
from bench.kb_answer_check_score import interleaved


def test_scoring_takes_each_domain_and_class_in_turn() -> None:
    pairs = [(domain, SimpleNamespace(expected=expected, query=f"{domain}{i}"), "key", None)
             for domain in ("rail", "bank") for i, expected in enumerate(["a", "b", "c", None])]
    order = [(domain, q.expected is not None) for domain, q, _, _ in interleaved(pairs)]
    # four strata, the in-scope ones three deep: the first four pairs are one from each
    assert sorted(order[:4]) == sorted({("rail", True), ("rail", False), ("bank", True), ("bank", False)})
    assert len(order) == len(pairs) and order[4:] == [("bank", True), ("rail", True)] * 2
    assert interleaved(pairs) == interleaved(pairs)  # a fixed seed: a resumed run takes the same order


def _fold(rows: list[tuple[str, str | None, bool]]) -> dict[str, object]:
    return {"rows": [{"query": q, "key": "k", "expected": e} for q, e, _ in rows],
            "accepted": {"base": [ok for _, _, ok in rows]}}


def test_the_floor_comes_from_the_other_domains_accepted_in_scope_questions_only() -> None:
    folds = {"rail": _fold([("r1", "x", True), ("r2", "x", True), ("r3", None, True), ("r4", "x", False)]),
             "bank": _fold([("b1", "x", True)])}
    scores = {("r1", "k"): {"score": -2.0}, ("r2", "k"): {"score": 1.0}, ("r3", "k"): {"score": -9.0},
              ("r4", "k"): {"score": -9.0}, ("b1", "k"): {"score": -50.0}}
    # bank held out: rail's accepted in-scope scores (-2, 1), never its out-of-scope or declined ones, nor bank's own
    assert check_floor(folds, "bank", "base", scores, 0.0) == -2.0
    assert check_floor(folds, "bank", "base", scores, 1.0) == 1.0
    assert check_floor(folds, "rail", "base", {}, 0.5) is None


def test_the_check_only_ever_declines_what_the_decision_accepted() -> None:
    rows = [{"query": q, "key": "k"} for q in ("a", "b", "c")]
    scores = {("a", "k"): {"score": -3.0}, ("b", "k"): {"score": 2.0}, ("c", "k"): {"score": None}}
    assert checked(rows, [True, True, True], scores, lambda s: s["score"] >= 0) == [False, True, True]
    assert checked(rows, [False, False, False], scores, lambda s: True) == [False, False, False]


def test_auc_is_the_share_of_in_scope_over_out_of_scope_pairs() -> None:
    assert auc([3.0, 2.0], [1.0, 0.0]) == 1.0
    assert auc([1.0], [1.0, 2.0]) == pytest.approx(0.25)
    assert auc([], [1.0]) is None
