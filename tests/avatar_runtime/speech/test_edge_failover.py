"""Edge failing within an answer: the offline voice speaks the same sentence, with no long silence.

Real parts: edge-tts against local servers that fail (see ``edge_servers``), espeak-ng behind it,
the process-wide breaker and health registry. Gaps are measured on the wall clock, chunk by chunk.
"""
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from avatar_runtime.audio import resample
from avatar_runtime.factory import VoiceBook, VoiceChoice
from avatar_runtime.health import Health, HealthRegistry, HealthTracker, health_registry
from avatar_runtime.pipeline.playback import Playback
from avatar_runtime.tts.base import SpeechChunk, Voice, voice_key
from avatar_runtime.tts.edge_voice import EdgeConfig, EdgeSynthesizer
from avatar_runtime.tts.espeak_voice import EspeakSynthesizer
from avatar_runtime.tts.registry import FallbackSynthesizer, voice_breakers_reset
from tests.avatar_runtime.speech.edge_servers import EdgeTestServer, mp3_speech, refused_url

SENTENCES = ["The information desk is on the ground floor, next to the lifts.", "It opens at nine every morning."]
EDGE = Voice("en", "edge", "en-US-JennyNeural")
OFFLINE = Voice("en", "espeak", "en-us")
DEADLINE = 0.5
SLACK = 0.4


@pytest.fixture(autouse=True)
def fresh_breakers() -> Iterator[None]:
    for sentence in SENTENCES:  # the servers' speech, made before the clock starts
        mp3_speech(sentence)
    voice_breakers_reset()
    health_registry.clear()
    yield
    voice_breakers_reset()
    health_registry.clear()


def chain(url: str, breaker: HealthTracker) -> FallbackSynthesizer:
    edge = EdgeSynthesizer(EdgeConfig(endpoint=url, first_audio_s=DEADLINE, stall_s=DEADLINE))
    return FallbackSynthesizer(edge, EspeakSynthesizer(), OFFLINE, attempts=1, health=breaker)


async def arrivals(synthesizer: FallbackSynthesizer, text: str) -> list[tuple[float, SpeechChunk]]:
    start = time.perf_counter()
    return [(time.perf_counter() - start, chunk) async for chunk in synthesizer.synthesize(text, EDGE)]


def audible_gaps(timed: list[tuple[float, SpeechChunk]]) -> list[float]:
    """Silences a listener hears when each chunk plays as soon as it arrives and the one before ended."""
    gaps, playing_until = [], timed[0][0]
    for arrived, chunk in timed:
        gaps.append(max(0.0, arrived - playing_until))
        playing_until = max(playing_until, arrived) + len(chunk.samples) / chunk.sample_rate
    return gaps


async def espeak_samples(text: str) -> int:
    return sum([len(c.samples) async for c in EspeakSynthesizer().synthesize(text, OFFLINE)])


