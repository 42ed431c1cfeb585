"""One kiosk session inside a worker: the pipeline plus its media and its link to the kiosk."""
import asyncio
import logging
import time
from typing import Any

import cv2
import numpy as np
from channels.layers import BaseChannelLayer

from avatar_runtime.capacity.degrade import FramePacing, Quality
from avatar_runtime.pipeline.messages import VideoFrame
from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.pipeline.tasks import TaskOwner
from avatar_runtime.render.base import VideoRate
from avatar_runtime.transport.ice import HOST_CANDIDATES_ONLY, IceConfig
from avatar_runtime.transport.webrtc import WebRtcPeer
from avatar_runtime.transport.ws_media import encode_jpeg, pcm16_bytes, pcm16_samples
from avatar_runtime.worker.protocol import SESSION_HEARTBEAT_EVERY

log = logging.getLogger(__name__)


class SessionRunner:
    def __init__(self, *, session: ConversationSession, layer: BaseChannelLayer, reply_channel: str, media: str,
                 worker_id: str, ice: IceConfig = HOST_CANDIDATES_ONLY, pacing: FramePacing | None = None) -> None:
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
        self.started_at = time.monotonic()
        self.pacing = pacing  # made at start, from the renderer's frame rate, unless given
        self.quality = Quality.FULL
        self._cpu_seen = 0.0  # the session's stage CPU when the governor last asked

    def heard(self) -> None:
        self.last_heard = time.monotonic()

    async def start(self) -> None:
        await self.session.start()
        if self.closed:  # closed while it started (the reaper does not wait for an open to finish)
            return
        if self.pacing is None:
            self.pacing = FramePacing(self.session.backends.renderer.fps)
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
        fps = self.session.backends.renderer.fps
        async for frame in self.session.frames():
            # Reduced video: every ``video_every``-th frame's image (a renderer that draws fewer, see
            # ``render.base.VideoRate``, draws exactly those); the audio of every frame goes regardless.
            every = self.quality.video_every
            video = frame.drawn and every > 0 and round(frame.pts * fps) % every == 0
            if self.media == "webrtc":
                if self.peer is not None and self.peer.connected:
                    self.peer.send_frame(frame, video=video)
            else:
                # JPEG encoding costs a few ms: keep it off the event loop.
                payload = await asyncio.to_thread(self._payload, frame, video)
                await self._send({"type": "kiosk.media", **payload})
            if self.pacing is not None:
                self.pacing.on_frame(frame.pts)

    def _payload(self, frame: VideoFrame, video: bool) -> dict[str, object]:
        """A frame as the channel-layer message body: JPEG at the session's resolution (empty
        without video), PCM16 audio always."""
        cpu = self.session.cpu
        jpeg = b""
        if video:
            with cpu.measure("encoding"):
                image = frame.image
                scale = self.quality.video_scale
                if scale < 1.0:
                    size = (int(image.shape[1] * scale), int(image.shape[0] * scale))
                    image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
                jpeg = encode_jpeg(image)
        with cpu.measure("transport"):
            audio = pcm16_bytes(frame.audio)
        return {"pts": frame.pts, "video": jpeg, "audio": audio, "sample_rate": frame.sample_rate}

    async def _heartbeat(self) -> None:
        while True:
            await self._send({"type": "kiosk.heartbeat", "worker_id": self.worker_id})
            await asyncio.sleep(SESSION_HEARTBEAT_EVERY)

    # ----- load ----------------------------------------------------------------------------
    def cpu_since_last(self) -> float:
        """CPU-seconds the session's stages used since the previous call."""
        total = self.session.cpu.total
        used, self._cpu_seen = total - self._cpu_seen, total
        return used

    async def set_quality(self, quality: Quality, reason: str) -> None:
        """Degrade or restore the video; the kiosk (and through it the console) is told."""
        self.quality = quality
        renderer = self.session.backends.renderer
        if isinstance(renderer, VideoRate):
            renderer.video_every = quality.video_every
        await self._send({"type": "kiosk.event", "event": {"type": "quality", "level": quality.label,
                                                           "reason": reason}})

    # ----- messages from the kiosk -------------------------------------------------------
    def on_audio(self, pcm: bytes) -> None:
        with self.session.cpu.measure("transport"):
            samples = pcm16_samples(pcm)
        self.session.push_audio(samples)

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
