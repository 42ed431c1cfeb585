"""The search index on hand-made vectors: what each joined model's scope feature measures."""
import numpy as np
import pytest

from knowledgebase.retrieval.decision import FusionParams
from knowledgebase.retrieval.index import BACKGROUND_CAP, IndexItem, SearchIndex
from knowledgebase.retrieval.languages import LanguageCentroids

PARAMS = FusionParams(lexical_weight=0.0, passage_offset=0.0, cross_language_bonus=0.0, document_offset=0.0,
                      summary_weight=0.0)
ZERO = {"en": np.zeros(4, dtype=np.float32)}  # no language direction to remove: centring only normalises


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def _index(split: int) -> SearchIndex:
    question, answer = _unit(1, 0, 1, 0), _unit(0, 1, 0, 1)
    item = IndexItem("faq", "hours", "en", "When do you open?", "10 to 10.", (),
                     np.stack([question, answer, question]))  # question, answer, summary
    out_of_scope = np.stack([_unit(1, 0, 0, 1)])  # like the question in the first model, not in the second
    return SearchIndex([item], LanguageCentroids(ZERO, ZERO), (out_of_scope, ["en"]), split=split)


def test_each_joined_model_judges_scope_on_its_own_columns() -> None:
    query = _unit(1, 0, 1, 0)
    features = _index(split=2).rank(query_vector=query, terms=[], language="en", params=PARAMS).features
    assert features is not None
    # first model: question 0.5 vs out-of-scope 0.5; second model: question 0.5 vs 0
    assert (features.first_scope, features.second_scope) == pytest.approx((0.0, 0.5))
    assert features.scope == pytest.approx(1.0 - 0.5)  # the joined vectors' view


def test_one_model_has_no_per_model_scopes() -> None:
    features = _index(split=0).rank(query_vector=_unit(1, 0, 1, 0), terms=[], language="en", params=PARAMS).features
    assert features is not None and (features.first_scope, features.second_scope) == (0.0, 0.0)


def _entry(group: str, question: np.ndarray) -> IndexItem:
    answer = _unit(0, 0, 0, 0, 1)  # every answer alike: only the questions tell entries apart here
    return IndexItem("faq", group, "en", group, "answer", (), np.stack([question, answer, question]))


def test_the_background_drops_what_the_venue_answers_and_ignores_entries_on_the_best_entrys_topic() -> None:
    zero = {"en": np.zeros(5, dtype=np.float32)}
    hours, lockers = _unit(1, 0, 0, 0, 0), _unit(0, 1, 0, 0, 0)
    other_hours = _unit(0.75, 0, 0, 0.6614, 0)  # 0.75 from this venue's hours: same topic, not the same question
    background = [_entry("mall:hours", other_hours), _entry("mall:pets", _unit(0, 0, 1, 0, 0)),
                  _entry("mall:lockers", lockers)]  # asks what this venue answers
    index = SearchIndex([_entry("hours", hours), _entry("lockers", lockers)], LanguageCentroids(zero, zero),
                        background=background)
    assert index.background is not None and index.background.groups == ["mall:hours", "mall:pets"]

    def background_of(query: np.ndarray) -> float:
        features = index.rank(query_vector=query, terms=[], language="en", params=PARAMS).features
        assert features is not None
        return features.background

    # closer to another venue's opening hours than to this one's: still this venue's topic
    assert background_of(other_hours) == pytest.approx(BACKGROUND_CAP)
    # closer to another venue's pets policy than to anything here: 0.6 - 0.8 behind
    assert background_of(_unit(0.6, 0, 0.8, 0, 0)) == pytest.approx(-0.2, abs=1e-4)
