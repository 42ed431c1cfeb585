"""One inference server per avatar worker: every session's frames go through one GPU thread.

Sessions (``MuseTalkRenderer``) submit frame jobs; a single thread takes the earliest-deadline jobs
of all sessions, encodes the audio segments they need in one Whisper batch, renders all their
faces in one UNet + VAE batch (padded to a fixed size, a CUDA graph replay on the GPU), composites
them per avatar on the device and hands each crop back through the job's future. No thread per
session: more sessions make bigger batches, not more contention for the GIL.
"""
import gc
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import InvalidStateError
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch

from avatar_runtime.render.musetalk.audio_features import Utterance
from avatar_runtime.render.musetalk.compile_cache import READY, CompileCache
from avatar_runtime.render.musetalk.compose import DeviceAvatar, composite, upload_avatar
from avatar_runtime.render.musetalk.config import WINDOW_ROWS
from avatar_runtime.render.musetalk.engine import EngineSettings, FrameEngine
from avatar_runtime.render.musetalk.prepare import PreparedAvatar
from avatar_runtime.render.musetalk.scheduler import EdfQueue, FrameJob, JobKind, batch_limit, choose_batch
from avatar_runtime.render.musetalk.weights import MuseTalkModels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerSettings:
    engine: EngineSettings = field(default_factory=EngineSettings)
    horizon: float = 1.0  # render at most this far ahead of a frame's slot
    overhead: float = 0.005  # first guess of what a batch spends beyond its graph (audio encoding, blending, copies)
    # A number: no batch slower than this (graph time); 75 ms lets batches of 32 run, which 16
    # sessions need on an H100 (bench/results/gpu_worker_nvidia_h100_80gb_hbm3*.md). None: batch
    # sizes follow the queued deadlines and the arrival rate (``choose_batch``) with each size's
    # measured batch time; it lost to the 75 ms cap at 16 sessions (batches of 32 are the only ones
    # that keep up there), so it is not the default.
    max_batch_seconds: float | None = 0.075
    # Render at least this many times the rate frames arrive at: frames come in bursts (a TTS chunk
    # is 5 frames a session), and a server near saturation queues them past their slots.
    headroom: float = 1.5
    margin: float = 0.01  # finish a frame this long before its slot
    urgent_batch: int = 4  # a newly urgent frame (first of an answer) is planned into a batch this small
    idle_batch: int = 8  # batches of idle work (answers rendered ahead) stay this small: live work waits little
    # Prepare the next batch on the host while the GPU renders this one (hides the 4-20 ms of host
    # work per batch measured on an H100); off until measured on a GPU: the device was not lent again.
    pipeline: bool = False
    freeze_gc: bool = True  # at start, exempt every object made so far from collection (no long GC pauses)
    poll: float = 0.05  # how often the idle thread checks for shutdown


@dataclass
class ServerStats:
    batches: int = 0
    rendered: int = 0
    padded: int = 0  # wasted rows of padded batches
    fades: int = 0
    encoded_segments: int = 0
    busy_seconds: float = 0.0
    idle_seconds: float = 0.0  # of busy_seconds: batches of idle work (answers rendered ahead)
    idle_rendered: int = 0
    cpu_seconds: float = 0.0  # CPU time of the thread that ran the batches (host-side cost of rendering)
    batch_sizes: Counter[int] = field(default_factory=Counter)


