"""Text the database cannot store (NUL: PostgreSQL refuses it), lone surrogates and control
characters are refused wherever text enters the knowledge base: imports (by line, nothing half
imported), the API, the console editor and document uploads. Run with ``DATABASE_URL`` on
PostgreSQL, where an unchecked NUL or surrogate is a 500, not a stored row."""
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from common.errors import ApplicationError
from common.roles import Role
from knowledgebase.models import Document, FaqEntry, FaqTranslation
from knowledgebase.services import TranslationData, faq_create, faq_import_file
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db
# Written as JSON escapes, so each reaches the server exactly as a client would send it.
UNSTORABLE = {"NUL": "\\u0000", "lone surrogate": "\\ud800", "control character": "\\u0007"}


@pytest.fixture(autouse=True)
def eager_and_private_media(celery_eager: None, settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def staff(make_user: Callable[..., AbstractBaseUser]) -> Client:
    make_user("alice", Role.STAFF)
    client = Client()
    assert client.login(username="alice", password=TEST_PASSWORD)
    return client


def _jsonl(*answers: str) -> bytes:
    lines = [f'{{"key": "faq-{n}", "language": "en", "question": "Question {n}?", "answer": "{a}"}}'
             for n, a in enumerate(answers, start=1)]
    return "\n".join(lines).encode()


@pytest.mark.parametrize(("what", "escape"), UNSTORABLE.items())
def test_an_import_with_unstorable_text_is_refused_by_line_and_nothing_is_imported(what: str, escape: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        faq_import_file(content=_jsonl("Level 2.", f"Level{escape} 3.", "Level 4."), filename="faqs.jsonl")
    assert caught.value.code == "import_invalid"
    errors = caught.value.extra["errors"]
    assert isinstance(errors, list) and [e["line"] for e in errors] == [2]
    assert errors[0]["message"].startswith(f"answer has a {what}") and "at position 5" in errors[0]["message"]
    assert not FaqEntry.objects.exists()


def test_a_csv_upload_with_a_nul_byte_is_a_line_numbered_400_through_the_api_and_the_console(staff: Client) -> None:
    content = b"key,language,question,answer,alternates\nwifi,en,Wi-Fi?,Free.,\nlockers,en,Lockers?,B1.,Left\x00 luggage\n"
    api = staff.post("/api/kb/import/", {"file": SimpleUploadedFile("faqs.csv", content)})
    assert api.status_code == 400
    assert api.json()["error"]["errors"] == [{"line": 3, "message": "alternates has a NUL character at position 4"}]
    console = staff.post("/console/faqs/import/", {"file": SimpleUploadedFile("faqs.csv", content, "text/csv")})
    assert console.status_code == 400
    assert "<td>3</td><td>alternates has a NUL character at position 4</td>" in console.content.decode()
    skipping = staff.post("/api/kb/import/", {"file": SimpleUploadedFile("faqs.csv", content), "skip_bad": "true"})
    assert skipping.status_code == 200 and skipping.json()["skipped"][0]["line"] == 3
    assert list(FaqTranslation.objects.values_list("entry__key", flat=True)) == ["wifi"]


@pytest.mark.parametrize("escape", UNSTORABLE.values())
def test_the_api_refuses_unstorable_text_in_a_new_or_edited_entry(staff: Client, escape: str) -> None:
    body = ('{"key": "wifi", "status": "published", "translations": [{"language": "en", "question": "Wi-Fi?", '
            f'"answer": "Free{escape}.", "alternates": []}}]}}')
    created = staff.post("/api/kb/faqs/", body, content_type="application/json")
    assert created.status_code == 400, created.content
    assert not FaqEntry.objects.exists()
    faq_create(key="wifi", translations={"en": TranslationData("Wi-Fi?", "Free.")})
    edit = ('{"translations": [{"language": "en", "question": "Wi-Fi?", '
            f'"answer": "Free{escape}.", "alternates": ["Is there wifi{escape}?"]}}]}}')
    edited = staff.patch("/api/kb/faqs/wifi/", edit, content_type="application/json")
    assert edited.status_code == 400, edited.content
    assert FaqTranslation.objects.get().answer == "Free."


def test_the_console_editor_refuses_a_control_character_next_to_its_language(staff: Client) -> None:
    form = {"key": "wifi", "tags": ""}
    for code in ("zh", "yue", "en", "ja", "ko"):
        form.update({f"{code}-question": "", f"{code}-answer": "", f"{code}-alternates": ""})
    form.update({"en-question": "Wi-Fi?", "en-answer": "Free\x1b[2J."})
    response = staff.post("/console/faqs/new/", form)
    assert response.status_code == 200
    assert "the text has a control character (U+001B) at position 4" in response.content.decode()
    assert not FaqEntry.objects.exists()


@pytest.mark.parametrize("name", ["guide.md", "guide.txt"])
def test_a_document_with_a_nul_byte_is_refused_by_line_and_nothing_is_stored(staff: Client, name: str) -> None:
    content = b"# Lockers\n\nLuggage lockers are on B1.\nAsk at the desk\x00 for a key.\n"
    response = staff.post("/api/kb/documents/", {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "document_invalid_text"
    assert error["message"].startswith("Line 4 of the document's text has a NUL character at position 15")
    titled = staff.post("/api/kb/documents/", {"file": SimpleUploadedFile(name, b"# Lockers\n\nOn B1.\n"),
                                               "title": "Lockers\x07"})
    assert titled.status_code == 400 and titled.json()["error"]["code"] == "document_invalid"
    assert not Document.objects.exists()


def test_clean_text_with_tabs_and_line_breaks_still_imports() -> None:
    content = json.dumps({"key": "hours", "language": "en", "question": "Hours?\tToday?",
                          "answer": "10 a.m.\r\nto 10 p.m."}).encode()
    assert faq_import_file(content=content, filename="faqs.jsonl").created == 1
