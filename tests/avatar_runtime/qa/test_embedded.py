import numpy as np
import pytest

from avatar_runtime.qa.embedded import CONFIDENCE_THRESHOLD, EmbeddedScorer, mouth_signal
from avatar_runtime.qa.media import ClipError
from avatar_runtime.render.clip import write_clip
from avatar_runtime.render.portrait.animator import Pose
from avatar_runtime.render.portrait.renderer import build_warper
from avatar_runtime.render.portrait.visemes import MouthShape
from tests.avatar_runtime.qa.clips import rendered, shifted
from tests.avatar_runtime.render.media import astronaut

scorer = EmbeddedScorer()


@pytest.mark.slow
def test_estimated_offset_follows_the_audio_shift() -> None:
    images, audio = rendered("museum")
    for k in range(-10, 11):
        result = scorer.score_media(images, shifted(audio, k, len(images)), 25, 16000)
        if abs(k) <= 8:
            assert abs(result.offset_frames - k) <= 1, (k, result)
            assert result.confidence > CONFIDENCE_THRESHOLD, (k, result)


@pytest.mark.slow
@pytest.mark.parametrize("k", [-6, 0, 5])
def test_scores_an_mp4_with_its_sign_convention(tmp_path, k: int) -> None:
    images, audio = rendered("help")
    path = write_clip(tmp_path / "clip.mp4", images, shifted(audio, k, len(images)), 25, 16000)
    result = scorer.score(path)
    assert result.scorer == "embedded"
    assert abs(result.offset_frames - k) <= 1  # k > 0: the audio was delayed, i.e. it is later than the video
    assert result.confidence > CONFIDENCE_THRESHOLD and 0 <= result.min_dist < 1.0


@pytest.mark.slow
def test_unrelated_audio_is_not_judged_in_sync() -> None:
    for video, sound in (("museum", "help"), ("help", "museum")):
        images, _ = rendered(video)
        _, audio = rendered(sound)
        result = scorer.score_media(images, shifted(audio, 0, len(images)), 25, 16000)
        own = scorer.score_media(images, rendered(video)[1], 25, 16000)
        assert result.confidence < CONFIDENCE_THRESHOLD < own.confidence
        assert result.min_dist > own.min_dist


def test_the_mouth_signal_follows_the_opening_not_the_width() -> None:
    warper = build_warper(astronaut())
    shapes = [MouthShape(), MouthShape(jaw=0.5), MouthShape(jaw=0.5, width=-1.0), MouthShape(jaw=0.5, width=1.0),
              MouthShape(jaw=1.0), MouthShape(jaw=0.5, press=1.0)]
    closed, half, rounded, spread, wide, pressed = mouth_signal([warper.draw(Pose(mouth=m, blink=0.0)) for m in shapes])
    opening = half - closed
    assert opening > 0.03  # face widths: the lips part by a few percent of the face
    # rounding or spreading the lips at the same jaw hardly changes it (the mouth's dark area changes by half)
    assert abs(rounded - half) < 0.15 * opening and abs(spread - half) < 0.15 * opening
    assert wide - closed > 1.7 * opening
    assert abs(pressed - closed) < 0.1 * opening


def test_a_clip_without_a_face_is_an_error() -> None:
    blank = [np.full((256, 256, 3), 200, np.uint8)] * 50
    with pytest.raises(ClipError) as err:
        scorer.score_media(blank, np.zeros(50 * 640, np.float32), 25, 16000)
    assert err.value.code == "clip_no_face"


def test_a_too_short_clip_is_an_error() -> None:
    images, audio = rendered("short")
    with pytest.raises(ClipError) as err:
        scorer.score_media(images[:20], audio[: 20 * 640], 25, 16000)
    assert err.value.code == "clip_too_short"


def test_a_file_that_is_not_a_clip_is_an_error(tmp_path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("not a video")
    with pytest.raises(ClipError) as err:
        scorer.score(path)
    assert err.value.code == "clip_unreadable"
