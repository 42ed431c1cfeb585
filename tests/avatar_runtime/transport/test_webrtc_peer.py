"""The worker's WebRTC peer against an aiortc client over loopback: the microphone comes in with
one packet of buffering, and the avatar's frames go out as video and as audio paced packet by packet."""
import asyncio
import fractions

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RtpPacket

from avatar_runtime.pipeline.messages import VideoFrame
from avatar_runtime.transport.webrtc import MIC_PREFETCH_PACKETS, WebRtcPeer, restrict_ice_to_loopback

PACKET_S = 0.02


class Microphone(MediaStreamTrack):
    """A 440 Hz tone in 20 ms packets, paced in real time; counts what it has sent."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def recv(self) -> av.AudioFrame:
        if self.sent:
            await asyncio.sleep(PACKET_S)
        t = (np.arange(960) + self.sent * 960) / 48000
        frame = av.AudioFrame.from_ndarray((np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self.sent * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self.sent += 1
        return frame


async def test_microphone_audio_arrives_after_one_packet_and_frames_go_out() -> None:
    restrict_ice_to_loopback()
    heard: list[tuple[int, np.ndarray]] = []
    microphone = Microphone()
    peer = WebRtcPeer("test", lambda samples: heard.append((microphone.sent, samples)))
    client = RTCPeerConnection()
    client.addTrack(microphone)
    client.addTransceiver("video", direction="recvonly")
    received: dict[str, MediaStreamTrack] = {}
    client.on("track", lambda track: received.setdefault(track.kind, track))
    try:
        await client.setLocalDescription(await client.createOffer())
        answer = await peer.answer(client.localDescription.sdp)
        await client.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        for _ in range(200):
            if len(heard) >= 10 and peer.connected:
                break
            await asyncio.sleep(0.05)
        assert heard, "no microphone audio reached the worker"
        # The first packet is decoded once the next has arrived (aiortc's default waits for four more);
        # one more may be in flight or being decoded.
        packets_sent_when_first_heard = heard[0][0]
        assert packets_sent_when_first_heard <= 1 + MIC_PREFETCH_PACKETS + 1
        assert all(len(samples) == 320 for _, samples in heard)  # 20 ms at 16 kHz
        assert max(float(np.abs(samples).max()) for _, samples in heard[3:]) > 0.1

        image = np.zeros((64, 48, 3), np.uint8)
        image[:, :, 0] = 200
        tone = (0.25 * np.sin(2 * np.pi * 440 * np.arange(6400) / 16000)).astype(np.float32)
        for i in range(10):
            peer.send_frame(VideoFrame(image, i * 0.04, tone[i * 640:(i + 1) * 640], 16000, True))
        video = await asyncio.wait_for(received["video"].recv(), 10)
        assert (video.width, video.height) == (48, 64)
        # 400 ms of voice queued at once goes out paced, a 20 ms packet at a time.
        loop = asyncio.get_running_loop()
        arrivals = []
        while not arrivals or loop.time() - arrivals[0] < 0.6:
            try:
                voice = await asyncio.wait_for(received["audio"].recv(), 1)
            except TimeoutError:
                break
            assert voice.sample_rate == 48000
            if np.abs(voice.to_ndarray()).max() > 1000:  # the tone, not the silence before it
                arrivals.append(loop.time())
        assert len(arrivals) >= 15
        assert arrivals[-1] - arrivals[0] >= 0.25
    finally:
        await client.close()
        await peer.close()


async def test_the_worker_knows_the_rtp_timestamp_the_browser_sees_on_each_frame() -> None:
    """The page finds the answer's first frame by the RTP timestamp ``requestVideoFrameCallback``
    reports for it; the worker gives that timestamp from the frame's pts."""
    restrict_ice_to_loopback()
    peer = WebRtcPeer("test", lambda samples: None)
    client = RTCPeerConnection()
    client.addTransceiver("audio", direction="recvonly")
    video = client.addTransceiver("video", direction="recvonly")
    stamps: set[int] = set()
    handle = video.receiver._handle_rtp_packet

    async def record(packet: RtpPacket, arrival_time_ms: int) -> None:
        stamps.add(packet.timestamp)  # as it came over the network (aiortc's frames start their pts at 0)
        await handle(packet, arrival_time_ms)

    video.receiver._handle_rtp_packet = record  # type: ignore[method-assign]
    try:
        await client.setLocalDescription(await client.createOffer())
        answer = await peer.answer(client.localDescription.sdp)
        await client.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        for _ in range(200):
            if peer.connected:
                break
            await asyncio.sleep(0.05)
        assert peer.video.rtp_timestamp(0.0) is None  # nothing has gone out yet
        image = np.zeros((64, 48, 3), np.uint8)
        silence = np.zeros(640, np.float32)
        pts = [100.0 + i * 0.04 for i in range(12)]
        for value in pts:
            peer.send_frame(VideoFrame(image, value, silence, 16000, False))
            await asyncio.sleep(0.04)
        for _ in range(100):
            if len(stamps) >= len(pts):
                break
            await asyncio.sleep(0.05)
        assert stamps == {peer.video.rtp_timestamp(value) for value in pts}
    finally:
        await client.close()
        await peer.close()
