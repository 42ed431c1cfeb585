"""Answers rendered ahead: the MuseTalk face crops of cached answer audio, made in idle GPU time.

A cached answer (the answer audio cache: same audio every time it plays) always gives the same
frames for the same avatar, so they are rendered once, through the inference server's idle queue
(``FrameJob.idle``: a batch only when no live frame is due), and stored on disk; the session then
replays them (``MuseTalkRenderer.play_prerendered``) at no GPU cost. Frames are rendered on the
avatar's base frames from the start of its loop (slot k of the answer shows base frame
``frame_index(k)``), so a replay starts the loop there.

Store layout: ``root/<audio key>/<digest>.npz``, the digest over the avatar key, the audio key and
the renderer configuration (architecture, weights, dtype, crop encoding): any change is another
file. ``invalidate``/``retain`` drop the entries of audio the cache no longer holds; ``evict``
keeps the store under ``max_bytes``, least recently played first.
"""
import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.render.musetalk.audio_features import Utterance
from avatar_runtime.render.musetalk.compile_cache import architecture_digest
from avatar_runtime.render.musetalk.prepare import PreparedAvatar
from avatar_runtime.render.musetalk.scheduler import FrameJob, JobKind
from avatar_runtime.render.musetalk.server import MuseTalkServer
from avatar_runtime.render.musetalk.weights import MuseTalkModels

log = logging.getLogger(__name__)

CROP_QUALITY = 92  # JPEG quality of stored crops (re-encoded for the client afterwards)
SILENCE_DBFS = -50.0  # frames quieter than this show the base frame (as a live session does)


def renderer_config(models: MuseTalkModels, quality: int = CROP_QUALITY, decode_from: int = 0) -> str:
    """What the rendered crops depend on besides avatar and audio: architecture, weights, dtype,
    encoding and the rows decoded (``EngineSettings.decode_from``)."""
    parts = [architecture_digest(models.unet.config, models.vae.config), models.fingerprint,
             str(models.dtype), f"jpeg{quality}", f"silence{SILENCE_DBFS}"] + ([f"rows{decode_from}"] if decode_from else [])
    return "-".join(parts)


@dataclass(frozen=True)
class PrerenderedAnswer:
    base_frames: npt.NDArray[np.int32]  # base frame index per speech frame
    crops: list[bytes | None]  # JPEG of the face crop per frame; None: a silent frame (base frame)

    def __len__(self) -> int:
        return len(self.crops)

    def crop(self, frame: int) -> npt.NDArray[np.uint8] | None:
        data = self.crops[frame]
        if data is None:
            return None
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"pre-rendered frame {frame} is not a JPEG")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.uint8)

    @property
    def nbytes(self) -> int:
        return sum(len(c) for c in self.crops if c is not None)


