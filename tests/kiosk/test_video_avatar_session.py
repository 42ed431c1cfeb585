"""A kiosk showing a video avatar: its session's portrait renderer plays the prepared idle loop."""
import numpy as np
import pytest
from django.core.files.base import ContentFile

from avatar_runtime.factory import idle_loop_current, portrait_current
from avatar_runtime.render.portrait.clock import VirtualClock
from avatar_runtime.render.portrait.renderer import PortraitRenderer
from avatars.models import Avatar
from avatars.tasks import avatar_prepare_task
from kiosk.models import Kiosk, Venue
from kiosk.session_factory import kiosk_profile
from tests.avatar_runtime.render.media import moving_portrait_video

pytestmark = pytest.mark.django_db


def test_a_video_avatars_kiosk_renders_its_prepared_idle_loop(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    avatar = Avatar(name="moving")
    avatar.video.save("moving.mp4", ContentFile(moving_portrait_video()), save=False)
    avatar.save()
    assert avatar_prepare_task.apply((avatar.pk,)).get() == Avatar.Status.READY
    stored = list((tmp_path / "avatar-cache").glob("loop-*.npz"))
    kiosk = Kiosk.objects.create(name="K-video", venue=Venue.objects.create(name="V"), avatar=avatar)

    profile = kiosk_profile(kiosk.pk)
    loop = idle_loop_current(profile)
    assert loop is not None and list((tmp_path / "avatar-cache").glob("loop-*.npz")) == stored  # loaded, not rebuilt
    with np.load(stored[0]) as prepared:
        assert np.array_equal(loop.frames, prepared["frames"])
    renderer = PortraitRenderer(portrait_current(profile), clock=VirtualClock(), seed=0, loop=loop)
    first, later = renderer.render_next().image, [renderer.render_next().image for _ in range(20)][-1]
    assert np.array_equal(first, loop.frames[0]) and np.array_equal(later, loop.frames[20])  # idle: the video itself


def test_a_photo_avatar_has_no_idle_loop(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    avatar = Avatar.objects.create(name="photo", source="avatars/astronaut.png", status=Avatar.Status.READY)
    kiosk = Kiosk.objects.create(name="K-photo", venue=Venue.objects.create(name="V"), avatar=avatar)
    assert idle_loop_current(kiosk_profile(kiosk.pk)) is None
