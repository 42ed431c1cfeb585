"""The knowledge-base REST API: permissions, CSRF, CRUD, import/export and the schema."""
import json
from collections.abc import Callable
from io import StringIO

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from common.roles import Role
from knowledgebase.models import FaqEntry, FaqRevision

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
NEW_FAQ = {
    "key": "ice-rink",
    "tags": ["Leisure"],
    "translations": [
        {"language": "en", "question": "Is there an ice rink?", "answer": "Yes, on L7.", "alternates": ["Ice skating?"]},
        {"language": "ja", "question": "スケートリンクはありますか？", "answer": "7階にございます。"},
    ],
}


@pytest.fixture
def staff(client: Client, make_user: Callable[..., AbstractBaseUser]) -> Client:
    make_user("alice", Role.STAFF)
    client.login(username="alice", password=PASSWORD)
    return client


def _create(client: Client, payload: dict[str, object] = NEW_FAQ) -> dict[str, object]:
    response = client.post("/api/kb/faqs/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("method", "url"), [
    ("get", "/api/kb/search?q=atm"), ("get", "/api/kb/faqs/"), ("post", "/api/kb/faqs/"), ("get", "/api/kb/faqs/atms/"),
    ("delete", "/api/kb/faqs/atms/"), ("post", "/api/kb/faqs/atms/publish/"), ("post", "/api/kb/import/"),
    ("get", "/api/kb/export/"),
])
def test_anonymous_and_users_without_a_role_are_refused(
    client: Client, make_user: Callable[..., AbstractBaseUser], method: str, url: str
) -> None:
    assert getattr(client, method)(url).status_code in (401, 403)
    make_user("nobody", None)
    client.login(username="nobody", password=PASSWORD)
    response = getattr(client, method)(url)
    assert response.status_code == 403
    assert "console role" in response.json()["error"]["message"]


@pytest.mark.parametrize("role", [Role.STAFF, Role.SUPERVISOR, Role.ADMIN])
def test_every_console_role_may_edit(client: Client, make_user: Callable[..., AbstractBaseUser], role: Role) -> None:
    make_user("someone", role)
    client.login(username="someone", password=PASSWORD)
    _create(client)
    assert client.delete("/api/kb/faqs/ice-rink/").status_code == 204


