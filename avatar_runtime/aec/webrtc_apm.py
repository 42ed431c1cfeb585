"""WebRTC audio processing (AEC3 echo cancellation, noise suppression, high-pass; AGC off) through
``livekit.rtc.AudioProcessingModule``, on top of the browser's own echo cancellation.

APM works on exact 10 ms frames of 16-bit PCM, so both directions are buffered into 10 ms
frames. ``process`` returns the whole frames it could process: for a chunk that is not a
multiple of 10 ms the remainder comes out with the next chunk (at most 10 ms later); over a
stream, what comes out equals what went in minus that remainder. ``push_reference`` must see
the audio the kiosk plays before the microphone frames that carry its echo; the stream delay
tells AEC3 the least delay of the echo (it estimates the rest itself). With echo cancellation on,
APM's output lags its input by 8 ms (14 ms with noise suppression), measured in bench/aec_erle.py.

AEC3 is for a microphone that carries the avatar's voice. Where it carries none (the browser's own
AEC removed it, or a headset), AEC3 still treats the customer's words over the avatar's voice as
double talk and suppresses them: a barge-in "Where can I get first aid?" came out as "Hey". So
``EchoPresence`` watches whether the microphone follows the voice being played, and while it does
not, ``process`` passes the microphone through (APM keeps running, so it is ready if echo appears).
"""
import statistics
import threading
from collections import deque

import numpy as np
from livekit import rtc

from avatar_runtime.audio import as_samples, from_pcm16, rms, to_pcm16
from avatar_runtime.errors import ProviderError
from avatar_runtime.pipeline.messages import Samples

FRAME_MS = 10
# AEC3 finds the echo by itself from this hint up to ~500 ms later, but not earlier: a 40 ms hint
# with a 0 ms echo path cancels 8 dB instead of 70 (bench/aec_erle.py). The server cannot know the
# network and playout delay, so the default hint is the lower bound.
DEFAULT_STREAM_DELAY_MS = 0


class EchoPresence:
    """Whether the microphone carries the avatar's voice, from 10 ms levels of both directions.

    Judged every ``every`` microphone frames over the last ``span`` frames, once the avatar was loud
    in enough of them: a microphone nearly silent next to the avatar (level above its noise floor
    under ``quiet`` of the avatar's) carries no echo; one whose level envelope follows the avatar's
    at some lag up to ``max_lag`` frames (network and playout delay) carries echo; other sound (a
    customer talking over the avatar) changes nothing. Until first judged, echo is assumed.
    """

    def __init__(self, *, span: int = 150, max_lag: int = 50, every: int = 10, loud: float = 0.01,
                 quiet: float = 0.007, follows: float = 0.7, history: int = 400) -> None:
        self.span, self.max_lag, self.every = span, max_lag, every
        self.loud, self.quiet, self.follows = loud, quiet, follows
        self.history = max(history, span)  # frames kept for ``correlation`` over longer stretches
        self._reference: deque[float] = deque([0.0] * (self.history + max_lag), maxlen=self.history + max_lag)
        self._microphone: deque[float] = deque([0.0] * self.history, maxlen=self.history)
        self._floor: deque[float] = deque(maxlen=500)
        self._count = 0
        self.present = True

    def reference(self, level: float) -> None:
        self._reference.append(level)

    def microphone(self, level: float) -> None:
        if self._reference[-1] < self.loud:
            self._floor.append(level)
        self._microphone.append(level)
        self._count += 1
        if self._count % self.every == 0:
            self._judge()

    def correlation(self, frames: int) -> float:
        """How closely the microphone's level over its last ``frames`` follows the avatar's, at the
        best lag (-1..1; 0 when either is flat)."""
        microphone = self._above_floor(np.asarray(self._microphone)[-min(frames, self.history):])
        return self._best_correlation(microphone, np.asarray(self._reference))

    def _best_correlation(self, microphone: np.ndarray, reference: np.ndarray) -> float:
        """``microphone`` (the latest levels) against the reference ending 0..``max_lag`` frames earlier."""
        end, frames = len(reference), len(microphone)
        return max(_correlation(microphone, reference[end - frames - lag:end - lag]) for lag in range(self.max_lag + 1))

    def _above_floor(self, microphone: np.ndarray) -> np.ndarray:
        floor = statistics.median(self._floor) if self._floor else 0.0
        return np.maximum(microphone - floor, 0.0)

    def _judge(self) -> None:
        reference = np.asarray(self._reference)
        recent = reference[-(self.span + self.max_lag):]
        if np.count_nonzero(recent >= self.loud) < self.span // 3:
            return  # the avatar hardly spoke: nothing to judge by
        microphone = self._above_floor(np.asarray(self._microphone)[-self.span:])
        if float(np.mean(microphone)) < self.quiet * float(np.mean(recent)):
            self.present = False
            return
        if self._best_correlation(microphone, reference) >= self.follows:
            self.present = True
        # Otherwise the sound is not the avatar's: the customer (over echo or not) or the room. The
        # judgement stands until the microphone is quiet again or follows the avatar.


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if float(np.std(a)) < 1e-9 or float(np.std(b)) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


