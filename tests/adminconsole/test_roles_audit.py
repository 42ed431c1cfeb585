"""Roles gate every console screen; every write leaves an audit entry with before/after."""
from collections.abc import Callable

import pytest
from django.test import Client

from adminconsole.nav import NAV_ITEMS
from audit.models import AuditEntry
from common.roles import Role

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_the_login_page(client: Client) -> None:
    response = client.get("/console/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/?next=/console/audit/")


def test_a_logged_in_user_without_a_role_gets_403_not_a_redirect(login: Callable[..., Client]) -> None:
    response = login(None).get("/console/")
    assert response.status_code == 403
    assert b"Not allowed" in response.content


@pytest.mark.parametrize(("role", "status"), [(Role.STAFF, 403), (Role.SUPERVISOR, 403), (Role.ADMIN, 200)])
def test_the_audit_log_is_for_admins(login: Callable[..., Client], role: Role, status: int) -> None:
    assert login(role).get("/console/audit/").status_code == status


def test_the_navigation_shows_only_what_the_role_may_open(login: Callable[..., Client]) -> None:
    staff_page = login(Role.STAFF).get("/console/").content.decode()
    admin_page = login(Role.ADMIN, username="boss").get("/console/").content.decode()
    for item in NAV_ITEMS:
        label = str(item.label)
        assert (f">{label}</a>" in staff_page) == (item.role <= Role.STAFF), label
        assert f">{label}</a>" in admin_page, label


def test_a_rest_write_is_audited_with_actor_ip_and_before_after(login: Callable[..., Client]) -> None:
    client = login(Role.STAFF)
    body = {"key": "parking", "status": "draft", "tags": ["car"],
            "translations": [{"language": "en", "question": "Where do I park?", "answer": "Level B2."}]}
    assert client.post("/api/kb/faqs/", body, content_type="application/json", REMOTE_ADDR="10.1.2.3").status_code == 201
    patch = {"translations": [{"language": "en", "question": "Where do I park?", "answer": "Levels B2 and B3."}]}
    assert client.patch("/api/kb/faqs/parking/", patch, content_type="application/json").status_code == 200
    assert client.post("/api/kb/faqs/parking/publish/").status_code == 200
    assert client.delete("/api/kb/faqs/parking/").status_code == 204

    entries = list(AuditEntry.objects.order_by("id"))
    assert [e.action for e in entries] == ["faq.create", "faq.update", "faq.publish", "faq.delete"]
    assert {e.actor_name for e in entries} == {"staff"}
    assert entries[0].ip == "10.1.2.3" and entries[0].before is None
    assert entries[0].target_type == "knowledgebase.faqentry" and entries[0].target_label == "parking"
    update = entries[1]
    assert update.before["translations"]["en"]["answer"] == "Level B2."
    assert update.after["translations"]["en"]["answer"] == "Levels B2 and B3."
    assert entries[2].before["status"] == "draft" and entries[2].after["status"] == "published"
    assert entries[3].after is None and entries[3].before["key"] == "parking"


def test_the_audit_screen_lists_entries_and_filters_by_action(login: Callable[..., Client]) -> None:
    admin = login(Role.ADMIN)
    body = {"key": "wifi", "translations": [{"language": "en", "question": "Wifi?", "answer": "MallGuest."}]}
    admin.post("/api/kb/faqs/", body, content_type="application/json")
    page = admin.get("/console/audit/", {"action": "faq.create"}).content.decode()
    assert "faq.create" in page and "wifi" in page
    assert "wifi" not in admin.get("/console/audit/", {"action": "kiosk."}).content.decode().split("<tbody>")[1]


def test_the_console_speaks_chinese_to_a_chinese_browser(login: Callable[..., Client]) -> None:
    page = login(Role.ADMIN).get("/console/faqs/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "常见问题" in page and "审计日志" in page and "缺少译文" in page


def test_behind_a_trusted_proxy_the_audit_log_records_the_client_not_the_proxy(  # type: ignore[no-untyped-def]
    login: Callable[..., Client], settings
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    body = {"key": "parking", "translations": [{"language": "en", "question": "Where do I park?", "answer": "B2."}]}
    response = login(Role.STAFF).post("/api/kb/faqs/", body, content_type="application/json",
                                      REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.20")
    assert response.status_code == 201
    assert AuditEntry.objects.get(action="faq.create").ip == "198.51.100.20"
