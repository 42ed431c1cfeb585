import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from avatar_runtime.render.clip import write_clip
from tests.avatar_runtime.qa.clips import rendered


@pytest.fixture
def clip(tmp_path):
    images, audio = rendered("short")
    return write_clip(tmp_path / "clip.mp4", images, audio, 25, 16000)


@pytest.mark.slow
def test_prints_the_score_as_json(clip, settings, tmp_path) -> None:
    settings.MODELS_DIR = tmp_path  # no SyncNet weights: auto means embedded
    out = StringIO()
    call_command("qa_score", str(clip), "--json", stdout=out)
    score = json.loads(out.getvalue())
    assert set(score) == {"scorer", "offset_frames", "confidence", "min_dist"}
    assert score["scorer"] == "embedded" and abs(score["offset_frames"]) <= 1 and score["confidence"] > 0.5


def test_syncnet_without_weights_fails_clearly(clip, settings, tmp_path) -> None:
    settings.MODELS_DIR = tmp_path
    with pytest.raises(CommandError, match=r"syncnet_v2\.model"):
        call_command("qa_score", str(clip), "--scorer", "syncnet")


def test_missing_file(tmp_path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        call_command("qa_score", str(tmp_path / "nope.mp4"))
