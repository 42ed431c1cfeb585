"""A full worker says so: a kiosk it has no CPU budget (or no render-server frame budget) for is
told it is busy (and the console sees it; a typed question is answered in captions meanwhile),
then is served by itself as soon as room frees; quality steps reach the console."""
import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from avatar_runtime.capacity.budget import BudgetConfig, CpuBudget
from avatar_runtime.capacity.cpu_meter import CpuReading
from avatar_runtime.capacity.frame_budget import FrameBudget, FrameBudgetConfig
from avatar_runtime.capacity.stage_cpu import StageCpu
from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.render.musetalk.audio_features import Utterance
from avatar_runtime.render.musetalk.prepare import idle_clip, prepare_avatar
from avatar_runtime.render.musetalk.scheduler import FrameJob, JobKind
from avatar_runtime.render.musetalk.server import MuseTalkServer
from avatar_runtime.worker.governor import Governor
from avatar_runtime.worker.registry import WorkerInfo, worker_announce, worker_remove
from avatar_runtime.worker.server import AvatarWorker
from kiosk.consumers import BUSY_RETRY_EVERY
from kiosk.models import Kiosk
from tests.avatar_runtime.musetalk.conftest import SMALL_PREPARE, portrait, speech, tiny_models

from .test_consumer import communicator, paired_kiosk, receive_until

pytestmark = pytest.mark.django_db(transaction=True)
SESSION_CORES = 1.2  # what each session costs on the scripted machine: two cores hold one


@pytest.fixture(autouse=True)
def no_embedded_worker(settings) -> None:  # type: ignore[no-untyped-def]
    settings.AVATAR_EMBEDDED_WORKER = False


@dataclass
class Renderer:
    fps: int = 25


@dataclass
class Backends:
    renderer: Renderer = field(default_factory=Renderer)


class IdleSession:
    """A session with no pipeline (no models): the worker, runner, registry, governor and consumer
    around it are the real ones."""

    def __init__(self, session_id: str, kiosk_id: int | None) -> None:
        self.session_id, self.kiosk_id = session_id, kiosk_id
        self.cpu = StageCpu()
        self.backends = Backends()
        self.events: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    async def start(self) -> None:
        return None

    async def frames(self):  # type: ignore[no-untyped-def]
        while True:
            await asyncio.sleep(3600)
            yield None

    async def close(self, reason: str) -> None:
        return None


class ScriptedMachine:
    """Two cores, busy ``SESSION_CORES`` per session the worker holds, in real time."""

    def __init__(self) -> None:
        self.worker: AvatarWorker | None = None
        self.at = time.monotonic()
        self.busy = 0.0

    def read(self) -> CpuReading:
        now = time.monotonic()
        sessions = len(self.worker.runners) if self.worker is not None else 0
        self.busy += SESSION_CORES * sessions * (now - self.at)
        self.at = now
        return CpuReading(at=now, host_busy=self.busy, process=self.busy, cores=2)


async def idle_session(session_id: str, kiosk_id: int | None) -> ConversationSession:
    return IdleSession(session_id, kiosk_id)  # type: ignore[return-value]


async def service(kiosk: Kiosk) -> str:
    return str((await database_sync_to_async(Kiosk.objects.get)(pk=kiosk.pk)).service)


