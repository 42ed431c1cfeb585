"""WebSocket media fallback: frames as JPEG, audio as PCM16, both stamped with the audio clock.

Binary message layout sent to the browser (little endian):
  byte 0: kind (1 = video JPEG, 2 = audio PCM16 mono), bytes 1..8: pts (float64 seconds),
  then the payload. Up: PCM16 mono 16 kHz, 100 ms per message.
"""
import struct

import cv2
import numpy as np

from avatar_runtime.pipeline.messages import Samples, VideoFrame

VIDEO, AUDIO = 1, 2
_HEADER = struct.Struct("<Bd")
JPEG_QUALITY = 80


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(data.tobytes())


def pcm16_bytes(samples: Samples) -> bytes:
    clipped = np.clip(samples, -1.0, 1.0)
    return bytes((clipped * 32767.0).astype("<i2").tobytes())


def pcm16_samples(data: bytes) -> Samples:
    """PCM16 little-endian bytes to float32; an odd trailing byte is a malformed frame."""
    if len(data) % 2:
        raise ValueError("PCM16 audio must have an even number of bytes")
    return (np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0).astype(np.float32)


def frame_payload(frame: VideoFrame, quality: int = JPEG_QUALITY) -> dict[str, object]:
    """A frame as the channel-layer message body sent from worker to web."""
    return {"pts": frame.pts, "video": encode_jpeg(frame.image, quality), "audio": pcm16_bytes(frame.audio),
            "sample_rate": frame.sample_rate}


def pack(kind: int, pts: float, payload: bytes) -> bytes:
    return _HEADER.pack(kind, pts) + payload


def unpack(message: bytes) -> tuple[int, float, bytes]:
    if len(message) < _HEADER.size:
        raise ValueError("media message too short")
    kind, pts = _HEADER.unpack_from(message)
    return kind, pts, message[_HEADER.size:]
