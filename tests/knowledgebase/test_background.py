"""The ``background`` signal: another venue's FAQs as a per-knowledge-base null model, with the
real encoders and index (rail station FAQs, part of the mall demo's as the background)."""
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from knowledgebase.indexing import kb_encoder, kb_index
from knowledgebase.retrieval.decision import calibration_load
from knowledgebase.retrieval.index import BACKGROUND_CAP, IndexItem, SearchIndex
from knowledgebase.retrieval.text import lexical_terms

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
RAIL_FAQS = ROOT / "bench" / "data" / "kb_domains" / "rail" / "faqs.jsonl"
DEMO_FAQS = ROOT / "knowledgebase" / "demo" / "faqs.jsonl"
# the station answers toilets and Wi-Fi; it says nothing about pets or smoking
MALL_KEYS = ("restrooms", "free-wifi", "pets-policy", "smoking-area")


@pytest.fixture
def rail(e5: None, django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]) -> SearchIndex:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_faqs", str(RAIL_FAQS), "--publish", stdout=StringIO())
    return kb_index().index


@pytest.fixture(scope="module")
def mall_items() -> list[IndexItem]:
    """Four of the mall's entries in every language, embedded as the index embeds FAQs."""
    encoder = kb_encoder()
    assert encoder is not None
    rows = [json.loads(line) for line in DEMO_FAQS.read_text().splitlines() if line.strip()]
    items = [IndexItem("faq", f"mall:{r['key']}", r["language"], r["question"], r["answer"], tuple(r["alternates"]))
             for r in rows if r["key"] in MALL_KEYS]
    return [replace(item, vectors=encoder.passages(item.vector_texts())) for item in items]


def _with_background(index: SearchIndex, background: list[IndexItem]) -> SearchIndex:
    return SearchIndex(list(index.items), index.centroids, split=index.split, background=background)


def _background_feature(index: SearchIndex, question: str, language: str) -> float:
    encoder = kb_encoder()
    assert encoder is not None
    ranking = index.rank(query_vector=encoder.queries([question])[0], terms=lexical_terms(question), language=language,
                         params=calibration_load().fusion, reranker=calibration_load().reranker)
    assert ranking.features is not None
    return ranking.features.background


def test_background_entries_that_ask_what_the_venue_answers_are_dropped(rail: SearchIndex,
                                                                        mall_items: list[IndexItem]) -> None:
    index = _with_background(rail, mall_items)
    assert index.background is not None
    kept = set(index.background.groups)
    assert {"mall:pets-policy", "mall:smoking-area"} <= kept
    assert not {"mall:restrooms", "mall:free-wifi"} & kept


def test_a_question_another_venue_answers_more_nearly_is_behind_the_background(rail: SearchIndex,
                                                                               mall_items: list[IndexItem]) -> None:
    index = _with_background(rail, mall_items)
    assert _background_feature(index, "Are pets allowed on the trains?", "en") < 0
    assert _background_feature(index, "哪裡可以吸煙？", "zh") < 0
    # what the station answers stays ahead of a background that asks other things
    assert _background_feature(index, "Where can I leave my suitcase for the afternoon?", "en") > 0.05
    assert _background_feature(index, "洗手間喺邊？", "yue") > 0.05


def test_without_a_background_the_feature_reads_fully_ahead(rail: SearchIndex) -> None:
    assert rail.background is None
    assert _background_feature(rail, "Are pets allowed on the trains?", "en") == BACKGROUND_CAP
