"""Restoring a version keeps the rest, out-of-date translations, archiving, drafts in "try it"
searches, and the list's folded search: through the services and selectors, on a real database."""
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from audit.models import AuditEntry
from common.text import search_fold
from knowledgebase.models import FaqEntry, FaqRevision, FaqTranslation
from knowledgebase.restore_plan import RestoreChoice, restore_options, restore_plan
from knowledgebase.selectors import faq_list, faq_outdated_list, faq_search
from knowledgebase.services import (
    TranslationData,
    faq_archive,
    faq_create,
    faq_import_file,
    faq_revert,
    faq_translation_confirm,
    faq_unarchive,
    faq_update,
)

pytestmark = pytest.mark.django_db
Capture = Callable[..., AbstractContextManager[Any]]
CLOAKROOM = {"en": TranslationData("Is there a cloakroom?", "Yes, on Level 1. It is free."),
             "zh": TranslationData("有衣帽间吗？", "有，在一楼，免费。"),
             "ja": TranslationData("クロークはありますか？", "はい、1階にあります。無料です。")}


def _translations(entry: FaqEntry) -> dict[str, str]:
    return {t.language: t.answer for t in entry.translations.all()}


def test_restoring_an_old_version_keeps_the_publish_state_and_the_translations_added_since() -> None:
    entry = faq_create(key="cloakroom", translations={"en": CLOAKROOM["en"]}, status="draft")
    first = FaqRevision.objects.get(key="cloakroom")
    entry.status = FaqEntry.Status.PUBLISHED
    entry.save()
    faq_update(entry=entry, translations={"en": TranslationData("Is there a cloakroom?", "Yes, on Level 1: 20 dollars."),
                                          "ja": CLOAKROOM["ja"]})
    faq_revert(entry=entry, revision=first)  # the default: the old wording, nothing else
    entry.refresh_from_db()
    assert entry.status == FaqEntry.Status.PUBLISHED  # the bug: it went back to draft
    assert _translations(entry) == {"en": "Yes, on Level 1. It is free.", "ja": "はい、1階にあります。無料です。"}

    faq_revert(entry=entry, revision=first, choice=RestoreChoice(remove_others=True, status=True))
    entry.refresh_from_db()
    assert entry.status == FaqEntry.Status.DRAFT and set(_translations(entry)) == {"en"}
    assert AuditEntry.objects.filter(action="faq.revert", target_label="cloakroom").count() == 2


def test_the_restore_plan_restores_only_the_chosen_languages_and_never_leaves_no_translation() -> None:
    current = {"key": "k", "status": "published", "tags": ["a"],
               "translations": {"en": {"question": "Q", "answer": "new"}, "ja": {"question": "質問", "answer": "新"}}}
    version = {"key": "k", "status": "draft", "tags": ["b"],
               "translations": {"en": {"question": "Q", "answer": "old"}, "zh": {"question": "问", "answer": "旧"}}}
    options = restore_options(current, version)
    assert options == {"differing": ["en", "zh"], "others": ["ja"], "status_differs": True, "tags_differ": True}
    only_zh = restore_plan(current, version, RestoreChoice(languages=frozenset({"zh"})))
    assert {code: t["answer"] for code, t in only_zh["translations"].items()} == {"en": "new", "ja": "新", "zh": "旧"}
    assert only_zh["status"] == "published" and only_zh["tags"] == ["a"]
    everything = restore_plan(current, version, RestoreChoice(remove_others=True, status=True, tags=True))
    assert set(everything["translations"]) == {"en", "zh"} and everything["status"] == "draft"
    assert everything["tags"] == ["b"]
    assert set(restore_plan(current, version, RestoreChoice(languages=frozenset(), remove_others=True))["translations"]) == {
        "en"}
    japanese_only = {**current, "translations": {"ja": current["translations"]["ja"]}}
    nothing_left = restore_plan(japanese_only, version, RestoreChoice(languages=frozenset(), remove_others=True))
    assert set(nothing_left["translations"]) == {"ja"}  # it would have left none: the current one stays


def test_an_answer_change_marks_the_other_translations_out_of_date_until_they_are_edited_or_confirmed() -> None:
    entry = faq_create(key="cloakroom", translations=CLOAKROOM)
    faq_update(entry=entry, translations={**CLOAKROOM, "en": TranslationData("Where is the cloakroom?",
                                                                                "Yes, on Level 1. It is free.")})
    assert not faq_outdated_list().exists()  # only the English question changed: the answers still agree

    faq_update(entry=entry, translations={**CLOAKROOM, "en": TranslationData("Is there a cloakroom?",
                                                                                "Yes, on Level 1: 20 dollars a bag.")})
    outdated = {t.language: t.outdated_by for t in faq_outdated_list()}
    assert outdated == {"ja": "en", "zh": "en"}
    assert entry.translations.get(language="en").outdated_since is None

    faq_update(entry=entry, translations={**CLOAKROOM, "en": TranslationData("Is there a cloakroom?",
                                                                                "Yes, on Level 1: 20 dollars a bag."),
                                          "zh": TranslationData("有衣帽间吗？", "有，在一楼，每件20元。")})
    assert {t.language for t in faq_outdated_list()} == {"ja"}  # editing the Chinese cleared it

    faq_translation_confirm(entry=entry, language="ja")
    assert not faq_outdated_list().exists()
    assert AuditEntry.objects.filter(action="faq.translation_confirm", target_label="cloakroom").exists()


