"""The worker's warm-up loads the offline voice behind a network voice, so an outage's first sentence is not cold."""
from pathlib import Path
from typing import Any

import pytest

from avatar_runtime.factory import VoiceBook, VoiceChoice, offline_voices_warm
from avatar_runtime.tts import kokoro_phonemes, kokoro_voice
from avatar_runtime.tts.base import Voice
from avatar_runtime.tts.registry import OFFLINE_VOICES


@pytest.mark.slow
def test_warm_up_loads_the_kokoro_voice_behind_edge(settings: Any, models_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    settings.AVATAR_TTS_BACKEND = "auto"
    monkeypatch.setattr(kokoro_voice, "_model", None)  # a fresh worker: no model loaded
    kokoro_phonemes._japanese_g2p.cache_clear()  # nor the Japanese phonemiser (its dictionary)
    book = VoiceBook({"ja": VoiceChoice(Voice("ja", "edge", "ja-JP-NanamiNeural"), OFFLINE_VOICES["ja"])}, models_dir)
    assert [voice.backend for voice in book.chain("ja")] == ["edge", "kokoro", "espeak"]
    offline_voices_warm(book, "ja")
    assert kokoro_voice._model is not None
    assert kokoro_phonemes._japanese_g2p.cache_info().currsize == 1
