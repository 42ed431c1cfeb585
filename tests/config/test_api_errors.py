"""Requests the API refuses before a view runs still get its JSON error shape, and Basic auth is challenged."""
import base64
import json
import uuid

import pytest
from django.test import Client

from common.roles import Role
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _basic(username: str, password: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_a_body_over_the_upload_limit_gets_the_apis_json_error(client: Client, make_user, settings) -> None:  # type: ignore[no-untyped-def]
    make_user("bulk", Role.STAFF)
    body = json.dumps({"key": "big", "translations": {"en": {"question": "q", "answer": "x" * (12 * 1024 * 1024)}}})
    response = client.post("/api/kb/faqs/", body, content_type="application/json", **_basic("bulk", TEST_PASSWORD))
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "request_too_large" and str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["message"]


def test_outside_the_api_the_site_keeps_its_own_400_page(client: Client) -> None:
    fields = "&".join(f"f{i}=1" for i in range(1100))  # over DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = client.post("/console/login/", fields, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and not response["Content-Type"].startswith("application/json")


def test_wrong_basic_credentials_get_401_with_a_challenge(client: Client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("reader", Role.STAFF)
    # An address of its own: the failure counts against it in the shared cache (Redis outlives a test).
    wrong = client.get("/api/kb/faqs/", REMOTE_ADDR=f"2001:db8::{uuid.uuid4().hex[:4]}", **_basic("reader", "not-the-password"))
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"] == 'Basic realm="api"'
    assert wrong.json()["error"]["code"] == "authentication_failed"
    anonymous = client.get("/api/kb/faqs/")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == 'Basic realm="api"'
    assert client.get("/api/kb/faqs/", **_basic("reader", TEST_PASSWORD)).status_code == 200
