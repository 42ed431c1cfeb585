"""The learned re-ranker: fitting it, and the index re-ranking its first stage with it."""
import numpy as np
import pytest

from knowledgebase.indexing import kb_index
from knowledgebase.retrieval.decision import calibration_load
from knowledgebase.retrieval.rerank import CANDIDATE_FEATURES, RERANK_DEPTH, reranker_fit, reranker_from_dict
from knowledgebase.retrieval.text import lexical_terms
from knowledgebase.selectors import faq_search


def _lists(rng: np.random.Generator, count: int) -> tuple[list[np.ndarray], list[int]]:
    """Candidate lists where only "phrasing_top3" tells the right candidate (noise elsewhere)."""
    lists, right = [], []
    signal = CANDIDATE_FEATURES.index("phrasing_top3")
    for _ in range(count):
        x = rng.normal(size=(RERANK_DEPTH, len(CANDIDATE_FEATURES)))
        target = int(rng.integers(RERANK_DEPTH))
        x[target, signal] += 3.0
        lists.append(x)
        right.append(target)
    return lists, right


def test_the_fitted_reranker_learns_which_signal_finds_the_right_candidate() -> None:
    rng = np.random.default_rng(1)
    reranker = reranker_fit(*_lists(rng, 200))
    held_out, right = _lists(rng, 100)
    hits = [int(np.argmax(reranker.scores(x))) == r for x, r in zip(held_out, right, strict=True)]
    assert np.mean(hits) > 0.8  # chance is 1 in 20
    weights = np.abs(reranker.weights)
    assert int(np.argmax(weights)) == CANDIDATE_FEATURES.index("phrasing_top3")


def test_a_reranker_fitted_on_other_features_is_refused() -> None:
    data = calibration_load().reranker
    assert data is not None
    stale = {**data.as_dict(), "features": list(CANDIDATE_FEATURES[:-1])}
    with pytest.raises(ValueError, match="refit"):
        reranker_from_dict(stale)


@pytest.mark.django_db
@pytest.mark.slow
def test_search_reranks_the_first_stages_best_candidates(demo_faqs: None) -> None:
    loaded = kb_index()
    assert loaded.encoder is not None
    calibration = calibration_load()
    query, language = "전기차 충전소가 있나요?", "ko"  # the entry exists only in English
    vector = loaded.encoder.queries([query])[0]
    groups, x = loaded.index.candidate_features(query_vector=vector, terms=lexical_terms(query), language=language,
                                                params=calibration.fusion)
    assert x.shape == (min(RERANK_DEPTH, len(loaded.index.groups)), len(CANDIDATE_FEATURES))
    same_language = x[:, CANDIDATE_FEATURES.index("same_language")]
    assert list(same_language) == [float(language in loaded.index.group_languages[g]) for g in groups]
    ranking = loaded.index.rank(query_vector=vector, terms=lexical_terms(query), language=language,
                                params=calibration.fusion, reranker=calibration.reranker)
    head = [c.group for c in ranking.candidates[:RERANK_DEPTH]]
    assert sorted(head) == sorted(groups)  # the same candidates, in the re-ranker's order
    probabilities = [c.score for c in ranking.candidates[: len(groups)]]
    assert probabilities == sorted(probabilities, reverse=True) and abs(sum(probabilities) - 1) < 1e-6
    assert ranking.features is not None and ranking.features.rerank_probability == probabilities[0]
    result = faq_search(query, language)
    assert result.results[0].key == "ev-charging" and result.answerable
