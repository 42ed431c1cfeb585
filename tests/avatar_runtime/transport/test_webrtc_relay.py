"""WebRTC through a real TURN server (coturn, ``use-auth-secret``) with relay candidates only: the
worker's peer and an aiortc kiosk each get their own time-limited credentials from the same
``IceConfig``, and the microphone and the avatar's frames still flow, relayed both ways."""
import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from aioice.stun import TransactionFailed
from aioice.turn import create_turn_endpoint
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from avatar_runtime.pipeline.messages import VideoFrame
from avatar_runtime.transport.ice import IceConfig, turn_rest_credentials
from avatar_runtime.transport.webrtc import WebRtcPeer
from tests.avatar_runtime.transport.coturn import SECRET, running_coturn
from tests.avatar_runtime.transport.test_webrtc_peer import Microphone


@pytest.fixture(scope="module")
def coturn_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_coturn(Path(tmp_path_factory.mktemp("coturn"))) as port:
        yield port


def relay_only(port: int) -> IceConfig:
    return IceConfig(turn_urls=(f"turn:127.0.0.1:{port}?transport=udp",), turn_secret=SECRET, turn_ttl=600,
                     relay_only=True)


def candidate_types(sdp: str) -> set[str]:
    return {line.split(" typ ")[1].split()[0] for line in sdp.splitlines() if line.startswith("a=candidate:")}


async def test_media_flows_both_ways_through_the_turn_relay_alone(coturn_port: int) -> None:
    ice = relay_only(coturn_port)
    heard: list[np.ndarray] = []
    peer = WebRtcPeer("relay", heard.append, ice=ice, ice_peer="worker-test")
    kiosk = RTCPeerConnection(ice.rtc_configuration("kiosk-1"))
    kiosk.addTrack(Microphone())
    kiosk.addTransceiver("video", direction="recvonly")
    received: dict[str, MediaStreamTrack] = {}
    kiosk.on("track", lambda track: received.setdefault(track.kind, track))
    try:
        await kiosk.setLocalDescription(await kiosk.createOffer())
        offer = kiosk.localDescription.sdp
        answer = await peer.answer(offer)
        # Each side offers its TURN allocation and nothing else: the only pair is relay to relay.
        assert candidate_types(offer) == {"relay"}
        assert candidate_types(answer) == {"relay"}
        await kiosk.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        for _ in range(200):
            if peer.connected and len(heard) >= 10:
                break
            await asyncio.sleep(0.05)
        assert peer.connected and kiosk.connectionState == "connected"
        assert len(heard) >= 10, "the kiosk's microphone did not reach the worker through the relay"
        assert max(float(np.abs(samples).max()) for samples in heard[3:]) > 0.1  # the tone, not silence

        image = np.zeros((64, 48, 3), np.uint8)
        tone = (0.25 * np.sin(2 * np.pi * 440 * np.arange(6400) / 16000)).astype(np.float32)
        for i in range(10):
            peer.send_frame(VideoFrame(image, i * 0.04, tone[i * 640:(i + 1) * 640], 16000, True))
        video = await asyncio.wait_for(received["video"].recv(), 10)
        assert (video.width, video.height) == (48, 64)
        loud = 0
        for _ in range(50):
            voice = await asyncio.wait_for(received["audio"].recv(), 2)
            loud += int(np.abs(voice.to_ndarray()).max() > 1000)
            if loud >= 5:
                break
        assert loud >= 5, "the avatar's voice did not reach the kiosk through the relay"
    finally:
        await kiosk.close()
        await peer.close()


@pytest.mark.parametrize("problem", ["expired", "forged"])
async def test_the_turn_server_refuses_credentials_that_expired_or_were_not_made_from_its_secret(
        coturn_port: int, problem: str) -> None:
    secret, ttl = (SECRET, -60) if problem == "expired" else ("not-the-secret", 600)
    username, password = turn_rest_credentials(secret=secret, peer="kiosk-1", ttl=ttl)
    with pytest.raises(TransactionFailed) as refused:
        await create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", coturn_port), username, password)
    assert refused.value.response.attributes["ERROR-CODE"][0] == 401
    # The same peer with a fresh credential from the right secret is let in.
    username, password = turn_rest_credentials(secret=SECRET, peer="kiosk-1", ttl=600)
    transport, _ = await create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", coturn_port), username, password)
    transport.close()
