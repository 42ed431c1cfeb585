"""FallbackSynthesizer: a failing voice hands the rest of the answer to the fallback voice."""
from collections.abc import AsyncIterator

import pytest

from avatar_runtime.errors import ProviderError
from avatar_runtime.tts.base import SpeechChunk, Voice
from avatar_runtime.tts.espeak_voice import EspeakSynthesizer
from avatar_runtime.tts.registry import FallbackSynthesizer

GOOD = Voice("en", "espeak", "en-us")
BROKEN = Voice("en", "espeak", "no-such-voice")  # espeak-ng fails on it: a permanent ProviderError


class PrimaryEspeak(EspeakSynthesizer):
    """espeak-ng under another name, counting the sentences it was asked for."""

    name = "primary"

    def __init__(self) -> None:
        self.calls = 0

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[SpeechChunk]:
        self.calls += 1
        async for chunk in super().synthesize(text, voice):
            yield chunk


class FlakyEspeak(PrimaryEspeak):
    """Fails ``failures`` times with a retryable error (a network voice timing out), then speaks."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[SpeechChunk]:
        if self.calls < self.failures:
            self.calls += 1
            raise ProviderError(self.name, "timed out", retryable=True)
        async for chunk in super().synthesize(text, voice):
            yield chunk


async def speak(synthesizer: FallbackSynthesizer, text: str, voice: Voice) -> int:
    return sum([len(chunk.samples) async for chunk in synthesizer.synthesize(text, voice)])


async def test_permanent_failure_switches_at_once_for_the_rest_of_the_answer() -> None:
    primary, errors = PrimaryEspeak(), []
    synthesizer = FallbackSynthesizer(primary, EspeakSynthesizer(), GOOD, on_fallback=errors.append)
    assert await speak(synthesizer, "First sentence.", BROKEN) > 0
    assert synthesizer.spoken_by == "espeak"
    assert await speak(synthesizer, "Second sentence.", BROKEN) > 0
    assert primary.calls == 1  # not asked again within the answer
    assert [e.retryable for e in errors] == [False]
    synthesizer.reset()  # a new answer tries the primary again
    assert await speak(synthesizer, "Next answer.", GOOD) > 0
    assert (synthesizer.spoken_by, primary.calls) == ("primary", 2)


async def test_retryable_failure_is_retried_once() -> None:
    primary = FlakyEspeak(failures=1)
    synthesizer = FallbackSynthesizer(primary, EspeakSynthesizer(), GOOD, retry_delay_s=0.0)
    assert await speak(synthesizer, "Hello there.", GOOD) > 0
    assert (synthesizer.spoken_by, synthesizer.switched, primary.calls) == ("primary", False, 2)


async def test_retryable_failure_twice_switches() -> None:
    primary = FlakyEspeak(failures=5)
    synthesizer = FallbackSynthesizer(primary, EspeakSynthesizer(), GOOD, retry_delay_s=0.0)
    assert await speak(synthesizer, "Hello there.", GOOD) > 0
    assert (synthesizer.spoken_by, synthesizer.switched, primary.calls) == ("espeak", True, 2)


async def test_fallback_failure_is_raised() -> None:
    synthesizer = FallbackSynthesizer(PrimaryEspeak(), EspeakSynthesizer(), BROKEN)
    with pytest.raises(ProviderError, match="no-such-voice"):
        await speak(synthesizer, "Hello.", BROKEN)
