"""Silero VAD on real speech: onsets and ends within 100 ms, quiet on silence and low noise."""
import numpy as np
import pytest

from avatar_runtime.vad.base import VadEvent
from avatar_runtime.vad.silero import SileroVadStream, VadConfig
from tests.speech_samples import RATE, SENTENCES, noise, speak, with_silence

TOLERANCE_S = 0.1


def speech_bounds(samples: np.ndarray) -> tuple[float, float]:
    """First and last 10 ms frame of the clean utterance louder than -40 dB below its peak."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    level = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9)
    loud = np.flatnonzero(level > level.max() - 40)
    return loud[0] * 0.01, (loud[-1] + 1) * 0.01


def run(stream: SileroVadStream, audio: np.ndarray, chunk: int,
        kinds: tuple[str, ...] = ("start", "end")) -> list[tuple[VadEvent, float]]:
    """Events of ``kinds`` with the mic-clock time at which each was emitted."""
    out = []
    for start in range(0, len(audio), chunk):
        piece = audio[start : start + chunk]
        out += [(event, (start + len(piece)) / RATE) for event in stream.push(piece) if event.kind in kinds]
    return out


@pytest.fixture(scope="module")
def utterance() -> np.ndarray:
    return speak(SENTENCES["en"][0], "en")[0]


@pytest.mark.parametrize("chunk", [160, 512, 700, 4000])
def test_finds_start_and_end_of_an_utterance(utterance: np.ndarray, chunk: int) -> None:
    onset, end = speech_bounds(utterance)
    audio = with_silence(utterance, 1.0, 1.5)
    config = VadConfig()
    events = run(SileroVadStream(config), audio, chunk)
    assert [e.kind for e, _ in events] == ["start", "end"]
    (start, start_at), (stop, stop_at) = events
    late = chunk / RATE  # an event is seen when the chunk that completes its frame has been pushed
    assert start.pts == pytest.approx(1.0 + onset, abs=TOLERANCE_S)
    assert config.min_speech_ms / 1000 - 0.1 <= start_at - start.pts <= config.min_speech_ms / 1000 + 0.1 + late
    assert stop.pts == pytest.approx(1.0 + end, abs=TOLERANCE_S)
    delay = stop_at - (1.0 + end)  # the endpointing delay
    assert config.end_silence_ms / 1000 <= delay <= config.end_silence_ms / 1000 + 0.2 + late
    assert stop.samples is not None
    # The utterance handed to ASR holds all the speech plus the pre-roll.
    assert len(stop.samples) / RATE == pytest.approx(end - onset + 0.2 + 0.1, abs=0.15)


@pytest.mark.parametrize("language", ["en", "zh", "ja", "ko", "yue"])
def test_the_voice_end_is_where_the_sound_stops_not_where_the_model_lets_go(language: str) -> None:
    """The end a level meter sees (the kiosk page's: 10 ms RMS under 0.01), to within 30 ms; the
    model's flag falls 40-140 ms later."""
    utterance = speak(SENTENCES[language][0], language)[0]
    frames = utterance[: len(utterance) // 160 * 160].reshape(-1, 160)
    metered_end = (np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) >= 0.01)[-1] + 1) * 0.01
    events = run(SileroVadStream(), with_silence(utterance, 1.0, 1.5), 512)
    stop = events[-1][0]
    assert stop.kind == "end" and stop.voice_end is not None
    assert stop.voice_end == pytest.approx(1.0 + metered_end, abs=0.03)
    assert stop.pts - stop.voice_end >= 0.03


def test_chunk_size_does_not_change_the_result(utterance: np.ndarray) -> None:
    audio = with_silence(utterance, 0.7, 1.0)
    runs = [run(SileroVadStream(), audio, chunk) for chunk in (320, 513, 2048)]
    assert all(len(r) == 2 for r in runs)
    first = runs[0]
    for other in runs[1:]:
        assert [e.pts for e, _ in other] == [e.pts for e, _ in first]
        assert np.array_equal(other[1][0].samples, first[1][0].samples)


def test_a_short_pause_does_not_end_the_turn(utterance: np.ndarray) -> None:
    audio = np.concatenate([with_silence(utterance, 0.5, 0.2), with_silence(utterance, 0.0, 1.2)])
    events = run(SileroVadStream(VadConfig(end_silence_ms=500)), audio, 512)
    assert [e.kind for e, _ in events] == ["start", "end"]


