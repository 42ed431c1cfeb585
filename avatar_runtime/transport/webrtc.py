"""WebRTC media with aiortc: the avatar's audio and video out, the kiosk microphone in.

Signalling (offer/answer SDP) travels over the kiosk WebSocket and the channel layer; media
flows directly between the browser and this worker. Both outgoing tracks are fed from the same
rendered frames, so audio and video stay aligned on the audio clock.
"""
import asyncio
import fractions
import logging
from collections.abc import Callable
from typing import Any

import aioice.ice
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError

from avatar_runtime.audio import resample
from avatar_runtime.pipeline.messages import Samples, VideoFrame
from avatar_runtime.pipeline.tasks import TaskOwner
from avatar_runtime.transport.ice import HOST_CANDIDATES_ONLY, IceConfig

log = logging.getLogger(__name__)
RTC_SAMPLE_RATE = 48000
AUDIO_PTIME = 0.02
VIDEO_CLOCK = 90000
RTP_TIMESTAMP_WRAP = 2 ** 32


class AvatarVideoTrack(MediaStreamTrack):
    """The avatar's frames; also tells which RTP timestamp the browser sees on a given frame.

    aiortc stamps a frame with a random origin plus its pts and has no API for that origin. The
    page needs it to find the answer's first frame among the idle ones as it is shown
    (``requestVideoFrameCallback`` reports each frame's RTP timestamp): once one frame has gone
    out, the sender's last RTP timestamp minus that frame's pts gives the origin away.
    """

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[VideoFrame] = asyncio.Queue(maxsize=50)
        self.sender: RTCRtpSender | None = None
        self._rtp_origin: int | None = None
        self._last_pts: int | None = None  # of the frame last handed to the sender

    async def recv(self) -> av.VideoFrame:
        # aiortc asks for the next frame only once every packet of the last one has been sent.
        self._learn_rtp_origin()
        frame = await self.queue.get()
        out = av.VideoFrame.from_ndarray(frame.image, format="rgb24")
        out.pts = int(frame.pts * VIDEO_CLOCK)
        out.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._last_pts = out.pts
        return out

    def rtp_timestamp(self, pts: float) -> int | None:
        """The RTP timestamp of the frame with this pts; None until a frame has gone out."""
        if self._rtp_origin is None:
            return None
        return (self._rtp_origin + int(pts * VIDEO_CLOCK)) % RTP_TIMESTAMP_WRAP

    def _learn_rtp_origin(self) -> None:
        if self._rtp_origin is not None or self._last_pts is None or self.sender is None:
            return
        sent = getattr(self.sender, "_RTCRtpSender__rtp_timestamp", None)
        if isinstance(sent, int) and sent:  # 0: nothing sent yet
            self._rtp_origin = (sent - self._last_pts) % RTP_TIMESTAMP_WRAP


class AvatarAudioTrack(MediaStreamTrack):
    """The avatar's voice in 20 ms packets, each sent when it is due.

    A rendered frame brings 40 ms of audio: two packets. Sent together, they would reach the
    browser in pairs, and its jitter buffer sizes itself to the spacing it sees: 20 ms of
    variation would cost 20 ms more delay on everything the avatar says.
    """

    kind = "audio"
    LATE_S = 0.1  # a packet this late (the loop stalled): start the timeline again from it
    EARLY_S = 2 * AUDIO_PTIME  # nor hold one back longer than this

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[tuple[float, Samples]] = asyncio.Queue(maxsize=100)
        self._anchor: tuple[float, float] | None = None  # (pts, loop time) at which that pts was due

    async def recv(self) -> av.AudioFrame:
        pts, samples = await self.queue.get()
        await self._wait_until_due(pts)
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        out = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        out.sample_rate = RTC_SAMPLE_RATE
        out.pts = round(pts * RTC_SAMPLE_RATE)
        out.time_base = fractions.Fraction(1, RTC_SAMPLE_RATE)
        return out

    async def _wait_until_due(self, pts: float) -> None:
        now = asyncio.get_running_loop().time()
        if self._anchor is not None:
            due = self._anchor[1] + pts - self._anchor[0]
            if now - self.LATE_S <= due <= now + self.EARLY_S:
                if due > now:
                    await asyncio.sleep(due - now)
                return
        self._anchor = (pts, now)


_loopback_only = False


