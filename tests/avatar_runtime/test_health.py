"""Backend health: the registry, its publication by a real worker, the API, ``doctor`` and warm-up seeding.

The shared cache is Django's (local memory by default, Redis when REDIS_URL is set), so the same
tests cover the embedded and the production layout.
"""
import asyncio
import time
from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client

from avatar_runtime.doctor import DoctorConfig
from avatar_runtime.errors import ProviderError
from avatar_runtime.factory import first_recognition
from avatar_runtime.health import Health, HealthRegistry, HealthTracker, health_registry
from avatar_runtime.health_checks import health_seed, health_voice
from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.selectors import backend_health_snapshot
from avatar_runtime.tts.base import Voice
from avatar_runtime.tts.espeak_voice import EspeakSynthesizer
from avatar_runtime.worker.health_publisher import HEALTH_KEY, STALE_AFTER, HealthPublisher, health_publish
from avatar_runtime.worker.server import AvatarWorker
from common.roles import Role
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.services  # the shared cache: Redis in CI's services suite


@pytest.fixture(autouse=True)
def clean_health() -> Iterator[None]:
    cache.delete(HEALTH_KEY)
    health_registry.clear()
    yield
    cache.delete(HEALTH_KEY)
    health_registry.clear()


def test_registry_keeps_the_time_of_the_last_change_and_tells_listeners_only_of_changes() -> None:
    now = [100.0]
    registry = HealthRegistry(clock=lambda: now[0])
    heard: list[int] = []
    registry.subscribe(lambda: heard.append(registry.version))
    registry.report("asr", Health.HEALTHY, "whisper")
    now[0] = 160.0
    registry.report("asr", Health.HEALTHY, "whisper")  # the same: no news
    status = registry.get("asr")
    assert status is not None and (status.since, status.checked) == (100.0, 160.0) and heard == [1]
    registry.report("asr", Health.DOWN, "whisper", "model missing")
    status = registry.get("asr")
    assert status is not None and status.since == 160.0 and heard == [1, 2]
    assert [s.component for s in registry.snapshot()] == ["asr"]


def test_tracker_reports_a_service_down_behind_its_fallback_as_degraded() -> None:
    registry = HealthRegistry()
    tracker = HealthTracker(down_after=2, component="llm", backend="qwen", fallback="extractive", registry=registry)
    tracker.record(True)
    assert registry.get("llm").state is Health.HEALTHY  # type: ignore[union-attr]
    tracker.record(False, "first_token_timeout")
    status = registry.get("llm")
    assert status is not None and (status.state, status.backend) == (Health.DEGRADED, "qwen")
    tracker.record(False, "connect_failed")
    status = registry.get("llm")
    assert status is not None and (status.state, status.backend) == (Health.DEGRADED, "extractive")
    assert status.reason == "qwen down: connect_failed; extractive serves"
    alone = HealthTracker(down_after=1, component="vad", backend="silero-vad", registry=registry)
    alone.record(False, "crashed")
    assert registry.get("vad").state is Health.DOWN  # type: ignore[union-attr]


async def test_publisher_publishes_at_once_and_again_on_every_change() -> None:
    registry = HealthRegistry()
    registry.report("vad", Health.HEALTHY, "silero-vad")
    publisher = HealthPublisher("w1", registry, every=60.0)
    task = asyncio.create_task(publisher.run())
    try:
        await _until(lambda: publisher.published == 1)
        [worker] = await asyncio.to_thread(backend_health_snapshot)
        assert (worker["worker_id"], worker["state"], worker["stale"]) == ("w1", "healthy", False)
        # A change from another thread (as a synthesis thread would report) is out well before `every`.
        began = time.perf_counter()
        await asyncio.to_thread(registry.report, "tts:en", Health.DEGRADED, "piper", "edge down: no audio")
        await _until(lambda: publisher.published == 2)
        assert time.perf_counter() - began < 1.0
        [worker] = await asyncio.to_thread(backend_health_snapshot)
        assert worker["state"] == "degraded"
        assert [b["component"] for b in worker["backends"]] == ["tts:en", "vad"]  # type: ignore[attr-defined]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_snapshot_marks_silent_workers_stale_and_sorts_the_worst_first() -> None:
    registry = HealthRegistry()
    registry.report("llm", Health.HEALTHY, "qwen")
    health_publish("a-fine", registry.snapshot(), now=1000.0)
    registry.report("tts:ja", Health.DOWN, "none", "every voice failed")
    health_publish("b-broken", registry.snapshot(), now=1000.0 - STALE_AFTER - 1)
    workers = backend_health_snapshot(now=1000.0)
    assert [(w["worker_id"], w["state"], w["stale"]) for w in workers] == [
        ("b-broken", "down", True), ("a-fine", "healthy", False)]


