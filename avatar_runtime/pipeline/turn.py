"""One turn: the customer's words in, the avatar's spoken answer out, every step timed.

ASR → language policy → retrieval → answer stream → sentences → TTS → renderer, with the
transcript written as it goes (the avatar's text is saved sentence by sentence, so a crash
mid-answer keeps what was said). A failing stage never leaves the customer in silence: the
customer hears an apology in their language, or at least sees the answer as a caption.
"""
import asyncio
import io
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
import soundfile as sf

from avatar_runtime.asr.base import Recognition
from avatar_runtime.audio import resample, without_leading_silence
from avatar_runtime.capacity.stage_cpu import StageCpu, cpu_stage
from avatar_runtime.errors import ProviderError
from avatar_runtime.health_checks import health_voice_failed
from avatar_runtime.llm.base import HistoryTurn, Retrieved
from avatar_runtime.llm.phrases import phrase
from avatar_runtime.pipeline.clock import Clock
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.pipeline.playback import Playback
from avatar_runtime.pipeline.recording import AnswerRecorder
from avatar_runtime.pipeline.session_config import SessionBackends, SessionConfig
from avatar_runtime.pipeline.transcript import TranscriptWriter
from avatar_runtime.render.base import Renderer, RendersAhead
from avatar_runtime.tts.base import Synthesizer, Voice, voice_key
from avatar_runtime.tts.pacing import speech_ahead
from avatar_runtime.vad.base import VAD_SAMPLE_RATE
from common.log_context import turn_bind

log = logging.getLogger(__name__)
T = TypeVar("T")
U = TypeVar("U")


class TurnHost(Protocol):
    """What a turn uses of the session running it (``session.ConversationSession``, which imports this module)."""

    session_id: str
    config: SessionConfig
    backends: SessionBackends
    clock: Clock
    cpu: StageCpu

    @property
    def paused(self) -> bool: ...

    async def recognise(self, samples: Samples, language: str | None = None) -> Recognition: ...

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...

    def counted(self, stream: AsyncIterator[U]) -> AsyncIterator[U]: ...

    def start_answer_recording(self) -> AnswerRecorder | None: ...

    def attach_answer_clip(self, turn_id: uuid.UUID, recorder: AnswerRecorder) -> None: ...

    def on_speaking(self) -> None: ...

    def _emit(self, event: dict[str, Any]) -> None: ...


@dataclass
class TurnContext:
    session: TurnHost
    conversation_id: uuid.UUID
    writer: TranscriptWriter
    playback: Playback
    history: list[HistoryTurn]
    endpointing: float | None
    timings_s: dict[str, float] = field(default_factory=dict)
    history_added: list[HistoryTurn] = field(default_factory=list)
    first_audio_at: float | None = None


