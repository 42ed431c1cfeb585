"""A short portrait video as an avatar source: check it, then pick its best frontal frame.

The still is the frame where the face detector and the mouth locator are most certain: the rig's
boxes are found on it, and the video's idle loop (``idle_loop``) is tracked against it.
Decoding is bounded: the container is probed first, and only a few evenly spaced frames are
decoded and searched for a face.
"""
import io
from dataclasses import dataclass

import av
import numpy as np

from avatar_runtime.pipeline.messages import Image
from avatar_runtime.render.face import detect_faces, locate_features
from common.errors import ApplicationError

CANDIDATE_FRAMES = 8
# Demuxer name -> file extension: MP4 and MOV share one demuxer, WebM is Matroska's.
VIDEO_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "webm"}


class VideoError(ApplicationError):
    """``code``: ``video_unreadable`` or ``video_no_face``."""


@dataclass(frozen=True)
class VideoInfo:
    extension: str  # "mp4" (MP4 or MOV) or "webm"
    seconds: float
    width: int
    height: int


@dataclass(frozen=True)
class ChosenFrame:
    image: Image
    seconds: float  # where in the video it was taken
    face_score: float
    mouth_confidence: float


def probe_video(data: bytes) -> VideoInfo:
    """Container, duration and frame size, read from the headers (nothing is decoded)."""
    refused = "The file is not a video we can read (use MP4, WebM or MOV)."
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            extension = VIDEO_CONTAINERS.get(container.format.name)
            if extension is None or not container.streams.video:  # a photo demuxes as a one-frame "video"
                raise VideoError("video_unreadable", refused)
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            else:
                seconds = (container.duration or 0) / av.time_base
            return VideoInfo(extension, seconds, stream.codec_context.width, stream.codec_context.height)
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise VideoError("video_unreadable", refused) from exc


def _candidates(data: bytes, seconds: float) -> list[tuple[float, Image]]:
    """About ``CANDIDATE_FRAMES`` frames spread evenly over the video (the first one included)."""
    step = max(seconds, 1e-3) / CANDIDATE_FRAMES
    frames: list[tuple[float, Image]] = []
    next_at = 0.0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            for frame in container.decode(video=0):
                at = float(frame.time or 0.0)
                if at + 1e-6 >= next_at:
                    frames.append((at, np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)))
                    next_at = at + step
                    if len(frames) >= CANDIDATE_FRAMES:
                        break
    except av.FFmpegError as exc:
        raise VideoError("video_unreadable", "The video could not be decoded.") from exc
    if not frames:
        raise VideoError("video_unreadable", "The video has no frames.")
    return frames


def best_frame(data: bytes, seconds: float) -> ChosenFrame:
    """The frame showing one frontal face with the most certain mouth (face score breaks ties)."""
    best: ChosenFrame | None = None
    for at, image in _candidates(data, seconds):
        faces = detect_faces(image, min_face=max(40, min(image.shape[:2]) // 12))
        if len(faces) != 1:
            continue
        features = locate_features(image, faces[0].box)
        chosen = ChosenFrame(image, at, faces[0].score, features.mouth_confidence)
        if best is None or (chosen.mouth_confidence, chosen.face_score) > (best.mouth_confidence, best.face_score):
            best = chosen
    if best is None:
        raise VideoError("video_no_face", "No frame of the video shows one face clearly. Film one person facing "
                         "the camera, well lit.")
    return best