def test_an_import_that_changes_the_english_answer_marks_the_others_out_of_date() -> None:
    faq_create(key="cloakroom", translations=CLOAKROOM)
    faq_import_file(content=b'{"key": "cloakroom", "language": "en", "question": "Is there a cloakroom?", '
                            b'"answer": "Yes, on Level 1: 20 dollars a bag."}\n', filename="faqs.jsonl")
    assert {t.language for t in faq_outdated_list()} == {"ja", "zh"}


@pytest.mark.slow  # the sentence encoders
def test_archiving_takes_an_entry_out_of_search_at_once_and_unarchiving_brings_it_back_as_a_draft(
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        entry = faq_create(key="cloakroom", translations=CLOAKROOM, status="published")
    assert faq_search("Is there a cloakroom?", "en").results[0].key == "cloakroom"
    with django_capture_on_commit_callbacks(execute=True):
        faq_archive(entry=entry)
    assert all(hit.key != "cloakroom" for hit in faq_search("Is there a cloakroom?", "en").results)
    assert not faq_list().exists() and list(faq_list(status="archived")) == [entry]
    faq_unarchive(entry=entry)
    entry.refresh_from_db()
    assert entry.status == FaqEntry.Status.DRAFT
    assert [r.action for r in FaqRevision.objects.filter(key="cloakroom")] == ["unarchive", "archive", "create"]
    assert AuditEntry.objects.filter(action="faq.archive").get().before["status"] == "published"  # type: ignore[index]


@pytest.mark.slow  # the sentence encoders
def test_drafts_are_searched_only_when_asked(django_capture_on_commit_callbacks: Capture) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        faq_create(key="cloakroom", translations=CLOAKROOM, status="draft")
    assert all(hit.key != "cloakroom" for hit in faq_search("Is there a cloakroom?", "en").results)
    assert faq_search("Is there a cloakroom?", "en", include_drafts=True).results[0].key == "cloakroom"


def test_the_list_search_looks_in_answers_and_alternates_of_every_language_ignoring_case_width_and_accents() -> None:
    faq_create(key="restrooms", translations={
        "en": TranslationData("Where are the restrooms?", "Next to the Café on Level 2.", ("Where is the TOILET?",)),
        "ja": TranslationData("お手洗いはどこですか？", "２階のカフェの隣です。", ("トイレはどこ",))})
    faq_create(key="parking", translations={"en": TranslationData("Where do I park?", "B2.")})

    def keys(query: str) -> list[str]:
        return [entry.key for entry in faq_list(query=query)]

    assert keys("toilet") == ["restrooms"]  # an alternate, another case
    assert keys("cafe") == ["restrooms"]  # the answer, without its accent
    assert keys("ＣＡＦＥ") == ["restrooms"]  # full-width letters
    assert keys("2階") == ["restrooms"]  # the Japanese answer's full-width digit
    assert keys("トイレ") == ["restrooms"]
    assert keys("park") == ["parking"]
    assert search_fold("Ｃａｆé ガ") == "cafe ガ"  # Japanese voicing marks are kept
    assert FaqTranslation.objects.get(language="ja").search_text == search_fold(
        "お手洗いはどこですか？\n２階のカフェの隣です。\nトイレはどこ")



def test_published_answers_in_a_language_are_what_the_avatar_speaks_there() -> None:
    from knowledgebase.selectors import faq_published_answers

    faq_create(key="exchange", status="published", translations={
        "zh": TranslationData("哪里可以换钱？", "持牌找换店在地面层南门附近。"),
        "en": TranslationData("Where can I change money?", "The money changer is by the south gate.")})
    faq_create(key="parking", status="published", translations={
        "yue": TranslationData("泊車幾錢？", "每個鐘港幣25蚊。"),
        "ja": TranslationData("駐車料金は？", "1時間25ドルです。"),
        "en": TranslationData("How much is parking?", "Parking is 25 dollars an hour.")})
    faq_create(key="rooftop", status="draft", translations={"en": TranslationData("Rooftop?", "Not yet open.")})
    # No Cantonese answer for the money changer: a Cantonese kiosk speaks its Mandarin text, which
    # the answer audio cache must hold too; a Japanese kiosk speaks English. Drafts are not spoken,
    # and a language the knowledge base does not speak at all gets nothing cached.
    assert faq_published_answers("yue") == ["持牌找换店在地面层南门附近。", "每個鐘港幣25蚊。"]
    assert faq_published_answers("ja") == ["The money changer is by the south gate.", "1時間25ドルです。"]
    assert faq_published_answers("zh") == ["持牌找换店在地面层南门附近。", "每個鐘港幣25蚊。"]
    assert faq_published_answers("ko") == []
