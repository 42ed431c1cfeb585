"""The avatar worker: takes kiosk sessions from the channel layer, up to its capacity and CPU budget.

It announces itself in the worker registry (heartbeat every 2 s, with its CPU headroom and its
sessions' CPU per stage), publishes the health of its backends (``health_publisher``), answers
``session.open`` with ``kiosk.opened`` or ``kiosk.refused`` (reason ``capacity``: every slot taken;
``budget``: no CPU headroom for one more session, see ``governor``), and routes the kiosk's
messages to the session's runner.
``python manage.py avatar_worker`` runs one; the embedded layout runs one inside the web process.
"""
import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer

from avatar_runtime.capacity.stage_cpu import STAGES
from avatar_runtime.inference_threads import in_inference_thread
from avatar_runtime.llm.base import HistoryTurn
from avatar_runtime.opencv_threads import run_opencv_on_calling_threads
from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.pipeline.tasks import TaskOwner
from avatar_runtime.transport.ice import HOST_CANDIDATES_ONLY, IceConfig
from avatar_runtime.worker.governor import GOVERN_EVERY, Governor
from avatar_runtime.worker.health_publisher import HealthPublisher, health_withdraw
from avatar_runtime.worker.metrics_publisher import metrics_publisher, metrics_withdraw
from avatar_runtime.worker.protocol import (
    MAX_AUDIO_BYTES,
    MAX_RESUME_TURNS,
    MAX_TEXT_CHARS,
    MEDIA_MODES,
    SESSION_ORPHANED_AFTER,
)
from avatar_runtime.worker.registry import HEARTBEAT_EVERY, WorkerInfo, worker_announce, worker_remove
from avatar_runtime.worker.session_runner import SessionRunner
from common.log_context import session_id_var

log = logging.getLogger(__name__)

RECEIVE_RETRY_AFTER = 0.5
SHUTDOWN_STEP_TIMEOUT = 10.0  # a step of shutdown that hangs (a stuck send, a full thread pool) is left behind
REAP_EVERY = 1.0
SessionFactory = Callable[[str, int | None], Awaitable[ConversationSession]]


