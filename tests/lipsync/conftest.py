"""Avatar turns with real rendered answer clips, for the lip-sync QA jobs, flags and screens."""
import functools
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from avatar_runtime.render.clip import write_clip
from avatars.models import Avatar
from conversations.models import Conversation, Turn
from kiosk.models import Kiosk, Venue
from tests.avatar_runtime.qa.clips import rendered, shifted


@functools.cache
def clip_bytes(kind: str) -> bytes:
    """The astronaut saying "Tickets are sold at the entrance." as an mp4: ``matched`` audio (or its
    ``first-frames``), the audio ``late`` by 4 frames; or ``mismatched``: the 7 s "help" sentence's lips with the museum
    sentence's audio (on clips of 2-3 s, unrelated audio can correlate by chance up to ~0.55)."""
    images, audio = rendered("short")
    if kind == "late":
        audio = shifted(audio, 4, len(images))
    elif kind == "first-frames":  # 0.6 s: enough windows for SyncNet, quick on a loaded CPU
        images, audio = images[:15], audio[: 15 * 640]
    elif kind == "mismatched":
        images = rendered("help")[0]
        audio = shifted(rendered("museum")[1], 0, len(images))
    with tempfile.TemporaryDirectory() as tmp:
        return write_clip(Path(tmp) / "clip.mp4", images, audio, 25, 16000).read_bytes()


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.QA_SAMPLE_RATE = 1.0
    settings.AVATAR_QA_BACKEND = "embedded"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # console logins, quickly


TurnFactory = Callable[..., Turn]


@pytest.fixture
def avatar_turn(db: None) -> TurnFactory:
    """An avatar's answer in a conversation at a kiosk showing ``avatar`` (created on first use)."""
    venue = Venue.objects.create(name="Mall")
    kiosks: dict[str, Kiosk] = {}

    def factory(*, avatar: str = "Astronaut", voice: str = "offline:en_US-amy", language: str = "en",
                clip: bytes | None = None, spoken_voice: str = "") -> Turn:
        kiosk = kiosks.get(avatar)
        if kiosk is None:
            face = Avatar.objects.create(name=avatar, source="avatars/face.png", status=Avatar.Status.READY)
            kiosk = kiosks[avatar] = Kiosk.objects.create(name=f"Kiosk {avatar}", venue=venue, avatar=face)
        conversation = Conversation.objects.create(public_id=uuid.uuid4(), kiosk=kiosk, languages=[language])
        turn = Turn.objects.create(conversation=conversation, public_id=uuid.uuid4(), index=1, role=Turn.Role.AVATAR,
                                   text="Tickets are sold at the entrance.", language=language, voice=voice,
                                   spoken_voice=spoken_voice, complete=True)
        if clip is not None:
            turn.answer_clip.save("answer.mp4", ContentFile(clip), save=True)
        return turn

    return factory
