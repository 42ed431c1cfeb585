"""The kiosk WebSocket: authenticate the device, then relay to and from its avatar worker.

Thin by design: it validates what the browser sends, forwards it to the session's worker over
the channel layer, and forwards the worker's events and media back. When the worker stops
answering it politely tells the kiosk and moves the session to another worker. When live workers
have no room (every slot taken, or no CPU headroom), the kiosk is told it is ``busy`` (its page
keeps the attract loop; a typed question is answered from the knowledge base in captions,
``kiosk.busy_answers``) and placement is retried every ``BUSY_RETRY_EVERY`` seconds until one
has room.
"""
import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from avatar_runtime.pipeline.tasks import TaskOwner
from avatar_runtime.transport.ice import ice_config_from_settings
from avatar_runtime.transport.ws_media import AUDIO, VIDEO, pack
from avatar_runtime.worker.protocol import (
    MAX_AUDIO_BYTES,
    MAX_RESUME_TURNS,
    MAX_TEXT_CHARS,
    SESSION_KEEPALIVE_EVERY,
    SESSION_LOST_AFTER,
)
from avatar_runtime.worker.registry import WorkerInfo, workers_live, workers_with_room
from common.languages import KIOSK_LANGUAGES
from common.text import text_problem
from conversations import services
from conversations.handoff_desk import handoff_accept_window, handoff_miss_if_unanswered
from conversations.handoff_events import handoff_kiosk_group
from conversations.models import HandoffRequest
from conversations.selectors import conversation_history, handoff_pending_for_kiosk
from kiosk.busy_answers import busy_answer
from kiosk.models import MICROPHONE_PROBLEMS, Kiosk
from kiosk.pairing import TOKEN_COOKIE, kiosk_for_token, kiosk_group
from kiosk.services import (
    KIOSK_STATES,
    kiosk_microphone_report,
    kiosk_page_closed,
    kiosk_service_record,
    kiosk_touch,
)

log = logging.getLogger(__name__)
MAX_TEXT_MESSAGE = 64 * 1024
OPEN_TIMEOUT = 15.0  # a worker prepares the kiosk's avatar on its first session
CLOSE_UNPAIRED = 4401
WATCH_EVERY = 0.25
RETRY_PLACEMENT_EVERY = 5.0  # no worker is live: ask again this often
BUSY_RETRY_EVERY = 2.0  # live workers, none with room: ask again this often (served soon after room frees)
# The page pings every 10 s (and reconnects when its pings go unanswered); a kiosk silent for
# this long is gone (a dead network path that never closed the socket).
KIOSK_SILENT_AFTER = 45.0
CLOSE_STORE_LOST = 4503  # the page reconnects (every close but 4401 and 4409 makes it reconnect)
# Another connection of the same kiosk took over: the page stays off (reconnecting would take the
# kiosk back, and the other screen would do the same).
CLOSE_REPLACED = 4409
# The kiosk's high-rate messages besides its microphone audio (see ``dispatch``): a media frame for
# the page every 40 ms, a worker heartbeat. Their handlers use no database, so they skip the
# per-message close_old_connections that Channels runs before every handler (a hop to the database
# thread and back).
NO_DATABASE_MESSAGES = frozenset({"kiosk.media", "kiosk.heartbeat"})


def _store_errors() -> tuple[type[BaseException], ...]:
    """What a lost channel layer (Redis restarting) raises into the consumer's message loop."""
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis ships with channels-redis
        return (ConnectionError,)
    return (ConnectionError, RedisConnectionError, RedisTimeoutError)


