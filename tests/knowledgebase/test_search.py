"""Hybrid search over the demo FAQs with the real sentence encoders (multilingual-e5 and USE)."""
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from common.errors import ApplicationError
from knowledgebase.indexing import index_version_bump, kb_index
from knowledgebase.models import Document, DocumentChunk, FaqEntry
from knowledgebase.retrieval.decision import calibration_load
from knowledgebase.retrieval.out_of_scope import OUT_OF_SCOPE_EXAMPLES, VENUE_EXAMPLES
from knowledgebase.retrieval.text import lexical_terms
from knowledgebase.selectors import faq_search
from knowledgebase.services import TranslationData, faq_create, faq_unpublish, faq_update

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
Capture = Callable[..., AbstractContextManager[Any]]


@pytest.mark.parametrize(("query", "language", "key", "shown"), [
    ("전기차 충전소가 있나요?", "ko", "ev-charging", "en"),  # entry only in English
    ("礼拝室はありますか？", "ja", "prayer-room", "en"),
    ("有冇穿梭巴士去尖沙咀？", "yue", "hotel-shuttle", "zh"),  # only Mandarin and English
    ("可以借雨伞吗？", "zh", "umbrella-lending", "yue"),  # only Cantonese
    ("電気自動車を充電したい", "ja", "ev-charging", "en"),
    ("ATM은 어디에 있나요?", "ko", "atms", "ko"),  # shown in the customer's language when it exists
])
def test_a_question_in_any_language_finds_the_entry_in_the_languages_it_has(
    demo_faqs: None, query: str, language: str, key: str, shown: str
) -> None:
    result = faq_search(query, language, k=3)
    assert result.mode == "hybrid"
    assert result.answerable
    best = result.results[0]
    assert (best.key, best.language) == (key, shown)
    entry = FaqEntry.objects.get(key=key)
    assert set(best.translations) == set(entry.translations.values_list("language", flat=True))
    assert best.translations[shown][1] == best.answer
    assert result.results[0].score > result.results[1].score


@pytest.mark.parametrize(("query", "language"), [
    ("明天天气怎么样？", "zh"), ("Tell me a joke", "en"), ("What is the capital of France?", "en"),
    ("選挙で誰が勝ちますか？", "ja"),
])
def test_out_of_scope_questions_are_declined(demo_faqs: None, query: str, language: str) -> None:
    result = faq_search(query, language)
    assert not result.answerable
    assert result.confidence < 0.3
    assert len(result.results) == 5  # still ranked, for staff to see


def test_language_is_guessed_from_the_script_when_missing(demo_faqs: None) -> None:
    result = faq_search("哪里可以换外币？")
    assert result.results[0].key == "currency-exchange" and result.results[0].language == "zh"
    assert faq_search("邊度可以借雨遮？").results[0].language == "yue"


def test_only_published_entries_are_found(demo_faqs: None, django_capture_on_commit_callbacks: Capture) -> None:
    assert faq_search("Where can I find an ATM?", "en").results[0].key == "atms"
    with django_capture_on_commit_callbacks(execute=True):
        faq_unpublish(entry=FaqEntry.objects.get(key="atms"))
    keys = [hit.key for hit in faq_search("Where can I find an ATM?", "en", k=10).results]
    assert "atms" not in keys


def test_an_edit_is_searchable_after_commit(demo_faqs: None, django_capture_on_commit_callbacks: Capture) -> None:
    query = "Where is the ice skating rink?"
    assert not faq_search(query, "en").answerable
    with django_capture_on_commit_callbacks(execute=True):
        faq_create(key="ice-rink", status=FaqEntry.Status.PUBLISHED, translations={
            "en": TranslationData("Is there an ice rink?", "The Glacier ice rink is on L7; skates can be rented there."),
        })
    result = faq_search(query, "en")
    assert result.answerable and result.results[0].key == "ice-rink"
    with django_capture_on_commit_callbacks(execute=True):
        faq_update(entry=FaqEntry.objects.get(key="ice-rink"), translations={
            "ko": TranslationData("아이스링크가 있나요?", "7층에 글레이셔 아이스링크가 있으며 스케이트를 빌릴 수 있습니다."),
        })
    hit = faq_search(query, "en").results[0]
    assert (hit.key, hit.language) == ("ice-rink", "ko")  # the English text is gone


