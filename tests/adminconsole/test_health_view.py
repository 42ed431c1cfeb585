"""The console's backend health page shows what the workers published (a voice provider down)."""
import time
from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from avatar_runtime.health import BackendStatus, Health
from avatar_runtime.worker.health_publisher import HEALTH_KEY, health_publish
from common.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_health() -> Iterator[None]:
    cache.delete(HEALTH_KEY)
    yield
    cache.delete(HEALTH_KEY)


def test_staff_see_a_degraded_voice_provider_and_its_fallback(login: Callable[..., Client]) -> None:
    now = time.time()
    health_publish("worker-a", [
        BackendStatus("tts:en", Health.DOWN, "piper", "edge: first audio deadline missed", now, now),
        BackendStatus("asr", Health.HEALTHY, "whisper", "model loaded", now, now),
    ])
    page = login(Role.STAFF).get(reverse("console:health"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "worker-a" in html and "tts:en" in html and "edge: first audio deadline missed" in html
    assert html.index("tts:en") > html.index("asr")  # components in order, each with its state
    assert ">down<" in html and ">healthy<" in html


def test_no_worker_yet_says_how_to_start_one(login: Callable[..., Client]) -> None:
    html = login(Role.STAFF).get(reverse("console:health")).content.decode()
    assert "No avatar worker has reported yet" in html


def test_people_without_a_console_role_get_403(login: Callable[..., Client]) -> None:
    assert login(None).get(reverse("console:health")).status_code == 403