def wav_bytes(samples: Samples, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


async def run_answer(ctx: TurnContext, samples: Samples | None, recognition: Recognition | None,
                     pending: "asyncio.Task[Recognition] | None" = None) -> None:
    """Answer one turn: ``recognition`` when the words are known, else ``pending`` (recognition
    started at a pause in the turn, see ``pipeline/endpointing.py``), else ``samples`` recognised now."""
    session = ctx.session
    backends = session.backends
    clock = session.clock
    start = clock.now()
    if ctx.endpointing is not None:
        ctx.timings_s["endpointing"] = ctx.endpointing
    policy = backends.language_policy
    if recognition is None and pending is not None:
        recognition = await pending  # "asr" is then only what is left of it after the end of the turn
        ctx.timings_s["asr"] = clock.now() - start
    if recognition is None:
        assert samples is not None
        recognition = await session.recognise(samples, language=policy.override)
        ctx.timings_s["asr"] = clock.now() - start
    if not recognition.text.strip():
        await _speak_fixed(ctx, "not_heard", policy.current)
        return
    language = policy.observe(recognition)
    session._emit({"type": "caption", "role": "customer", "text": recognition.text, "language": language})
    customer_turn = uuid.uuid4()
    turn_bind(str(customer_turn))
    ctx.writer.put("turn_append", ctx.conversation_id, customer_turn, "customer", {
        "text": recognition.text, "language": language, "asr_confidence": recognition.confidence,
        "complete": True, "timings": _ms(ctx.timings_s),
    })
    if samples is not None:
        ctx.writer.put("clip_attach", customer_turn, "audio", wav_bytes(samples, VAD_SAMPLE_RATE), "question.wav")
    ctx.history_added.append(HistoryTurn("customer", recognition.text))

    retrieved = await _retrieve(ctx, recognition.text, language)
    await _answer(ctx, recognition.text, language, retrieved, start)


async def _retrieve(ctx: TurnContext, question: str, language: str) -> Retrieved:
    session = ctx.session
    began = session.clock.now()
    try:
        retrieved = await session.run_blocking(session.backends.retrieve, question, language, session.config.retrieval_k)
    except Exception as exc:  # noqa: BLE001 - retrieval down: the answerer declines politely
        log.error("session %s: retrieval failed: %s", session.session_id, type(exc).__name__)
        session._emit({"type": "error", "stage": "retrieval", "code": "retrieval_failed"})
        retrieved = Retrieved(answerable=False, passages=[])
    ctx.timings_s["retrieval"] = session.clock.now() - began
    return retrieved


async def _answer(ctx: TurnContext, question: str, language: str, retrieved: Retrieved, start: float) -> None:
    session = ctx.session
    backends = session.backends
    turn_id = uuid.uuid4()
    synthesizer, voice = backends.voices.synthesizer(language)
    answerer_name = getattr(backends.answerer, "name", "answerer")
    ctx.writer.put("turn_append", ctx.conversation_id, turn_id, "avatar", {
        "language": language, "answerable": retrieved.answerable, "complete": False,
        "retrieved": [{"key": p.key, "score": round(p.score, 4)} for p in retrieved.passages],
        "answer_backend": answerer_name, "voice": voice_key(voice),
    })
    answer_began = session.clock.now()
    recorder = session.start_answer_recording()
    try:
        try:
            # Answerers stream whole sentences (avatar_runtime.text.sentences splits model output).
            async for sentence in session.counted(backends.answerer.answer(question, language, retrieved, ctx.history)):
                ctx.timings_s.setdefault("answer_first_text", session.clock.now() - answer_began)
                await _speak(ctx, turn_id, sentence, synthesizer, voice)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a dead provider must not leave the customer in silence
            log.error("session %s: answering failed: %s", session.session_id, type(exc).__name__)
            session._emit({"type": "error", "stage": "answer", "code": "answer_failed"})
            await _speak(ctx, turn_id, phrase("backend_apology", language), synthesizer, voice)
        await _play_out(ctx)
    finally:
        playback = ctx.playback
        if ctx.first_audio_at is not None:
            ctx.timings_s["tts_first_audio"] = ctx.first_audio_at - answer_began
        if playback.first_frame_at is not None:
            ctx.timings_s["first_frame"] = playback.first_frame_at - start
            ctx.timings_s["end_to_end"] = playback.first_frame_at - start + (ctx.endpointing or 0.0)
        interrupted = not playback.done
        ctx.writer.put("turn_update", turn_id, {
            "text": playback.full_text(), "heard_text": playback.heard_text() if interrupted else playback.full_text(),
            "interrupted": interrupted, "complete": True, "timings": _ms(ctx.timings_s),
            "spoken_voice": playback.spoken_voice(),
        })
        if recorder is not None:
            session.attach_answer_clip(turn_id, recorder)
        ctx.history_added.append(HistoryTurn("avatar", playback.heard_text()))


async def _speak(ctx: TurnContext, turn_id: uuid.UUID | None, sentence: str, synthesizer: Synthesizer,
                 voice: Voice) -> None:
    """Synthesise one sentence into the renderer; with ``turn_id``, save the answer's text so far.

    A sentence from the answer audio cache whose frames the renderer rendered ahead is played whole
    with them (``RendersAhead``), once all its audio is here: no render work when it plays.
    """
    session = ctx.session
    renderer = session.backends.renderer
    playback = ctx.playback
    playback.add_sentence(sentence)
    if turn_id is not None:
        # Saved before it is spoken: if the worker dies mid-sentence, the record still has it.
        ctx.writer.put("turn_update", turn_id, {"text": playback.full_text()})
    # A slow voice sizes its pieces to what is still queued, so the listener never waits between them.
    ahead = speech_ahead.set(lambda: playback.queued_seconds)
    replay: object | None = None  # frames rendered ahead for this (cached) sentence
    held: list[Samples] = []  # its audio, played with them at the end
    first_chunk = True
    try:
        with cpu_stage(session.cpu, "synthesis"):
            async for chunk in session.counted(synthesizer.synthesize(sentence, voice)):
                audio = resample(chunk.samples, chunk.sample_rate, renderer.sample_rate)
                if first_chunk and chunk.cached_key and isinstance(renderer, RendersAhead):
                    replay = await asyncio.to_thread(renderer.prerendered, chunk.cached_key)
                first_chunk = False
                if replay is not None:
                    held.append(audio)  # whole, as it was rendered: no leading silence cut
                    playback.add_audio(audio, voice_key(chunk.voice or voice))
                    continue
                if ctx.first_audio_at is None:
                    # Voices open with 10-40 ms of silence: the answer's first sound comes sooner without it.
                    audio = without_leading_silence(audio, renderer.sample_rate)
                    if not len(audio):
                        continue
                playback.add_audio(audio, voice_key(chunk.voice or voice))
                if not session.paused:
                    renderer.push_audio(audio, renderer.sample_rate)
                if ctx.first_audio_at is None:
                    ctx.first_audio_at = session.clock.now()
                    session.on_speaking()
        if replay is not None:
            _play_rendered_ahead(ctx, renderer, replay, np.concatenate(held))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every voice failed: the caption still shows the sentence
        log.error("session %s: speech synthesis failed: %s", session.session_id, type(exc).__name__)
        health_voice_failed(voice.language, str(exc) if isinstance(exc, ProviderError) else type(exc).__name__)
        session._emit({"type": "error", "stage": "tts", "code": "tts_failed"})
        session._emit({"type": "caption", "role": "avatar", "text": sentence})
    finally:
        speech_ahead.reset(ahead)


def _play_rendered_ahead(ctx: TurnContext, renderer: Renderer, frames: object, audio: Samples) -> None:
    session = ctx.session
    if not session.paused:
        assert isinstance(renderer, RendersAhead)
        try:
            renderer.play_prerendered(frames, audio)
        except ValueError as exc:  # frames that do not fit this audio: render it live instead
            log.warning("session %s: frames rendered ahead not used (%s)", session.session_id, exc)
            renderer.push_audio(audio, renderer.sample_rate)
    if ctx.first_audio_at is None:
        ctx.first_audio_at = session.clock.now()
        session.on_speaking()


async def _speak_fixed(ctx: TurnContext, name: str, language: str) -> None:
    """A fixed phrase (e.g. "sorry, I didn't catch that"), spoken and not saved as an answer."""
    synthesizer, voice = ctx.session.backends.voices.synthesizer(language)
    await _speak(ctx, None, phrase(name, language), synthesizer, voice)
    await _play_out(ctx)


async def _play_out(ctx: TurnContext) -> None:
    """Wait until the renderer has played everything synthesised (or the turn is cancelled)."""
    playback = ctx.playback
    playback.finished_synthesis = True
    session = ctx.session
    if not session.paused:
        session.backends.renderer.flush()
    while not playback.done:
        await session.clock.sleep(0.04)


def _ms(timings: dict[str, float]) -> dict[str, Any]:
    return {name: round(seconds * 1000, 1) for name, seconds in timings.items()}
