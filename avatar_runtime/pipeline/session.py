"""One kiosk session: listen, understand, answer, speak, and stop at once when interrupted.

Inputs arrive from the transport (``push_audio`` with microphone audio at 16 kHz, ``push_text``
for typed questions, ``set_language`` for a tapped language). Outputs leave through
``frames()`` (video frames with their audio, paced by the renderer) and ``events`` (state,
captions, flush-on-barge-in, errors) for the kiosk page. States:
idle (attract loop) → listening → thinking → speaking → listening, and back to idle with a
fresh conversation after ``idle_timeout`` of silence.
"""
import asyncio
import functools
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np

from avatar_runtime.asr.base import Recognition
from avatar_runtime.asr.recognition_queue import Ticket, Urgency, recognition_queue
from avatar_runtime.audio import rms
from avatar_runtime.capacity.stage_cpu import StageCpu, cpu_stage
from avatar_runtime.inference_threads import in_inference_thread
from avatar_runtime.llm.base import HistoryTurn
from avatar_runtime.metrics import BARGEIN_SECONDS, HANDOFFS, STAGE_ERRORS, turn_observe
from avatar_runtime.pipeline.bargein import should_interrupt
from avatar_runtime.pipeline.clock import Clock
from avatar_runtime.pipeline.endpointing import Speculation, looks_complete
from avatar_runtime.pipeline.messages import Samples, VideoFrame
from avatar_runtime.pipeline.playback import Playback
from avatar_runtime.pipeline.recording import AnswerRecorder
from avatar_runtime.pipeline.session_config import SessionBackends, SessionConfig
from avatar_runtime.pipeline.tasks import TaskOwner, cancel_and_wait
from avatar_runtime.pipeline.transcript import TranscriptStore, TranscriptWriter
from avatar_runtime.pipeline.turn import TurnContext, run_answer
from avatar_runtime.vad.base import VAD_SAMPLE_RATE, VadEvent

log = logging.getLogger(__name__)
PLAYBACK_LEVEL_DECAY = 0.9  # per 40 ms frame: about -11 dB per second
# A barge-in candidate is judged on its samples (pre-roll to post-roll) plus the end-of-turn
# silence heard after them, in which output was paused: echo went quiet with it, a customer did not.
CANDIDATE_CONTEXT_S = 0.3
RECENT_MIC_S = 0.3  # the microphone level barge-in judges by is over this much of the latest audio
T = TypeVar("T")
U = TypeVar("U")


class State(StrEnum):
    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"


@dataclass
class Metrics:
    """Per-session measurements the benchmarks read (seconds)."""

    bargein_latencies: list[float] = field(default_factory=list)
    turns: list[dict[str, float]] = field(default_factory=list)
    speculations_used: int = 0  # turns whose transcript came from the recognition started at a pause
    speculations_dropped: int = 0  # pauses after which the customer went on (or the guess failed)
    early_ends: int = 0  # turns ended before the full end-of-turn silence: the words were complete