async def test_edge_stalling_mid_sentence_hands_the_whole_sentence_to_the_offline_voice() -> None:
    registry = HealthRegistry()
    breaker = HealthTracker(down_after=1, retry_after=60.0, component="tts:en", backend="edge", fallback="espeak",
                            registry=registry)
    async with EdgeTestServer(mode="stall", pieces=3) as server:
        synthesizer = chain(server.url, breaker)
        timed = await arrivals(synthesizer, SENTENCES[0])
    edge_chunks = [(t, c) for t, c in timed if c.sample_rate == 16000]
    offline_chunks = [(t, c) for t, c in timed if c.sample_rate != 16000]  # espeak-ng speaks at 22.05 kHz
    assert edge_chunks and offline_chunks and timed.index(offline_chunks[0]) == len(edge_chunks)
    assert synthesizer.spoken_by == "espeak" and synthesizer.switched
    # Each chunk names its voice; the transcript credits the answer to the one that spoke most of it.
    assert {c.voice for _, c in edge_chunks} == {EDGE} and {c.voice for _, c in offline_chunks} == {OFFLINE}
    playback = Playback(16000)
    for _, chunk in timed:
        playback.add_audio(resample(chunk.samples, chunk.sample_rate, 16000), voice_key(chunk.voice or EDGE))
    assert set(playback.voice_samples) == {"edge:en-US-JennyNeural", "espeak:en-us"}
    assert playback.spoken_voice() == "espeak:en-us"
    # The offline voice spoke the sentence from its start: all of it, not the rest after the stall.
    assert sum(len(c.samples) for _, c in offline_chunks) == await espeak_samples(SENTENCES[0])
    failover = offline_chunks[0][0] - edge_chunks[-1][0]
    wall_gaps = np.diff([t for t, _ in timed])
    assert max(wall_gaps) == pytest.approx(failover)  # the failover is the only long wait
    assert DEADLINE <= failover < DEADLINE + SLACK
    # Edge had sent ~0.6 s of audio before it stalled, so the listener's silence is shorter still.
    assert max(audible_gaps(timed)) <= failover
    status = registry.get("tts:en")
    assert status is not None and status.state is Health.DEGRADED and status.backend == "espeak"
    assert "edge down" in status.reason and "stalled" in status.reason


async def test_while_edge_is_down_sentences_skip_it_and_a_probe_finds_it_back() -> None:
    now = [0.0]
    registry = HealthRegistry()
    breaker = HealthTracker(down_after=1, retry_after=30.0, clock=lambda: now[0], component="tts:en",
                            backend="edge", fallback="espeak", registry=registry)
    async with EdgeTestServer(mode="silent") as server:
        first = await arrivals(chain(server.url, breaker), SENTENCES[0])
        assert len(server.requests) == 1 and first[0][0] >= DEADLINE
        # A new answer while edge is down: straight to the offline voice, no detection delay.
        answer = chain(server.url, breaker)
        for sentence in SENTENCES:
            timed = await arrivals(answer, sentence)
            assert answer.spoken_by == "espeak" and timed[0][0] < DEADLINE / 2
        assert len(server.requests) == 1
        status = registry.get("tts:en")
        assert status is not None and (status.state, status.backend) == (Health.DEGRADED, "espeak")
        # Edge comes back; after retry_after the next answer's first sentence probes it.
        server.mode = "speak"
        now[0] += 30.0
        probe = chain(server.url, breaker)
        timed = await arrivals(probe, SENTENCES[1])
    assert probe.spoken_by == "edge" and len(server.requests) == 2
    assert {c.sample_rate for _, c in timed} == {16000}
    status = registry.get("tts:en")
    assert status is not None and (status.state, status.backend) == (Health.DEGRADED, "edge")  # recovering
    assert breaker.should_try()


async def test_voice_book_puts_edge_first_with_a_shared_breaker(settings: Any, models_dir: Path) -> None:
    settings.AVATAR_TTS_BACKEND = "auto"
    settings.EDGE_TTS_URL = refused_url()  # edge's service unreachable, as on a machine without internet
    book = VoiceBook({"en": VoiceChoice(EDGE, OFFLINE)}, models_dir)
    synthesizer, voice = book.synthesizer("en")
    assert voice == EDGE and isinstance(synthesizer, FallbackSynthesizer)
    assert isinstance(synthesizer.primary, EdgeSynthesizer)
    start = time.perf_counter()
    chunks = [c async for c in synthesizer.synthesize(SENTENCES[1], voice)]
    assert chunks and synthesizer.spoken_by == "espeak"
    assert time.perf_counter() - start < 1.5  # refused: no deadline to wait for
    again, _ = book.synthesizer("en")  # the next answer shares the breaker: edge is skipped
    assert isinstance(again, FallbackSynthesizer) and again.health is synthesizer.health
    assert again.health is not None and not again.health.should_try()
    status = health_registry.get("tts:en")
    assert status is not None and status.state is Health.DEGRADED and "cannot connect" in status.reason
