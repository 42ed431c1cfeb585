"""The document library screens: upload with the API's checks, the list's index state, the
chunks, re-index and delete with confirmation; staff only; audited."""
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEntry
from common.roles import Role
from knowledgebase.indexing import index_version_bump
from knowledgebase.models import Document, DocumentChunk
from knowledgebase.selectors import faq_search

pytestmark = pytest.mark.django_db
Capture = Callable[..., AbstractContextManager[Any]]
GUIDE = (b"# Lockers\n\nLuggage lockers are on B1 near the MTR walkway; they take Octopus cards.\n\n"
         b"# Prayer room\n\nThe prayer room is on Level 4, behind the information counter.\n")


@pytest.fixture(autouse=True)
def eager_and_fresh_index(celery_eager: None) -> Iterator[None]:
    index_version_bump()
    yield
    index_version_bump()


def upload(client: Client, content: bytes, filename: str, **fields: str) -> Any:
    return client.post("/console/documents/", {"file": SimpleUploadedFile(filename, content), "title": "",
                                               "language": "", "publish": "on", **fields})


@pytest.mark.slow  # searches with the sentence encoders
def test_staff_upload_a_document_see_its_passages_reindex_and_delete_it(
    login: Callable[..., Client], django_capture_on_commit_callbacks: Capture, media_root: Path,
) -> None:
    staff = login(Role.STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(staff, GUIDE, "visitor-guide.md")
    document = Document.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/documents/{document.pk}/"
    assert document.title == "visitor-guide" and document.status == "published" and document.created_by is not None
    assert AuditEntry.objects.filter(action="document.create", actor_name="staff").exists()
    assert faq_search("where are the luggage lockers", "en").results[0].key.startswith(f"doc:{document.pk}#")

    listing = staff.get("/console/documents/").content.decode()
    assert "visitor-guide.md" in listing and 'class="dropzone"' in listing and "Indexed" in listing
    detail = staff.get(f"/console/documents/{document.pk}/").content.decode()
    assert "Luggage lockers are on B1" in detail and "The prayer room is on Level 4" in detail

    DocumentChunk.objects.filter(document=document).delete()  # as after a change to the chunking
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(f"/console/documents/{document.pk}/reindex/").status_code == 302
    assert document.chunks.count() == 2
    assert AuditEntry.objects.get(action="document.reindex").after == {"chunks": 2}

    stored = media_root / document.file.name
    assert stored.exists()
    confirm = staff.get(f"/console/documents/{document.pk}/delete/")
    assert confirm.status_code == 200 and "This cannot be undone" in confirm.content.decode()
    assert Document.objects.exists()  # asking is not deleting
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(f"/console/documents/{document.pk}/delete/").status_code == 302
    assert not Document.objects.exists() and not stored.exists()
    assert AuditEntry.objects.filter(action="document.delete", target_label="visitor-guide").exists()
    assert all(not hit.key.startswith("doc:") for hit in faq_search("where are the luggage lockers", "en").results)


@pytest.mark.slow  # searches with the sentence encoders
def test_an_upload_gets_the_apis_checks_and_a_draft_is_not_searched(
    login: Callable[..., Client], settings: Any, django_capture_on_commit_callbacks: Capture,
) -> None:
    staff = login(Role.STAFF)
    unsupported = upload(staff, b"\x89PNG\r\n\x1a\n....", "map.png")
    assert unsupported.status_code == 400 and Document.objects.count() == 0
    assert "errorlist" in unsupported.content.decode()
    bad_text = upload(staff, b"Lockers\x00 on B1", "notes.txt")
    assert bad_text.status_code == 400 and "NUL" in bad_text.content.decode()
    settings.KB_DOCUMENT_MAX_BYTES = 100
    too_big = upload(staff, b"a" * 101, "big.txt")
    assert too_big.status_code == 400 and "limited to" in too_big.content.decode()
    assert not Document.objects.exists()
    settings.KB_DOCUMENT_MAX_BYTES = 1_000_000
    with django_capture_on_commit_callbacks(execute=True):
        draft = staff.post("/console/documents/", {"file": SimpleUploadedFile("guide.md", GUIDE), "title": "Guide",
                                                   "language": "en"})
    assert draft.status_code == 302
    assert Document.objects.get().status == "draft"
    assert "Draft: kiosks don&#x27;t use it" in staff.get("/console/documents/").content.decode()
    assert all(not hit.key.startswith("doc:") for hit in faq_search("where are the luggage lockers", "en").results)


def test_the_library_is_for_console_roles_only(login: Callable[..., Client]) -> None:
    nobody = login(None)
    assert nobody.get("/console/documents/").status_code in (302, 403)
    assert upload(nobody, GUIDE, "guide.md").status_code in (302, 403)
    assert not Document.objects.exists()
    assert login(Role.STAFF, username="s2").get("/console/documents/").status_code == 200
