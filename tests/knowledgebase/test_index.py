"""The search index on hand-made vectors: what each joined model's scope feature measures."""
import numpy as np
import pytest

from knowledgebase.retrieval.decision import FusionParams
from knowledgebase.retrieval.index import IndexItem, SearchIndex
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