async def until_service(kiosk: Kiosk, expected: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while await service(kiosk) != expected:
        assert time.monotonic() < deadline, f"kiosk service stayed {await service(kiosk)!r}, not {expected!r}"
        await asyncio.sleep(0.1)


async def test_a_kiosk_refused_for_budget_is_busy_then_served_when_room_frees() -> None:
    machine = ScriptedMachine()
    budget = CpuBudget(BudgetConfig(initial_cost=0.6, window=1.0), read=machine.read)
    worker = AvatarWorker(capacity=4, session_factory=idle_session, layer=get_channel_layer(), worker_id="w-budget",
                          governor=Governor(budget=budget, degrader=None, min_sessions=1))
    machine.worker = worker
    task = asyncio.create_task(worker.run())
    _first_kiosk, first_token = await paired_kiosk()
    second_kiosk, second_token = await database_sync_to_async(_another_kiosk)()
    await database_sync_to_async(_published_cloakroom)()
    first, second = communicator(first_token), communicator(second_token)
    try:
        await asyncio.wait_for(worker.ready.wait(), 30)
        await worker.announce()
        assert (await first.connect())[0]
        assert (await receive_until(first, "session"))["state"] == "ready"
        for _ in range(100):  # until the governor has measured the first session: 1.7 - 1.2 cores left < 0.6
            if budget.headroom is not None and not budget.admits():
                break
            await asyncio.sleep(0.1)
        assert budget.headroom is not None and budget.headroom < budget.cost.value

        assert (await second.connect())[0]
        busy = await receive_until(second, "busy")
        assert busy["retry_in"] == BUSY_RETRY_EVERY and len(worker.runners) == 1
        await until_service(second_kiosk, "busy")
        # Typed while busy: the knowledge base answers in captions, and the transcript keeps both turns.
        await second.send_to(text_data=json.dumps({"type": "text", "text": "Is there a cloakroom?"}))
        asked = await receive_until(second, "caption")
        assert (asked["role"], asked["text"], asked["language"]) == ("customer", "Is there a cloakroom?", "en")
        while (answered := json.loads(await second.receive_from(timeout=120)))["type"] != "caption":
            pass  # the first search loads the embedding model
        assert (answered["role"], answered["text"]) == ("avatar", "Yes, on Level 1. It is free.")
        assert await database_sync_to_async(_transcript)(second_kiosk) == [
            ("customer", "Is there a cloakroom?", ""), ("avatar", "Yes, on Level 1. It is free.", "busy-captions")]

        await first.disconnect()  # room frees: the waiting kiosk is served by itself, within a few seconds
        began = time.monotonic()
        for _ in range(40):
            message = json.loads(await second.receive_from(timeout=8))
            if message["type"] == "session":
                break
        assert message == {"type": "session", "state": "ready", "media": "webrtc", "resumed": False}
        assert time.monotonic() - began < 8
        assert len(worker.runners) == 1
        await until_service(second_kiosk, "")
    finally:
        await second.disconnect()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_kiosk_refused_for_the_render_servers_frame_budget_is_busy_then_served() -> None:
    """A GPU worker: its MuseTalk server (the tiny models on the CPU, rendered one batch, so it has a
    measured rate) holds one session's need but not two."""
    server = MuseTalkServer(tiny_models(face_parser=False))
    avatar = await asyncio.to_thread(prepare_avatar, idle_clip(portrait(), seconds=0.12), server.models,
                                     settings=SMALL_PREPARE)
    server.attach(avatar)
    utterance = Utterance()
    utterance.append(speech(0.3))
    utterance.flush()
    await asyncio.to_thread(server.process, [FrameJob(session="s", avatar=avatar.key, frame=0, deadline=0.0,
                                                      kind=JobKind.RENDER, utterance=utterance, utterance_frame=f)
                                             for f in range(2)])
    sustained = server.sustained_fps()
    assert sustained is not None
    frames = FrameBudget(FrameBudgetConfig(initial_fps=0.6 * sustained, min_fps=0.0, max_fps=sustained, target=1.0),
                         sustained=server.sustained_fps, rendered=lambda: server.live_rendered)
    worker = AvatarWorker(capacity=4, session_factory=idle_session, layer=get_channel_layer(), worker_id="w-frames",
                          governor=Governor(budget=None, degrader=None, frames=frames, min_sessions=1))
    task = asyncio.create_task(worker.run())
    _first_kiosk, first_token = await paired_kiosk()
    second_kiosk, second_token = await database_sync_to_async(_another_kiosk)()
    first, second = communicator(first_token), communicator(second_token)
    try:
        await asyncio.wait_for(worker.ready.wait(), 30)
        await worker.announce()
        assert (await first.connect())[0]
        assert (await receive_until(first, "session"))["state"] == "ready"
        assert (await second.connect())[0]
        assert (await receive_until(second, "busy"))["retry_in"] == BUSY_RETRY_EVERY and len(worker.runners) == 1
        await until_service(second_kiosk, "busy")
        await first.disconnect()  # room frees: the waiting kiosk is served by itself
        for _ in range(40):
            message = json.loads(await second.receive_from(timeout=8))
            if message["type"] == "session":
                break
        assert message["state"] == "ready" and len(worker.runners) == 1
    finally:
        await second.disconnect()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _transcript(kiosk: Kiosk) -> list[tuple[str, str, str]]:
    from conversations.models import Turn

    return [(t.role, t.text, t.answer_backend)
            for t in Turn.objects.filter(conversation__kiosk=kiosk).order_by("conversation_id", "index")]


def _published_cloakroom() -> None:
    from knowledgebase.services import TranslationData, faq_create

    faq_create(key="cloakroom", status="published",
               translations={"en": TranslationData("Is there a cloakroom?", "Yes, on Level 1. It is free.")})


def _another_kiosk() -> tuple[Kiosk, str]:
    from datetime import timedelta

    from kiosk.pairing import kiosk_pair, kiosk_pairing_code_create

    venue = Kiosk.objects.get().venue
    kiosk = Kiosk.objects.create(name="K2", venue=venue)
    return kiosk_pair(code=kiosk_pairing_code_create(kiosk=kiosk, ttl=timedelta(minutes=5)))


async def test_quality_steps_reach_the_console_and_the_page() -> None:
    """The test plays the worker's side: a session degraded to voice only, then restored."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await database_sync_to_async(worker_announce)(WorkerInfo("w-quality", channel, 1, 0, time.time()))
    kiosk, token = await paired_kiosk()
    comm = communicator(token)
    try:
        assert (await comm.connect())[0]
        opened: dict[str, Any] = await asyncio.wait_for(layer.receive(channel), 5)
        reply, session = opened["reply_channel"], opened["session_id"]
        await layer.send(reply, {"type": "kiosk.opened", "session_id": session, "worker_id": "w-quality"})
        await receive_until(comm, "session")
        for level, recorded in (("reduced_video", "reduced_video"), ("voice_only", "voice_only"), ("full", "")):
            await layer.send(reply, {"type": "kiosk.event", "session_id": session,
                                     "event": {"type": "quality", "level": level, "reason": "no_headroom"}})
            assert (await receive_until(comm, "quality"))["level"] == level
            await until_service(kiosk, recorded)
    finally:
        await comm.disconnect()
        await database_sync_to_async(worker_remove)("w-quality")
