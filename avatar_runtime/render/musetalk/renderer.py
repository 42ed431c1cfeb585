"""``MuseTalkRenderer``: one kiosk session's view of the shared inference server (``Renderer`` protocol).

Output slot k is shown at ``t0 + k / fps``. Speech audio is cut into 40 ms frames; a frame gets
the next free slot as soon as its feature window's audio is there (120 ms look-ahead), at least
``start_delay`` ahead, so that its render has time to finish; consecutive frames take consecutive
slots while the audio keeps up, and the speech audio travels inside the frames, so sound and
mouth cannot drift apart. Frames whose window is silent skip the model: the base frame, after a
short crossfade from the last rendered face so the mouth closes. A render later than
``max_wait`` past its slot is replaced by the base frame (the audio still plays).
"""
import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import numpy as np

from avatar_runtime.pipeline.messages import Samples, VideoFrame
from avatar_runtime.render.base import Renderer
from avatar_runtime.render.musetalk.audio_features import Utterance
from avatar_runtime.render.musetalk.config import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from avatar_runtime.render.musetalk.prepare import PreparedAvatar
from avatar_runtime.render.musetalk.prerender import PrerenderedAnswer, PrerenderStore
from avatar_runtime.render.musetalk.scheduler import FrameJob, JobKind
from avatar_runtime.render.musetalk.server import MuseTalkServer

log = logging.getLogger(__name__)

DEFAULT_START_DELAY = 0.06  # seconds; where the server has no measured batch times
_SILENT_FRAME = np.zeros(SAMPLES_PER_FRAME, dtype=np.float32)
_SILENT_FRAME.flags.writeable = False


@dataclass(frozen=True)
class SessionSettings:
    # The first speech frame is shown this long after its audio is complete; None: as soon as the
    # server expects to have rendered it (the batch in flight, then a small one; 0.06 s where it
    # cannot tell, the CPU), which with the 75 ms cap left too little time (H100, issue #25).
    start_delay: float | None = DEFAULT_START_DELAY
    min_lead: float = 0.03  # a continuing frame keeps the next slot only if it is at least this far off
    max_wait: float = 0.2  # past its slot, a render is given up for the base frame
    silence_dbfs: float = -50.0  # frame windows quieter than this skip the model
    crossfade_frames: int = 3


@dataclass
class SessionStats:
    lateness: list[float] = field(default_factory=list)  # render done - slot time, per rendered frame
    first_frame: list[float] = field(default_factory=list)  # from an idle avatar: first speech frame shown - first audio
    replaced: int = 0  # renders given up for the base frame
    failed: int = 0  # frames the server failed (or, stopped, refused) to render: base frames shown
    underruns: int = 0  # speech audio arrived too late to continue on the next slot (a gap in the speech)
    compose_cpu_seconds: float = 0.0  # pasting rendered faces into the base frames
    replay_cpu_seconds: float = 0.0  # decoding pre-rendered crops


@dataclass
class _Slot:
    utterance: Utterance | None  # None: a fade after speech, silent
    frame: int  # index in the utterance
    job: FrameJob | None
    replay: PrerenderedAnswer | None = None  # frames rendered ahead: crop and base frame from here


class _Resampler:
    """Streaming resampling to 16 kHz (libswresample through PyAV), reset per utterance."""

    def __init__(self, rate: int) -> None:
        import av  # only sessions fed at other rates need it (GPU hosts without PyAV can run 16 kHz)

        self._av = av
        self.rate = rate
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def push(self, samples: Samples | None) -> Samples:
        frame = None
        if samples is not None:
            mono = np.ascontiguousarray(samples, dtype=np.float32)[None]
            frame = self._av.AudioFrame.from_ndarray(mono, format="flt", layout="mono")
            frame.sample_rate = self.rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, dtype=np.float32)


