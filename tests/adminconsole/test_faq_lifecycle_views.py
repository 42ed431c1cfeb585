"""FAQ screens for #24: archive with confirmation, restore with a diff that keeps the rest, the
translations to update, try it with drafts, honest save messages, the list's wide search."""
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.test import Client

from common.roles import Role
from knowledgebase.indexing import index_version_bump
from knowledgebase.models import FaqEntry
from knowledgebase.services import TranslationData, faq_create, faq_update
from tests.adminconsole.test_faq_views import editor_post

pytestmark = pytest.mark.django_db
Capture = Callable[..., AbstractContextManager[Any]]
EN = ("Is there a cloakroom?", "Yes, on Level 1. It is free.")
JA = ("クロークはありますか？", "はい、1階にあります。無料です。")


@pytest.fixture(autouse=True)
def eager_and_fresh_index(celery_eager: None) -> Iterator[None]:
    index_version_bump()
    yield
    index_version_bump()


def cloakroom(status: str = "published", **languages: tuple[str, str]) -> FaqEntry:
    return faq_create(key="cloakroom", status=status,
                      translations={code: TranslationData(*text) for code, text in (languages or {"en": EN}).items()})


@pytest.mark.slow  # the index refresh embeds with the sentence encoders
def test_archive_asks_first_then_hides_the_entry_and_restoring_brings_it_back_as_a_draft(
    login: Callable[..., Client],
) -> None:
    cloakroom()
    staff = login(Role.STAFF)
    confirm = staff.get("/console/faqs/cloakroom/archive/")
    assert confirm.status_code == 200 and "Kiosks stop answering with it at once" in confirm.content.decode()
    assert FaqEntry.objects.get().status == "published"
    assert staff.post("/console/faqs/cloakroom/archive/").status_code == 302
    assert FaqEntry.objects.get().status == "archived"
    assert ">cloakroom</strong>" not in staff.get("/console/faqs/").content.decode()
    archived = staff.get("/console/faqs/", {"status": "archived"}).content.decode()
    assert ">cloakroom</strong>" in archived and "Archived" in archived
    assert 'id="unarchive"' in staff.get("/console/faqs/cloakroom/").content.decode()
    assert staff.post("/console/faqs/cloakroom/unarchive/").status_code == 302
    assert FaqEntry.objects.get().status == "draft"


def test_restore_shows_the_diff_first_and_keeps_the_publish_state_and_the_japanese_translation(
    login: Callable[..., Client],
) -> None:
    entry = cloakroom(status="draft")
    first = entry.revisions.get()
    staff = login(Role.STAFF)
    staff.post("/console/faqs/cloakroom/publish/")
    staff.post("/console/faqs/cloakroom/", editor_post("cloakroom", {
        "en": (EN[0], "Yes, on Level 1: 20 dollars a bag.", ""), "ja": (*JA, "")}))
    url = f"/console/faqs/cloakroom/history/{first.pk}/restore/"
    preview = staff.get(url).content.decode()
    assert "<del>dollars</del><ins>is</ins> <del>a bag</del><ins>free</ins>" in preview
    assert "Japanese" in preview and "added after this version" in preview  # kept, and said so
    assert 'name="remove_others"' in preview and 'name="status"' in preview
    with_choices = staff.get(url, {"preview": "1", "languages": "en", "remove_others": "on"}).content.decode()
    assert "はい、1階にあります。無料です。</del>" in with_choices  # ticking it shows the removal
    assert FaqEntry.objects.get().translations.count() == 2  # previews change nothing

    assert staff.post(url, {"languages": ["en"]}).status_code == 302
    entry.refresh_from_db()
    assert entry.status == "published"
    assert {t.language: t.answer for t in entry.translations.all()} == {"en": EN[1], "ja": JA[1]}