class AvatarWorker:
    def __init__(self, *, capacity: int, session_factory: SessionFactory, layer: BaseChannelLayer | None = None,
                 worker_id: str | None = None, warm_up: Callable[[], None] | None = None,
                 orphaned_after: float = SESSION_ORPHANED_AFTER, ice: IceConfig = HOST_CANDIDATES_ONLY,
                 governor: Governor | None = None) -> None:
        self.capacity = capacity
        self.ice = ice
        self.governor = governor or Governor(budget=None, degrader=None)
        self.orphaned_after = orphaned_after
        self.warm_up = warm_up
        self.session_factory = session_factory
        self.layer = layer or get_channel_layer()
        self.worker_id = worker_id or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.channel = ""
        self.runners: dict[str, SessionRunner] = {}
        self._tasks = TaskOwner(f"worker {self.worker_id}")
        self.ready = asyncio.Event()
        self._ended_cpu = dict.fromkeys(STAGES, 0.0)  # stage CPU of the sessions that have closed
        self._ended_seconds = 0.0
        self._closing: set[SessionRunner] = set()  # sessions winding down: their slot is free, their CPU still counts

    async def run(self) -> None:
        assert self.layer is not None, "no channel layer configured"
        run_opencv_on_calling_threads()
        if self.warm_up is not None:
            await in_inference_thread(self.warm_up)
        # The layer's default prefix, as the process's consumers use: channels_redis serves every
        # process-local channel with that prefix from one Redis list, but a second prefix gets a
        # list of its own, and one receive lock for both lists starves the one nobody holds it for.
        self.channel = await self.layer.new_channel()
        self._tasks.spawn(self._heartbeat(), "heartbeat")
        self._tasks.spawn(HealthPublisher(self.worker_id).run(), "health")
        self._tasks.spawn(metrics_publisher(self.worker_id), "metrics")
        self._tasks.spawn(self._reap_orphans(), "reaper")
        if self.governor.active:
            self._tasks.spawn(self._govern(), "governor")
        self.ready.set()
        log.info("worker %s ready on %s (capacity %d)", self.worker_id, self.channel, self.capacity)
        try:
            while True:
                try:
                    message = await self.layer.receive(self.channel)
                except Exception:  # Redis slow or restarting: keep serving, do not vanish
                    log.exception("worker %s: channel layer receive failed; retrying", self.worker_id)
                    await asyncio.sleep(RECEIVE_RETRY_AFTER)
                    continue
                started = time.monotonic()
                await self._dispatch(message)
                self._not_listening(time.monotonic() - started)
        finally:
            await self.shutdown()

    async def announce(self) -> None:
        """Tell the registry about this worker now: the snapshot is taken here, on the loop; only the
        write waits in a thread (the heartbeat, and whoever starts a worker and needs it listed at once)."""
        await asyncio.to_thread(worker_announce, self._info())

    def _announce(self) -> None:
        """``announce`` without letting the loop move on meanwhile (opening and closing a session)."""
        worker_announce(self._info())

    def _info(self) -> WorkerInfo:
        """What the registry says of this worker. Taken on the event loop, between two of its steps, so a
        session is counted once: running, winding down or closed, never in none of them or in two."""
        stage_cpu, session_seconds = self.stats()
        return WorkerInfo(self.worker_id, self.channel, self.capacity, len(self.runners), time.time(),
                          headroom=self.governor.room, session_cost=self.governor.session_cost,
                          min_sessions=self.governor.min_sessions, held=self.governor.holding(len(self.runners)),
                          frame_room=self.governor.frame_room(len(self.runners)),
                          session_fps=self.governor.session_fps, stage_cpu=stage_cpu, session_seconds=session_seconds,
                          quality=self.governor.degraded(self.runners))

    def stats(self) -> tuple[dict[str, float], float]:
        """CPU-seconds per stage of every session so far (closed, closing and running), and their summed lifetimes."""
        stage_cpu = dict(self._ended_cpu)
        seconds = self._ended_seconds
        now = time.monotonic()
        for runner in [*self.runners.values(), *self._closing]:
            for stage, used in runner.session.cpu.snapshot().items():
                stage_cpu[stage] += used
            seconds += now - runner.started_at
        return stage_cpu, seconds

    async def _govern(self) -> None:
        while True:
            await asyncio.sleep(GOVERN_EVERY)
            await self.governor.tick(self.runners)

    async def _heartbeat(self) -> None:
        while True:
            await self.announce()
            await asyncio.sleep(HEARTBEAT_EVERY)

    def _not_listening(self, seconds: float) -> None:
        """Messages could not be read for ``seconds`` (one was being handled, or this process was
        starved): the sessions' silence meanwhile was ours, not their connections'."""
        if seconds > REAP_EVERY:
            for runner in self.runners.values():
                runner.last_heard += seconds

    async def _reap_orphans(self) -> None:
        """Close the sessions whose kiosk connection has gone silent (see ``SESSION_ORPHANED_AFTER``)."""
        last_tick = time.monotonic()
        while True:
            await asyncio.sleep(REAP_EVERY)
            now = time.monotonic()
            self._not_listening(now - last_tick - REAP_EVERY)
            last_tick = now
            for session_id, runner in list(self.runners.items()):
                if now - runner.last_heard > self.orphaned_after:
                    log.warning("worker %s: session %s: nothing from its kiosk connection for %.0fs; closing",
                                self.worker_id, session_id, now - runner.last_heard)
                    await self._close(session_id, "kiosk_gone")

    async def _dispatch(self, message: dict[str, Any]) -> None:
        # What a message for a session logs, and every task its handling starts (the session's
        # pipeline, its WebRTC peer), carries the session's id (common.log_context).
        bound = session_id_var.set(str(message.get("session_id", "")))
        try:
            await self._dispatch_bound(message)
        except Exception:  # a bad message must not take the worker down
            log.exception("worker %s: message %s failed", self.worker_id, message.get("type"))
        finally:
            session_id_var.reset(bound)

    async def _dispatch_bound(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        session_id = str(message.get("session_id", ""))
        if kind == "session.open":
            await self._open(session_id, message)
            return
        runner = self.runners.get(session_id)
        if runner is None:
            return  # the session ended here (or never started): nothing to route to
        runner.heard()  # every message counts as a sign of life, session.keepalive only says that
        if kind == "session.audio":
            pcm = message.get("pcm", b"")
            if isinstance(pcm, bytes) and 0 < len(pcm) <= MAX_AUDIO_BYTES and len(pcm) % 2 == 0:
                runner.on_audio(pcm)
        elif kind == "session.text":
            runner.session.push_text(str(message.get("text", ""))[:MAX_TEXT_CHARS])
        elif kind == "session.language":
            with contextlib.suppress(ValueError):  # a language this kiosk does not offer
                runner.session.set_language(str(message.get("language", "")))
        elif kind == "session.handoff":
            runner.session.request_handoff()
        elif kind == "session.media":
            if message.get("mode") in MEDIA_MODES:
                runner.media = str(message["mode"])
        elif kind == "session.rtc_offer":
            await runner.on_rtc_offer(str(message.get("sdp", "")))
        elif kind == "session.close":
            await self._close(session_id, "kiosk_closed")

    async def _open(self, session_id: str, message: dict[str, Any]) -> None:
        reply = str(message.get("reply_channel", ""))
        if not session_id or not reply:
            return
        if session_id in self.runners:
            await self.layer.send(reply, {"type": "kiosk.opened", "session_id": session_id, "worker_id": self.worker_id})
            return
        kiosk_id = message.get("kiosk_id")
        kiosk = int(kiosk_id) if kiosk_id is not None else None
        for other, running in list(self.runners.items()):
            if kiosk is not None and running.session.kiosk_id == kiosk:
                await self._close(other, "replaced")  # one live session per kiosk: the newest
        if len(self.runners) >= self.capacity or not self.governor.admits(len(self.runners)):
            reason = "capacity" if len(self.runners) >= self.capacity else "budget"
            log.info("worker %s: session %s refused (%s; room %s cores with a burst reserved, a session costs %.2f; "
                     "held after an overload: %s; render server room %s frames/s, a session needs %.1f)",
                     self.worker_id, session_id, reason, self.governor.room, self.governor.session_cost,
                     self.governor.holding(len(self.runners)),
                     self.governor.frame_room(len(self.runners)), self.governor.session_fps)
            await self.layer.send(reply, {"type": "kiosk.refused", "session_id": session_id, "reason": reason})
            return
        self.governor.admitted()
        session = await self.session_factory(session_id, kiosk)
        media = message.get("media") if message.get("media") in MEDIA_MODES else "ws"
        runner = SessionRunner(session=session, layer=self.layer, reply_channel=reply, media=str(media),
                               worker_id=self.worker_id, ice=self.ice)
        self.runners[session_id] = runner
        await runner.start()
        if runner.closed:
            return  # closed while it started: the kiosk's connection is gone
        resume = _resume_of(message.get("resume"))
        if resume is not None:
            session.resume_conversation(*resume)
        self._announce()
        await self.layer.send(reply, {"type": "kiosk.opened", "session_id": session_id, "worker_id": self.worker_id})

    async def _close(self, session_id: str, reason: str) -> None:
        runner = self.runners.pop(session_id, None)
        if runner is not None:
            self._closing.add(runner)
            try:
                await runner.close(reason)
            finally:
                self._closing.discard(runner)
                for stage, used in runner.session.cpu.snapshot().items():
                    self._ended_cpu[stage] += used
                self._ended_seconds += time.monotonic() - runner.started_at
            self._announce()
            log.info("worker %s: session %s closed (%s); %d of %d slots in use", self.worker_id, session_id, reason,
                     len(self.runners), self.capacity)

    async def shutdown(self) -> None:
        """Close every session and leave the registry; each step is bounded, so a worker always stops
        (an entry left behind expires with its heartbeat)."""
        for session_id in list(self.runners):
            await _bounded(self._close(session_id, "worker_stopped"), f"closing session {session_id}")
        await self._tasks.cancel_all()
        for withdraw in (worker_remove, health_withdraw, metrics_withdraw):
            await _bounded(asyncio.to_thread(withdraw, self.worker_id), withdraw.__name__)


async def _bounded(step: Awaitable[object], what: str) -> None:
    try:
        await asyncio.wait_for(step, SHUTDOWN_STEP_TIMEOUT)
    except TimeoutError:
        log.warning("worker shutdown: %s did not finish within %.0fs; going on", what, SHUTDOWN_STEP_TIMEOUT)


def _resume_of(raw: object) -> tuple[uuid.UUID, list[HistoryTurn]] | None:
    """The conversation a session carries on (its worker died), if the open message has a valid one."""
    if not isinstance(raw, dict):
        return None
    try:
        conversation_id = uuid.UUID(str(raw.get("conversation_id")))
    except ValueError:
        return None
    history = [
        HistoryTurn(str(turn[0]), str(turn[1])[:MAX_TEXT_CHARS * 4])
        for turn in raw.get("history") or []
        if isinstance(turn, list | tuple) and len(turn) == 2 and turn[0] in ("customer", "avatar")
    ]
    return conversation_id, history[-MAX_RESUME_TURNS:]
