"""Silero VAD (ONNX, from the silero-vad wheel) as a streaming end-of-turn detector.

One ONNX session is shared by every kiosk session (it is stateless; ``run`` is thread-safe); each
stream keeps its own recurrent state, context and audio buffer. A 32 ms frame costs about 0.15 ms
of one core, so a worker runs many sessions on the two cores it has.

Timeline of one utterance (defaults):
  speech onset ──200 ms of speech──▶ "start" (pts = onset)
  end of speech ──400 ms of silence (+ the frame or two the model takes to notice)──▶ "end"
  (pts = end of speech by the model's flag, voice_end = by the voice's level, 40-140 ms earlier;
  samples = 200 ms pre-roll + utterance + 100 ms post-roll)
The endpointing delay (true end of speech → "end" event) is ``end_silence_ms`` plus 30-80 ms:
430 ms at p50 and 480 ms at p95 over 20 utterances in five languages (``bench/speech_stages.py``).

Before that, after ``pause_ms`` of silence, a "pause" event (pts = end of speech so far, samples =
the utterance so far) lets the session start recognising speculatively; if the customer goes on,
the "end" that follows has a later pts. ``finish`` ends the turn at once (the session does so
when the speculative transcript reads as a complete sentence).
"""
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from avatar_runtime.audio import as_samples, levels
from avatar_runtime.errors import ModelMissingError
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.vad.base import VAD_SAMPLE_RATE, VadEvent

FRAME = 512  # samples per model call at 16 kHz (32 ms)
_CONTEXT = 64  # samples of the previous frame the model sees in front of each frame
_FRAME_S = FRAME / VAD_SAMPLE_RATE
_VOICE_END_RELATIVE = 10 ** (-30 / 20)  # a 10 ms level 30 dB under the utterance's loudest is not voice
_VOICE_END_LOOKBACK = 8  # frames (256 ms): the model's lag, with room to spare


@dataclass(frozen=True)
class VadConfig:
    threshold: float = 0.5  # speech when the probability reaches this
    negative_threshold: float = 0.35  # silence when it falls below this (hysteresis in between)
    min_speech_ms: int = 200  # speech needed before "start" is confirmed
    end_silence_ms: int = 400  # silence that ends the turn
    pause_ms: int | None = 160  # silence after which a "pause" event offers the utterance so far
    pre_roll_ms: int = 200  # audio kept in front of the onset
    post_roll_ms: int = 100  # audio kept after the end of speech (of the silence already heard)
    max_utterance_s: float = 28.0  # force an end (Whisper reads 30 s windows)

    def frames(self, ms: float) -> int:
        return max(1, round(ms / 1000 / _FRAME_S))