def test_a_changed_english_answer_lists_the_other_translations_until_they_are_edited(login: Callable[..., Client]) -> None:
    zh = ("有衣帽间吗？", "有，在一楼，免费。")
    entry = cloakroom(en=EN, ja=JA, zh=zh)
    faq_update(entry=entry, translations={"en": TranslationData(EN[0], "Yes, on Level 1: 20 dollars a bag."),
                                          "ja": TranslationData(*JA), "zh": TranslationData(*zh)})
    staff = login(Role.STAFF)
    listed = staff.get("/console/faqs/needs-update/").content.decode()
    assert listed.count(">cloakroom</strong>") == 2 and "Japanese" in listed and "Mandarin" in listed
    editor = staff.get("/console/faqs/cloakroom/").content.decode()
    assert editor.count('<span class="pill outdated">Out of date</span>') >= 2
    staff.post("/console/faqs/cloakroom/", editor_post("cloakroom", {
        "en": (EN[0], "Yes, on Level 1: 20 dollars a bag.", ""), "ja": (JA[0], "はい、1階です。1個20ドルです。", ""),
        "zh": ("有衣帽间吗？", "有，在一楼，免费。", "")}))
    listed = staff.get("/console/faqs/needs-update/").content.decode()
    assert listed.count(">cloakroom</strong>") == 1 and "Japanese" not in listed
    assert staff.post("/console/faqs/cloakroom/translations/zh/confirm/").status_code == 302
    assert "Every translation is up to date." in staff.get("/console/faqs/needs-update/").content.decode()


def test_save_messages_say_what_reaches_the_kiosks(login: Callable[..., Client]) -> None:
    staff = login(Role.STAFF)
    created = staff.post("/console/faqs/new/", editor_post("cloakroom", {"en": (*EN, "")}), follow=True)
    assert "kiosks don&#x27;t use it until it is published" in created.content.decode()
    draft = staff.post("/console/faqs/cloakroom/", editor_post("cloakroom", {"en": (EN[0], "Level 1.", "")}), follow=True)
    assert "Saved as a draft: kiosks don&#x27;t use it until it is published" in draft.content.decode()
    assert "within seconds" not in draft.content.decode()
    staff.post("/console/faqs/cloakroom/publish/")
    live = staff.post("/console/faqs/cloakroom/", editor_post("cloakroom", {"en": (EN[0], "Level 2.", "")}), follow=True)
    assert "It is published: kiosks answer with the new wording from their next question" in live.content.decode()


@pytest.mark.slow
def test_try_it_finds_a_draft_only_with_the_toggle_and_marks_it(
    login: Callable[..., Client], django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        cloakroom(status="draft")
    staff = login(Role.STAFF)
    query = {"q": "Is there a cloakroom?", "language": "en"}
    without = staff.get("/console/faqs/try/", query, HTTP_X_CONSOLE_FRAGMENT="1").content.decode()
    assert ">cloakroom</a>" not in without
    with_drafts = staff.get("/console/faqs/try/", {**query, "include_drafts": "on"},
                            HTTP_X_CONSOLE_FRAGMENT="1").content.decode()
    assert '>cloakroom</a> <span class="pill warn">Draft</span>' in with_drafts
    assert "Drafts included" in with_drafts and "It is free" in with_drafts


def test_the_list_search_finds_answers_and_alternates_in_any_language(login: Callable[..., Client]) -> None:
    faq_create(key="restrooms", translations={
        "en": TranslationData("Where are the restrooms?", "Level 2, next to the Café.", ("Where is the toilet?",)),
        "ko": TranslationData("화장실이 어디예요?", "2층 카페 옆에 있습니다.")})
    staff = login(Role.STAFF)
    for query in ("TOILET", "cafe", "카페", "ｔｏｉｌｅｔ"):
        assert ">restrooms</strong>" in staff.get("/console/faqs/", {"q": query}).content.decode(), query
    assert ">restrooms</strong>" not in staff.get("/console/faqs/", {"q": "cinema"}).content.decode()
