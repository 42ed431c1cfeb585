"""The console's backend health page speaks plainly: each check says what works and what customers
notice, coloured green, amber or red, with the workers' technical report folded below."""
import re
import time
from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from avatar_runtime.health import BackendStatus, Health
from avatar_runtime.worker.health_publisher import HEALTH_KEY, STALE_AFTER, health_publish
from common.roles import Role

pytestmark = pytest.mark.django_db
WHISPER_REASON = ("faster-whisper base from MODELS_DIR (beam 1 (ja, zh: 5), 1 thread; SenseVoice not used: funasr is not "
                  "installed (a GPU-host package: pip install -r requirements-gpu.txt); venue vocabulary in en, ja)")


@pytest.fixture(autouse=True)
def clean_health() -> Iterator[None]:
    cache.delete(HEALTH_KEY)
    yield
    cache.delete(HEALTH_KEY)


def check_item(html: str, component: str) -> str:
    """The ``<li>`` of one component."""
    match = re.search(rf'<li class="health-check[^"]*" data-component="{re.escape(component)}".*?</li>', html, re.S)
    assert match, component
    return match.group(0)


def test_each_check_says_in_words_what_works_and_what_customers_notice(login: Callable[..., Client]) -> None:
    now = time.time()
    health_publish("worker-a", [
        BackendStatus("asr", Health.HEALTHY, "whisper", WHISPER_REASON, now, now),
        BackendStatus("tts:ko", Health.DEGRADED, "kokoro", "edge down: TimeoutError; kokoro serves", now, now),
    ])
    page = login(Role.STAFF).get(reverse("console:health"))
    html = page.content.decode()
    assert page.status_code == 200
    asr, korean = check_item(html, "asr"), check_item(html, "tts:ko")
    assert "<strong>Speech recognition:</strong> working, offline (Whisper base)" in asr
    assert 'data-level="ok"' in asr and "Customers can speak" in asr
    assert ("<strong>Korean voice:</strong> using the backup voice (Kokoro) because the online voice service "
            "(Microsoft Edge) is not answering") in korean
    assert 'data-level="warn"' in korean and "Customers hear a different voice" in korean
    # the developer's words only inside the folded detail
    words, detail = asr.split("<details", 1)
    assert "pip install" not in words and "MODELS_DIR" not in words
    assert "pip install -r requirements-gpu.txt" in detail and "MODELS_DIR" in detail
    assert 'id="health-overall" role="status"' in html and "health-banner level-warn" in html
    assert "console/health.css" in html and "<style" not in html  # colours come from the static stylesheet


def test_a_silent_language_is_red_and_says_so(login: Callable[..., Client]) -> None:
    now = time.time()
    health_publish("worker-a", [BackendStatus("tts:yue", Health.DOWN, "none", "every voice failed: espeak", now, now)])
    html = login(Role.STAFF).get(reverse("console:health")).content.decode()
    cantonese = check_item(html, "tts:yue")
    assert "Cantonese voice:</strong> silent: every voice failed" in cantonese and 'data-level="bad"' in cantonese
    assert "captions" in cantonese and "health-banner level-bad" in html


def test_a_worker_that_stopped_reporting_is_red(login: Callable[..., Client]) -> None:
    then = time.time() - STALE_AFTER - 5
    health_publish("worker-old", [BackendStatus("vad", Health.HEALTHY, "silero-vad", "", then, then)], now=then)
    html = login(Role.STAFF).get(reverse("console:health")).content.decode()
    assert "Not reporting" in html and "health-worker level-bad" in html and "Stopped reporting" in html


def test_no_worker_yet_is_red_and_says_how_to_start_one(login: Callable[..., Client]) -> None:
    html = login(Role.STAFF).get(reverse("console:health")).content.decode()
    assert "health-banner level-bad" in html and "No avatar worker is running" in html
    assert "python manage.py avatar_worker" in html.split("<details", 1)[1]


def test_the_api_gives_the_same_words(login: Callable[..., Client]) -> None:
    now = time.time()
    health_publish("worker-a", [BackendStatus("llm", Health.DEGRADED, "extractive",
                                              "qwen down: ConnectionRefusedError; extractive serves", now, now)])
    [worker] = login(Role.STAFF).get("/api/health/backends/").json()["workers"]
    [llm] = worker["backends"]
    assert (worker["level"], llm["level"], llm["title"]) == ("warn", "warn", "Writing answers")
    assert "language model is not answering" in llm["summary"] and "less conversational" in llm["customers"]
    assert llm["reason"].startswith("qwen down")  # the technical report is kept


def test_people_without_a_console_role_get_403(login: Callable[..., Client]) -> None:
    assert login(None).get(reverse("console:health")).status_code == 403
