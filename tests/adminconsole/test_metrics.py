"""``/metrics``: refused outside the allowed networks and without the token; inside, a running
worker's load, health and runtime samples (through the shared cache) and the stores' QA scores,
open hand-offs and flags, in Prometheus's text format."""
import asyncio
import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from avatar_runtime.health import Health, health_registry
from avatar_runtime.metrics import FALLBACKS, RUNTIME_REGISTRY, turn_observe
from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.worker.server import AvatarWorker
from conversations.models import Conversation, Turn
from lipsync.models import QaFlag, TurnQaScore
from tests.adminconsole.conftest import Exchange

TOKEN = "scrape-me-4f1c"


@pytest.fixture
def scraper_settings(settings: Any) -> Any:
    settings.METRICS_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.METRICS_TOKEN = TOKEN
    return settings


def scrape(client: Client, address: str = "10.20.3.4", token: str | None = TOKEN) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.get("/metrics", REMOTE_ADDR=address, **headers)


@pytest.mark.django_db
@pytest.mark.parametrize(("address", "token", "status"), [
    ("192.168.1.7", TOKEN, 403),   # outside the allowed networks, even with the token
    ("10.20.3.4", None, 401),      # inside, without the token
    ("10.20.3.4", "guess", 401),   # inside, with a wrong one
    ("10.20.3.4", TOKEN, 200),
])
def test_only_allowed_networks_with_the_token_may_scrape(scraper_settings: Any, address: str, token: str | None,
                                                        status: int) -> None:
    response = scrape(Client(), address, token)
    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    if status == 200:
        assert response["Content-Type"].startswith("text/plain; version=")  # Prometheus's text format
        assert "# TYPE kiosk_workers_live gauge" in response.content.decode()
    else:
        assert b"kiosk_" not in response.content


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_client_address_decides(scraper_settings: Any) -> None:
    scraper_settings.TRUSTED_PROXIES = ["10.20.0.1"]
    outside = Client().get("/metrics", REMOTE_ADDR="10.20.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9",
                           HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert outside.status_code == 403


async def _no_sessions(session_id: str, kiosk_id: int | None) -> ConversationSession:
    raise AssertionError("no session is opened in this test")


def _values(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.mark.django_db(transaction=True)
async def test_a_running_workers_load_health_and_runtime_samples_are_served(
        scraper_settings: Any, make_conversation: Any, kiosk: Any) -> None:
    # What a worker measured (a turn's stages, a TTS fallback), as its pipeline reports it.
    turn_observe({"asr": 0.31, "end_to_end": 1.2}, interrupted=False)
    FALLBACKS.labels("tts", "edge", "kokoro").inc()
    health_registry.report("tts:en", Health.DEGRADED, "kokoro", "edge down; kokoro serves")
    # What the stores hold: a scored answer clip, an open hand-off, an open QA flag.
    conversation: Conversation = await sync_to_async(make_conversation)(kiosk, [Exchange("Where is the exit?")],
                                                                        handoff=True)

    def score_and_flag() -> None:
        answer = conversation.turns.get(role=Turn.Role.AVATAR)
        TurnQaScore.objects.create(turn=answer, scorer="embedded", offset_frames=-2, confidence=0.8, min_dist=0.2,
                                   scored_at=timezone.now())
        QaFlag.objects.create(subject=QaFlag.Subject.VOICE, subject_key="edge:x", subject_label="x", scorer="embedded",
                              reason=QaFlag.Reason.LOW_CONFIDENCE, mean_confidence=0.3, mean_abs_offset=0.0,
                              threshold=0.5, window=3, raised_at=timezone.now())

    await sync_to_async(score_and_flag)()
    worker = AvatarWorker(capacity=3, session_factory=_no_sessions, layer=get_channel_layer(), worker_id="gpu-7")
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.ready.wait(), 30)
        await worker.announce()
        text = ""
        for _ in range(50):  # its first publications go out as it starts
            text = (await sync_to_async(scrape)(Client())).content.decode()
            if 'kiosk_stage_seconds_count{stage="asr",worker="gpu-7"}' in text and "kiosk_backend_health{" in text:
                break
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    values = _values(text)
    worker_label = ("worker", "gpu-7")
    assert values[("kiosk_worker_capacity", frozenset({worker_label}))] == 3
    assert values[("kiosk_worker_sessions", frozenset({worker_label}))] == 0
    assert values[("kiosk_backend_health", frozenset({worker_label, ("component", "tts:en"), ("backend", "kokoro")}))] == 1
    in_process = RUNTIME_REGISTRY.get_sample_value("kiosk_stage_seconds_count", {"stage": "asr"})
    assert in_process is not None and in_process >= 1
    assert values[("kiosk_stage_seconds_count", frozenset({("stage", "asr"), worker_label}))] == in_process
    assert values[("kiosk_stage_seconds_bucket", frozenset({("stage", "asr"), ("le", "0.5"), worker_label}))] >= 1
    assert values[("kiosk_fallbacks_total", frozenset({("component", "tts"), ("primary", "edge"),
                                                       ("fallback", "kokoro"), worker_label}))] >= 1
    assert values[("kiosk_handoffs_open", frozenset())] == 1
    assert values[("kiosk_qa_flags_open", frozenset({("subject", "voice")}))] == 1
    assert values[("kiosk_qa_clips_last_hour", frozenset({("scorer", "embedded"), ("result", "scored")}))] == 1
    assert values[("kiosk_qa_confidence_mean_last_hour", frozenset({("scorer", "embedded")}))] == pytest.approx(0.8)
    assert values[("kiosk_qa_offset_frames_mean_abs_last_hour", frozenset({("scorer", "embedded")}))] == 2
    # Gone from the registry with the worker: its samples are no longer served.
    gone = (await sync_to_async(scrape)(Client())).content.decode()
    assert 'worker="gpu-7"' not in gone


@pytest.mark.django_db
def test_every_metric_the_example_dashboard_queries_is_served(scraper_settings: Any) -> None:
    from avatar_runtime.metrics import BACKEND_REQUESTS, BARGEIN_SECONDS, HANDOFFS, STAGE_ERRORS, runtime_samples
    from avatar_runtime.worker.metrics_publisher import metrics_publish

    turn_observe({"end_to_end": 0.9}, interrupted=True)
    BARGEIN_SECONDS.observe(0.12)
    HANDOFFS.inc()
    STAGE_ERRORS.labels("tts")
    FALLBACKS.labels("llm", "qwen", "extractive")
    BACKEND_REQUESTS.labels("llm", "qwen", "failed")
    metrics_publish("w-dash", runtime_samples())
    families = list(text_string_to_metric_families(scrape(Client()).content.decode()))
    # Declared families (some have no sample until there is something to count) and the samples' names.
    served = {family.name for family in families} | {sample.name for family in families for sample in family.samples}
    dashboard = (settings.BASE_DIR / "docs" / "grafana" / "kiosk-avatar.json").read_text()
    queried = set(re.findall(r"\bkiosk_[a-z_]+", dashboard)) - {"kiosk_avatar"}
    assert queried and queried <= served, queried - served
