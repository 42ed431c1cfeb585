"""Real test media, made on the spot: the demo photo and speech spoken by espeak-ng."""
import functools
import io
import subprocess
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np
import soundfile as sf
from PIL import Image
from scipy.signal import resample_poly
from skimage import data

from avatar_runtime.render.portrait.prepare import PortraitAvatar, prepare_portrait

SENTENCES = {
    "museum": "Welcome to the museum. The exhibition on the second floor opens at ten o'clock, "
    "and guided tours start every hour.",
    "help": "Hello! I can help you find the restrooms, the cafe, and the ticket office. Please ask me anything.",
    "short": "Tickets are sold at the entrance.",
}


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


@functools.cache
def astronaut_png() -> bytes:
    return png_bytes(data.astronaut())


@functools.cache
def astronaut() -> PortraitAvatar:
    return prepare_portrait(astronaut_png())


@functools.cache
def spoken(text: str, voice: str = "en") -> np.ndarray:
    """``text`` spoken by espeak-ng, at 16 kHz float32."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
        samples, rate = sf.read(path, dtype="float32")
    return resample_poly(samples, 16000 // 50, rate // 50).astype(np.float32)


@functools.cache
def speech(name: str) -> tuple[np.ndarray, int]:
    """``SENTENCES[name]`` spoken by espeak-ng (22.05 kHz float32)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(path), SENTENCES[name]], check=True, capture_output=True)
        samples, rate = sf.read(path, dtype="float32")
    return samples, rate


def moving_portrait_motion(index: int, frames: int) -> np.ndarray:
    """The 2x3 transform (photo pixels -> video pixels) of frame ``index`` of :func:`moving_portrait_video`:
    a slow pan across and down, with a zoom in and back out."""
    t = index / frames
    matrix = cv2.getRotationMatrix2D((256.0, 256.0), 0.0, 1.0 + 0.06 * np.sin(np.pi * t))
    matrix[0, 2] += 24 * np.sin(2 * np.pi * t)
    matrix[1, 2] += 12 * t
    return matrix


@functools.cache
def moving_portrait_video(frames: int = 75, fps: int = 25) -> bytes:
    """The demo photo filmed with a slow pan and zoom (H.264 mp4 made with PyAV): the face moves."""
    photo = data.astronaut()
    height, width = photo.shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        for index in range(frames):
            image = np.asarray(cv2.warpAffine(photo, moving_portrait_motion(index, frames), (width, height),
                                              borderMode=cv2.BORDER_REFLECT), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()
