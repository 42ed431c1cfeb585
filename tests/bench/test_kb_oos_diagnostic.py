"""The diagnostic's entry-relative signal on a search index with hand-made vectors."""
import numpy as np
import pytest

from bench.kb_oos_diagnostic import answer_gap, entry_relative
from knowledgebase.retrieval.index import IndexItem, SearchIndex
from knowledgebase.retrieval.languages import LanguageCentroids

ZERO = {"en": np.zeros(3, dtype=np.float32)}  # no language direction to remove: centring only normalises


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def _index(alternates: int) -> SearchIndex:
    phrasings = [_unit(1, 0, 0), _unit(1, 1, 0)][: 1 + alternates]
    answer = _unit(0, 0, 1)
    item = IndexItem("faq", "hours", "en", "When do you open?", "10 to 10.",
                     tuple("What time do you open?" for _ in range(alternates)),
                     np.stack([*phrasings, answer, phrasings[0]]))  # phrasings, answer, summary
    return SearchIndex([item], LanguageCentroids(ZERO, ZERO))


def test_the_query_is_measured_against_how_close_the_entrys_own_phrasings_are() -> None:
    index = _index(alternates=1)
    sibling = float(_unit(1, 0, 0) @ _unit(1, 1, 0))  # cos 45 degrees: each phrasing's nearest sibling
    # a query on the first phrasing: similarity 1, the phrasings only ~0.71 apart
    assert entry_relative(index, 0, _unit(1, 0, 0), "en") == pytest.approx(1.0 - sibling, abs=1e-6)
    # a query nearer the answer than any phrasing scores below the siblings' agreement
    assert entry_relative(index, 0, _unit(0, 0.2, 1), "en") == pytest.approx(float(_unit(0, 0.2, 1) @ _unit(1, 1, 0))
                                                                           - sibling, abs=1e-6)
    # the answer row is no phrasing: it never counts as a sibling
    assert entry_relative(index, 0, _unit(0, 0, 1), "en") == pytest.approx(0.0 - sibling, abs=1e-6)


def test_an_entry_with_one_phrasing_has_no_sibling_to_compare_with() -> None:
    assert entry_relative(_index(alternates=0), 0, _unit(1, 0, 0), "en") == 0.0


def test_the_answer_gap_is_the_answers_similarity_less_the_best_phrasings() -> None:
    index = _index(alternates=1)
    query = _unit(1, 0, 1)  # halfway between the first phrasing and the answer
    best_phrasing = float(query @ _unit(1, 0, 0))
    assert answer_gap(index, 0, query, "en") == pytest.approx(float(query @ _unit(0, 0, 1)) - best_phrasing, abs=1e-6)
    assert answer_gap(index, 0, _unit(1, 0, 0), "en") == pytest.approx(0.0 - 1.0, abs=1e-6)  # asks only the phrasing