def test_another_process_picks_up_changes_through_the_index_version(demo_faqs: None) -> None:
    built = kb_index()
    assert kb_index() is built  # nothing changed: no rebuild
    FaqEntry.objects.filter(key="atms").update(status=FaqEntry.Status.DRAFT)  # as another process would
    assert kb_index() is built  # this process cannot know yet...
    index_version_bump()  # ...until that process announces the change
    assert kb_index() is not built
    assert "atms" not in [hit.key for hit in faq_search("Where can I find an ATM?", "en", k=10).results]


def test_documents_are_a_second_source_and_faqs_win_a_tie(demo_faqs: None) -> None:
    guide = Document.objects.create(title="Visitor guide", language="en")
    DocumentChunk.objects.create(document=guide, position=0, text="Bicycles can be parked for free at the racks outside "
                                 "the west entrance. Bring your own lock; racks are not guarded.")
    DocumentChunk.objects.create(document=guide, position=1, text="ATMs: there are bank machines of HSBC, Bank of China "
                                 "and Hang Seng near the north entrance on the ground floor.")
    index_version_bump()
    bikes = faq_search("Where can I park my bicycle?", "en")
    assert bikes.results[0].key == f"doc:{guide.pk}#0"
    assert bikes.results[0].question == "Visitor guide" and "racks" in bikes.results[0].answer
    atm = faq_search("Where can I find an ATM?", "en").results
    assert atm[0].key == "atms" and atm[1].key == f"doc:{guide.pk}#1"


def test_the_scope_signal_separates_kiosk_questions_from_general_assistant_requests(demo_faqs: None) -> None:
    loaded = kb_index()
    examples = sum(len(sentences) for group in (OUT_OF_SCOPE_EXAMPLES, VENUE_EXAMPLES) for sentences in group.values())
    assert loaded.encoder is not None and len(loaded.index.out_of_scope) == examples  # the demo FAQs answer none

    def scope(query: str, language: str) -> float:
        assert loaded.encoder is not None
        ranking = loaded.index.rank(query_vector=loaded.encoder.queries([query])[0], terms=lexical_terms(query),
                                    language=language, params=calibration_load().fusion)
        assert ranking.features is not None
        return ranking.features.scope

    # not the examples themselves: other wordings of general requests, and kiosk questions
    assert max(scope("Could you sing a little song for me?", "en"), scope("给我讲个故事吧", "zh")) < min(
        scope("Where can I find an ATM?", "en"), scope("哪里可以换外币？", "zh"))


def test_a_venue_example_stops_counting_once_an_faq_answers_it(
    demo_faqs: None, django_capture_on_commit_callbacks: Capture
) -> None:
    query = "Is there a sauna?"
    before = len(kb_index().index.out_of_scope)
    assert not faq_search(query, "en").answerable
    with django_capture_on_commit_callbacks(execute=True):
        faq_create(key="sauna", status=FaqEntry.Status.PUBLISHED, translations={
            "en": TranslationData("Do you have a sauna?", "Yes: the spa on level 5 has a sauna and a steam room."),
        })
    assert len(kb_index().index.out_of_scope) < before
    result = faq_search(query, "en")
    assert result.answerable and result.results[0].key == "sauna"


def test_bad_arguments_are_application_errors(demo_faqs: None) -> None:
    with pytest.raises(ApplicationError) as bad_k:
        faq_search("ATM", "en", k=0)
    assert bad_k.value.code == "invalid_k"
    with pytest.raises(ApplicationError):
        faq_search("ATM", "fr")
    assert faq_search("   ", "en").results == []


def test_without_the_model_search_falls_back_to_lexical_and_says_so(demo_faqs: None, lexical_only: None) -> None:
    result = faq_search("Where can I find an ATM?", "en")
    assert result.mode == "lexical"
    assert result.results[0].key == "atms"
    err = StringIO()
    call_command("kb_search", "ATM", "--json", stdout=StringIO(), stderr=err)
    assert "lexical search only" in err.getvalue()


def test_kb_search_command_prints_json_and_a_table(demo_faqs: None) -> None:
    out = StringIO()
    call_command("kb_search", "현금 인출기 어디 있어요?", "--lang", "ko", "--k", "2", "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert set(payload) == {"answerable", "results"}
    assert payload["results"][0]["key"] == "atms" and payload["answerable"] is True
    assert set(payload["results"][0]) == {"key", "language", "question", "answer", "score"}
    assert len(payload["results"]) == 2
    table = StringIO()
    call_command("kb_search", "Tell me a joke", stdout=table)
    assert table.getvalue().startswith("no good match")
