"""Recording the answer the kiosk actually played, as an mp4 for lip-sync QA and for review.

Each speaking frame is handed over, with the audio that played while it was shown, as it leaves
for the kiosk, and encoded on one background thread: neither the frame loop nor memory grows
with the answer's length. The thread, and the encoder's own threads it starts, run at background
priority (``common.priority``): the customer never sees this work, so it gives way to the media and
to recognition. A recording that falls behind (an overloaded machine) is abandoned rather than
allowed to hold frames back; one longer than ``max_seconds`` keeps its beginning.
"""
import asyncio
import collections
import concurrent.futures
import logging
import shutil
import tempfile
from pathlib import Path

from avatar_runtime.pipeline.messages import Image, Samples, VideoFrame
from avatar_runtime.render.clip import ClipWriter
from common.priority import BACKGROUND_NICE, run_this_thread_at

log = logging.getLogger(__name__)
MAX_BACKLOG = 50  # frames waiting for the encoder (2 s at 25 fps)
CLIP_CRF = 23
CLIP_PRESET = "veryfast"  # bench/answer_clip_encoding.py: its CPU per second of answer, and the scores


class AnswerRecorder:
    def __init__(self, *, fps: int, sample_rate: int, max_seconds: float, label: str = "") -> None:
        self.fps, self.sample_rate = fps, sample_rate
        self.max_frames = int(max_seconds * fps)
        self.label = label
        self.frames = 0
        self.abandoned = False
        # A nice value, not the idle class of a jobs process (common.priority): this thread takes the
        # interpreter's lock between frames, and one left waiting for an idle core would hold up the
        # sessions' event loop with it.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="answer-clip", initializer=run_this_thread_at, initargs=(BACKGROUND_NICE,))
        self._dir = Path(tempfile.mkdtemp(prefix="answer-clip-"))
        self._writer: ClipWriter | None = None
        self._backlog: collections.deque[concurrent.futures.Future[None]] = collections.deque()
        self._closed = False

    def add(self, frame: VideoFrame) -> None:
        """Record one played frame (call from the event loop; returns at once)."""
        if self._closed or self.abandoned or self.frames >= self.max_frames:
            return
        while self._backlog and self._backlog[0].done():
            self._backlog.popleft()
        if len(self._backlog) >= MAX_BACKLOG:
            self.abandoned = True
            log.warning("%s: answer recording abandoned, the encoder fell behind", self.label)
            return
        self._backlog.append(self._executor.submit(self._encode, frame.image, frame.audio))
        self.frames += 1

    def _encode(self, image: Image, audio: Samples) -> None:
        if self._writer is None:
            self._writer = ClipWriter(self._dir / "answer.mp4", fps=self.fps, sample_rate=self.sample_rate,
                                      crf=CLIP_CRF, preset=CLIP_PRESET)
        self._writer.add_image(image)
        self._writer.add_audio(audio)

    def _finish(self) -> bytes | None:
        try:
            if self._writer is None:
                return None
            path = self._writer.close()
            return None if self.abandoned else path.read_bytes()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    async def finish(self) -> bytes | None:
        """The mp4's bytes, or ``None`` when nothing was played or the recording was abandoned."""
        if self._closed:
            return None
        self._closed = True
        try:
            return await asyncio.wrap_future(self._executor.submit(self._finish))
        finally:
            self._executor.shutdown(wait=False)
