"""WebRTC audio processing (AEC3 echo cancellation, noise suppression, high-pass; AGC off) through
``livekit.rtc.AudioProcessingModule``, on top of the browser's own echo cancellation.

APM works on exact 10 ms frames of 16-bit PCM, so both directions are buffered into 10 ms
frames. ``process`` returns the whole frames it could process: for a chunk that is not a
multiple of 10 ms the remainder comes out with the next chunk (at most 10 ms later); over a
stream, what comes out equals what went in minus that remainder. ``push_reference`` must see
the audio the kiosk plays before the microphone frames that carry its echo; the stream delay
tells AEC3 the least delay of the echo (it estimates the rest itself). With echo cancellation on,
APM's output lags its input by 8 ms (14 ms with noise suppression), measured in bench/aec_erle.py.
"""
import threading

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

    def push_reference(self, samples: Samples) -> None:
        with self._lock:
            self._reference, frames = self._frames(self._reference, samples)
            for frame in frames:
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
                out.append(from_pcm16(bytes(audio_frame.data.cast("B"))))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def _frames(self, pending: Samples, samples: Samples) -> tuple[Samples, list[Samples]]:
        audio = np.concatenate([pending, as_samples(samples)])
        whole = len(audio) // self._frame * self._frame
        return audio[whole:].copy(), [audio[i : i + self._frame] for i in range(0, whole, self._frame)]

    def _audio_frame(self, frame: Samples) -> rtc.AudioFrame:
        return rtc.AudioFrame(to_pcm16(frame).tobytes(), self.sample_rate, 1, self._frame)
