"""FAQ screens through HTTP: filters, bounded queries, editor, publish, history/restore, import/export."""
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEntry
from common.roles import Role
from knowledgebase.models import FaqEntry
from knowledgebase.services import TranslationData, faq_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def eager_celery(celery_eager: None) -> None:
    """Index refreshes run at once, as the editor's changes are searched right after."""


def make_faq(key: str, languages: dict[str, tuple[str, str]], *, tags: tuple[str, ...] = (),
             status: str = "published") -> FaqEntry:
    return faq_create(key=key, translations={code: TranslationData(q, a) for code, (q, a) in languages.items()},
                      tags=tags, status=status)


def editor_post(key: str, translations: dict[str, tuple[str, str, str]], tags: str = "") -> dict[str, str]:
    data = {"key": key, "tags": tags}
    for code in ("zh", "yue", "en", "ja", "ko"):
        question, answer, alternates = translations.get(code, ("", "", ""))
        data.update({f"{code}-question": question, f"{code}-answer": answer, f"{code}-alternates": alternates})
    return data


def test_the_list_filters_by_missing_translation_tag_status_and_text(login: Callable[..., Client]) -> None:
    make_faq("toilets", {"en": ("Where is the toilet?", "Level 2."), "zh": ("洗手间在哪里？", "二楼。")}, tags=("facilities",))
    make_faq("parking", {"en": ("Where do I park?", "B2.")}, tags=("car",), status="draft")
    staff = login(Role.STAFF)

    def keys(**params: str) -> set[str]:
        page = staff.get("/console/faqs/", params).content.decode()
        return {key for key in ("toilets", "parking") if f">{key}</strong>" in page}

    assert keys() == {"toilets", "parking"}
    assert keys(missing_language="zh") == {"parking"}
    assert keys(has_language="zh") == {"toilets"}
    assert keys(tag="car") == {"parking"}
    assert keys(status="published") == {"toilets"}
    assert keys(q="洗手间") == {"toilets"}


