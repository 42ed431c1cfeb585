"""Contact sheets of the CPU portrait renderer, for eyes rather than numbers.

For each sentence (espeak-ng, one per language), the mouth region of every 2nd frame; the whole
face over 6 s of idle (every 3rd frame), so head motion, blinks and breathing show; and 2 s each
of idle, listening and thinking (every 3rd frame, one row per state); and a video avatar (the
photo panned and zoomed) idling, then speaking over its idle loop (every 3rd frame).
Written as PNGs under ``docs/face/`` with a suffix (``before``/``after`` a change).

    python bench/face_contact_sheets.py after
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import soundfile as sf
from PIL import Image as PILImage
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from avatar_runtime.render.clip import render_offline
from avatar_runtime.render.portrait.clock import VirtualClock
from avatar_runtime.render.portrait.idle_loop import build_idle_loop
from avatar_runtime.render.portrait.prepare import PortraitAvatar, prepare_portrait
from avatar_runtime.render.portrait.renderer import PortraitRenderer

SENTENCES = {
    "en": ("en", "Maybe you should move the blue boat to the beach."),
    "zh": ("cmn", "欢迎光临博物馆，二楼有咖啡。"),
    "yue": ("yue", "洗手間喺二樓，電梯喺左邊。"),
    "ja": ("ja", "チケット売り場は入口の右側です。"),
    "ko": ("ko", "매표소는 입구 오른쪽에 있습니다."),
}
OUT = Path(__file__).resolve().parents[1] / "docs" / "face"
COLUMNS = 10


def speak(voice: str, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
        samples, rate = sf.read(path, dtype="float32")
    return resample_poly(samples, 16000 // 50, rate // 50).astype(np.float32)


def grid(tiles: list[np.ndarray], columns: int = COLUMNS) -> np.ndarray:
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    sheet = np.full((rows * (h + 2), columns * (w + 2), 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * (h + 2) : r * (h + 2) + h, c * (w + 2) : c * (w + 2) + w] = tile
    return sheet


def save(name: str, image: np.ndarray) -> None:
    """A 256-colour PNG: a few hundred kB that still shows teeth and lips."""
    path = OUT / name
    PILImage.fromarray(image).quantize(colors=256).save(path, optimize=True)
    print(path, image.shape[1], "x", image.shape[0], f"{path.stat().st_size // 1024} kB")


def mouth_sheet(avatar: PortraitAvatar, audio: np.ndarray) -> np.ndarray:
    rig = avatar.rig
    rows, cols = rig.to_output(rig.mouth).expand(1.7, 3.6).slices()
    frames = render_offline(avatar, audio, 16000, tail_s=0.2, seed=0)
    tiles = []
    for frame in frames[::2]:
        patch = frame.image[rows, cols]
        tiles.append(cv2.resize(patch, (120, int(120 * patch.shape[0] / patch.shape[1])), interpolation=cv2.INTER_AREA))
    return grid(tiles)


def idle_sheet(avatar: PortraitAvatar) -> np.ndarray:
    rig = avatar.rig
    rows, cols = rig.to_output(rig.face).expand(1.5, 1.5).slices()
    renderer = PortraitRenderer(avatar, clock=VirtualClock(), seed=0)
    frames = [renderer.render_next() for _ in range(150)]
    tiles = [cv2.resize(f.image[rows, cols], (96, 96), interpolation=cv2.INTER_AREA) for f in frames[::3]]
    return grid(tiles)


def states_sheet(avatar: PortraitAvatar) -> np.ndarray:
    """One renderer told idle, then listening, then thinking: 2 s of each, a row per state."""
    rig = avatar.rig
    rows, cols = rig.to_output(rig.face).expand(1.5, 1.5).slices()
    renderer = PortraitRenderer(avatar, clock=VirtualClock(), seed=0)
    tiles = []
    for state in ("idle", "listening", "thinking"):
        renderer.set_state(state)
        frames = [renderer.render_next() for _ in range(51)]
        tiles += [cv2.resize(f.image[rows, cols], (96, 96), interpolation=cv2.INTER_AREA) for f in frames[::3]]
    return grid(tiles, columns=17)


def video_sheet(avatar: PortraitAvatar, video: bytes, audio: np.ndarray) -> np.ndarray:
    """2 s of a video avatar idling, then its sentence: the head moves as filmed, the mouth with it."""
    rig = avatar.rig
    rows, cols = rig.to_output(rig.face).expand(2.0, 2.0).clip(rig.settings.output_size, rig.settings.output_size).slices()
    renderer = PortraitRenderer(avatar, clock=VirtualClock(), seed=0, loop=build_idle_loop(video, avatar))
    frames = [renderer.render_next() for _ in range(50)] + render_offline(renderer, audio, 16000, tail_s=0.2)
    return grid([cv2.resize(f.image[rows, cols], (96, 96), interpolation=cv2.INTER_AREA) for f in frames[::3]])


def main() -> None:
    from skimage import data

    from tests.avatar_runtime.render.media import moving_portrait_video, png_bytes

    suffix = sys.argv[1] if len(sys.argv) > 1 else "after"
    OUT.mkdir(parents=True, exist_ok=True)
    avatar = prepare_portrait(png_bytes(data.astronaut()))
    for lang, (voice, text) in SENTENCES.items():
        save(f"mouth_{lang}_{suffix}.png", mouth_sheet(avatar, speak(voice, text)))
    save(f"idle_{suffix}.png", idle_sheet(avatar))
    save(f"states_{suffix}.png", states_sheet(avatar))
    save(f"video_loop_{suffix}.png", video_sheet(avatar, moving_portrait_video(), speak(*SENTENCES["en"])))


if __name__ == "__main__":
    import django

    django.setup()
    main()
