"""The CPU portrait renderer: the ``Renderer`` protocol over a prepared photo.

Audio is the master clock. Frame ``k`` has ``pts = k / fps`` and carries the ``sample_rate / fps``
samples that play with it: the next slice of queued speech, or silence when idle. So the audio
of consecutive frames is the output audio stream, and the pts are positions in it.
"""
import asyncio
import logging
from collections.abc import AsyncIterator
from math import gcd

import cv2
import numpy as np
from scipy.signal import resample_poly

from avatar_runtime.capacity.stage_cpu import StageCpu
from avatar_runtime.pipeline.messages import Image, Samples, VideoFrame
from avatar_runtime.render.base import RENDER_FPS, RENDER_SAMPLE_RATE, Renderer
from avatar_runtime.render.portrait.animator import IdleMotion, Pose
from avatar_runtime.render.portrait.clock import Clock, LoopClock
from avatar_runtime.render.portrait.idle_loop import IdleLoop, LoopCompositor
from avatar_runtime.render.portrait.mouth import MouthGeometry
from avatar_runtime.render.portrait.prepare import PortraitAvatar
from avatar_runtime.render.portrait.visemes import JAW_RATES, REST, VisemeDriver
from avatar_runtime.render.portrait.warp import FaceWarper

logger = logging.getLogger(__name__)

EASE_RELEASE = 0.6  # closing the mouth when speech ended or was cut: closed within ~200 ms


def frame_base(avatar: PortraitAvatar) -> Image:
    """The photo cropped and scaled to the output frame."""
    rig = avatar.rig
    s = rig.scale
    transform = np.array([[s, 0, -rig.crop.x0 * s], [0, s, -rig.crop.y0 * s]], np.float32)
    size = rig.settings.output_size
    interpolation = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return np.asarray(cv2.warpAffine(avatar.image, transform, (size, size), flags=interpolation, borderMode=cv2.BORDER_REPLICATE))


def build_warper(avatar: PortraitAvatar) -> FaceWarper:
    rig = avatar.rig
    a, b, c = rig.lip_line
    geometry = MouthGeometry(
        mouth=rig.to_output(rig.mouth),
        lip_line=((a - rig.crop.y0) * rig.scale, b * rig.scale, c * rig.scale),
        face=rig.to_output(rig.face),
        teeth_visible=rig.teeth_visible,
    )
    return FaceWarper(frame_base(avatar), geometry, (rig.to_output(rig.left_eye), rig.to_output(rig.right_eye)))


class PortraitRenderer(Renderer):
    """Talking portrait at ``fps``, paced by ``clock`` (real time by default).

    ``seed`` fixes the blink timing and head sway (tests, reproducible clips). ``video_every``
    draws a new image only every that many frames (0: none, voice only), for a session degraded
    under load; the audio of every frame is the same whatever it is. Drawing counts as the
    "rendering" stage of ``cpu``. With ``loop`` (a video avatar's), the base image is the loop's
    frame on the audio clock and the head moves as in the video (the pose's head sway is not drawn).
    """

    name = "portrait"

    def __init__(
        self,
        avatar: PortraitAvatar,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        fps: int = RENDER_FPS,
        sample_rate: int = RENDER_SAMPLE_RATE,
        cpu: StageCpu | None = None,
        loop: IdleLoop | None = None,
    ) -> None:
        if sample_rate % fps:
            raise ValueError("sample_rate must be a multiple of fps")
        self.fps = fps
        self.sample_rate = sample_rate
        self._frame_len = sample_rate // fps
        self._clock: Clock = clock or LoopClock()
        self._warper = build_warper(avatar)
        self._loop = LoopCompositor(loop, self._warper) if loop is not None and len(loop) else None
        self._driver = VisemeDriver(sample_rate)
        self._motion = IdleMotion(avatar.rig.to_output(avatar.rig.face).width, seed=seed)
        self._pending: Samples = np.zeros(0, np.float32)  # queued speech of the current utterance
        self._played = 0  # samples of the current utterance already sent out in frames
        self._flushed = False
        self._release = JAW_RATES[1]
        self._energy = 0.0
        self._index = 0
        self._closed = False
        self.cpu = cpu or StageCpu()
        self.video_every = 1
        self._last_image: Image | None = None

    @property
    def speaking(self) -> bool:
        return len(self._pending) > 0

    def push_audio(self, samples: Samples, sample_rate: int) -> None:
        if self._flushed and not len(self._pending):  # the previous utterance is over: start a new one
            self._played = 0
            self._driver.reset_level()
        self._flushed = False
        audio = np.asarray(samples, dtype=np.float32).reshape(-1)
        if sample_rate != self.sample_rate:
            common = gcd(sample_rate, self.sample_rate)
            audio = resample_poly(audio, self.sample_rate // common, sample_rate // common).astype(np.float32)
        self._pending = np.concatenate([self._pending, audio])
        self._release = JAW_RATES[1]

    def flush(self) -> None:
        self._flushed = True

    def set_state(self, state: str) -> None:
        """Listening: attention and a slow nod; thinking: eyes up and aside, brows raised (``animator``)."""
        self._motion.set_state(state)

    def clear_buffer(self) -> float:
        played = self._played / self.sample_rate
        self._pending = np.zeros(0, np.float32)
        self._played = 0
        self._flushed = False
        self._release = EASE_RELEASE
        return played

    def _advance(self) -> tuple[Pose, Samples, bool, float]:
        """Move the clock one frame: take its audio and decide the pose (cheap; no drawing)."""
        n = self._frame_len
        pending = self._pending
        speaking = len(pending) >= n or (self._flushed and len(pending) > 0)
        if speaking:
            audio = np.zeros(n, np.float32)
            audio[: min(n, len(pending))] = pending[:n]
            lo, hi = self._driver.analysis_span(0, n)
            window = np.zeros(hi - lo, np.float32)
            ahead = pending[lo:hi]
            window[: len(ahead)] = ahead
            target = self._driver.target(window)
            self._played += min(n, len(pending))
            self._pending = pending[n:]
            if self._flushed and not len(self._pending):
                self._release = EASE_RELEASE
        else:
            audio = np.zeros(n, np.float32)
            target = REST
        mouth = self._driver.step(target, release=self._release)
        self._energy += 0.08 * (mouth.jaw - self._energy)
        pts = self._index / self.fps
        self._index += 1
        return self._motion.pose(pts, mouth, self._energy), audio, speaking, pts

    def render_next(self) -> VideoFrame:
        """The next frame, at once (offline rendering); ``frames`` paces the same on the clock."""
        pose, audio, speaking, pts = self._advance()
        return VideoFrame(self._draw(pose, pts), pts, audio, self.sample_rate, speaking)

    def _draw(self, pose: Pose, pts: float) -> Image:
        if self._loop is None:
            return self._warper.draw(pose)
        return self._loop.draw(pose, round(pts * self.fps))

    async def frames(self) -> AsyncIterator[VideoFrame]:
        start = self._clock.now() - self._index / self.fps
        while not self._closed:
            await self._clock.sleep_until(start + self._index / self.fps)
            if self._closed:
                break
            pose, audio, speaking, pts = self._advance()
            draw = self._last_image is None or (self.video_every > 0 and (self._index - 1) % self.video_every == 0)
            if draw:
                # drawing takes a few ms of numpy/OpenCV (GIL released): keep it off the event loop
                self._last_image = await asyncio.to_thread(self.cpu.measured("rendering", self._draw), pose, pts)
            assert self._last_image is not None
            yield VideoFrame(self._last_image, pts, audio, self.sample_rate, speaking, drawn=draw)

    async def close(self) -> None:
        self._closed = True
