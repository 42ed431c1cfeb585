"""Decoding clips for scoring: RGB frames and 16 kHz mono audio on the video's timeline."""
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from scipy.signal import resample_poly

from avatar_runtime.pipeline.messages import Image, Samples
from common.errors import ApplicationError

SAMPLE_RATE = 16000
MAX_CLIP_SECONDS = 600


class ClipError(ApplicationError):
    """``code``: ``clip_unreadable``, ``clip_no_audio``, ``clip_no_video``, ``clip_no_face``, ``clip_too_short``."""


@dataclass(frozen=True)
class DecodedClip:
    images: list[Image]
    fps: float
    audio: Samples  # sample 0 plays with the first frame
    sample_rate: int


def decode_clip(path: Path | str) -> DecodedClip:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ClipError("clip_no_video", "The clip has no video.")
            if not container.streams.audio:
                raise ClipError("clip_no_audio", "The clip has no audio.")
            video = container.streams.video[0]
            fps = float(video.average_rate or 25)
            images: list[Image] = []
            video_start = None
            for picture in container.decode(video):
                if video_start is None:
                    video_start = picture.time or 0.0
                images.append(np.asarray(picture.to_ndarray(format="rgb24"), dtype=np.uint8))
                if len(images) > MAX_CLIP_SECONDS * fps:
                    raise ClipError("clip_too_long", f"Clips longer than {MAX_CLIP_SECONDS} s are not scored.")
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            chunks, audio_start = [], None
            for frame in container.decode(stream):
                if audio_start is None:
                    audio_start = frame.time or 0.0
                data = frame.to_ndarray().astype(np.float32)
                channels = len(frame.layout.channels)
                mono = data.mean(axis=0) if frame.format.is_planar else data.reshape(-1, channels).mean(axis=1)
                if frame.format.name.startswith("s16"):
                    mono /= 32768.0
                chunks.append(mono)
            rate = stream.rate
    except av.FFmpegError as exc:
        raise ClipError("clip_unreadable", "The clip cannot be decoded.") from exc
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if rate != SAMPLE_RATE:
        common = np.gcd(rate, SAMPLE_RATE)
        audio = resample_poly(audio, SAMPLE_RATE // common, rate // common).astype(np.float32)
    # put audio sample 0 where the first video frame is
    lead = round(((audio_start or 0.0) - (video_start or 0.0)) * SAMPLE_RATE)
    audio = np.concatenate([np.zeros(lead, np.float32), audio]) if lead > 0 else audio[-lead:]
    return DecodedClip(images, fps, audio.astype(np.float32), SAMPLE_RATE)
