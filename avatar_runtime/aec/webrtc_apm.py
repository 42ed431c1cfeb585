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

from avatar_runtime.audio import as_samples, from_pcm16, to_pcm16
from avatar_runtime.errors import ProviderError
from avatar_runtime.pipeline.messages import Samples

FRAME_MS = 10
# AEC3 finds the echo by itself from this hint up to ~500 ms later, but not earlier: a 40 ms hint
# with a 0 ms echo path cancels 8 dB instead of 70 (bench/aec_erle.py). The server cannot know the
# network and playout delay, so the default hint is the lower bound.
DEFAULT_STREAM_DELAY_MS = 0


class EchoPresence:
    """Whether the microphone carries the avatar's voice, from 10 ms levels of both directions.

    For each microphone frame heard while the avatar is loud: its level above the microphone's noise
    floor (its median level while the avatar is quiet), over the loudest reference frame of the last
    ``window`` frames (the echo comes after the network and playout delay, up to ~0.5 s). Echo keeps
    that ratio up for as long as the avatar talks; a customer talking over it raises it only while
    they talk, so the median over the last ``history`` loud frames (6 s) tells. Until ``least`` loud
    frames were seen, echo is assumed (cancel). The threshold lies between an echo path of gain
    0.02 (median ratio 0.005) and one of 0.05 (0.011) in tests.speech_samples.mix_echo; the session
    ignores speech that far below the avatar's level anyway (``bargein_min_level``).
    """

    def __init__(self, *, threshold: float = 0.007, loud: float = 0.01, window: int = 50, history: int = 600,
                 least: int = 100) -> None:
        self.threshold = threshold
        self.loud = loud
        self.least = least
        self._reference: deque[float] = deque([0.0] * window, maxlen=window)
        self._quiet: deque[float] = deque(maxlen=history)
        self._ratios: deque[float] = deque(maxlen=history)
        self.present = True

    def reference(self, level: float) -> None:
        self._reference.append(level)

    def microphone(self, level: float) -> None:
        loudest = max(self._reference)
        if loudest < self.loud:
            self._quiet.append(level)
            return
        floor = statistics.median(self._quiet) if self._quiet else 0.0
        self._ratios.append(max(0.0, level - floor) / loudest)
        if len(self._ratios) >= self.least:
            self.present = statistics.median(self._ratios) >= self.threshold


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
                self.echo.reference(_level(frame))
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
                self.echo.microphone(_level(frame))
                out.append(from_pcm16(bytes(audio_frame.data.cast("B"))) if self.echo.present else frame)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def _frames(self, pending: Samples, samples: Samples) -> tuple[Samples, list[Samples]]:
        audio = np.concatenate([pending, as_samples(samples)])
        whole = len(audio) // self._frame * self._frame
        return audio[whole:].copy(), [audio[i : i + self._frame] for i in range(0, whole, self._frame)]

    def _audio_frame(self, frame: Samples) -> rtc.AudioFrame:
        return rtc.AudioFrame(to_pcm16(frame).tobytes(), self.sample_rate, 1, self._frame)


def _level(frame: Samples) -> float:
    return float(np.sqrt(np.mean(np.square(frame, dtype=np.float64))))
