"""The FAQ editor's generated phrasings: staff see them apart from their own, edit and remove them."""
from collections.abc import Callable

from django.test import Client

from audit.models import AuditEntry
from common.roles import Role
from knowledgebase.models import FaqEntry, FaqTranslation
from knowledgebase.services import TranslationData, faq_create

GENERATED = [{"language": "en", "text": "bag drop before the airport?"},
             {"language": "ko", "text": "공항 가기 전에 짐 부칠 수 있어요?"}]


def check_in() -> FaqTranslation:
    entry = faq_create(key="in-town-check-in", status=FaqEntry.Status.PUBLISHED, translations={
        "en": TranslationData("Can I check in at the station?", "Level 1.", ("Where is in-town check-in?",))})
    FaqTranslation.objects.filter(entry=entry).update(generated_alternates=GENERATED, generated_from="digest")
    return FaqTranslation.objects.get(entry=entry)


def test_staff_see_edit_and_remove_generated_phrasings(login: Callable[..., Client]) -> None:
    translation = check_in()
    staff = login(Role.STAFF)
    page = staff.get("/console/faqs/in-town-check-in/").content.decode()
    section = page[page.index('id="generated-phrasings"'):]
    assert "bag drop before the airport?" in section and "공항 가기 전에 짐 부칠 수 있어요?" in section
    assert "Where is in-town check-in?" not in section  # staff's own alternates stay in the editor above

    edited = staff.post("/console/faqs/in-town-check-in/generated/en/0/", {"text": "  drop my bags before the airport?"})
    assert edited.status_code == 302
    translation.refresh_from_db()
    assert translation.generated_alternates[0] == {"language": "en", "text": "drop my bags before the airport?"}
    assert translation.embeddings is not None or translation.embedding_model == ""  # re-embedded, or no encoder

    staff.post("/console/faqs/in-town-check-in/generated/en/1/", {"remove": "1"})
    translation.refresh_from_db()
    assert translation.generated_alternates == [{"language": "en", "text": "drop my bags before the airport?"}]
    assert translation.generated_from == "digest"  # removed stays removed: the job will not run again for it
    assert list(AuditEntry.objects.filter(action__startswith="faq.generated").values_list("action", flat=True)
                .order_by("id")) == ["faq.generated_edit", "faq.generated_remove"]


def test_an_edit_must_stay_in_the_phrasings_language_and_users_without_a_role_cannot_edit(login: Callable[..., Client]) -> None:
    translation = check_in()
    response = login(Role.STAFF).post("/console/faqs/in-town-check-in/generated/en/1/", {"text": "Can I drop bags?"},
                                      follow=True)
    assert "cannot be kept: language" in response.content.decode()
    translation.refresh_from_db()
    assert translation.generated_alternates == GENERATED
    assert login(None).post("/console/faqs/in-town-check-in/generated/en/0/", {"remove": "1"}).status_code == 403
    translation.refresh_from_db()
    assert translation.generated_alternates == GENERATED
