"""Edge TTS against local servers: streamed decoding, and how fast each kind of failure is noticed."""
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from avatar_runtime.errors import ProviderError
from avatar_runtime.tts.base import SpeechChunk, Voice
from avatar_runtime.tts.edge_voice import EDGE_DEFAULT_VOICES, EdgeConfig, EdgeSynthesizer, edge_pitch, edge_rate
from avatar_runtime.tts.mp3_stream import Mp3StreamDecoder
from tests.avatar_runtime.speech.edge_servers import EdgeTestServer, mp3_speech, refused_url, tcp_black_hole

SENTENCE = "The information desk is on the ground floor, next to the lifts."
VOICE = Voice("en", "edge", EDGE_DEFAULT_VOICES["en"], rate=1.1, pitch=1.0)
DEADLINE = 0.5  # first-audio and stall deadlines in these tests
SLACK = 0.35  # scheduling noise on a shared two-core machine


@pytest.fixture(autouse=True, scope="module")
def server_speech() -> None:
    mp3_speech(SENTENCE)  # made once, before any clock starts: the servers only send it


def edge(url: str) -> EdgeSynthesizer:
    return EdgeSynthesizer(EdgeConfig(endpoint=url, first_audio_s=DEADLINE, stall_s=DEADLINE))


async def timed(stream: AsyncIterator[SpeechChunk]) -> tuple[list[tuple[float, SpeechChunk]], float]:
    """Every chunk with its arrival time; the time it took to end (or fail: the error then has ``.after``)."""
    start = time.perf_counter()
    chunks: list[tuple[float, SpeechChunk]] = []
    try:
        async for chunk in stream:
            chunks.append((time.perf_counter() - start, chunk))
    except ProviderError as error:
        error.after = time.perf_counter() - start  # type: ignore[attr-defined]
        error.chunks = chunks  # type: ignore[attr-defined]
        raise
    return chunks, time.perf_counter() - start


def test_rate_and_pitch_map_to_edge_strings() -> None:
    assert (edge_rate(1.0), edge_rate(1.25), edge_rate(0.8)) == ("+0%", "+25%", "-20%")
    assert (edge_pitch(0.0), edge_pitch(12.0), edge_pitch(-12.0)) == ("+0Hz", "+200Hz", "-100Hz")


def test_mp3_decoder_is_incremental_and_keeps_the_whole_sentence() -> None:
    mp3 = mp3_speech(SENTENCE)
    decoder = Mp3StreamDecoder(16000)
    pieces = [decoder.feed(mp3[i : i + 500]) for i in range(0, len(mp3), 500)]
    assert len(pieces[0]) > 0  # audio from the first 500 bytes already (~80 ms)
    whole = np.concatenate([*pieces, decoder.flush()])
    reference = Mp3StreamDecoder(16000)
    at_once = np.concatenate([reference.feed(mp3), reference.flush()])
    assert len(whole) == len(at_once) and np.allclose(whole, at_once, atol=2 / 32768)
    assert 2.0 < len(whole) / 16000 < 6.0 and np.abs(whole).max() > 0.1


async def test_streams_audio_before_the_sentence_is_synthesised() -> None:
    async with EdgeTestServer(pace_s=0.08) as server:
        chunks, _ = await timed(edge(server.url).synthesize(SENTENCE, VOICE))
        last_sent = server.sent_at[-1]
    assert "rate='+10%'" in server.requests[0] and "pitch='+12Hz'" in server.requests[0]
    assert "JennyNeural" in server.requests[0] and SENTENCE in server.requests[0]
    audio = np.concatenate([c.samples for _, c in chunks])
    assert {c.sample_rate for _, c in chunks} == {16000}
    assert audio.dtype == np.float32 and np.abs(audio).max() > 0.1
    reference = Mp3StreamDecoder(16000)
    expected = len(np.concatenate([reference.feed(mp3_speech(SENTENCE)), reference.flush()]))
    assert len(audio) == expected  # every decoded sample, once
    # The first chunk was out while the server still had audio to send.
    first_at = chunks[0][0]
    assert len(server.sent_at) > 5 and first_at < (last_sent - server.sent_at[0]) / 2


async def test_connection_refused_fails_at_once() -> None:
    with pytest.raises(ProviderError, match="cannot connect") as info:
        await timed(edge(refused_url()).synthesize(SENTENCE, VOICE))
    assert info.value.retryable and info.value.after < 0.2  # type: ignore[attr-defined]


async def test_tcp_black_hole_is_detected_at_the_first_audio_deadline() -> None:
    async with tcp_black_hole() as url:
        with pytest.raises(ProviderError, match="no audio within") as info:
            await timed(edge(url).synthesize(SENTENCE, VOICE))
    assert DEADLINE <= info.value.after < DEADLINE + SLACK  # type: ignore[attr-defined]


async def test_silent_websocket_is_detected_at_the_first_audio_deadline() -> None:
    async with EdgeTestServer(mode="silent") as server:
        with pytest.raises(ProviderError, match="no audio within") as info:
            await timed(edge(server.url).synthesize(SENTENCE, VOICE))
    assert len(server.requests) == 1
    assert DEADLINE <= info.value.after < DEADLINE + SLACK  # type: ignore[attr-defined]


async def test_stall_mid_sentence_is_detected_at_the_stall_deadline() -> None:
    async with EdgeTestServer(mode="stall", pieces=3) as server:
        with pytest.raises(ProviderError, match="stalled") as info:
            await timed(edge(server.url).synthesize(SENTENCE, VOICE))
    chunks = info.value.chunks  # type: ignore[attr-defined]
    assert chunks  # part of the sentence was spoken before the stall
    # Measured to the error, so it includes giving up on the stalled connection, which is not
    # waited for (closing a WebSocket whose peer is silent takes aiohttp's 10 s close timeout).
    assert DEADLINE - 0.05 <= info.value.after - chunks[-1][0] < DEADLINE + SLACK  # type: ignore[attr-defined]


async def test_connection_closed_mid_sentence_is_an_error() -> None:
    async with EdgeTestServer(mode="close", pieces=2) as server:
        with pytest.raises(ProviderError, match="closed mid-sentence") as info:
            await timed(edge(server.url).synthesize(SENTENCE, VOICE))
    assert info.value.chunks and info.value.retryable  # type: ignore[attr-defined]


async def test_a_malformed_voice_is_a_permanent_error() -> None:
    with pytest.raises(ProviderError, match="refuses the voice") as info:
        await timed(edge(refused_url()).synthesize("Hi.", Voice("en", "edge", "not a voice")))
    assert not info.value.retryable
