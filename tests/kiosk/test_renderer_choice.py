"""Which renderer the worker's sessions get (``AVATAR_RENDER_BACKEND``), and MuseTalk wired into a real session.

MuseTalk runs on the CPU here with tiny random-weight models saved in the official weight layout
(``tests/avatar_runtime/musetalk/conftest.py``), in a MODELS_DIR beside the embedded models.
"""
import asyncio
import contextlib
import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.core.management.base import CommandError

from avatar_runtime import factory
from avatar_runtime.errors import ModelMissingError
from avatar_runtime.render.musetalk.renderer import MuseTalkRenderer, SessionSettings
from avatar_runtime.render.portrait.renderer import PortraitRenderer
from avatar_runtime.render.selection import choose_renderer
from avatars.models import Avatar
from kiosk.models import Kiosk, Venue
from tests.avatar_runtime.musetalk.conftest import TINY_SPEC, speech, tiny_models, write_weight_dir
from tests.kiosk.live_worker import PHOTO, astronaut_media


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_weight_dir(tiny_models(face_parser=False), tmp_path_factory.mktemp("musetalk-weights"))


def test_auto_picks_musetalk_only_with_a_gpu_and_its_weights(tiny_weights: Path, tmp_path: Path) -> None:
    assert choose_renderer("auto", tiny_weights, cuda=True).backend == "musetalk"
    no_gpu = choose_renderer("auto", tiny_weights, cuda=False)
    assert (no_gpu.backend, no_gpu.reason) == ("portrait", "auto: no CUDA GPU, so the CPU portrait renderer")
    no_weights = choose_renderer("auto", tmp_path, cuda=True)
    assert no_weights.backend == "portrait" and "musetalkV15/unet.pth" in no_weights.reason
    assert choose_renderer("portrait", tiny_weights, cuda=True).backend == "portrait"


def test_forced_musetalk_without_weights_fails_with_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match=r"AVATAR_RENDER_BACKEND=musetalk but the weights are missing .*unet\.pth"):
        choose_renderer("musetalk", tmp_path, cuda=True)
    with pytest.raises(ValueError, match="expected one of auto, musetalk, portrait"):
        choose_renderer("gpu", tmp_path, cuda=True)


def _doctor_render() -> dict[str, object]:
    out = StringIO()
    with contextlib.suppress(CommandError):  # exit 1 when a stage is broken; the report is printed first
        call_command("doctor", "--json", stdout=out)
    return next(r for r in json.loads(out.getvalue()) if r["stage"] == "render")