def test_session_writes_need_the_csrf_token(make_user: Callable[..., AbstractBaseUser]) -> None:
    make_user("alice", Role.STAFF)
    browser = Client(enforce_csrf_checks=True)
    browser.login(username="alice", password=PASSWORD)
    refused = browser.post("/api/kb/faqs/", NEW_FAQ, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    assert not FaqEntry.objects.exists()
    browser.get("/console/")  # sets the csrftoken cookie, as the console page does
    token = browser.cookies["csrftoken"].value
    accepted = browser.post("/api/kb/faqs/", NEW_FAQ, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_create_read_update_publish_delete(staff: Client) -> None:
    created = _create(staff)
    assert created["status"] == "draft" and created["tags"] == ["leisure"]
    assert [t["language"] for t in created["translations"]] == ["en", "ja"]  # type: ignore[index]
    assert created["missing_languages"] == ["zh", "yue", "ko"]
    conflict = staff.post("/api/kb/faqs/", NEW_FAQ, content_type="application/json")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "faq_exists"

    patched = staff.patch("/api/kb/faqs/ice-rink/", {"tags": ["sport"]}, content_type="application/json").json()
    assert patched["tags"] == ["sport"] and len(patched["translations"]) == 2
    replaced = staff.put("/api/kb/faqs/ice-rink/", {"translations": [
        {"language": "ko", "question": "아이스링크가 있나요?", "answer": "7층에 있습니다."}]}, content_type="application/json")
    assert [t["language"] for t in replaced.json()["translations"]] == ["ko"]

    assert staff.post("/api/kb/faqs/ice-rink/publish/").json()["status"] == "published"
    assert staff.post("/api/kb/faqs/ice-rink/unpublish/").json()["status"] == "draft"
    assert staff.get("/api/kb/faqs/ice-rink/").json()["key"] == "ice-rink"
    assert staff.delete("/api/kb/faqs/ice-rink/").status_code == 204
    missing = staff.get("/api/kb/faqs/ice-rink/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "faq_not_found"
    actions = list(FaqRevision.objects.filter(key="ice-rink").values_list("action", "user__username"))
    assert actions[0] == ("delete", "alice") and len(actions) == 6


def test_invalid_input_is_a_400_with_details(staff: Client) -> None:
    bad = staff.post("/api/kb/faqs/", {"key": "no spaces", "translations": []}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    assert {"key", "translations"} <= set(bad.json()["error"]["errors"])
    twice = {**NEW_FAQ, "translations": [NEW_FAQ["translations"][0]] * 2}  # type: ignore[index]
    assert staff.post("/api/kb/faqs/", twice, content_type="application/json").status_code == 400


def test_list_filters_by_tag_status_and_language_coverage(staff: Client) -> None:
    call_command("import_faqs", "knowledgebase/demo/faqs.jsonl", "--publish", stdout=StringIO())
    _create(staff)
    everything = staff.get("/api/kb/faqs/").json()
    assert everything["count"] == 33 and len(everything["results"]) == 33
    assert [e["key"] for e in staff.get("/api/kb/faqs/?status=draft").json()["results"]] == ["ice-rink"]
    only_english = {e["key"] for e in staff.get("/api/kb/faqs/?missing_language=zh&has_language=en").json()["results"]}
    assert {"drinking-water", "ev-charging", "prayer-room", "ice-rink"} <= only_english
    assert "atms" not in only_english
    banking = staff.get("/api/kb/faqs/?tag=banking").json()["results"]
    assert {e["key"] for e in banking} >= {"atms"}
    assert [e["key"] for e in staff.get("/api/kb/faqs/?q=遮").json()["results"]] == ["umbrella-lending"]
    assert staff.get("/api/kb/faqs/?q=bowling").json()["count"] == 0
    assert staff.get("/api/kb/faqs/?status=bogus").status_code == 400


def test_import_upload_reports_and_refuses_bad_files_with_line_numbers(staff: Client) -> None:
    good = SimpleUploadedFile("faqs.csv", b"key,language,question,answer\nhours,en,When do you open?,10 am.\n")
    report = staff.post("/api/kb/import/", {"file": good})
    assert report.status_code == 200
    assert report.json() == {"created": 1, "updated": 0, "unchanged": 0, "translations": 1, "skipped": []}
    bad = SimpleUploadedFile("faqs.jsonl", b'{"key": "a", "language": "en", "question": "Q", "answer": "A"}\n{oops\n')
    refused = staff.post("/api/kb/import/", {"file": bad})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "import_invalid" and error["errors"][0]["line"] == 2
    assert not FaqEntry.objects.filter(key="a").exists()
    bad.seek(0)
    skipped = staff.post("/api/kb/import/", {"file": bad, "skip_bad": "true"}).json()
    assert skipped["created"] == 1 and skipped["skipped"][0]["line"] == 2


def test_export_downloads_jsonl_and_csv(staff: Client) -> None:
    _create(staff)
    jsonl = staff.get("/api/kb/export/")
    assert jsonl["Content-Disposition"] == 'attachment; filename="faqs.jsonl"'
    rows = [json.loads(line) for line in jsonl.content.decode().splitlines()]
    assert {r["language"] for r in rows} == {"en", "ja"} and rows[0]["tags"] == ["leisure"]
    csv_file = staff.get("/api/kb/export/?file_format=csv")
    assert csv_file["Content-Type"].startswith("text/csv")
    assert csv_file.content.decode("utf-8-sig").splitlines()[0] == "key,language,question,answer,tags,alternates"
    assert staff.get("/api/kb/export/?status=published").content == b""


@pytest.mark.slow
def test_search_endpoint(staff: Client, demo_faqs: None) -> None:
    body = staff.get("/api/kb/search", {"q": "전기차 충전소가 있나요?", "lang": "ko", "k": 2}).json()
    assert body["answerable"] is True and body["mode"] == "hybrid"
    best = body["results"][0]
    assert (best["key"], best["language"]) == ("ev-charging", "en")
    assert set(best["translations"]) == {"en"} and best["translations"]["en"]["answer"] == best["answer"]
    assert len(body["results"]) == 2
    declined = staff.get("/api/kb/search/", {"q": "Tell me a joke"}).json()
    assert declined["answerable"] is False
    assert staff.get("/api/kb/search", {"q": "x", "k": 99}).status_code == 400
    assert staff.get("/api/kb/search", {"k": 3}).status_code == 400


def test_openapi_schema_describes_the_kb_api(client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    out = StringIO()
    call_command("spectacular", "--validate", "--format", "openapi-json", stdout=out)
    assert "knowledgebase" not in capsys.readouterr().err  # no warnings about our views
    schema = json.loads(out.getvalue())
    paths = schema["paths"]
    assert {"/api/kb/faqs/", "/api/kb/faqs/{key}/", "/api/kb/import/", "/api/kb/export/"} <= set(paths)
    search = next(operation for path, operation in paths.items() if path.startswith("/api/kb/search"))["get"]
    assert {p["name"] for p in search["parameters"]} >= {"q", "lang", "k"}
    hit = schema["components"]["schemas"]["SearchHit"]
    assert {"key", "language", "question", "answer", "score", "translations"} <= set(hit["properties"])
    assert "multipart/form-data" in paths["/api/kb/import/"]["post"]["requestBody"]["content"]
    assert client.get("/api/schema/").status_code == 200