class KioskConsumer(AsyncWebsocketConsumer):
    kiosk: Kiosk | None = None
    session_id = ""
    worker_id = ""
    worker_channel = ""
    _tasks: TaskOwner | None = None
    _released = False
    _handover: tuple[str, str] | None = None  # the worker the connection this one replaced had let go of
    _resumed = False  # the session being placed carries on after a worker died
    _placing = False
    _replaced = False  # another connection of this kiosk took over: the kiosk is not offline
    # This kiosk's open hand-off request, and when (monotonic) it is missed if nobody accepted it.
    _handoff: tuple[int, float] | None = None
    busy = False  # live workers had no room for this kiosk: it waits (and retries) for one
    _kept_text: str | None = None  # typed while no worker served the kiosk: asked once one does
    _language = ""  # the page's chosen language ("": the kiosk's default)
    _busy_conversation: uuid.UUID | None = None  # the transcript of questions answered in captions while busy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """However the connection ends (a clean close, an exception, a cancellation, a lost channel
        layer), what it holds is let go: its tasks, and its session on the worker."""
        try:
            await super().__call__(scope, receive, send)
        except _store_errors() as exc:
            log.warning("kiosk %s: channel layer lost (%s); closing so the kiosk reconnects",
                        self.kiosk and self.kiosk.pk, type(exc).__name__)
            if self._tasks is not None:
                await self._tasks.cancel_all()
            with contextlib.suppress(Exception):
                await send({"type": "websocket.send", "text": json.dumps({
                    "type": "error", "code": "service_interrupted",
                    "message": "The connection to the assistant was interrupted. Reconnecting…"}, ensure_ascii=False)})
                await send({"type": "websocket.close", "code": CLOSE_STORE_LOST})
        finally:
            await self._release()

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        # the microphone's audio (binary, every 100 ms) goes straight on to the worker
        if kind in NO_DATABASE_MESSAGES or (kind == "websocket.receive" and message.get("bytes") is not None):
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def connect(self) -> None:
        token = self.scope.get("cookies", {}).get(TOKEN_COOKIE)
        self.kiosk = await database_sync_to_async(kiosk_for_token)(token)
        if self.kiosk is None:
            # Accepted, then closed with a code: a refused handshake reaches the page as 1006, which
            # it cannot tell from a network failure (it would show "reconnecting" for ever).
            await self.accept()
            await self._send_error("device_unpaired", "This screen is not paired. Ask staff to pair it.")
            await self.close(code=CLOSE_UNPAIRED)
            return
        await self.channel_layer.group_add(kiosk_group(self.kiosk.pk), self.channel_name)
        await self.channel_layer.group_add(handoff_kiosk_group(self.kiosk.pk), self.channel_name)
        await self.accept()
        # Stamped after joining the group: of two connections of one kiosk, the later stamp always
        # hears the earlier one's announcement or is heard by it, so exactly the newest survives.
        self.connected_at = time.time()
        await self.channel_layer.group_send(kiosk_group(self.kiosk.pk), {
            "type": "kiosk.replaced", "channel": self.channel_name, "connected_at": self.connected_at})
        self.conversation_id: str | None = None
        self.media = "webrtc"  # until the page says WebRTC failed and asks for the fallback
        self.last_heartbeat = time.monotonic()
        self.last_from_kiosk = time.monotonic()
        self.last_touched = time.monotonic()
        self.last_keepalive = time.monotonic()
        # Workers this connection stopped hearing from, and when (unix time). One is tried again once
        # the registry shows a heartbeat of it from after that: its event loop runs, it was only slow.
        self.suspected: dict[str, float] = {}
        self._placement: asyncio.Future[bool] | None = None
        self._tasks = TaskOwner(f"kiosk {self.kiosk.pk}")
        self._tasks.spawn(self._watch(), "watchdog")
        await database_sync_to_async(kiosk_touch)(kiosk=self.kiosk)
        await self._resume_handoff()
        # Placement waits for the worker's reply, which this consumer's own message loop delivers:
        # it must run beside that loop, not inside connect().
        self._tasks.spawn(self._open_session(), "open-session")

    async def disconnect(self, code: int) -> None:
        await self._release()

    async def _release(self) -> None:
        """Let go of the worker session, the tasks and the kiosk's group; once, whichever way we got here.

        The session is closed even while its placement is unconfirmed: a worker that opens it late
        must not keep it (and a worker that never hears this reaps it, see ``SESSION_ORPHANED_AFTER``).
        """
        if self._released or self.kiosk is None:
            return
        self._released = True
        if self._tasks is not None:
            await self._tasks.cancel_all()
        session_id, worker_channel, self.session_id, self.worker_id = self.session_id, self.worker_channel, "", ""
        try:
            if session_id and worker_channel:
                await self.channel_layer.send(worker_channel, {"type": "session.close", "session_id": session_id})
            await self.channel_layer.group_discard(kiosk_group(self.kiosk.pk), self.channel_name)
            await self.channel_layer.group_discard(handoff_kiosk_group(self.kiosk.pk), self.channel_name)
        except Exception as exc:  # noqa: BLE001 - the layer is gone or full: the worker reaps the session
            log.warning("kiosk %s: could not close session %s (%s); the worker will reap it", self.kiosk.pk,
                        session_id, type(exc).__name__)
        if not self._replaced:
            with contextlib.suppress(Exception):  # the database is gone too: the heartbeat's age tells
                await database_sync_to_async(kiosk_page_closed)(kiosk=self.kiosk)

    async def _leave(self, code: int, error: str, message: str) -> None:
        """Tell the page why, let go of the session at once, and close the socket with ``code``."""
        await self._send_error(error, message)
        await self._release()
        await self.close(code=code)

    # ----- session placement -------------------------------------------------------------
    async def _open_session(self, resume: dict[str, Any] | None = None) -> bool:
        """Place the session on the least loaded live worker; the next one if it refuses or is silent."""
        self._placing = True
        try:
            return await self._place(resume)
        finally:
            self._placing = False

    async def _place(self, resume: dict[str, Any] | None) -> bool:
        if settings.AVATAR_EMBEDDED_WORKER:
            # Imported only here: the runtime (torch and all) is heavy, and web-only processes never need it.
            from kiosk.embedded import ensure_embedded_worker

            await ensure_embedded_worker()
        candidates, any_live = await self._candidates()
        refused = False
        for worker_id, channel in candidates:
            self.session_id = uuid.uuid4().hex
            self.worker_channel = channel
            self._placement = asyncio.get_running_loop().create_future()
            message: dict[str, Any] = {
                "type": "session.open", "session_id": self.session_id, "kiosk_id": self.kiosk.pk if self.kiosk else None,
                "reply_channel": self.channel_name, "media": self.media,
            }
            if resume is not None:
                message["resume"] = resume
            await self.channel_layer.send(channel, message)
            try:
                if await asyncio.wait_for(self._placement, OPEN_TIMEOUT):
                    self.last_heartbeat = time.monotonic()
                    return True
                refused = True
                continue  # no room after all (the registry lags by a heartbeat): try the next
            except TimeoutError:
                self.suspected[worker_id] = time.time()
                # If it opens after all, it must not keep a session nobody uses.
                await self.channel_layer.send(channel, {"type": "session.close", "session_id": self.session_id})
        self.session_id = ""
        self.worker_id = ""
        if refused or any_live:
            await self._set_busy(True)
        else:
            await self._set_busy(False)  # not busy: nobody is there at all
            await self._send_error("no_worker", "The assistant is not available right now. Please try again shortly.")
        return False

    async def _candidates(self) -> tuple[list[tuple[str, str]], bool]:
        """Workers to try, as (id, channel): first the one the connection this one replaced has just
        let go of (its slot is free once it reads that close, which it reads before our open), then
        the live workers with room, the most CPU headroom first, leaving out those this connection
        stopped hearing from that have not been heard of since; and whether any worker is live (one
        that was only slow leaves the kiosk busy, not told that nobody is there)."""
        handover, self._handover = self._handover, None
        candidates = [handover] if handover is not None and handover[0] not in self.suspected else []
        live: list[WorkerInfo] = await database_sync_to_async(workers_live)()
        trusted = [w for w in live if w.seen > self.suspected.get(w.worker_id, float("-inf"))]
        for worker in workers_with_room(trusted):
            if (worker.worker_id, worker.channel) not in candidates:
                candidates.append((worker.worker_id, worker.channel))
        return candidates, bool(live)

    async def _set_busy(self, busy: bool) -> None:
        """No live worker has room (or one has again): tell the page and the console, once per change."""
        if busy == self.busy:
            return
        self.busy = busy
        if busy:
            log.info("kiosk %s: no worker has room; waiting for one", self.kiosk and self.kiosk.pk)
            await self._send_json({"type": "busy", "retry_in": BUSY_RETRY_EVERY})
        await self._record_service("busy" if busy else "")

    async def _record_service(self, service: str) -> None:
        if self.kiosk is not None and self._tasks is not None:
            # Not awaited here, like the avatar's state: the worker's heartbeats must not queue behind it.
            self._tasks.spawn(database_sync_to_async(kiosk_service_record)(kiosk=self.kiosk, service=service),
                              "record-service")

    async def _watch(self) -> None:
        """Keep the kiosk served: retry placement, move off a silent worker, drop a silent kiosk, and
        record that it is still here (the console's online status)."""
        last_tick = time.monotonic()
        while True:
            await asyncio.sleep(WATCH_EVERY)
            now = time.monotonic()
            stalled = now - last_tick - 2 * WATCH_EVERY
            if stalled > 0:
                # This process itself was starved (a CPU-bound job in one of its threads, a busy
                # machine): the worker's heartbeats could not be read meanwhile, so that time
                # does not count as the worker's silence.
                self.last_heartbeat += stalled
            last_tick = now
            if now - self.last_from_kiosk > KIOSK_SILENT_AFTER:
                log.info("kiosk %s: no message for %.0fs; closing", self.kiosk and self.kiosk.pk, KIOSK_SILENT_AFTER)
                await self.close()
                return
            if self.kiosk is not None and now - self.last_touched >= settings.KIOSK_HEARTBEAT_SECONDS:
                self.last_touched = now
                await database_sync_to_async(kiosk_touch)(kiosk=self.kiosk)
            if self._handoff is not None and now >= self._handoff[1] and self._tasks is not None:
                # Nobody accepted it in time: marked missed, whose announcement tells the page.
                handoff_id, self._handoff = self._handoff[0], None
                self._tasks.spawn(database_sync_to_async(handoff_miss_if_unanswered)(handoff_id=handoff_id),
                                  "handoff-missed")
            if self._placing:
                continue
            if not self.session_id:
                retry_every = BUSY_RETRY_EVERY if self.busy else RETRY_PLACEMENT_EVERY
                if self._handover is not None or now - self.last_heartbeat > retry_every:
                    self.last_heartbeat = now
                    await self._open_session()
            elif self.worker_id and now - self.last_heartbeat > SESSION_LOST_AFTER:
                await self._move_session()
            elif self.worker_id and now - self.last_keepalive >= SESSION_KEEPALIVE_EVERY:
                self.last_keepalive = now  # the worker closes a session whose connection has gone silent
                with contextlib.suppress(ChannelFull):  # a stalled worker: its silence is handled above
                    await self._to_worker({"type": "session.keepalive"})

    async def _move_session(self) -> None:
        """The worker stopped answering: tell the kiosk, keep the conversation, carry on elsewhere."""
        log.warning("kiosk %s: worker %s stopped answering; moving the session", self.kiosk and self.kiosk.pk,
                    self.worker_id)
        self.suspected[self.worker_id] = time.time()
        # Only silent, perhaps not dead (a starved process): if it comes back it must not keep the session.
        with contextlib.suppress(ChannelFull, *_store_errors()):  # best effort: else its reaper closes it
            await self.channel_layer.send(self.worker_channel, {"type": "session.close", "session_id": self.session_id})
        self.worker_id = ""
        self.session_id = ""
        await self._send_json({"type": "reconnecting", "reason": "worker_lost"})
        resume = None
        if self.conversation_id:
            conversation = uuid.UUID(self.conversation_id)
            await database_sync_to_async(services.conversation_worker_lost)(public_id=conversation)
            history = await database_sync_to_async(conversation_history)(public_id=conversation, limit=MAX_RESUME_TURNS)
            resume = {"conversation_id": self.conversation_id, "history": [list(turn) for turn in history]}
        self._resumed = True
        if not await self._open_session(resume) and self.conversation_id:
            # Nobody can carry it on: close the record rather than leave it active for ever.
            await database_sync_to_async(services.conversation_end)(
                public_id=uuid.UUID(self.conversation_id), reason="worker_lost", aborted=True
            )
            self.conversation_id = None

    async def _to_worker(self, message: dict[str, Any]) -> None:
        if self.session_id and self.worker_id:
            await self.channel_layer.send(self.worker_channel, {**message, "session_id": self.session_id})

    # ----- from the browser --------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self.last_from_kiosk = time.monotonic()
        if bytes_data is not None:
            if len(bytes_data) > MAX_AUDIO_BYTES or len(bytes_data) % 2:
                await self._send_error("bad_audio", f"Audio must be PCM16 mono 16 kHz, at most {MAX_AUDIO_BYTES} bytes.")
                return
            await self._to_worker({"type": "session.audio", "pcm": bytes_data})
            return
        if text_data is None or len(text_data) > MAX_TEXT_MESSAGE:
            await self._send_error("message_too_large", "Message too large.")
            return
        try:
            message = json.loads(text_data)
        except (json.JSONDecodeError, RecursionError):  # deeply nested arrays exhaust the decoder's stack
            await self._send_error("bad_json", "Messages must be JSON objects.")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self._send_error("bad_message", "Messages need a string 'type'.")
            return
        await self._handle(message)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "text":
            text = message.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
                await self._send_error("bad_text", f"Text must be 1 to {MAX_TEXT_CHARS} characters.")
                return
            problem = text_problem(text)
            if problem is not None:  # it could be neither echoed as a caption nor stored
                await self._send_error("bad_text", f"Text must be plain text; this has {problem}.")
                return
            if not self.worker_id:
                if self.busy:  # no worker has room: the knowledge base answers in captions meanwhile
                    await self._answer_while_busy(text)
                    return
                # The kiosk is being placed on a worker: the question is asked as soon as it is.
                self._kept_text = text
                return
            await self._to_worker({"type": "session.text", "text": text})
        elif kind == "language":
            language = message.get("language")
            if language not in KIOSK_LANGUAGES:
                await self._send_error("bad_language", "Unknown language.")
                return
            self._language = language
            await self._to_worker({"type": "session.language", "language": language})
        elif kind == "handoff":
            await self._to_worker({"type": "session.handoff"})
        elif kind == "microphone":
            problem = message.get("problem", "")
            if problem not in ("", *MICROPHONE_PROBLEMS):
                await self._send_error("bad_microphone", f"A microphone problem is one of {MICROPHONE_PROBLEMS}.")
                return
            if self.kiosk is not None:
                await database_sync_to_async(kiosk_microphone_report)(kiosk=self.kiosk, problem=problem)
        elif kind == "rtc_offer":
            sdp = message.get("sdp")
            if not isinstance(sdp, str) or not sdp.startswith("v=0"):
                await self._send_error("bad_sdp", "An SDP offer is required.")
                return
            self.media = "webrtc"
            await self._to_worker({"type": "session.rtc_offer", "sdp": sdp})
        elif kind == "media":
            self.media = "ws" if message.get("mode") == "ws" else "webrtc"
            await self._to_worker({"type": "session.media", "mode": self.media})
        elif kind == "ice_servers":
            # Asked for before each call: fresh TURN credentials naming this kiosk.
            if self.kiosk is not None:
                await self._send_json({"type": "ice_servers",
                                       **ice_config_from_settings().for_browser(f"kiosk-{self.kiosk.pk}")})
        elif kind == "ping":
            await self._send_json({"type": "pong"})
        else:
            await self._send_error("unknown_type", f"Unknown message type {kind[:40]!r}.")

    async def _answer_while_busy(self, question: str) -> None:
        """Captions only (``kiosk.busy_answers``); if the knowledge base fails too, the question is kept
        for the avatar, as before there was an answer without one."""
        assert self.kiosk is not None
        language = self._language if self._language in self.kiosk.languages else self.kiosk.default_language
        await self._send_json({"type": "caption", "role": "customer", "text": question, "language": language})
        try:
            # On the shared database thread, like every write of this consumer: from a thread of its
            # own the transcript writes met the others' ("database table is locked" on SQLite, and a
            # kiosk's connect failed with it in the soak test).
            answer = await database_sync_to_async(busy_answer)(
                kiosk_id=self.kiosk.pk, conversation_id=self._busy_conversation, question=question, language=language)
        except Exception as exc:  # noqa: BLE001 - search or database down: the avatar answers it later
            log.warning("kiosk %s: could not answer a typed question while busy (%s); kept for the avatar",
                        self.kiosk.pk, type(exc).__name__)
            self._kept_text = question
            await self._send_json({"type": "busy", "retry_in": BUSY_RETRY_EVERY, "question_kept": True})
            return
        self._busy_conversation = answer.conversation_id
        await self._send_json({"type": "caption", "role": "avatar", "text": answer.text, "language": language})

    async def _send_json(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message, ensure_ascii=False))

    async def _send_error(self, code: str, message: str) -> None:
        await self._send_json({"type": "error", "code": code, "message": message})

    # ----- from the worker (channel layer) -------------------------------------------------
    def _current(self, event: dict[str, Any]) -> bool:
        return bool(self.session_id) and event.get("session_id") == self.session_id

    async def kiosk_opened(self, event: dict[str, Any]) -> None:
        if self._current(event) and self._placement is not None and not self._placement.done():
            self.worker_id = str(event.get("worker_id", ""))
            self._placement.set_result(True)
            resumed, self._resumed = self._resumed, False
            await self._send_json({"type": "session", "state": "ready", "media": self.media, "resumed": resumed})
            if self.busy:
                await self._set_busy(False)
            else:
                await self._record_service("")  # a new session starts in full (a degraded one may have ended)
            kept, self._kept_text = self._kept_text, None
            if kept is not None:
                await self._to_worker({"type": "session.text", "text": kept})

    async def kiosk_refused(self, event: dict[str, Any]) -> None:
        if self._current(event) and self._placement is not None and not self._placement.done():
            self._placement.set_result(False)

    async def kiosk_heartbeat(self, event: dict[str, Any]) -> None:
        if self._current(event):
            self.last_heartbeat = time.monotonic()

    async def kiosk_event(self, event: dict[str, Any]) -> None:
        if not self._current(event):
            return
        self.last_heartbeat = time.monotonic()  # anything the worker sends shows it is alive
        payload = event.get("event", {})
        if payload.get("type") == "conversation":
            self.conversation_id = payload.get("id")
        elif payload.get("type") == "session_reset":
            self.conversation_id = None  # the next customer starts a new record
        elif payload.get("type") == "quality" and payload.get("level") in ("full", "reduced_video", "voice_only"):
            await self._record_service("" if payload["level"] == "full" else str(payload["level"]))
        elif (payload.get("type") == "state" and payload.get("state") in KIOSK_STATES
              and self.kiosk is not None and self._tasks is not None):
            self.last_touched = time.monotonic()
            # Not awaited here: while this handler waits for the database thread (busy with a
            # transcript write or an in-process job), the worker's heartbeats would queue behind
            # it and a live worker would look dead. Writes still run in order on that thread.
            self._tasks.spawn(database_sync_to_async(kiosk_touch)(kiosk=self.kiosk, state=payload["state"]),
                              "record-state")
        await self._send_json(payload)

    async def kiosk_media(self, event: dict[str, Any]) -> None:
        if self._current(event) and self.media == "ws":
            pts = float(event["pts"])
            if event["video"]:  # none while the session's video is reduced (every other frame) or off
                await self.send(bytes_data=pack(VIDEO, pts, event["video"]))
            await self.send(bytes_data=pack(AUDIO, pts, event["audio"]))

    async def kiosk_token_revoked(self, event: dict[str, Any]) -> None:
        """The device token was revoked or rotated, or the kiosk disabled: this screen is no longer paired."""
        await self._leave(CLOSE_UNPAIRED, "device_unpaired", "This screen is no longer paired. Ask staff to pair it again.")

    async def kiosk_replaced(self, event: dict[str, Any]) -> None:
        """A newer connection of this kiosk announced itself: one live session per kiosk, so this one goes."""
        if self._released or (float(event["connected_at"]), str(event["channel"])) <= (self.connected_at,
                                                                                         self.channel_name):
            return  # our own announcement, or an older connection's (it is the one to go)
        log.info("kiosk %s: opened on another connection; closing this one", self.kiosk and self.kiosk.pk)
        self._replaced = True
        worker = (self.worker_id, self.worker_channel) if self.worker_id else None
        await self._leave(CLOSE_REPLACED, "replaced", "This kiosk was opened on another screen.")
        if worker is not None:  # after our session.close: the worker reads that first and has room for theirs
            await self.channel_layer.send(str(event["channel"]), {
                "type": "kiosk.released", "worker_id": worker[0], "worker_channel": worker[1]})

    async def kiosk_released(self, event: dict[str, Any]) -> None:
        """The connection this one replaced let go of its worker session: the watchdog places ours there."""
        if not self.session_id and not self._released:
            self._handover = (str(event["worker_id"]), str(event["worker_channel"]))

    async def kiosk_rtc_answer(self, event: dict[str, Any]) -> None:
        if self._current(event):
            await self._send_json({"type": "rtc_answer", "sdp": event["sdp"]})

    async def _resume_handoff(self) -> None:
        """A page that (re)connects while its customer's call is pending is told where it stands,
        and a call still open is still missed on time."""
        assert self.kiosk is not None
        pending = await database_sync_to_async(handoff_pending_for_kiosk)(kiosk_id=self.kiosk.pk)
        if pending is None:
            return
        if pending.status == HandoffRequest.Status.OPEN:
            waited = (timezone.now() - pending.created_at).total_seconds()
            self._handoff = (pending.pk, time.monotonic() + handoff_accept_window().total_seconds() - waited)
        await self._send_json({"type": "handoff", "status": pending.status})

    async def handoff_changed(self, event: dict[str, Any]) -> None:
        """Staff accepted, closed or missed this kiosk's call for help: the page tells the customer."""
        status, handoff_id = str(event["status"]), int(event["id"])
        if status == HandoffRequest.Status.OPEN:
            self._handoff = (handoff_id, time.monotonic() + handoff_accept_window().total_seconds())
        elif self._handoff is not None and self._handoff[0] == handoff_id:
            self._handoff = None
        await self._send_json({"type": "handoff", "status": status})
