"""One kiosk session inside a worker: the pipeline plus its media and its link to the kiosk."""
import asyncio
import logging
import time
from typing import Any

from channels.layers import BaseChannelLayer

from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.pipeline.tasks import TaskOwner
from avatar_runtime.transport.ice import HOST_CANDIDATES_ONLY, IceConfig
from avatar_runtime.transport.webrtc import WebRtcPeer
from avatar_runtime.transport.ws_media import frame_payload, pcm16_samples
from avatar_runtime.worker.protocol import SESSION_HEARTBEAT_EVERY

log = logging.getLogger(__name__)


class SessionRunner:
    def __init__(self, *, session: ConversationSession, layer: BaseChannelLayer, reply_channel: str, media: str,
                 worker_id: str, ice: IceConfig = HOST_CANDIDATES_ONLY) -> None:
        self.session = session
        self.ice = ice
        self.layer = layer
        self.reply_channel = reply_channel
        self.media = media
        self.worker_id = worker_id
        self.peer: WebRtcPeer | None = None
        self._layer_down = False
        self.closed = False
        self._tasks = TaskOwner(f"runner {session.session_id}")
        self.last_heard = time.monotonic()  # of the last message from the kiosk's connection

    def heard(self) -> None:
        self.last_heard = time.monotonic()

    async def start(self) -> None:
        await self.session.start()
        if self.closed:  # closed while it started (the reaper does not wait for an open to finish)
            return
        self._tasks.spawn(self._relay_events(), "events")
        self._tasks.spawn(self._relay_frames(), "frames")
        self._tasks.spawn(self._heartbeat(), "heartbeat")

    async def _send(self, message: dict[str, Any]) -> None:
        """Send to the kiosk; while the channel layer is down (Redis restarting) the message is dropped.

        Events, frames and heartbeats are real time: late they are worthless, and a relay that died on
        the first failure would leave the session mute after Redis is back. The transcript does not
        travel this way (it is written to the database), so nothing the customer said is lost.
        """
        try:
            await self.layer.send(self.reply_channel, {**message, "session_id": self.session.session_id})
        except Exception:
            if not self._layer_down:
                log.warning("session %s: channel layer send failed; dropping messages until it is back",
                            self.session.session_id, exc_info=True)
            self._layer_down = True
            return
        if self._layer_down:
            log.info("session %s: channel layer back", self.session.session_id)
            self._layer_down = False

    async def _relay_events(self) -> None:
        while True:
            event = await self.session.events.get()
            if event.get("type") == "flush" and self.peer is not None:
                self.peer.flush()
            if event.get("type") == "answer_frame" and self.peer is not None:
                rtp_timestamp = self.peer.video.rtp_timestamp(event["pts"])
                if rtp_timestamp is not None:  # how the page will know the frame over WebRTC
                    event = {**event, "rtp_timestamp": rtp_timestamp}
            await self._send({"type": "kiosk.event", "event": event})

    async def _relay_frames(self) -> None:
        async for frame in self.session.frames():
            if self.media == "webrtc":
                if self.peer is not None and self.peer.connected:
                    self.peer.send_frame(frame)
            else:
                # JPEG encoding costs a few ms: keep it off the event loop.
                payload = await asyncio.to_thread(frame_payload, frame)
                await self._send({"type": "kiosk.media", **payload})

    async def _heartbeat(self) -> None:
        while True:
            await self._send({"type": "kiosk.heartbeat", "worker_id": self.worker_id})
            await asyncio.sleep(SESSION_HEARTBEAT_EVERY)

    # ----- messages from the kiosk -------------------------------------------------------
    def on_audio(self, pcm: bytes) -> None:
        self.session.push_audio(pcm16_samples(pcm))

    async def on_rtc_offer(self, sdp: str) -> None:
        if self.peer is not None:
            await self.peer.close()
        self.media = "webrtc"
        self.peer = WebRtcPeer(self.session.session_id, self.session.push_audio, ice=self.ice,
                               ice_peer=f"worker-{self.worker_id}")
        answer = await self.peer.answer(sdp)
        await self._send({"type": "kiosk.rtc_answer", "sdp": answer})

    async def close(self, reason: str) -> None:
        self.closed = True
        await self._tasks.cancel_all()
        if self.peer is not None:
            await self.peer.close()
        await self.session.close(reason)