@pytest.mark.django_db
def test_doctor_says_which_renderer_and_why(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = _doctor_render()  # this machine has no GPU
    assert report["backend"] == "portrait" and "auto: no CUDA GPU" in str(report["reason"])
    settings.AVATAR_RENDER_BACKEND = "musetalk"
    settings.MODELS_DIR = tmp_path
    report = _doctor_render()
    assert report["status"] == "broken" and "the worker will not start" in str(report["reason"])
    assert "AVATAR_RENDER_BACKEND=musetalk but the weights are missing" in str(report["reason"])


@pytest.fixture
def models_dir(settings, tiny_weights: Path, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """The embedded models and the tiny MuseTalk weights in one MODELS_DIR."""
    root = tmp_path / "models"
    root.mkdir()
    for entry in [*Path(settings.MODELS_DIR).iterdir(), *tiny_weights.iterdir()]:
        (root / entry.name).symlink_to(entry.resolve())
    settings.MODELS_DIR = root
    return root


@pytest.fixture
def musetalk_worker(settings, models_dir: Path, tmp_path: Path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A worker process's renderer as ``warm_up`` starts it with ``AVATAR_RENDER_BACKEND=musetalk``."""
    settings.AVATAR_RENDER_BACKEND = "musetalk"
    settings.MEDIA_ROOT = astronaut_media(tmp_path / "media")
    choice = factory.start_renderer(spec=TINY_SPEC)
    assert choice.backend == "musetalk"
    live = factory.live_musetalk()
    assert live is not None
    live.session_settings = SessionSettings(max_wait=30.0)  # CPU renders are slow: wait rather than replace them
    yield
    factory.stop_renderer()


def _kiosk(video: str = "") -> int:
    avatar = Avatar.objects.create(name="Astronaut", source=PHOTO, video=video, status=Avatar.Status.READY)
    return Kiosk.objects.create(name="K", venue=Venue.objects.create(name="V"), avatar=avatar,
                                languages=["en"], default_language="en").pk


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
async def test_a_session_renders_with_musetalk_on_the_audio_clock(musetalk_worker: None, settings) -> None:  # type: ignore[no-untyped-def]
    from kiosk.session_factory import session_factory

    kiosk_id = await database_sync_to_async(_kiosk)()
    session = await session_factory("mt-1", kiosk_id)
    renderer = session.backends.renderer
    assert isinstance(renderer, MuseTalkRenderer)
    live = factory.live_musetalk()
    assert live is not None and renderer.server is live.server
    # Prepared once for the worker, and stored beside the avatars' media for the next process.
    assert live.avatar(Path(settings.MEDIA_ROOT) / PHOTO) is renderer.avatar
    assert list((Path(settings.MEDIA_ROOT) / "avatar-cache").glob(f"musetalk-{renderer.avatar.key}.npz"))

    audio = speech(0.4, rate=24000)  # a voice's rate: the renderer resamples to 16 kHz
    renderer.push_audio(audio, 24000)
    renderer.flush()
    frames = []
    async for frame in renderer.frames():
        frames.append(frame)
        if len(frames) == 40:
            break
    await renderer.close()
    assert [round(f.pts * 25) for f in frames] == list(range(40))  # one frame per 40 ms slot, none skipped
    speaking = [f for f in frames if f.speaking]
    assert 9 <= len(speaking) <= 11  # 0.4 s of speech, in 40 ms frames that carry it
    assert all(f.audio.shape == (640,) and f.sample_rate == 16000 for f in frames)
    assert sum(float(np.abs(f.audio).sum()) for f in speaking) > 0
    base = renderer.avatar.frames
    assert all(not np.array_equal(f.image, base[renderer.avatar.frame_index(round(f.pts * 25))]) for f in speaking)
    assert renderer.stats.replaced == 0 and live.server.stats.rendered >= len(speaking)  # mouths from the model


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
async def test_an_avatar_musetalk_cannot_prepare_gets_the_portrait(musetalk_worker: None, settings, caplog) -> None:  # type: ignore[no-untyped-def]
    from avatar_runtime.render.clip import write_clip
    from kiosk.session_factory import session_factory

    # The avatar's video shows no face (a grey wall): MuseTalk finds none, the photo still animates.
    video = Path(settings.MEDIA_ROOT) / "avatars/video/wall.mp4"
    video.parent.mkdir(parents=True)
    wall = [np.full((128, 128, 3), 120, np.uint8)] * 5
    await asyncio.to_thread(write_clip, video, wall, np.zeros(3200, np.float32), 25, 16000)
    kiosk_id = await database_sync_to_async(_kiosk)("avatars/video/wall.mp4")
    session = await session_factory("mt-2", kiosk_id)
    assert isinstance(session.backends.renderer, PortraitRenderer)
    assert "MuseTalk unavailable (MuseTalk cannot prepare wall.mp4: no face found" in caplog.text
    await session.backends.renderer.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
async def test_a_stopped_server_leaves_the_session_speaking_over_its_base_frames(musetalk_worker: None) -> None:
    from kiosk.session_factory import session_factory

    session = await session_factory("mt-3", await database_sync_to_async(_kiosk)())
    renderer = session.backends.renderer
    assert isinstance(renderer, MuseTalkRenderer)
    renderer.server.stop()
    audio = speech(0.2)
    renderer.push_audio(audio, 16000)
    renderer.flush()
    frames = []
    async for frame in renderer.frames():
        frames.append(frame)
        if len(frames) == 20:
            break
    await renderer.close()
    speaking = [f for f in frames if f.speaking]
    assert np.array_equal(np.concatenate([f.audio for f in speaking])[: len(audio)], audio)  # every sample played
    base = renderer.avatar.frames
    assert all(np.array_equal(f.image, base[renderer.avatar.frame_index(round(f.pts * 25))]) for f in frames)
    assert renderer.stats.failed == len(speaking)