def silero_model_path() -> Path:
    """The ONNX model inside the installed silero-vad wheel, found without importing the package
    (its ``__init__`` imports torch and changes torch's global thread count)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError("silero-vad", "the silero-vad package is not installed (pip install silero-vad)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise ModelMissingError("silero-vad", f"{path} is missing; reinstall silero-vad")
    return path


class SileroModel:
    """The shared ONNX session; one inference per 32 ms frame, single-threaded."""

    def __init__(self, path: Path) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self._sr = np.array(VAD_SAMPLE_RATE, dtype=np.int64)

    def probability(
        self, frame: Samples, state: npt.NDArray[np.float32]
    ) -> tuple[float, npt.NDArray[np.float32]]:
        """Speech probability of ``frame`` (context + 512 samples) and the next recurrent state."""
        out, new_state = self._session.run(None, {"input": frame[np.newaxis, :], "state": state, "sr": self._sr})
        return float(out[0, 0]), np.asarray(new_state, dtype=np.float32)


_model: SileroModel | None = None
_model_lock = threading.Lock()


def shared_model() -> SileroModel:
    """The process-wide model, loaded on first use."""
    global _model
    with _model_lock:
        if _model is None:
            _model = SileroModel(silero_model_path())
        return _model


class SileroVadStream:
    """Per-session VAD: push 16 kHz audio of any chunk size, get start/end-of-turn events.

    ``pts`` values are seconds of audio pushed since the stream was created (the microphone
    clock); ``reset`` forgets the detector state and buffered audio but keeps that clock.
    """

    def __init__(self, config: VadConfig | None = None, model: SileroModel | None = None) -> None:
        self.config = config or VadConfig()
        self._model = model or shared_model()
        self._min_speech = self.config.frames(self.config.min_speech_ms)
        self._end_silence = self.config.frames(self.config.end_silence_ms)
        self._pre_roll = self.config.frames(self.config.pre_roll_ms)
        self._post_roll = min(self.config.frames(self.config.post_roll_ms), self._end_silence)
        pause = self.config.pause_ms
        self._pause = self.config.frames(pause) if pause is not None and pause < self.config.end_silence_ms else None
        self._max_frames = self.config.frames(self.config.max_utterance_s * 1000)
        self._frame_index = 0  # frames processed since creation: the clock
        self._pending = np.zeros(0, dtype=np.float32)
        self.reset()

    @property
    def speaking(self) -> bool:
        return self._speaking

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._speaking = False
        self._onset: int | None = None  # frame index where the current (candidate) speech began
        self._speech_frames = 0  # speech frames since the candidate onset
        self._last_speech = 0  # frame index of the last speech frame
        self._frames: list[Samples] = []  # kept audio, one entry per frame
        self._first_kept = self._frame_index  # frame index of self._frames[0]
        self._is_speech = False  # hysteresis state of the last frame
        self._paused_at: int | None = None  # last speech frame a "pause" was reported for

    def push(self, samples: Samples) -> list[VadEvent]:
        audio = np.concatenate([self._pending, as_samples(samples)])
        events: list[VadEvent] = []
        whole = len(audio) // FRAME * FRAME
        for start in range(0, whole, FRAME):
            event = self._step(audio[start : start + FRAME])
            if event is not None:
                events.append(event)
        self._pending = audio[whole:].copy()
        return events

    def _step(self, frame: Samples) -> VadEvent | None:
        prob, self._state = self._model.probability(np.concatenate([self._context, frame]), self._state)
        self._context = frame[-_CONTEXT:].copy()
        index = self._frame_index
        self._frame_index += 1
        self._frames.append(frame.copy())
        if prob >= self.config.threshold:
            self._is_speech = True
        elif prob < self.config.negative_threshold:
            self._is_speech = False
        event = self._advance(index)
        self._trim()
        return event

    def _advance(self, index: int) -> VadEvent | None:
        """Move the turn state machine by one frame whose speech flag is ``self._is_speech``."""
        if self._is_speech:
            self._last_speech = index
            if self._onset is None:
                self._onset, self._speech_frames = index, 0
            self._speech_frames += 1
        if not self._speaking:
            if self._onset is None:
                return None
            if self._speech_frames >= self._min_speech:
                self._speaking = True
                return VadEvent("start", self._onset * _FRAME_S)
            if index - self._last_speech >= self._min_speech:  # a blip, not the start of a turn
                self._onset = None
            return None
        assert self._onset is not None
        silence = index - self._last_speech
        if silence >= self._end_silence or index + 1 - self._onset >= self._max_frames:
            return self._finish(index)
        if self._pause is not None and silence >= self._pause and self._paused_at != self._last_speech:
            self._paused_at = self._last_speech
            return VadEvent("pause", (self._last_speech + 1) * _FRAME_S, self._utterance(index))
        return None

    def finish(self, pts: float | None = None) -> VadEvent | None:
        """End the turn in progress now: its "end" event, or None when no one is speaking.

        With ``pts``, only if the speech still ends there: nothing said since, and silence now.
        """
        if not self._speaking:
            return None
        if pts is not None and (self._is_speech or abs((self._last_speech + 1) * _FRAME_S - pts) > 1e-6):
            return None
        return self._finish(self._frame_index - 1)

    def _utterance(self, index: int) -> Samples:
        """Pre-roll + speech + up to ``post_roll`` of the silence heard by frame ``index``."""
        assert self._onset is not None
        end_frame = min(self._last_speech + 1 + self._post_roll, index + 1)
        first = max(self._onset - self._pre_roll, self._first_kept)
        return np.concatenate(self._frames[first - self._first_kept : end_frame - self._first_kept])

    def _finish(self, index: int) -> VadEvent:
        end = (self._last_speech + 1) * _FRAME_S
        event = VadEvent("end", end, self._utterance(index), voice_end=end - self._trailing_quiet())
        self._speaking = False
        self._onset = None
        self._paused_at = None
        return event

    def _trailing_quiet(self) -> float:
        """Seconds at the end of the last speech frames that are quieter than the utterance's voice.

        The model's speech flag falls 40-140 ms after the sound does (its probability decays, and
        the hysteresis holds it): the 10 ms level, against the utterance's loudest, says where the
        voice itself ended. Looks back at most ``_VOICE_END_LOOKBACK`` frames.
        """
        assert self._onset is not None
        first = max(self._onset, self._first_kept)
        speech = np.concatenate(self._frames[first - self._first_kept : self._last_speech + 1 - self._first_kept])
        window = VAD_SAMPLE_RATE // 100
        level = levels(speech, window)
        if not len(level):
            return 0.0
        loud = np.nonzero(level >= level.max() * _VOICE_END_RELATIVE)[0]
        quiet_windows = len(level) - 1 - int(loud[-1])
        return min(quiet_windows * window / VAD_SAMPLE_RATE, _VOICE_END_LOOKBACK * _FRAME_S)

    def _trim(self) -> None:
        """Outside a turn keep only the pre-roll (plus a candidate onset's audio)."""
        keep_from = self._frame_index - self._pre_roll
        if self._onset is not None:
            keep_from = min(keep_from, self._onset - self._pre_roll)
        drop = keep_from - self._first_kept
        if drop > 0:
            del self._frames[:drop]
            self._first_kept += drop
