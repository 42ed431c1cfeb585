"""Whisper base prompted with the venue's words: it writes them as the venue does, and noise does not echo them."""
from pathlib import Path

import numpy as np
import pytest

from avatar_runtime.asr.prompt import copies_prompt, prompt_build
from avatar_runtime.asr.whisper import WhisperConfig, WhisperRecognizer, _load_model
from tests.speech_samples import RATE, noise, speak, with_silence

pytestmark = pytest.mark.slow
# The head of the demo venue's vocabulary (knowledgebase/vocabulary.py); Whisper base is sensitive to
# the prompt: with only ("Harbour Cinema", "FreshMart", "MTR") it wrote "ハーバー、Sinema".
_DEMO = ("ATM", "Harbour Cinema", "IMAX", "Harbour Medical Centre", "Harbour Eats", "HarbourPoint Free WiFi")
TERMS = {"ja": _DEMO, "en": _DEMO, "zh": _DEMO}


@pytest.fixture(scope="module")
def prompted(models_dir: Path) -> WhisperRecognizer:
    return WhisperRecognizer(models_dir / "whisper-base", vocabulary=lambda language: TERMS.get(language, ()))


def test_a_venue_name_is_written_as_the_venue_writes_it(models_dir: Path, prompted: WhisperRecognizer) -> None:
    samples, rate = speak("ハーバーシネマはどこですか？", "ja")
    plain = WhisperRecognizer(models_dir / "whisper-base").transcribe(samples, rate)
    heard = prompted.transcribe(samples, rate)
    assert "Harbour Cinema" not in plain.text  # what the model writes by itself: katakana
    assert heard.language == "ja" and "Harbour Cinema" in heard.text


@pytest.mark.parametrize("language", ["en", "ja", "zh"])
def test_silence_and_noise_do_not_come_back_as_the_prompt(prompted: WhisperRecognizer, language: str) -> None:
    quiet_room = with_silence(np.zeros(0, np.float32), 1.0, 1.0, noise_dbfs=-30.0, seed=3)
    for audio in (np.zeros(2 * RATE, np.float32), quiet_room, noise(2 * RATE, -40.0, seed=5)):
        heard = prompted.transcribe(audio, RATE, language=language)
        assert not any(term.lower() in heard.text.lower() for term in TERMS[language] if term != "ATM"), heard.text


def test_the_prompt_keeps_unknown_names_within_its_budget_and_knows_its_echo(models_dir: Path) -> None:
    model = _load_model(models_dir / "whisper-base", WhisperConfig())
    prompt = prompt_build(("ATM", "FreshMart", "Airport Express", "Harbour Medical Centre", "Wellcare"), "en",
                          model.hf_tokenizer, max_tokens=8)
    assert prompt is not None
    # ATM and Airport Express are words it knows; Wellcare is over the budget
    assert prompt.terms == ("FreshMart", "Harbour Medical Centre")
    assert len(prompt.tokens) <= 8
    assert copies_prompt("FreshMart, Harbour Medical Centre.", prompt)
    assert not copies_prompt("Is FreshMart near the Harbour Medical Centre?", prompt)