class ConversationSession:
    def __init__(self, *, session_id: str, kiosk_id: int | None, config: SessionConfig, backends: SessionBackends,
                 store: TranscriptStore, clock: Clock, cpu: StageCpu | None = None) -> None:
        self.session_id = session_id
        self.kiosk_id = kiosk_id
        self.config = config
        self.backends = backends
        self.clock = clock
        self.cpu = cpu or StageCpu()  # CPU per stage (the renderer and the transport count theirs into it too)
        self.state = State.IDLE
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.metrics = Metrics()
        self._tasks = TaskOwner(f"session {session_id}")
        self._writer = TranscriptWriter(store, clock, session_id)
        self._conversation_id: uuid.UUID | None = None
        self._history: list[HistoryTurn] = []
        self._answer_task: asyncio.Task[None] | None = None
        self._turn_task: asyncio.Task[None] | None = None
        self._speculation: Speculation | None = None
        self.playback: Playback | None = None
        self.answer_recorder: AnswerRecorder | None = None  # records the answer being played, when sampled
        # Set by the worker's governor while the machine has no headroom: recording answers for QA
        # is background work, and goes before anything the customer sees or hears.
        self.answer_recording_paused = False
        self._clip_tasks: set[asyncio.Task[None]] = set()
        self._paused_at: float | None = None  # a barge-in candidate paused the answer
        self._false_alarms = 0  # pauses this answer resumed from
        self._last_activity = clock.now()
        self._mic_clock = 0.0
        self._mic_recent = np.zeros(0, np.float32)  # the last 0.3 s of echo-cancelled mic audio
        # RMS of what the kiosk plays, peak-held: it rises with the first loud frame (the echo of
        # an answer's first word reaches the mic before a slow average would) and decays over ~1 s.
        self._playback_level = 0.0
        self._ignoring_echo = False  # the VAD segment in progress was judged to be residual echo
        self._doubted_onset: float | None = None  # the segment in progress may be echo: not paused for
        self._closed = False
        self.turn_finished = asyncio.Event()  # set each time a turn has been answered (or cut off)
        self.blocking = 0  # blocking calls (ASR, retrieval, synthesis) in flight; see run_blocking

    # ----- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks.spawn(self._writer.run(), "transcript-writer")
        self._tasks.spawn(self._idle_watch(), "idle-watch")
        self._set_state(State.IDLE)

    async def close(self, reason: str = "closed") -> None:
        if self._closed:
            return
        self._closed = True
        await self._end_conversation(reason)
        if self._clip_tasks:  # answers being encoded: their clips are written before the transcript closes
            await asyncio.wait(list(self._clip_tasks), timeout=10.0)
        await self._writer.drain(timeout=5.0)
        await self._tasks.cancel_all()
        await self.backends.renderer.close()

    @property
    def conversation_id(self) -> uuid.UUID | None:
        return self._conversation_id

    # ----- inputs ----------------------------------------------------------------------
    def push_audio(self, samples: Samples) -> None:
        """Microphone audio, 16 kHz mono float32, in arrival order."""
        if self.backends.aec is not None:
            with self.cpu.measure("aec"):
                samples = self.backends.aec.process(samples)
        self._mic_clock += len(samples) / VAD_SAMPLE_RATE
        self._mic_recent = np.concatenate([self._mic_recent, samples])[-int(RECENT_MIC_S * VAD_SAMPLE_RATE):]
        if (self._doubted_onset is not None and self._may_pause
                and not self._is_quieter_than_playback(self.config.bargein_doubt_level)):
            # Louder than echo gets: the customer. Timed from when the louder part began, at the latest.
            onset, self._doubted_onset = max(self._doubted_onset, self._mic_clock - RECENT_MIC_S), None
            self._pause_answer(onset)
        with self.cpu.measure("vad"):
            events = self.backends.vad.push(samples)
        for event in events:
            self._on_vad(event)

    def push_text(self, text: str) -> None:
        text = text.strip()[:500]
        if not text:
            return
        self._touch()
        recognition = Recognition(text=text, language=self.backends.language_policy.current, confidence=1.0)
        self._start_turn(None, recognition, speech_end=None)

    def set_language(self, language: str) -> None:
        if language not in self.config.languages:
            raise ValueError(f"language {language!r} is not enabled on this kiosk")
        self.backends.language_policy.tap(language)
        self._emit({"type": "language", "language": language})

    def resume_conversation(self, conversation_id: uuid.UUID, history: list[HistoryTurn]) -> None:
        """Carry on a conversation another worker started (it died): same record, same context."""
        self._conversation_id = conversation_id
        self._history = list(history)
        self._touch()
        self._emit({"type": "conversation", "id": str(conversation_id)})

    def request_handoff(self) -> uuid.UUID:
        conversation_id = self._ensure_conversation()
        self._writer.put("handoff_request", conversation_id)
        HANDOFFS.inc()
        self._emit({"type": "handoff_requested"})
        return conversation_id

    # ----- outputs ---------------------------------------------------------------------
    async def frames(self) -> AsyncIterator[VideoFrame]:
        """The frames to show, with their audio; counts what is played for the transcript."""
        async for frame in self.backends.renderer.frames():
            if self.backends.aec is not None:
                with self.cpu.measure("aec"):
                    self.backends.aec.push_reference(frame.audio)
            level = rms(frame.audio)
            self._playback_level = max(level, self._playback_level * PLAYBACK_LEVEL_DECAY)
            if frame.speaking and self.answer_recorder is not None:
                self.answer_recorder.add(frame)  # before it counts as played: the turn ends after its last frame
            if frame.speaking and self.playback is not None:
                if self.playback.first_frame_at is None:
                    self.playback.first_frame_at = self.clock.now()
                    # Lets the page find this frame among the idle ones and time when it is shown;
                    # ``sent_at`` (Unix time) splits the page's latency into uplink and downlink.
                    self._emit({"type": "answer_frame", "pts": frame.pts, "sent_at": time.time()})
                for sentence in self.playback.advance(len(frame.audio)):
                    self._emit({"type": "caption", "role": "avatar", "text": sentence.text})
            yield frame

    def _emit(self, event: dict[str, Any]) -> None:
        if event["type"] == "error":
            STAGE_ERRORS.labels(str(event.get("stage", "unknown"))).inc()
        self.events.put_nowait(event)

    def _set_state(self, state: State) -> None:
        if state != self.state or state == State.IDLE:
            self.state = state
            self.backends.renderer.set_state(state.value)
            self._emit({"type": "state", "state": state.value})

    # ----- VAD and barge-in ------------------------------------------------------------
    def _on_vad(self, event: VadEvent) -> None:
        self._touch()
        if event.kind == "pause":
            self._speculate(event)
            return
        if event.kind == "start":
            if self.state in (State.SPEAKING, State.THINKING) and self._answer_task is not None:
                if self._is_quieter_than_playback(self.config.bargein_min_level):
                    self._ignoring_echo = True
                    log.info("session %s: speech while the avatar talks judged residual echo", self.session_id)
                elif self._is_quieter_than_playback(self.config.bargein_doubt_level):
                    self._doubted_onset = event.pts
                    log.info("session %s: speech while the avatar talks may be its echo: not paused", self.session_id)
                elif not self._may_pause:
                    self._doubted_onset = event.pts
                    log.info("session %s: speech while the avatar talks: not paused (%d false alarms in this answer)",
                             self.session_id, self._false_alarms)
                else:
                    self._pause_answer(onset=event.pts)
            elif self.state in (State.IDLE, State.LISTENING):
                self._set_state(State.LISTENING)
                self._emit({"type": "customer_speaking"})
            return
        if event.samples is None:
            return
        if self._ignoring_echo:
            self._ignoring_echo = False
            return
        endpointing = self._mic_clock - (event.voice_end if event.voice_end is not None else event.pts)
        speculation = self._take_speculation(event.pts)
        doubted, self._doubted_onset = self._doubted_onset is not None, None
        if self._paused_at is not None or doubted:
            self._turn_task = self._tasks.spawn(self._decide_bargein(event.samples, endpointing), "barge-in")
        else:
            self._start_turn(event.samples, None, speech_end=endpointing,
                             pending=speculation.task if speculation is not None else None)

    # ----- speculative recognition (see pipeline/endpointing.py) -------------------------
    def _speculate(self, event: VadEvent) -> None:
        """A pause in the customer's turn: start recognising what was said so far."""
        self._drop_speculation()
        if event.samples is None or self._ignoring_echo or self._candidate_pending:
            return
        if self.state not in (State.IDLE, State.LISTENING):
            return  # speech over the avatar is a barge-in candidate: decided on its full turn
        ticket = Ticket(Urgency.GUESS)
        task = self._tasks.spawn(self._recognise_so_far(event.samples, ticket), "speculative-asr")
        self._speculation = Speculation(event.pts, task, ticket)

    async def _recognise_so_far(self, samples: Samples, ticket: Ticket) -> Recognition:
        recognition = await self.recognise(samples, language=self.backends.language_policy.override, ticket=ticket)
        # Decided in the same step as the blocking count drops (not in a done callback, a loop
        # iteration later): a scripted clock must not move on between the two.
        self._speculation_done(recognition)
        return recognition

    def _speculation_done(self, recognition: Recognition) -> None:
        """The words so far are recognised: when they are a complete sentence, end the turn now."""
        speculation = self._speculation
        if speculation is None or speculation.task is not asyncio.current_task() or self._closed:
            return
        language = recognition.language or self.backends.language_policy.current
        if not looks_complete(recognition.text, language):
            return
        event = self.backends.vad.finish(speculation.pts)
        if event is not None:
            self.metrics.early_ends += 1
            self._on_vad(event)

    def _take_speculation(self, pts: float) -> Speculation | None:
        """The speculation for a turn whose speech ends at ``pts``, if there is one (others are dropped)."""
        speculation, self._speculation = self._speculation, None
        if speculation is None:
            return None
        failed = speculation.task.done() and speculation.recognition() is None
        if self._candidate_pending or not speculation.matches(pts) or failed:
            self._speculation = speculation
            self._drop_speculation()
            return None
        self.metrics.speculations_used += 1
        speculation.ticket.hurry()  # the turn's own recognition now: ahead of other sessions' guesses
        return speculation

    def _drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.task.cancel()  # the thread finishes its utterance; nobody waits for it
            self._speculation = None
            self.metrics.speculations_dropped += 1

    @property
    def _candidate_pending(self) -> bool:
        """Speech over the avatar is in progress that output paused for, or kept playing in doubt."""
        return self._paused_at is not None or self._doubted_onset is not None

    @property
    def _may_pause(self) -> bool:
        return self._false_alarms < self.config.bargein_false_alarms_per_answer

    def _is_quieter_than_playback(self, fraction: float) -> bool:
        """Whether the (echo-cancelled) microphone is under ``fraction`` of the level the avatar plays."""
        if self._playback_level <= 1e-4 or not len(self._mic_recent):
            return False
        return rms(self._mic_recent) < fraction * self._playback_level

    def _pause_answer(self, onset: float) -> None:
        """Stop output at once; the transcript of the candidate decides interrupt vs resume."""
        self._paused_at = self.clock.now()
        self.backends.renderer.clear_buffer()
        detected = max(0.0, self._mic_clock - onset)
        self.metrics.bargein_latencies.append(detected)
        BARGEIN_SECONDS.observe(detected)
        # The page measures its own onset -> silence; the runtime's share travels with the event.
        self._emit({"type": "flush", "detect_ms": round(detected * 1000, 1)})
        log.info("session %s: output paused for a barge-in candidate", self.session_id)

    async def _decide_bargein(self, samples: Samples, endpointing: float) -> None:
        """A candidate has ended (output paused for it, or kept playing while it was in doubt):
        interrupt for it, or let the answer go on."""
        if self._candidate_is_own_voice(samples):
            log.info("session %s: barge-in candidate followed the avatar's voice: its echo", self.session_id)
            self._resume_if_paused()
            return
        recognition = await self.recognise(samples)
        recent = self.playback.current_sentences() if self.playback else []
        if should_interrupt(recognition.text, recent):
            await self._interrupt()
            self._start_turn(samples, recognition, speech_end=endpointing)
        else:
            self._resume_if_paused()

    def _resume_if_paused(self) -> None:
        if self._paused_at is not None:
            self._resume_answer()

    def _candidate_is_own_voice(self, samples: Samples) -> bool:
        """Echo that got past the canceller rises and falls with the avatar's voice, and went quiet
        when output paused; a customer's words do neither. (Its transcript cannot tell: residual
        echo comes out as fragments like "I'm the" that match nothing the avatar said.)"""
        aec = self.backends.aec
        return aec is not None and aec.follows_playback(len(samples) / VAD_SAMPLE_RATE + CANDIDATE_CONTEXT_S)

    def _resume_answer(self) -> None:
        self._paused_at = None
        self._false_alarms += 1
        self._emit({"type": "resumed"})  # the page un-mutes what it silenced on the flush
        if self.playback is None:
            return
        remaining = self.playback.unplayed_audio()
        if len(remaining):
            self.backends.renderer.push_audio(remaining, self.playback.sample_rate)
        if self.playback.finished_synthesis:
            self.backends.renderer.flush()
        log.info("session %s: barge-in candidate was a backchannel or echo; resumed", self.session_id)

    async def _interrupt(self) -> None:
        self._paused_at = None
        if self._answer_task is not None:
            await cancel_and_wait(self._answer_task)
        self._answer_task = None
        self.backends.renderer.clear_buffer()
        self._emit({"type": "interrupted"})

    # ----- turns -----------------------------------------------------------------------
    def _start_turn(self, samples: Samples | None, recognition: Recognition | None, speech_end: float | None,
                    pending: "asyncio.Task[Recognition] | None" = None) -> None:
        previous = self._answer_task
        self._answer_task = self._tasks.spawn(
            self._turn(samples, recognition, speech_end, previous, pending), "turn"
        )

    async def _turn(self, samples: Samples | None, recognition: Recognition | None, speech_end: float | None,
                    previous: asyncio.Task[None] | None, pending: "asyncio.Task[Recognition] | None") -> None:
        if previous is not None and previous is not asyncio.current_task():
            await cancel_and_wait(previous)  # a typed question while the avatar talks replaces the answer
            self.backends.renderer.clear_buffer()
        self._paused_at = None
        self._false_alarms = 0
        self._set_state(State.THINKING)
        playback = Playback(self.backends.renderer.sample_rate)
        self.playback = playback
        context = TurnContext(
            session=self, conversation_id=self._ensure_conversation(), writer=self._writer, playback=playback,
            history=list(self._history[-self.config.history_turns:]), endpointing=speech_end,
        )
        try:
            await run_answer(context, samples, recognition, pending)
        finally:
            self._history.extend(context.history_added)
            self.metrics.turns.append(context.timings_s)
            turn_observe(context.timings_s, interrupted=not playback.done)
        if not self._closed:
            self._set_state(State.LISTENING)
        self.turn_finished.set()

    def start_answer_recording(self) -> AnswerRecorder | None:
        """Record the answer about to be spoken (sampled at ``answer_clip_rate``; none while paused)."""
        self.answer_recorder = None
        if self.answer_recording_paused:
            return None
        if self.config.answer_clip_rate > 0 and random.random() < self.config.answer_clip_rate:
            renderer = self.backends.renderer
            self.answer_recorder = AnswerRecorder(fps=renderer.fps, sample_rate=renderer.sample_rate,
                                                  max_seconds=self.config.answer_clip_max_seconds,
                                                  label=f"session {self.session_id}")
        return self.answer_recorder

    def attach_answer_clip(self, turn_id: uuid.UUID, recorder: AnswerRecorder) -> None:
        """Stop recording; encode what was played in the background and attach it to the saved turn."""
        if self.answer_recorder is recorder:
            self.answer_recorder = None
        task = self._tasks.spawn(self._attach_answer_clip(turn_id, recorder), "answer-clip")
        self._clip_tasks.add(task)
        task.add_done_callback(self._clip_tasks.discard)

    async def _attach_answer_clip(self, turn_id: uuid.UUID, recorder: AnswerRecorder) -> None:
        content = await recorder.finish()
        if content is not None:  # queued after the turn's last update: the turn exists when it is applied
            self._writer.put("clip_attach", turn_id, "answer", content, "answer.mp4")

    def on_speaking(self) -> None:
        """Called by the turn when its first audio reaches the renderer."""
        if self._paused_at is None:
            self._set_state(State.SPEAKING)

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run CPU-bound work in a thread, counted, so a scripted test clock can wait for it.

        On a virtual timeline, time stands still while such work runs: tests then see the
        pipeline's own latencies, deterministic, independent of the machine's speed.
        """
        return await self._counted_wait(in_inference_thread(fn, *args, **kwargs))

    async def recognise(self, samples: Samples, language: str | None = None, *,
                        ticket: Ticket | None = None) -> Recognition:
        """The recogniser on ``samples`` (blocking, counted, its CPU charged to "recognition"), in its
        turn among the worker's sessions (``asr/recognition_queue.py``; a finished turn by default).
        Waiting in the queue counts too: a scripted clock stands still meanwhile."""
        with cpu_stage(self.cpu, "recognition"):
            return await self._counted_wait(recognition_queue().run(ticket or Ticket(), functools.partial(
                in_inference_thread, self.backends.recognizer.transcribe, samples, VAD_SAMPLE_RATE,
                language=language)))

    async def counted(self, stream: AsyncIterator[U]) -> AsyncIterator[U]:
        """``stream``'s items, counting the waits for them like ``run_blocking``."""
        iterator = aiter(stream)
        while True:
            try:
                item = await self._counted_wait(anext(iterator))
            except StopAsyncIteration:
                return
            yield item

    async def _counted_wait(self, work: Awaitable[T]) -> T:
        """``await work``, counted in ``blocking`` while it lasts (see ``run_blocking``)."""
        self.blocking += 1
        try:
            return await work
        finally:
            self.blocking -= 1

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    # ----- conversations ---------------------------------------------------------------
    def _ensure_conversation(self) -> uuid.UUID:
        if self._conversation_id is None:
            self._conversation_id = uuid.uuid4()
            self._writer.put("conversation_start", self._conversation_id, self.backends.language_policy.current)
            self._emit({"type": "conversation", "id": str(self._conversation_id)})
        return self._conversation_id

    async def _end_conversation(self, reason: str) -> None:
        if self._answer_task is not None:
            await cancel_and_wait(self._answer_task)
            self._answer_task = None
        if self._conversation_id is not None:
            self._writer.put("conversation_end", self._conversation_id, reason)
        self._conversation_id = None
        self._history.clear()
        self.playback = None
        self._drop_speculation()
        self.backends.language_policy.reset()
        self.backends.vad.reset()

    def _touch(self) -> None:
        self._last_activity = self.clock.now()

    async def _idle_watch(self) -> None:
        """After ``idle_timeout`` without speech, the next customer starts afresh."""
        while True:
            await self.clock.sleep(1.0)
            quiet = self.clock.now() - self._last_activity
            busy = self._answer_task is not None and not self._answer_task.done()
            if self._conversation_id is not None and not busy and quiet >= self.config.idle_timeout:
                await self._end_conversation("inactivity")
                self._set_state(State.IDLE)
                self._emit({"type": "session_reset"})