def test_the_list_runs_a_bounded_number_of_queries_whatever_the_page_size(
    login: Callable[..., Client], django_assert_max_num_queries: Any
) -> None:
    staff = login(Role.STAFF)
    for n in range(30):
        make_faq(f"entry-{n:02d}", {"en": (f"Question {n}?", "Answer."), "ja": (f"質問{n}", "答え")}, tags=(f"t{n % 3}",))
    with django_assert_max_num_queries(12):
        response = staff.get("/console/faqs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "entry-24" in page and "entry-25" not in page  # 25 a page
    assert "entry-25" in staff.get("/console/faqs/", {"page": 2}).content.decode()


def test_new_faq_is_prefilled_from_an_unanswered_question(login: Callable[..., Client]) -> None:
    page = login(Role.STAFF).get("/console/faqs/new/", {"question": "有冇泊車位？", "language": "yue"}).content.decode()
    assert 'name="yue-question"' in page
    textarea = page.split('name="yue-question"')[1].split("</textarea>")[0]
    assert "有冇泊車位？" in textarea


def test_creating_and_editing_side_by_side_records_revisions_and_audit(login: Callable[..., Client]) -> None:
    staff = login(Role.STAFF)
    created = staff.post("/console/faqs/new/", editor_post("wifi", {
        "en": ("Is there wifi?", "Yes: MallGuest.", "wifi password\ninternet"), "ja": ("Wi-Fiはありますか？", "はい。", "")},
        tags="services, it"))
    assert created.status_code == 302 and created["Location"] == "/console/faqs/wifi/"
    entry = FaqEntry.objects.get(key="wifi")
    assert entry.status == "draft"
    assert entry.translations.get(language="en").alternates == ["wifi password", "internet"]
    assert sorted(entry.tags.values_list("name", flat=True)) == ["it", "services"]

    edited = staff.post("/console/faqs/wifi/", editor_post("wifi", {
        "en": ("Is there wifi?", "Yes: connect to MallGuest, no password.", "")}, tags="services"))
    assert edited.status_code == 302
    assert list(entry.translations.values_list("language", flat=True)) == ["en"]  # the emptied ja column is removed
    assert entry.revisions.count() == 2
    actions = list(AuditEntry.objects.filter(target_label="wifi").order_by("id").values_list("action", flat=True))
    assert actions == ["faq.create", "faq.update"]


def test_a_translation_without_its_answer_is_refused_and_nothing_changes(login: Callable[..., Client]) -> None:
    make_faq("hours", {"en": ("When do you open?", "10 a.m. to 10 p.m.")})
    response = login(Role.STAFF).post("/console/faqs/hours/", editor_post("hours", {
        "en": ("When do you open?", "10 to 10.", ""), "ko": ("언제 열어요?", "", "")}))
    assert response.status_code == 200
    assert "question and answer are required" in response.content.decode()
    entry = FaqEntry.objects.get(key="hours")
    assert entry.translations.get(language="en").answer == "10 a.m. to 10 p.m."
    assert not entry.translations.filter(language="ko").exists()
    assert entry.revisions.count() == 1


def test_publish_and_unpublish_need_post_with_a_csrf_token(login: Callable[..., Client]) -> None:
    make_faq("atm", {"en": ("ATM?", "Ground floor.")}, status="draft")
    strict = login(Role.STAFF, csrf=True)
    assert strict.post("/console/faqs/atm/publish/").status_code == 403  # no token
    assert FaqEntry.objects.get(key="atm").status == "draft"
    page = strict.get("/console/faqs/atm/")
    token = page.cookies["csrftoken"].value
    assert strict.post("/console/faqs/atm/publish/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert FaqEntry.objects.get(key="atm").status == "published"
    assert strict.post("/console/faqs/atm/unpublish/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert FaqEntry.objects.get(key="atm").status == "draft"
    assert strict.get("/console/faqs/atm/publish/").status_code == 405


def test_history_shows_the_diff_and_restore_brings_an_old_version_back(login: Callable[..., Client]) -> None:
    staff = login(Role.STAFF)
    make_faq("lost", {"en": ("Lost and found?", "At the service desk on Level 1.")})
    staff.post("/console/faqs/lost/", editor_post("lost", {"en": ("Lost and found?", "At the service desk on Level 3.", "")}))
    page = staff.get("/console/faqs/lost/history/").content.decode()
    assert "<del>1</del><ins>3</ins>" in page
    first = FaqEntry.objects.get(key="lost").revisions.order_by("id").first()
    assert first is not None
    assert f"/console/faqs/lost/history/{first.pk}/restore/" in page
    preview = staff.get(f"/console/faqs/lost/history/{first.pk}/restore/").content.decode()
    assert "<del>3</del><ins>1</ins>" in preview  # the diff from now to what the restore makes, before it
    assert FaqEntry.objects.get(key="lost").translations.get(language="en").answer.endswith("Level 3.")
    assert staff.post(f"/console/faqs/lost/history/{first.pk}/restore/", {"languages": ["en"]}).status_code == 302
    assert FaqEntry.objects.get(key="lost").translations.get(language="en").answer == "At the service desk on Level 1."
    assert AuditEntry.objects.filter(action="faq.revert", target_label="lost").exists()


def test_import_is_all_or_nothing_with_line_numbered_errors(login: Callable[..., Client]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    staff = login(Role.STAFF)
    bad = b"key,language,question,answer\nok-one,en,Fine?,Yes.\nbad key,en,Q?,A.\nok-two,xx,Q?,A.\n"
    response = staff.post("/console/faqs/import/", {"file": SimpleUploadedFile("faqs.csv", bad, "text/csv")})
    assert response.status_code == 400
    page = response.content.decode()
    assert "<td>3</td>" in page and "<td>4</td>" in page and "must be a slug" in page
    assert not FaqEntry.objects.exists()

    good = "key,language,question,answer,tags\nok-one,en,Fine?,Yes.,misc\nok-one,zh,好吗？,好。,misc\n".encode()
    response = staff.post("/console/faqs/import/", {"file": SimpleUploadedFile("faqs.csv", good, "text/csv")})
    assert response.status_code == 302
    assert FaqEntry.objects.get(key="ok-one").translations.count() == 2
    exported = staff.get("/console/faqs/export/", {"format": "csv"})
    assert exported["Content-Disposition"] == 'attachment; filename="faqs.csv"'
    assert "ok-one,zh,好吗？,好。,misc," in exported.content.decode("utf-8-sig")


def test_an_unknown_faq_is_a_404_and_roles_below_staff_get_403(login: Callable[..., Client]) -> None:
    assert login(Role.STAFF).get("/console/faqs/nope/").status_code == 404
    assert login(None).get("/console/faqs/").status_code == 403


def test_publish_never_redirects_off_site(login: Callable[..., Client]) -> None:
    faq_create(key="exit", translations={"en": TranslationData("Where is the exit?", "Ground floor.")})
    staff = login(Role.STAFF)
    away = staff.post("/console/faqs/exit/publish/", {"next": "https://evil.example/phish"})
    assert away.status_code == 302 and away["Location"] == "/console/faqs/exit/"
    back = staff.post("/console/faqs/exit/unpublish/", {"next": "/console/faqs/?status=draft"})
    assert back["Location"] == "/console/faqs/?status=draft"
