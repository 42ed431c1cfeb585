"""Which Whisper model hears which language: settings parsed, unusable models replaced by base, said by doctor.

"small" here is a directory of links to the provisioned base model's files: what is tested is the
choice of directories (present, complete, intact), not what the model inside knows.
"""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avatar_runtime.asr.by_language import RecognizerByLanguage
from avatar_runtime.asr.ctranslate2_file import ctranslate2_problem
from avatar_runtime.asr.whisper import WhisperConfig, WhisperRecognizer, _models
from avatar_runtime.asr.whisper_models import (
    ModelChoice,
    model_choice,
    model_problem,
    parse_beam_sizes,
    parse_by_language,
)
from avatar_runtime.doctor import DEGRADED, OK, DoctorConfig, check_asr
from bench.asr_real_speech import DATA
from bench.speech_scoring import error_rate

BASE_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")


@pytest.fixture
def models(tmp_path: Path, models_dir: Path) -> Path:
    """A MODELS_DIR with the real base model (linked) and no small one."""
    (tmp_path / "whisper-base").symlink_to(models_dir / "whisper-base")
    return tmp_path


def small_from(models: Path, *, truncate_to: int | None = None) -> Path:
    """MODELS_DIR/whisper-small made of base's files; ``truncate_to`` cuts its model.bin to that many bytes."""
    small = models / "whisper-small"
    small.mkdir()
    for name in BASE_FILES:
        (small / name).symlink_to(models / "whisper-base" / name)
    if truncate_to is not None:
        (small / "model.bin").unlink()
        with (models / "whisper-base" / "model.bin").open("rb") as whole:
            (small / "model.bin").write_bytes(whole.read(truncate_to))
    return small


def test_language_entries_are_parsed_and_bad_ones_named() -> None:
    chosen, notes = parse_by_language(" zh:small, ja : small,, ko:large, xx:base, en ")
    assert chosen == {"zh": "small", "ja": "small"}
    assert [n.split("'")[1] for n in notes] == ["ko:large", "xx:base", "en"]


def test_beam_sizes_per_language_are_parsed_and_used_where_given() -> None:
    beams, notes = parse_beam_sizes("ja:5, zh:3, ko:0, en:wide, xx:2")
    assert beams == {"ja": 5, "zh": 3}
    assert [n.split("'")[1] for n in notes] == ["ko:0", "en:wide", "xx:2"]
    config = WhisperConfig(beam_size=1, beam_sizes=beams)
    assert (config.beam_for("ja"), config.beam_for("zh"), config.beam_for("en")) == (5, 3, 1)


def test_nothing_set_is_base_for_every_language(models: Path) -> None:
    choice = model_choice("base", "", models)
    assert choice == ModelChoice("base", {}, ())
    assert choice.model_for("zh") == "base" and choice.describe() == "base"


def test_a_missing_small_model_falls_back_to_base_and_says_why(models: Path) -> None:
    choice = model_choice("small", "ja:small", models)
    assert (choice.default, dict(choice.by_language)) == ("base", {})
    (note,) = choice.notes
    assert "AVATAR_ASR_MODEL=small" in note and "whisper-small lacks model.bin" in note and note.endswith("base instead")


def test_a_provisioned_small_model_serves_the_languages_given(models: Path) -> None:
    small_from(models)
    choice = model_choice("base", "zh:small,yue:small,ja:base", models)
    assert (choice.default, dict(choice.by_language), choice.notes) == ("base", {"zh": "small", "yue": "small"}, ())
    assert choice.model_for("ja") == "base" and choice.model_for("yue") == "small"
    assert choice.describe() == "base; zh, yue: small"
    everything = model_choice("small", "en:base", models)
    assert (everything.default, dict(everything.by_language)) == ("small", {"en": "base"})


def test_a_truncated_small_model_is_refused(models: Path) -> None:
    # As the registry's Whisper small upload is: whole files, too short.
    small_from(models, truncate_to=20_000_000)
    choice = model_choice("base", "zh:small", models)
    assert dict(choice.by_language) == {}
    assert "model.bin is truncated: variable" in choice.notes[0]


def test_the_ctranslate2_check_reads_whole_short_and_foreign_files(models: Path, tmp_path: Path) -> None:
    base = models / "whisper-base"
    assert ctranslate2_problem(base / "model.bin") is None
    assert "not a CTranslate2 model" in (ctranslate2_problem(base / "config.json") or "")
    header = tmp_path / "header.bin"
    header.write_bytes((base / "model.bin").read_bytes()[:40])
    assert "truncated inside its variable table" in (ctranslate2_problem(header) or "")


def test_doctor_shows_the_models_and_the_fallback(models: Path) -> None:
    asked = check_asr(DoctorConfig(models_dir=models, asr_backend="whisper", asr_model="small",
                                   asr_model_by_language="zh:small", asr_beam_size=5))
    assert asked.status == DEGRADED
    assert "faster-whisper base from MODELS_DIR (beam 5, 1 thread" in asked.reason
    assert "AVATAR_ASR_MODEL=small, but" in asked.reason and "base instead" in asked.reason
    small_from(models)
    served = check_asr(DoctorConfig(models_dir=models, asr_backend="whisper", asr_model_by_language="zh:small",
                                    asr_beam_size_by_language="ja:5,zh:5,en:1"))
    assert served.status == OK
    assert "faster-whisper base; zh: small from MODELS_DIR (beam 1 (ja, zh: 5), 1 thread;" in served.reason


def _real_clip(name: str) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(DATA / name, dtype="float32")
    return samples, int(rate)


@pytest.mark.slow
def test_a_language_with_its_own_model_is_heard_again_by_it(models: Path) -> None:
    # "small" (base's files, loaded on one thread so that its model is told apart in the process's
    # model cache) serves Mandarin; English stays with the default model.
    small = small_from(models)
    by_language = RecognizerByLanguage(WhisperRecognizer(models / "whisper-base"),
                                       {"zh": WhisperRecognizer(small, WhisperConfig(cpu_threads=1))})
    small_key = (small.resolve(), 1, "int8")
    english = by_language.transcribe(*_real_clip("en-librispeech-1995-1837-0001.wav"))
    assert english.language == "en" and small_key not in _models
    mandarin = by_language.transcribe(*_real_clip("zh-aishell1-BAC009S0764W0121.wav"))
    assert small_key in _models
    assert mandarin.language == "zh" and "交易" in mandarin.text
    assert max(mandarin.language_probabilities, key=mandarin.language_probabilities.__getitem__) == "zh"


@pytest.mark.slow
def test_whisper_small_when_provisioned_hears_real_mandarin(models_dir: Path) -> None:
    small = models_dir / "whisper-small"
    problem = model_problem(small)
    if problem is not None:
        pytest.skip(f"Whisper small is not provisioned ({problem}): no registry package carries it intact, "
                    "see bench/results/asr_models.md")
    result = WhisperRecognizer(small).transcribe(*_real_clip("zh-aishell1-BAC009S0764W0121.wav"))
    assert result.language == "zh"
    assert error_rate("甚至出现交易几乎停滞的情况", result.text, "zh") <= 0.1, result.text