class MuseTalkServer:
    def __init__(self, models: MuseTalkModels, settings: ServerSettings | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.models = models
        self.settings = settings or ServerSettings()
        self.clock = clock
        self.engine = FrameEngine(models, self.settings.engine)
        self.queue = EdfQueue(self.settings.horizon, clock)
        self.stats = ServerStats()
        self._avatars: dict[str, DeviceAvatar] = {}
        self._users: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._batch_seconds: dict[int, float] = {}  # measured wall seconds per batch, by padded size
        self._busy_until = 0.0  # when the batches in flight should be done (clock time)
        self._last_finish = 0.0  # perf_counter when the last batch was handed out
        self.startup: dict[str, object] = {}  # how start() went: seconds, compile cache status

    @property
    def tokens(self) -> int:
        """Audio tokens per frame: 10 feature rows x every hidden state."""
        return WINDOW_ROWS * self.models.audio.hidden_states

    def start(self, compile_cache: CompileCache | None = None) -> None:
        """Compile and capture the CUDA graphs (GPU), then start the inference thread.

        With ``compile_cache``, compiled kernels are loaded from it first, and saved to it when its
        entry for this GPU and configuration was missing, stale or unreadable.
        """
        if self._thread is not None:
            raise RuntimeError("server already started")
        started = time.perf_counter()
        cache = None
        if compile_cache is not None and self.engine.compiled:
            fields = self.engine.cache_fields()
            cache = compile_cache.load(fields)
        self.engine.capture(self.tokens)
        self._batch_seconds = {size: cost + self.settings.overhead for size, cost in self.engine.costs.items()}
        seconds = time.perf_counter() - started
        if compile_cache is not None and cache is not None and cache.status != READY:
            compile_cache.save(fields, seconds)
        self.startup = {"seconds": seconds, "compile_cache": cache.status if cache else "unused",
                        "cache_key": cache.key if cache else None}
        log.info("musetalk server ready in %.1f s (compile cache %s)", seconds, self.startup["compile_cache"])
        if self.settings.freeze_gc:
            gc.collect()
            gc.freeze()  # the models' and libraries' objects: later collections need not walk them
        self._thread = threading.Thread(target=self._run, name="musetalk-inference", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.queue.close()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("musetalk inference thread did not stop within %.1f s", timeout)

    def attach(self, avatar: PreparedAvatar) -> DeviceAvatar:
        """The avatar's device copy, uploaded once and shared by every session that shows it."""
        with self._lock:
            if avatar.key not in self._avatars:
                self._avatars[avatar.key] = upload_avatar(avatar, self.models.device, self.models.dtype,
                                                          self.engine.upper_rows)
            self._users[avatar.key] += 1
            return self._avatars[avatar.key]

    def detach(self, key: str) -> None:
        with self._lock:
            self._users[key] -= 1
            if self._users[key] <= 0:
                del self._users[key]
                self._avatars.pop(key, None)

    def submit(self, job: FrameJob) -> None:
        if self.queue.closed:
            raise RuntimeError("musetalk server is stopped")
        self.queue.push(job)

    def _run(self) -> None:
        """Take, launch, then finish the batch launched before: with ``pipeline`` the host prepares
        (and afterwards hands out) one batch while the GPU renders the other."""
        pending: _Launched | None = None
        while not self.queue.closed:
            jobs = self.queue.take(self.batch_limit, 0.0 if pending else self.settings.poll, self.settings.idle_batch)
            launched = self._launch(jobs) if jobs else None
            if pending is not None:
                self._finish(pending)
            pending = launched
            if pending is not None and not self.settings.pipeline:
                self._finish(pending)
                pending = None
        if pending is not None:
            self._finish(pending)

    @property
    def batch_seconds(self) -> dict[int, float]:
        """Wall seconds a batch of each captured size takes (measured; empty on the CPU)."""
        return dict(self._batch_seconds)

    def sustained_fps(self) -> float | None:
        """Frames per second the server renders when its queue stays full: the best batch size the
        batch cap allows, at its measured wall time (GPU); without captured sizes (CPU), the frames
        it rendered per busy second so far. None before anything was measured."""
        cap, costs = self.settings.max_batch_seconds, self.engine.costs
        rates = [size / seconds for size, seconds in self._batch_seconds.items()
                 if seconds > 0 and (cap is None or costs.get(size, 0.0) <= cap)]
        if not rates and self.stats.busy_seconds > 0:
            rates = [self.stats.rendered / self.stats.busy_seconds]
        return max(rates, default=None)

    @property
    def live_rendered(self) -> int:
        """Frames rendered for sessions so far (not answers rendered ahead)."""
        return self.stats.rendered - self.stats.idle_rendered

    def batch_limit(self, earliest_deadline: float) -> int:
        start, cap = max(self.clock(), self._busy_until), self.settings.max_batch_seconds  # after what is in flight
        if cap is not None:
            slack = earliest_deadline - start - self.settings.overhead
            return batch_limit(self.engine.costs, slack, cap, self.engine.max_batch)
        deadlines = self.queue.render_deadlines(4 * self.engine.max_batch)
        return choose_batch(deadlines, start, self._batch_seconds, rate=self.queue.arrival_rate(),
                            headroom=self.settings.headroom, margin=self.settings.margin, fallback=self.engine.max_batch)

    def first_frame_delay(self) -> float | None:
        """Seconds from now until a frame submitted now could be rendered: the batch in flight, then
        a small one, plus the margin. None without measured batch times (CPU)."""
        small = [cost for size, cost in self._batch_seconds.items() if size >= self.settings.urgent_batch]
        if not small:
            return None
        in_flight = max(0.0, self._busy_until - self.clock())
        return in_flight + min(small) + self.settings.margin

    def process(self, jobs: list[FrameJob]) -> None:
        """Render one batch and resolve its jobs (the inference thread's step; tests call it directly)."""
        self._finish(self._launch(jobs))

    def _launch(self, jobs: list[FrameJob]) -> "_Launched":
        """Queue the batch's device work and its copies to the host; no wait."""
        started, cpu = time.perf_counter(), time.thread_time()
        renders = sum(job.kind is JobKind.RENDER for job in jobs)
        size = self.engine.batch_size(renders) if renders else 0
        self._busy_until = max(self.clock(), self._busy_until) + self._batch_seconds.get(size, 0.0)
        launched = _Launched(jobs, size, renders, started)
        try:
            launched.copies = self._render(jobs)
        except Exception as exc:  # noqa: BLE001 - resolved as the batch's failure in _finish
            launched.error = exc
        launched.cpu = time.thread_time() - cpu
        return launched

    def _finish(self, batch: "_Launched") -> None:
        """Wait for the batch's copies to the host, then resolve its jobs."""
        cpu = time.thread_time()
        jobs = batch.jobs
        try:
            if batch.error is not None:
                raise batch.error
            if batch.copies is not None and batch.copies.event is not None:
                batch.copies.event.synchronize()
        except Exception as exc:
            log.exception("musetalk batch of %d frames failed (sessions %s)", len(jobs), sorted({j.session for j in jobs}))
            for job in jobs:
                _resolve(job, exc=exc)
            return
        crops = batch.copies.crops(len(jobs)) if batch.copies is not None else [None] * len(jobs)
        done = self.clock()
        for job, crop in zip(jobs, crops, strict=True):
            job.done_at = done
            job.fade_from = None  # the source face is no longer needed
            _resolve(job, crop)
        finished = time.perf_counter()
        seconds = finished - max(batch.started, self._last_finish)  # pipelined: from the previous batch's end
        self._last_finish = finished
        if batch.size in self._batch_seconds:
            # An exponential average that follows load on the host; one stall (a page-in, a
            # collection) counts at most 1.5 times the estimate, so it cannot rule a size out for good.
            current = self._batch_seconds[batch.size]
            self._batch_seconds[batch.size] = 0.9 * current + 0.1 * min(seconds, 1.5 * current)
        self.stats.busy_seconds += seconds
        if jobs[0].idle:
            self.stats.idle_seconds += seconds
            self.stats.idle_rendered += batch.renders
        self.stats.cpu_seconds += batch.cpu + time.thread_time() - cpu

    @torch.inference_mode()
    def _render(self, jobs: list[FrameJob]) -> "_HostCopies":
        renders = [j for j in jobs if j.kind is JobKind.RENDER]
        # Index tensors go to the device before the heavy work is queued, so no copy waits behind it.
        groups = self._composite_groups(jobs)
        if renders:
            faces = self.engine.render(self._latents(renders), self._windows(renders), self._upper(renders))
            for job, face in zip(renders, faces, strict=True):
                job.face = face
            padded = self.engine.batch_size(len(renders))
            self.stats.batches += 1
            self.stats.rendered += len(renders)
            self.stats.padded += padded - len(renders)
            self.stats.batch_sizes[padded] += 1
        self.stats.fades += len(jobs) - len(renders)

        # Every group's crops go to the host in one wait: pinned, non-blocking copies, then one event.
        cuda = self.models.device.type == "cuda"
        copies = _HostCopies()
        for avatar, positions, frames, weights in groups:
            shown = [jobs[i].face if jobs[i].kind is JobKind.RENDER else _fade_source(jobs[i]) for i in positions]
            out = composite(avatar, frames, torch.stack([f for f in shown if f is not None]), weights)
            host = torch.empty(out.shape, dtype=out.dtype, pin_memory=cuda)
            host.copy_(out, non_blocking=cuda)
            copies.groups.append((positions, host))
        if cuda:
            copies.event = torch.cuda.Event()
            copies.event.record()
        return copies

    def _composite_groups(self, jobs: list[FrameJob]) -> list[tuple[DeviceAvatar, list[int], torch.Tensor, torch.Tensor]]:
        """Per avatar: the positions of the jobs that show a face, their base frames and mask weights."""
        rendering = {id(j) for j in jobs if j.kind is JobKind.RENDER}
        positions: dict[str, list[int]] = {}
        for i, job in enumerate(jobs):
            source = job.fade_from
            if job.kind is JobKind.RENDER or (source is not None and (source.face is not None or id(source) in rendering)):
                positions.setdefault(job.avatar, []).append(i)
        groups = []
        device = self.models.device
        for key, items in positions.items():
            avatar = self._avatars.get(key)
            if avatar is None:  # every session showing it has closed (or no session shows it: an idle job's avatar)
                continue
            frames = torch.tensor([jobs[i].frame for i in items]).to(device, non_blocking=True)
            weights = torch.tensor([jobs[i].fade_weight for i in items]).to(device, non_blocking=True)
            groups.append((avatar, items, frames, weights))
        return groups

    def _latents(self, jobs: list[FrameJob]) -> torch.Tensor:
        device = self.models.device
        return torch.stack([self._avatars[j.avatar].latents[j.frame] for j in jobs]).to(device)

    def _upper(self, jobs: list[FrameJob]) -> torch.Tensor | None:
        """The reference faces' upper rows, for an engine that decodes only the lower face."""
        if not self.engine.upper_rows:
            return None
        return torch.stack([self._avatar_upper(j.avatar)[j.frame] for j in jobs])

    def _avatar_upper(self, key: str) -> torch.Tensor:
        upper = self._avatars[key].upper
        if upper is None:
            raise RuntimeError(f"avatar {key} was uploaded without its reference faces")
        return upper

    def _windows(self, jobs: list[FrameJob]) -> torch.Tensor:
        """Audio windows of the jobs, encoding each stale segment once, all in one Whisper batch."""
        by_utterance: dict[int, tuple[Utterance, list[int]]] = {}
        for job in jobs:
            if job.utterance is None:
                raise ValueError("a render job needs its utterance")
            by_utterance.setdefault(id(job.utterance), (job.utterance, []))[1].append(job.utterance_frame)
        requests = [(utt, segment, audio) for utt, frames in by_utterance.values()
                    for segment, audio in utt.stale_segments(frames)]
        if requests:
            rows = self.engine.encode([audio for *_, audio in requests])
            for (utt, segment, audio), segment_rows in zip(requests, rows, strict=True):
                utt.store(segment, segment_rows, len(audio))
            self.stats.encoded_segments += len(requests)
        windows = {key: utt.windows(frames) for key, (utt, frames) in by_utterance.items()}
        position = dict.fromkeys(by_utterance, 0)
        ordered = []
        for job in jobs:
            key = id(job.utterance)
            ordered.append(windows[key][position[key]])
            position[key] += 1
        return torch.stack(ordered).to(self.models.dtype)


@dataclass
class _HostCopies:
    """A batch's crops on their way to the host: read them once ``event`` has completed."""

    groups: list[tuple[list[int], torch.Tensor]] = field(default_factory=list)
    event: torch.cuda.Event | None = None  # None on the CPU: the copies are done

    def crops(self, count: int) -> list[npt.NDArray[np.uint8] | None]:
        found: dict[int, npt.NDArray[np.uint8]] = {}
        for positions, host in self.groups:
            found.update(zip(positions, host.numpy(), strict=True))
        return [found.get(i) for i in range(count)]


@dataclass
class _Launched:
    jobs: list[FrameJob]
    size: int  # padded render rows (0: fades only)
    renders: int
    started: float  # perf_counter at launch
    copies: _HostCopies | None = None
    error: Exception | None = None
    cpu: float = 0.0  # thread CPU seconds of the launch


def _fade_source(job: FrameJob) -> torch.Tensor | None:
    return job.fade_from.face if job.fade_from is not None else None


def _resolve(job: FrameJob, crop: npt.NDArray[np.uint8] | None = None, exc: BaseException | None = None) -> None:
    """Complete the job's future unless its session already gave up on it."""
    try:
        if exc is not None:
            job.future.set_exception(exc)
        else:
            job.future.set_result(crop)
    except InvalidStateError:
        pass
