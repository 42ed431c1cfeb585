"""``manage.py doctor``: every stage reported with its backend and reason; broken parts fail."""
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

STAGES = {"vad", "asr", "retrieval", "llm", "tts", "render", "qa", "aec", "database", "channel_layer", "broker"}


def run_doctor() -> list[dict[str, object]]:
    out = StringIO()
    call_command("doctor", "--json", stdout=out)
    return list(json.loads(out.getvalue()))


@pytest.mark.django_db
def test_every_stage_has_a_working_embedded_backend() -> None:
    reports = {r["stage"]: r for r in run_doctor()}
    assert set(reports) == STAGES
    for stage, report in reports.items():
        assert report["status"] in {"ok", "degraded"}, (stage, report)
        assert report["reason"]
    assert reports["asr"]["backend"] == "whisper"
    assert reports["llm"]["backend"] == "extractive"
    assert reports["render"]["backend"] == "portrait"
    # What production lacks is spelled out, not just "not configured".
    assert any("SenseVoiceSmall" in m for m in reports["asr"]["missing_for_production"])  # type: ignore[union-attr]
    assert any("CUDA" in m for m in reports["render"]["missing_for_production"])  # type: ignore[union-attr]


@pytest.mark.django_db
def test_missing_asr_model_is_broken_and_exits_non_zero(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MODELS_DIR = tmp_path / "empty-models"
    out = StringIO()
    with pytest.raises(CommandError, match="broken: asr"):
        call_command("doctor", stdout=out)
    text = out.getvalue()
    assert "whisper" in text and "provision_models" in text


@pytest.mark.django_db
def test_sensevoice_directory_is_chosen_when_complete(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import importlib.util

    if importlib.util.find_spec("funasr") is None:
        pytest.skip("funasr not installed: SenseVoice cannot be chosen")
    for name in ("model.pt", "config.yaml", "am.mvn", "chn_jp_yue_eng_ko_spectok.bpe.model"):
        (tmp_path / "SenseVoiceSmall").mkdir(exist_ok=True)
        (tmp_path / "SenseVoiceSmall" / name).write_bytes(b"x")
    settings.MODELS_DIR = tmp_path
    reports = {r["stage"]: r for r in run_doctor()}
    assert reports["asr"]["backend"] == "sensevoice"


@pytest.mark.django_db
def test_an_asr_model_that_is_not_there_is_replaced_by_base_and_said(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "whisper-base").symlink_to(Path(settings.MODELS_DIR) / "whisper-base")
    settings.MODELS_DIR = tmp_path
    settings.AVATAR_ASR_MODEL = "small"
    asr = next(r for r in run_doctor() if r["stage"] == "asr")
    assert (asr["backend"], asr["status"]) == ("whisper", "degraded")
    assert "faster-whisper base from MODELS_DIR" in str(asr["reason"])
    assert "AVATAR_ASR_MODEL=small, but" in str(asr["reason"]) and "whisper-small lacks model.bin" in str(asr["reason"])
