"""An avatar's preview clip: a sample sentence spoken and rendered as a kiosk would show it.

The voice chain is the kiosk's own (``speech_synthesize``: the configured voice, offline voices
behind it) and the frames come from the embedded portrait renderer, offline (as fast as the CPU
allows), written as an H.264/AAC mp4 the console plays in a ``<video>``.
"""
import io
import tempfile
from pathlib import Path

import soundfile as sf

from avatar_runtime.render.clip import render_offline, write_frames
from avatar_runtime.render.portrait.clock import VirtualClock
from avatar_runtime.render.portrait.idle_loop import IdleLoop
from avatar_runtime.render.portrait.prepare import PortraitAvatar
from avatar_runtime.render.portrait.renderer import PortraitRenderer
from avatars.models import Avatar
from avatars.voices import SAMPLE_SENTENCES, speech_synthesize


def avatar_preview_language(avatar: Avatar) -> str:
    """The default language of a kiosk showing ``avatar``; else the default a new kiosk gets."""
    kiosks = avatar.kiosks  # reached through the relation: ``kiosk`` imports this app, not the other way round
    shown_on = kiosks.order_by("name").values_list("default_language", flat=True).first()
    return shown_on or str(kiosks.model._meta.get_field("default_language").get_default())


def avatar_preview_render(*, portrait: PortraitAvatar, language: str, loop: IdleLoop | None = None) -> bytes:
    """The mp4 of ``portrait`` saying the sample sentence of ``language`` (blocking, ~1-3 s of CPU),
    over a video avatar's idle ``loop`` when it has one."""
    spoken = speech_synthesize(text=SAMPLE_SENTENCES[language], language=language)
    samples, rate = sf.read(io.BytesIO(spoken.wav), dtype="float32")
    frames = render_offline(PortraitRenderer(portrait, clock=VirtualClock(), seed=0, loop=loop), samples, rate)
    with tempfile.TemporaryDirectory(prefix="avatar-preview-") as folder:
        return write_frames(Path(folder) / "preview.mp4", frames).read_bytes()
