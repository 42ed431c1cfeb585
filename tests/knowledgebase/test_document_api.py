"""``/api/kb/documents/``: permissions, multipart upload, list, detail, delete, errors, schema."""
import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from common.roles import Role
from knowledgebase.models import Document, DocumentChunk
from tests.knowledgebase.pdf_files import pdf_bytes

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
GUIDE = "# Lockers\n\nLuggage lockers are on B1 near the MTR walkway.\n\n# 儲物櫃\n\n行李儲物櫃喺B1層港鐵通道附近。\n"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT  # type: ignore[no-any-return]


@pytest.fixture
def staff(client: Client, make_user: Callable[..., AbstractBaseUser]) -> Client:
    make_user("alice", Role.STAFF)
    client.login(username="alice", password=PASSWORD)
    return client


def _upload(client: Client, name: str, content: bytes, **fields: str) -> Any:
    return client.post("/api/kb/documents/", {"file": SimpleUploadedFile(name, content), **fields})


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/api/kb/documents/"), ("post", "/api/kb/documents/"), ("get", "/api/kb/documents/1/"),
    ("delete", "/api/kb/documents/1/"),
])
def test_anonymous_and_users_without_a_role_are_refused(
    client: Client, make_user: Callable[..., AbstractBaseUser], method: str, url: str
) -> None:
    assert getattr(client, method)(url).status_code in (401, 403)
    make_user("nobody", None)
    client.login(username="nobody", password=PASSWORD)
    response = getattr(client, method)(url)
    assert response.status_code == 403 and "console role" in response.json()["error"]["message"]


@pytest.mark.parametrize("role", [Role.STAFF, Role.SUPERVISOR, Role.ADMIN])
def test_every_console_role_may_upload_and_delete(client: Client, make_user: Callable[..., AbstractBaseUser],
                                                  role: Role) -> None:
    make_user("someone", role)
    client.login(username="someone", password=PASSWORD)
    created = _upload(client, "guide.md", GUIDE.encode())
    assert created.status_code == 201, created.content
    assert client.delete(f"/api/kb/documents/{created.json()['id']}/").status_code == 204


def test_upload_list_detail_delete(staff: Client) -> None:
    created = _upload(staff, "guide.md", GUIDE.encode(), title="Visitor guide", language="yue")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["title"], body["kind"], body["filename"], body["language"]) == ("Visitor guide", "markdown", "guide.md", "yue")
    assert body["chunk_count"] == 2 and body["languages"] == ["en", "yue"]
    assert [(c["key"], c["heading"], c["language"]) for c in body["chunks"]] == [
        (f"doc:{body['id']}#0", "Lockers", "en"), (f"doc:{body['id']}#1", "儲物櫃", "yue")]

    pdf = _upload(staff, "hours.pdf", pdf_bytes([["Opening hours", "The mall opens at 10 am."]]))
    assert pdf.status_code == 201 and pdf.json()["kind"] == "pdf" and pdf.json()["title"] == "hours"

    listing = staff.get("/api/kb/documents/").json()
    assert listing["count"] == 2 and [d["title"] for d in listing["results"]] == ["hours", "Visitor guide"]
    assert "chunks" not in listing["results"][0]
    assert [d["title"] for d in staff.get("/api/kb/documents/", {"q": "guide"}).json()["results"]] == ["Visitor guide"]
    assert staff.get("/api/kb/documents/", {"language": "fr"}).status_code == 400

    detail = staff.get(f"/api/kb/documents/{body['id']}/").json()
    assert detail["chunks"][1]["text"] == "行李儲物櫃喺B1層港鐵通道附近。"
    assert staff.delete(f"/api/kb/documents/{body['id']}/").status_code == 204
    missing = staff.get(f"/api/kb/documents/{body['id']}/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "document_not_found"
    assert Document.objects.count() == 1 and DocumentChunk.objects.filter(document_id=body["id"]).count() == 0


def test_bad_uploads_get_a_code_and_store_nothing(staff: Client, settings: Any) -> None:
    unsupported = _upload(staff, "slides.pptx", b"PK\x03\x04")
    assert unsupported.status_code == 400 and unsupported.json()["error"]["code"] == "document_unsupported_type"
    broken = _upload(staff, "broken.pdf", b"%PDF-1.7\n%garbage")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "document_unreadable"
    assert staff.post("/api/kb/documents/", {"title": "no file"}).status_code == 400
    settings.KB_DOCUMENT_MAX_BYTES = 100
    too_large = _upload(staff, "big.txt", b"word " * 40)
    assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "document_too_large"
    assert not Document.objects.exists()


def test_openapi_schema_describes_the_document_api(capsys: pytest.CaptureFixture[str]) -> None:
    out = StringIO()
    call_command("spectacular", "--validate", "--format", "openapi-json", stdout=out)
    assert "knowledgebase" not in capsys.readouterr().err
    paths = json.loads(out.getvalue())["paths"]
    assert {"get", "post"} <= set(paths["/api/kb/documents/"])
    assert {"get", "delete"} <= set(paths["/api/kb/documents/{document_id}/"])
    assert "multipart/form-data" in paths["/api/kb/documents/"]["post"]["requestBody"]["content"]
    assert {"201", "400", "413"} <= set(paths["/api/kb/documents/"]["post"]["responses"])
