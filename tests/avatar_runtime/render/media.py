"""Real test media, made on the spot: the demo photo and speech spoken by espeak-ng."""
import functools
import io
import subprocess
import tempfile
from pathlib import Path

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