def _encode(crop: npt.NDArray[np.uint8], quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("crop could not be encoded")
    return data.tobytes()


class PrerenderStore:
    def __init__(self, root: Path, config: str, max_bytes: int) -> None:
        self.root = root
        self.config = config
        self.max_bytes = max_bytes

    def path(self, avatar_key: str, audio_key: str) -> Path:
        if not audio_key.isalnum():
            raise ValueError(f"not a content address: {audio_key!r}")
        digest = hashlib.sha256("\0".join([avatar_key, audio_key, self.config]).encode()).hexdigest()
        return self.root / audio_key / f"{digest}.npz"

    def has(self, avatar_key: str, audio_key: str) -> bool:
        """Whether frames are stored (not read, and not counted as played)."""
        return self.path(avatar_key, audio_key).is_file()

    def load(self, avatar_key: str, audio_key: str) -> PrerenderedAnswer | None:
        """The stored frames, or None (absent or unreadable: an unreadable file is removed)."""
        path = self.path(avatar_key, audio_key)
        try:
            with np.load(path) as data:
                blob, offsets, silent = data["blob"].tobytes(), data["offsets"], data["silent"]
                base_frames = data["base_frames"].astype(np.int32)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as exc:
            log.warning("pre-rendered answer %s unreadable (%s): removed", path.name, exc)
            path.unlink(missing_ok=True)
            return None
        now = time.time_ns()
        os.utime(path, ns=(now, now))  # least recently played goes first (a fine clock: files get coarse ones)
        crops = [None if silent[i] else blob[offsets[i]: offsets[i + 1]] for i in range(len(silent))]
        return PrerenderedAnswer(base_frames, crops)

    def save(self, avatar_key: str, audio_key: str, answer: PrerenderedAnswer) -> Path:
        path = self.path(avatar_key, audio_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        pieces = [c or b"" for c in answer.crops]
        offsets = np.cumsum([0, *map(len, pieces)]).astype(np.int64)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            np.savez(out, blob=np.frombuffer(b"".join(pieces), dtype=np.uint8), offsets=offsets,
                     silent=np.array([c is None for c in answer.crops]), base_frames=answer.base_frames)
        os.replace(tmp, path)
        self.evict()
        return path

    def invalidate(self, audio_key: str) -> None:
        """Drop every avatar's frames of this audio (the audio changed or left the cache)."""
        shutil.rmtree(self.root / audio_key, ignore_errors=True)

    def retain(self, audio_keys: set[str]) -> int:
        """Drop the frames of all audio not in ``audio_keys``; how many audio entries went."""
        gone = [d for d in self.root.iterdir() if d.is_dir() and d.name not in audio_keys] if self.root.is_dir() else []
        for directory in gone:
            shutil.rmtree(directory, ignore_errors=True)
        return len(gone)

    def size(self) -> int:
        return sum(f.stat().st_size for f in self.root.glob("*/*.npz"))

    def evict(self) -> int:
        """Remove the least recently played entries until the store fits ``max_bytes``."""
        files = sorted(self.root.glob("*/*.npz"), key=lambda f: f.stat().st_mtime_ns)
        total, removed = sum(f.stat().st_size for f in files), 0
        for file in files:
            if total <= self.max_bytes:
                break
            total -= file.stat().st_size
            file.unlink(missing_ok=True)
            removed += 1
        return removed


class Prerenderer:
    """Renders cached answers through the server's idle queue and stores them."""

    def __init__(self, server: MuseTalkServer, store: PrerenderStore, quality: int = CROP_QUALITY) -> None:
        self.server = server
        self.store = store
        self.quality = quality

    def ensure(self, avatar: PreparedAvatar, audio_key: str, samples: Samples, timeout: float = 600.0) -> bool:
        """Render and store ``samples`` (16 kHz, a whole answer) for ``avatar`` unless stored; True if rendered."""
        if self.store.load(avatar.key, audio_key) is not None:
            return False
        self.store.save(avatar.key, audio_key, self.render(avatar, samples, timeout))
        return True

    def render(self, avatar: PreparedAvatar, samples: Samples, timeout: float = 600.0) -> PrerenderedAnswer:
        utterance = Utterance()
        utterance.append(np.asarray(samples, dtype=np.float32))
        utterance.flush()
        count = utterance.ready_frames()
        base_frames = np.array([avatar.frame_index(k) for k in range(count)], dtype=np.int32)
        self.server.attach(avatar)
        try:
            futures: list[Future[npt.NDArray[np.uint8] | None] | None] = []
            for k in range(count):
                if utterance.window_dbfs(k) < SILENCE_DBFS:
                    futures.append(None)
                    continue
                job = FrameJob(session="prerender", avatar=avatar.key, frame=int(base_frames[k]), deadline=float("inf"),
                               kind=JobKind.RENDER, utterance=utterance, utterance_frame=k, idle=True)
                self.server.submit(job)
                futures.append(job.future)
            deadline = time.monotonic() + timeout
            crops = [None if f is None else f.result(max(0.0, deadline - time.monotonic())) for f in futures]
        finally:
            self.server.detach(avatar.key)
        return PrerenderedAnswer(base_frames, [None if c is None else _encode(c, self.quality) for c in crops])


def prerender_answers(prerenderer: Prerenderer, avatars: Sequence[PreparedAvatar],
                      answers: Iterable[tuple[str, Callable[[], Samples]]]) -> tuple[int, int]:
    """Bring the store in line with the answer audio cache, in idle GPU time: render every cached
    answer (key, loader of its 16 kHz audio) missing for an avatar, and drop the frames of audio
    the cache no longer holds. Returns (answers rendered, audio entries dropped). Once the store is
    full it renders no more (the answers come most recently played first), so rounds do not churn."""
    keys, made = set(), 0
    for key, load in answers:
        keys.add(key)
        missing = [a for a in avatars if not prerenderer.store.has(a.key, key)]
        if missing and prerenderer.store.size() < prerenderer.store.max_bytes:
            samples = load()
            made += sum(prerenderer.ensure(avatar, key, samples) for avatar in missing)
    return made, prerenderer.store.retain(keys)
