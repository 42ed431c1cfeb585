"""The venue vocabulary: the venue's own words per language, from the published knowledge base."""
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from knowledgebase.models import FaqEntry
from knowledgebase.runtime_retrieval import venue_terms
from knowledgebase.services import TranslationData, faq_create, faq_unpublish
from knowledgebase.vocabulary import latin_names, terms_pick, venue_vocabulary

Capture = Callable[..., AbstractContextManager[Any]]


def test_the_demo_venue_s_names_are_picked_in_every_language(demo_faqs: None) -> None:
    for language in ("en", "zh", "ja", "ko"):
        terms = venue_terms(language)
        assert {"FreshMart", "Harbour Cinema", "Harbour Medical Centre"} <= set(terms), (language, terms)
        assert "Harbour" not in terms  # inside "Harbour Cinema" already
    assert "Wellcare Pharmacy" in venue_terms("en")  # opens a sentence, but the other languages write it too
    assert "エアポートエクスプレス" in venue_terms("ja")  # a katakana compound
    assert not {"Please", "Our", "Yes", "There"} & set(venue_terms("en"))  # sentence openers are not names


def test_names_written_unchanged_across_translations_rank_first(demo_faqs: None) -> None:
    terms = venue_terms("en")
    assert terms.index("FreshMart") < terms.index("Hong Kong")  # every translation writes FreshMart; Hong Kong is translated


def test_a_published_change_reaches_the_vocabulary(demo_faqs: None, django_capture_on_commit_callbacks: Capture) -> None:
    before = venue_vocabulary()
    assert venue_vocabulary() is before  # nothing changed: not rebuilt
    assert "Glacier Rink" not in venue_terms("ja")
    with django_capture_on_commit_callbacks(execute=True):
        faq_create(key="ice-rink", status=FaqEntry.Status.PUBLISHED, translations={
            "en": TranslationData("Is there an ice rink?", "The Glacier Rink is on L7; skates can be rented there."),
            "ja": TranslationData("スケートリンクはありますか？", "7階にGlacier Rinkがあり、スケート靴を借りられます。"),
        })
    assert "Glacier Rink" in venue_terms("ja")
    assert "Glacier Rink" in venue_terms("en")
    with django_capture_on_commit_callbacks(execute=True):
        faq_unpublish(entry=FaqEntry.objects.get(key="supermarket"))
    assert "FreshMart" not in venue_terms("zh")  # only the supermarket's answer named it


def test_latin_names_in_english_and_inside_other_scripts() -> None:
    assert latin_names("Join Harbour Point Club for free at HSBC or the MTR.", english=True) == [
        "Harbour Point Club", "HSBC", "MTR"]
    assert latin_names("FreshMart超市位于地下一层，D出口旁。", english=False) == ["FreshMart"]  # "D" is an exit, not a name
    assert latin_names("Tickets cost 5 kWh.", english=True) == []


def test_the_count_and_length_are_bounded() -> None:
    entries = [(f"Shop{i} Name{i} is on L{i}.",) for i in range(100)]
    terms = terms_pick(entries, "zh", max_terms=10, max_chars=60)
    assert 0 < len(terms) <= 10 and sum(map(len, terms)) <= 60