def restrict_ice_to_loopback() -> None:
    """Make aioice offer 127.0.0.1 host candidates (it leaves loopback out by default), and
    ignore the browser's other candidates.

    For kiosks on the same host as the worker (the embedded demo) and for the browser tests;
    switched on by ``AVATAR_RTC_LOOPBACK=1``. Without the second half, the browser may nominate
    a pair towards its LAN address, whose consent checks from 127.0.0.1 then go unanswered and
    the call drops after 30 s.
    """
    global _loopback_only
    _loopback_only = True
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []


def loopback_candidates_only(sdp: str) -> str:
    """``sdp`` without the ICE candidates that are not on 127.0.0.1."""
    kept = [line for line in sdp.splitlines()
            if not line.startswith("a=candidate:") or " 127.0.0.1 " in line]
    return "\r\n".join(kept) + "\r\n"


MIC_PREFETCH_PACKETS = 1


def shorten_jitter_buffer(receiver: RTCRtpReceiver) -> None:
    """Let the microphone's packets through as they arrive.

    aiortc holds four 20 ms packets before it decodes the first (room to reorder packets from the
    open internet): 80 ms added to everything the customer says, the end of their question
    included. A kiosk and its worker share a LAN, where packets do not overtake each other; one
    packet (the least aiortc's buffer holds) is enough. aiortc has no setting for it.
    """
    receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(capacity=16, prefetch=MIC_PREFETCH_PACKETS)  # type: ignore[attr-defined]


class WebRtcPeer:
    """The worker's end of one kiosk's call; ``ice`` and ``ice_peer`` (the TURN username's name for
    this end, e.g. ``worker-<id>``) choose the STUN/TURN servers, as the page's end has them."""

    def __init__(self, session_id: str, on_mic_audio: Callable[[Samples], None], *,
                 ice: IceConfig = HOST_CANDIDATES_ONLY, ice_peer: str = "worker") -> None:
        self.session_id = session_id
        self.video = AvatarVideoTrack()
        self.audio = AvatarAudioTrack()
        self._on_mic_audio = on_mic_audio
        self._tasks = TaskOwner(f"rtc {session_id}")
        self.pc = RTCPeerConnection(ice.rtc_configuration(ice_peer))
        self.pc.addTrack(self.audio)
        self.video.sender = self.pc.addTrack(self.video)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    async def answer(self, offer_sdp: str) -> str:
        if _loopback_only:
            offer_sdp = loopback_candidates_only(offer_sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "audio":
                shorten_jitter_buffer(transceiver.receiver)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    @property
    def connected(self) -> bool:
        return self.pc.connectionState == "connected"

    def send_frame(self, frame: VideoFrame, video: bool = True) -> None:
        """Queue one rendered frame and its audio (without ``video``, only the audio: the session's
        video is reduced or off); when the network lags, the oldest is dropped."""
        audio = resample(frame.audio, frame.sample_rate, RTC_SAMPLE_RATE)
        step = int(RTC_SAMPLE_RATE * AUDIO_PTIME)
        for i in range(0, len(audio) - step + 1, step):
            _put_dropping(self.audio.queue, (frame.pts + i / RTC_SAMPLE_RATE, audio[i:i + step]))
        if video:
            _put_dropping(self.video.queue, frame)

    def flush(self) -> None:
        """Barge-in: drop whatever is queued for the network at once."""
        for queue in (self.audio.queue, self.video.queue):
            while not queue.empty():
                queue.get_nowait()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._tasks.spawn(self._read_mic(track), "mic")

    async def _read_mic(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:  # the kiosk hung up or the call was replaced
                return
            assert isinstance(frame, av.AudioFrame)
            pcm = frame.to_ndarray()
            channels = len(frame.layout.channels)
            samples = pcm.reshape(-1, channels).mean(axis=1) if pcm.ndim > 1 or channels > 1 else pcm.ravel()
            mono = (samples.astype(np.float32) / 32768.0).astype(np.float32)
            self._on_mic_audio(resample(mono, frame.sample_rate, 16000))

    def _on_state(self) -> None:
        log.info("session %s: WebRTC %s", self.session_id, self.pc.connectionState)

    async def close(self) -> None:
        await self._tasks.cancel_all()
        await self.pc.close()


def _put_dropping(queue: asyncio.Queue[Any], item: object) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)