class MuseTalkRenderer(Renderer):
    """Keeps ``Renderer.set_state``'s default: its idle frames are the avatar's own video loop."""

    name = "musetalk"
    fps = FPS
    sample_rate = SAMPLE_RATE

    def __init__(self, server: MuseTalkServer, avatar: PreparedAvatar, *, session_id: str,
                 settings: SessionSettings | None = None, clock: Callable[[], float] = time.monotonic,
                 store: PrerenderStore | None = None) -> None:
        self.server = server
        self.avatar = avatar
        self.store = store  # answers rendered ahead (``prerendered``)
        self.session_id = session_id
        self.settings = settings or SessionSettings()
        self.stats = SessionStats()
        self._clock = clock
        self._device_avatar = server.attach(avatar)
        self._frames = avatar.frames.copy()
        self._frames.flags.writeable = False  # idle frames are handed out without a copy
        self._t0 = clock()
        self._next_emit = 0
        self._slots: dict[int, _Slot] = {}
        self._utterance: Utterance | None = None
        self._resampler: _Resampler | None = None
        self._assigned = 0  # frames of the utterance given a slot
        self._last_slot = -1
        self._first_push: float | None = None
        self._last_render: FrameJob | None = None  # the latest render assigned (source of fades)
        self._last_shown: FrameJob | None = None  # the latest render shown (source of the fade on barge-in)
        self._since_render = 0  # silent frames assigned since the last render
        self._played = 0  # frames of the current utterance shown
        self._closed = False

    def slot_time(self, slot: int) -> float:
        return self._t0 + slot / FPS

    # -- audio in ----------------------------------------------------------------------------
    def push_audio(self, samples: Samples, sample_rate: int) -> None:
        if self._utterance is None or self._utterance.flushed:
            self._utterance, self._assigned, self._played = Utterance(), 0, 0
            idle = self._last_slot < self._slot_after(0.0)
            self._first_push = self._clock() if idle else None
            self._last_render = None
            self._resampler = _Resampler(sample_rate) if sample_rate != SAMPLE_RATE else None
        if self._resampler is not None:
            if sample_rate != self._resampler.rate:
                raise ValueError(f"sample rate changed within an utterance: {self._resampler.rate} -> {sample_rate}")
            samples = self._resampler.push(samples)
        self._utterance.append(np.asarray(samples, dtype=np.float32))
        self._assign()

    def flush(self) -> None:
        if self._utterance is None or self._utterance.flushed:
            return
        if self._resampler is not None:
            self._utterance.append(self._resampler.push(None))
        self._utterance.flush()
        self._assign()
        self._fade_out(self._last_render, self._since_render)

    def prerendered(self, key: str) -> PrerenderedAnswer | None:
        """This avatar's frames rendered ahead for the cached audio ``key`` (blocking: a disk read)."""
        return self.store.load(self.avatar.key, key) if self.store is not None else None

    def play_prerendered(self, answer: PrerenderedAnswer, samples: Samples) -> None:
        """Speak a whole cached answer (16 kHz) with its frames rendered ahead: no GPU work.

        Its slots follow whatever is queued (or start ``min_lead`` from now); ``clear_buffer`` drops
        them like live ones. The answer's frames show the base frames they were rendered on.
        """
        self.flush()
        utterance = Utterance()
        utterance.append(np.asarray(samples, dtype=np.float32))
        utterance.flush()
        if utterance.ready_frames() != len(answer):
            raise ValueError(f"{len(answer)} pre-rendered frames for {utterance.ready_frames()} frames of audio")
        idle = self._last_slot < self._slot_after(0.0)
        self._utterance, self._assigned, self._played, self._resampler = utterance, len(answer), 0, None
        self._first_push = self._clock() if idle else None
        first = max(self._last_slot + 1, self._slot_after(self.settings.min_lead))
        for frame in range(len(answer)):
            self._slots[first + frame] = _Slot(utterance, frame, None, answer)
        self._last_slot = first + len(answer) - 1
        self._last_render, self._last_shown, self._since_render = None, None, 0

    def clear_buffer(self) -> float:
        """Drop queued speech at once; the mouth fades closed from the last face shown."""
        played = 0.0
        if self._utterance is not None:
            played = min(self._played * SAMPLES_PER_FRAME, self._utterance.n_samples) / SAMPLE_RATE
        self._drop_pending()
        self._last_slot = max(self._next_emit, self._slot_after(self.settings.min_lead)) - 1
        self._fade_out(self._last_shown, 0)
        return played

    def _drop_pending(self) -> None:
        for slot in [s for s in self._slots if s >= self._next_emit]:
            dropped = self._slots.pop(slot)
            if dropped.job is not None:
                dropped.job.cancelled = True
        self._utterance, self._resampler, self._first_push = None, None, None

    def _slot_after(self, seconds: float) -> int:
        return math.ceil((self._clock() + seconds - self._t0) * FPS)

    def _assign(self) -> None:
        """Give every newly computable frame of the utterance a slot and, if needed, a job."""
        utterance = self._utterance
        if utterance is None:
            return
        ready = utterance.ready_frames()
        for frame in range(self._assigned, ready):
            slot = self._last_slot + 1
            if frame == 0 or self.slot_time(slot) < self._clock() + self.settings.min_lead:
                slot = max(slot, self._slot_after(self._start_delay()))
                self.stats.underruns += int(frame > 0)
            self._slots[slot] = _Slot(utterance, frame, self._job(utterance, frame, slot))
            self._last_slot = slot
        self._assigned = max(self._assigned, ready)

    def _start_delay(self) -> float:
        if self.settings.start_delay is not None:
            return self.settings.start_delay
        expected = self.server.first_frame_delay()
        return DEFAULT_START_DELAY if expected is None else expected

    def _job(self, utterance: Utterance, frame: int, slot: int) -> FrameJob | None:
        if utterance.window_dbfs(frame) < self.settings.silence_dbfs:
            self._since_render += 1
            return self._fade_job(self._last_render, self._since_render, slot)
        job = FrameJob(session=self.session_id, avatar=self.avatar.key, frame=self.avatar.frame_index(slot),
                       deadline=self.slot_time(slot), kind=JobKind.RENDER, utterance=utterance, utterance_frame=frame)
        if not self._submit(job):
            return None
        self._last_render, self._since_render = job, 0
        return job

    def _submit(self, job: FrameJob) -> bool:
        """Queue ``job``; a stopped server leaves its slot to the base frame (the speech still plays)."""
        try:
            self.server.submit(job)
        except RuntimeError as exc:
            self._failed(exc)
            return False
        return True

    def _failed(self, exc: BaseException) -> None:
        self.stats.failed += 1
        if self.stats.failed == 1 or self.stats.failed % 100 == 0:
            log.warning("session %s: %d frames failed to render so far (%s); base frames shown",
                        self.session_id, self.stats.failed, exc)

    def _fade_job(self, source: FrameJob | None, step: int, slot: int) -> FrameJob | None:
        """Step ``step`` (1-based) of the crossfade from ``source``'s face to the base frame."""
        steps = self.settings.crossfade_frames
        if source is None or step > steps:
            return None
        job = FrameJob(session=self.session_id, avatar=self.avatar.key, frame=self.avatar.frame_index(slot),
                       deadline=self.slot_time(slot), kind=JobKind.FADE, fade_from=source,
                       fade_weight=1.0 - step / (steps + 1))
        return job if self._submit(job) else None

    def _fade_out(self, source: FrameJob | None, done: int) -> None:
        """Silent slots after the last assigned one that fade ``source``'s mouth out (``done`` steps taken)."""
        for step in range(done + 1, self.settings.crossfade_frames + 1):
            job = self._fade_job(source, step, self._last_slot + 1)
            if job is None:
                return
            self._last_slot += 1
            self._slots[self._last_slot] = _Slot(None, 0, job)
        self._last_render = None

    # -- frames out --------------------------------------------------------------------------
    async def frames(self) -> AsyncIterator[VideoFrame]:
        while not self._closed:
            slot = self._next_emit
            wait = self.slot_time(slot) - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            frame = await self._frame_for(slot)
            self._next_emit = slot + 1
            yield frame

    async def _frame_for(self, slot: int) -> VideoFrame:
        entry = self._slots.pop(slot, None)
        if entry is not None and entry.replay is not None:
            cpu = time.thread_time()
            index = int(entry.replay.base_frames[entry.frame])
            crop = entry.replay.crop(entry.frame)
            self.stats.replay_cpu_seconds += time.thread_time() - cpu
        else:
            index = self.avatar.frame_index(slot)
            crop = None if entry is None or entry.job is None else await self._result(entry.job, slot)
        image = self._frames[index]
        if crop is not None:
            cpu = time.thread_time()
            x1, y1, x2, y2 = (int(v) for v in self.avatar.crops[index])
            image = image.copy()
            image[y1:y2, x1:x2] = crop[: y2 - y1, : x2 - x1]
            self.stats.compose_cpu_seconds += time.thread_time() - cpu
        if entry is None or entry.utterance is None:
            return VideoFrame(image=image, pts=slot / FPS, audio=_SILENT_FRAME, sample_rate=SAMPLE_RATE, speaking=False)
        if entry.frame == 0 and self._first_push is not None and entry.utterance is self._utterance:
            self.stats.first_frame.append(self._clock() - self._first_push)
        if entry.utterance is self._utterance:
            self._played = entry.frame + 1
        audio = entry.utterance.frame_audio(entry.frame)
        return VideoFrame(image=image, pts=slot / FPS, audio=audio, sample_rate=SAMPLE_RATE, speaking=True)

    async def _result(self, job: FrameJob, slot: int) -> np.ndarray | None:
        timeout = self.slot_time(slot) + self.settings.max_wait - self._clock()
        waiter = asyncio.wrap_future(job.future)
        done, _ = await asyncio.wait({waiter}, timeout=max(0.0, timeout))
        if not done:
            job.cancelled = True
            self.stats.replaced += 1
            if self.stats.replaced == 1 or self.stats.replaced % 100 == 0:
                log.warning("session %s: %d frames not rendered in time so far (base frames shown)",
                            self.session_id, self.stats.replaced)
            return None
        error = waiter.exception()
        if error is not None:  # the server's batch failed (logged there): this session goes on
            self._failed(error)
            return None
        if job.kind is JobKind.RENDER:
            self._last_shown = job
            if job.done_at is not None:
                self.stats.lateness.append(job.done_at - self.slot_time(slot))
        return waiter.result()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._drop_pending()
        self.server.detach(self.avatar.key)
