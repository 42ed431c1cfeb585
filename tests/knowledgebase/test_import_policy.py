"""One review policy for every way FAQs come in: a new entry is a draft (the avatar does not use
it) until staff publish it; an import publishes only when staff choose to, in the console, the
API and the management command alike; an existing entry keeps its status."""
import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from common.roles import Role
from knowledgebase.models import FaqEntry
from knowledgebase.selectors import faq_search
from knowledgebase.services import TranslationData, faq_create, faq_publish
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db
CSV = b"key,language,question,answer\nwifi,en,Is there free wifi?,Yes: join Mall-Free.\nhours,en,When do you open?,10 a.m.\n"
Importer = Callable[[bytes, bool], None]


@pytest.fixture
def staff(make_user: Callable[..., AbstractBaseUser]) -> Client:
    make_user("alice", Role.STAFF)
    client = Client()
    assert client.login(username="alice", password=TEST_PASSWORD)
    return client


def _console(staff: Client) -> Importer:
    def run(content: bytes, publish: bool) -> None:
        form = {"file": SimpleUploadedFile("faqs.csv", content, "text/csv"), **({"publish": "on"} if publish else {})}
        assert staff.post("/console/faqs/import/", form).status_code == 302
    return run


def _api(staff: Client) -> Importer:
    def run(content: bytes, publish: bool) -> None:
        response = staff.post("/api/kb/import/", {"file": SimpleUploadedFile("faqs.csv", content), "publish": publish})
        assert response.status_code == 200, response.content
    return run


def _command(tmp_path: Path) -> Importer:
    def run(content: bytes, publish: bool) -> None:
        path = tmp_path / "faqs.csv"
        path.write_bytes(content)
        call_command("import_faqs", str(path), *(["--publish"] if publish else []), stdout=io.StringIO())
    return run


@pytest.fixture(params=["console", "api", "command"])
def importer(request: pytest.FixtureRequest, staff: Client, tmp_path: Path) -> Importer:
    return {"console": lambda: _console(staff), "api": lambda: _api(staff), "command": lambda: _command(tmp_path)}[
        request.param]()


def _statuses() -> dict[str, str]:
    return dict(FaqEntry.objects.values_list("key", "status"))


def test_an_import_creates_drafts_like_every_other_way_in(
    importer: Importer, django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        faq_publish(entry=faq_create(key="hours", translations={"en": TranslationData("When do you open?", "At 9.")}))
        importer(CSV, False)
    assert _statuses() == {"wifi": "draft", "hours": "published"}  # the existing entry keeps its status
    assert not any(hit.key == "wifi" for hit in faq_search("Is there free wifi?", "en").results)
    with django_capture_on_commit_callbacks(execute=True):
        importer(CSV, True)
    assert _statuses() == {"wifi": "published", "hours": "published"}
    assert faq_search("Is there free wifi?", "en").results[0].key == "wifi"


def test_the_console_and_the_api_say_what_an_import_does(staff: Client) -> None:
    page = staff.get("/console/faqs/import/").content.decode()
    assert 'name="publish"' in page and "new entries arrive as drafts" in page
    after = staff.post("/console/faqs/import/", {"file": SimpleUploadedFile("faqs.csv", CSV, "text/csv")}, follow=True)
    assert "The new entries are drafts" in after.content.decode()
    schema = staff.get("/api/schema/", {"format": "json"}).json()
    form = schema["paths"]["/api/kb/import/"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    properties = schema["components"]["schemas"][form["$ref"].rsplit("/", 1)[1]]["properties"]
    assert "new entries are drafts" in properties["publish"]["description"]
    assert faq_create(key="parking", translations={"en": TranslationData("Parking?", "B2.")}).status == "draft"
