"""SenseVoice: tagged raw output parsed into Recognition; model directory validated; funasr lazy."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from avatar_runtime.asr.sensevoice import (
    REQUIRED_FILES,
    SenseVoiceRecognizer,
    parse_output,
    parse_segments,
    resample,
    validate_model_dir,
)
from avatar_runtime.errors import ModelMissingError, ProviderError

DATA = Path(__file__).resolve().parents[2] / "data" / "sensevoice"

# file -> (text, language, emotion, events, language shares)
EXPECTED = {
    "zh_happy.json": ("请问停车场在哪里？", "zh", "happy", "speech", {"zh": 1.0}),
    "yue_neutral.json": ("唔該，洗手間喺邊度呀？", "yue", "neutral", "speech", {"yue": 1.0}),
    "en_bgm.json": ("What time does the mall close tonight?", "en", "neutral", "bgm", {"en": 1.0}),
    "ja_emo_unknown.json": ("すみません、駐車場は何時まで開いていますか？", "ja", "unknown", "speech", {"ja": 1.0}),
    "ko_laughter.json": ("주차는 3시간까지 무료인가요?", "ko", "happy", "laughter", {"ko": 1.0}),
    "nospeech.json": ("", "", "unknown", "unknown", {}),
    "applause_nospeech.json": ("", "", "unknown", "applause", {}),
    "en_zh_code_switch.json": ("Excuse me.请问洗手间在几楼？", "zh", "neutral", "speech", {"en": 0.357, "zh": 0.643}),
    "en_sad_woitn.json": ("i lost my wallet near gate three", "en", "sad", "speech", {"en": 1.0}),
    "yue_angry_multi.json": ("我排咗成個鐘喇！你哋幾點先開門呀？", "yue", "angry", "speech", {"yue": 1.0}),
}


def load(name: str) -> list[dict[str, str]]:
    return list(json.loads((DATA / name).read_text(encoding="utf-8")))


def test_every_recorded_output_has_an_expectation() -> None:
    assert sorted(p.name for p in DATA.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_outputs_parse_into_recognitions(name: str) -> None:
    text, language, emotion, events, shares = EXPECTED[name]
    recognition = parse_output(load(name))
    assert recognition.text == text
    assert recognition.language == language
    assert recognition.extras["emotion"] == emotion
    assert recognition.extras["events"] == events
    assert recognition.language_probabilities == shares
    assert recognition.confidence == (1.0 if text else 0.0)
    assert "<|" not in recognition.text


def test_segments_keep_their_own_tags() -> None:
    segments = parse_segments(load("en_zh_code_switch.json")[0]["text"])
    assert [(s.language, s.emotion, s.events, s.text_norm, s.text) for s in segments] == [
        ("en", "neutral", ["speech"], "withitn", "Excuse me."),
        ("zh", "neutral", ["speech"], "withitn", "请问洗手间在几楼？"),
    ]


def test_text_norm_is_reported() -> None:
    assert parse_output(load("zh_happy.json")).extras["text_norm"] == "withitn"
    assert parse_output(load("en_sad_woitn.json")).extras["text_norm"] == "woitn"


def test_latin_segments_are_joined_with_a_space_and_unknown_tags_ignored() -> None:
    raw = "<|en|><|NEUTRAL|><|Speech|><|withitn|>Hello there.<|en|><|HAPPY|><|Speech|><|withitn|><|NEWTAG|>Where is gate B?"
    recognition = parse_output([{"key": "k", "text": raw}])
    assert recognition.text == "Hello there. Where is gate B?"
    assert recognition.extras["emotion"] == "happy"  # the longest segment's


def test_empty_output_is_no_speech() -> None:
    recognition = parse_output([])
    assert (recognition.text, recognition.language, recognition.confidence) == ("", "", 0.0)


def test_missing_directory_is_reported_with_what_it_must_hold(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError) as caught:
        validate_model_dir(tmp_path / "SenseVoiceSmall")
    assert not caught.value.retryable
    assert "does not exist" in str(caught.value)
    assert all(name in str(caught.value) for name in REQUIRED_FILES)


def test_each_missing_file_is_listed(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("model: SenseVoiceSmall\n")
    (tmp_path / "am.mvn").write_text("")
    with pytest.raises(ModelMissingError) as caught:
        validate_model_dir(tmp_path)
    message = str(caught.value)
    assert "model.pt" in message and "chn_jp_yue_eng_ko_spectok.bpe.model" in message
    assert "config.yaml" not in message.split("missing", 1)[1]


def test_complete_directory_passes_validation(tmp_path: Path) -> None:
    for name in REQUIRED_FILES:
        (tmp_path / name).write_bytes(b"x")
    validate_model_dir(tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("funasr") is not None, reason="funasr is installed here")
def test_without_funasr_the_recognizer_fails_permanently(tmp_path: Path) -> None:
    for name in REQUIRED_FILES:
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(ProviderError) as caught:
        SenseVoiceRecognizer(tmp_path)
    assert not caught.value.retryable
    assert "funasr" in str(caught.value)


def test_audio_is_resampled_to_16k() -> None:
    tone = np.sin(2 * np.pi * 440 * np.arange(48_000) / 48_000).astype(np.float32)
    resampled = resample(tone, 48_000)
    assert resampled.dtype == np.float32
    assert len(resampled) == 16_000
    assert resample(resampled, 16_000) is resampled