async def _never_called(session_id: str, kiosk_id: int | None) -> ConversationSession:
    raise AssertionError("no session is opened in this test")


async def test_a_running_worker_publishes_its_health_and_withdraws_it_when_it_stops() -> None:
    health_registry.report("asr", Health.HEALTHY, "whisper", "faster-whisper base")
    worker = AvatarWorker(capacity=1, session_factory=_never_called, layer=InMemoryChannelLayer(), worker_id="w-test")
    task = asyncio.create_task(worker.run())
    try:
        await _until(lambda: any(w["worker_id"] == "w-test" for w in backend_health_snapshot()))
        await asyncio.to_thread(health_registry.report, "tts:en", Health.DEGRADED, "piper", "edge down")
        await _until(lambda: backend_health_snapshot()[0]["state"] == "degraded")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert backend_health_snapshot() == []


def _publish_failover() -> None:
    registry = HealthRegistry()
    tracker = HealthTracker(down_after=1, component="tts:en", backend="edge", fallback="piper", registry=registry)
    tracker.record(False, "edge: cannot connect to speech.platform.bing.com:443")
    registry.report("asr", Health.HEALTHY, "whisper", "faster-whisper base from MODELS_DIR")
    health_publish("kiosk-host-1", registry.snapshot())


@pytest.mark.django_db
def test_api_shows_a_tts_failover_to_staff_only(client: Client, make_user: Callable[..., Any]) -> None:
    _publish_failover()
    assert client.get("/api/health/backends/").status_code in (401, 403)
    make_user("norole", None)
    client.login(username="norole", password=TEST_PASSWORD)
    assert client.get("/api/health/backends/").status_code == 403
    make_user("staff", Role.STAFF)
    client.login(username="staff", password=TEST_PASSWORD)
    response = client.get("/api/health/backends/")
    assert response.status_code == 200
    [worker] = response.json()["workers"]
    assert (worker["worker_id"], worker["state"]) == ("kiosk-host-1", "degraded")
    tts = next(b for b in worker["backends"] if b["component"] == "tts:en")
    assert (tts["state"], tts["backend"]) == ("degraded", "piper") and "edge down" in tts["reason"]
    assert client.get("/api/health/").json() == {"status": "ok"}  # liveness is unchanged
    schema = client.get("/api/schema/").content.decode()
    assert "/api/health/backends/" in schema and "WorkerHealth" in schema


@pytest.mark.django_db
def test_doctor_prints_the_health_the_workers_published() -> None:
    _publish_failover()
    out = StringIO()
    call_command("doctor", stdout=out)
    text = out.getvalue()
    assert "worker kiosk-host-1" in text
    line = next(line for line in text.splitlines() if "tts:en" in line)
    assert "degraded" in line and "piper" in line and "edge down" in line


async def test_warm_up_seeding_covers_every_stage_and_each_voice() -> None:
    registry = HealthRegistry()
    health_seed(DoctorConfig.from_settings(), registry)
    assert {s.component for s in registry.snapshot()} == {"vad", "asr", "retrieval", "llm", "render", "qa", "aec"}
    assert registry.get("llm").backend == "extractive"  # type: ignore[union-attr]
    espeak = EspeakSynthesizer()
    chunks = [c async for c in espeak.synthesize("OK.", Voice("ko", "espeak", "ko"))]
    assert chunks
    health_voice("ko", espeak, Voice("ko", "kokoro", "jf_nezumi"), "espeak", registry)
    status = registry.get("tts:ko")
    assert status is not None and (status.state, status.backend) == (Health.DEGRADED, "espeak")


class DeadRecognizer:
    name = "dead"

    def __init__(self) -> None:
        self.calls = 0

    def transcribe(self, samples, sample_rate, *, language=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        raise ProviderError("dead", "speech service down", retryable=True)


def test_a_failed_warm_up_recognition_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    dead = DeadRecognizer()
    first_recognition(dead)  # type: ignore[arg-type]
    assert dead.calls == 1
    assert "ASR warm-up pass failed" in caplog.text