def test_two_turns_give_two_utterances(utterance: np.ndarray) -> None:
    audio = np.concatenate([with_silence(utterance, 0.5, 1.0), with_silence(utterance, 0.0, 1.0)])
    stream = SileroVadStream()
    events = run(stream, audio, 1024)
    assert [e.kind for e, _ in events] == ["start", "end", "start", "end"]
    assert not stream.speaking


def test_longer_end_silence_waits_longer(utterance: np.ndarray) -> None:
    _, end = speech_bounds(utterance)
    audio = with_silence(utterance, 0.5, 2.0)
    stop_at = run(SileroVadStream(VadConfig(end_silence_ms=900)), audio, 512)[-1][1]
    assert stop_at - (0.5 + end) >= 0.9


@pytest.mark.parametrize("level_dbfs", [None, -60.0, -45.0])
def test_quiet_on_silence_and_low_noise(level_dbfs: float | None) -> None:
    audio = np.zeros(5 * RATE, np.float32) if level_dbfs is None else noise(5 * RATE, level_dbfs)
    stream = SileroVadStream()
    assert run(stream, audio, 480) == []
    assert not stream.speaking


def test_reset_forgets_a_turn_in_progress(utterance: np.ndarray) -> None:
    stream = SileroVadStream()
    run(stream, with_silence(utterance, 0.5, 0.0)[: int(2.0 * RATE)], 512)
    assert stream.speaking
    stream.reset()
    assert not stream.speaking
    assert run(stream, np.zeros(RATE, np.float32), 512) == []


@pytest.mark.slow
def test_other_languages_are_detected_too() -> None:
    for language in ("ja", "zh", "ko"):
        events = run(SileroVadStream(), with_silence(speak(SENTENCES[language][0], language)[0], 0.5, 1.0), 512)
        assert [e.kind for e, _ in events] == ["start", "end"], language


def test_a_pause_offers_the_utterance_so_far_before_the_end(utterance: np.ndarray) -> None:
    _, end = speech_bounds(utterance)
    audio = with_silence(utterance, 1.0, 1.5)
    config = VadConfig()
    events = run(SileroVadStream(config), audio, 512, kinds=("start", "pause", "end"))
    assert [e.kind for e, _ in events][-2:] == ["pause", "end"]
    (pause, pause_at), (stop, stop_at) = events[-2:]
    assert pause.pts == stop.pts == pytest.approx(1.0 + end, abs=TOLERANCE_S)
    assert config.pause_ms is not None
    assert config.pause_ms / 1000 - 0.01 <= pause_at - pause.pts <= config.pause_ms / 1000 + 0.1
    assert stop_at - pause_at >= (config.end_silence_ms - config.pause_ms) / 1000 - 0.04
    # The pause hands over the same utterance the end will (what speculative ASR recognises).
    assert pause.samples is not None and stop.samples is not None
    assert np.array_equal(pause.samples, stop.samples[: len(pause.samples)])
    assert len(stop.samples) - len(pause.samples) <= 0.1 * RATE


def test_finish_ends_the_turn_at_a_pause_but_not_once_speech_goes_on(utterance: np.ndarray) -> None:
    stream = SileroVadStream()
    events = run(stream, with_silence(utterance, 0.5, 0.25), 512, kinds=("start", "pause", "end"))
    assert [e.kind for e, _ in events] == ["start", "pause"]
    pause = events[-1][0]
    assert stream.finish(pause.pts + 0.5) is None  # speech no longer ends there: keep listening
    assert stream.speaking
    stop = stream.finish(pause.pts)
    assert stop is not None and stop.kind == "end" and stop.pts == pause.pts
    assert stop.samples is not None and len(stop.samples) >= len(pause.samples if pause.samples is not None else [])
    assert not stream.speaking
    assert stream.finish() is None


def test_a_pause_then_more_speech_gives_a_later_end(utterance: np.ndarray) -> None:
    audio = np.concatenate([with_silence(utterance, 0.5, 0.2), with_silence(utterance, 0.0, 1.2)])
    events = run(SileroVadStream(VadConfig(end_silence_ms=500)), audio, 512, kinds=("start", "pause", "end"))
    kinds = [e.kind for e, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("start") == 1
    first_pause = next(e for e, _ in events if e.kind == "pause")
    assert events[-1][0].pts > first_pause.pts + len(utterance) / RATE - 0.2