class WebRtcEchoCanceller:
    name = "webrtc-apm"

    def __init__(
        self, sample_rate: int = 16000, *, stream_delay_ms: int = DEFAULT_STREAM_DELAY_MS, noise_suppression: bool = True
    ) -> None:
        self.sample_rate = sample_rate
        self.stream_delay_ms = stream_delay_ms
        self.noise_suppression = noise_suppression
        self._frame = sample_rate * FRAME_MS // 1000
        self._lock = threading.Lock()  # reference and microphone may come from different threads
        self.reset()

    def reset(self) -> None:
        try:
            apm = rtc.AudioProcessingModule(
                echo_cancellation=True, noise_suppression=self.noise_suppression, high_pass_filter=True,
                auto_gain_control=False,
            )
            apm.set_stream_delay_ms(self.stream_delay_ms)
        except Exception as exc:
            raise ProviderError(self.name, f"cannot start WebRTC audio processing: {exc}", retryable=False) from exc
        with self._lock:
            self._apm = apm
            self._reference = np.zeros(0, dtype=np.float32)
            self._microphone = np.zeros(0, dtype=np.float32)
            self.echo = EchoPresence()

    def push_reference(self, samples: Samples) -> None:
        with self._lock:
            self._reference, frames = self._frames(self._reference, samples)
            for frame in frames:
                self.echo.reference(rms(frame))
                self._apm.process_reverse_stream(self._audio_frame(frame))

    def process(self, samples: Samples) -> Samples:
        with self._lock:
            self._microphone, frames = self._frames(self._microphone, samples)
            out = []
            for frame in frames:
                audio_frame = self._audio_frame(frame)
                # APM wants the delay set before every near-end frame it processes.
                self._apm.set_stream_delay_ms(self.stream_delay_ms)
                self._apm.process_stream(audio_frame)
                self.echo.microphone(rms(frame))
                out.append(from_pcm16(bytes(audio_frame.data.cast("B"))) if self.echo.present else frame)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def follows_playback(self, seconds: float) -> bool:
        """Whether what the microphone heard over the last ``seconds`` rose and fell with the
        avatar's voice: its own voice (the echo, cancelled or not), not a customer."""
        with self._lock:
            return self.echo.correlation(round(seconds * 1000 / FRAME_MS)) >= self.echo.follows

    def _frames(self, pending: Samples, samples: Samples) -> tuple[Samples, list[Samples]]:
        audio = np.concatenate([pending, as_samples(samples)])
        whole = len(audio) // self._frame * self._frame
        return audio[whole:].copy(), [audio[i : i + self._frame] for i in range(0, whole, self._frame)]

    def _audio_frame(self, frame: Samples) -> rtc.AudioFrame:
        return rtc.AudioFrame(to_pcm16(frame).tobytes(), self.sample_rate, 1, self._frame)
