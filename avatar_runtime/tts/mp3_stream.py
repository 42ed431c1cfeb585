"""Incremental MP3 decoding: bytes as they arrive in, 16-bit PCM at the pipeline's rate out.

A network voice (edge-tts) sends its MP3 in small pieces, which need not end on frame
boundaries; FFmpeg's parser (PyAV) buffers partial frames across ``feed`` calls, so audio comes
out as soon as each frame is complete rather than when the sentence is.
"""
import av
import numpy as np
import numpy.typing as npt

from avatar_runtime.audio import from_pcm16
from avatar_runtime.errors import ProviderError
from avatar_runtime.pipeline.messages import Samples


class Mp3StreamDecoder:
    def __init__(self, sample_rate: int, provider: str = "mp3") -> None:
        self.sample_rate = sample_rate
        self.provider = provider
        self._codec = av.CodecContext.create("mp3", "r")
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        self.bad_packets = 0
        self.decoded_samples = 0

    def feed(self, data: bytes) -> Samples:
        """Decode what ``data`` completes; returns the new samples (possibly none)."""
        return self._decode(data)

    def flush(self) -> Samples:
        """The audio still buffered in the parser, decoder and resampler at the end of the stream."""
        return self._decode(None)

    def _decode(self, data: bytes | None) -> Samples:
        pieces: list[npt.NDArray[np.int16]] = []
        for packet in self._codec.parse(data):
            try:
                frames = self._codec.decode(packet)
            except av.InvalidDataError:
                # A tag or a damaged frame: MP3 resynchronises on the next frame, so skip it.
                self.bad_packets += 1
                continue
            for frame in frames:
                pieces.extend(self._pcm(frame))
        if data is None:
            for frame in self._codec.decode(None):
                pieces.extend(self._pcm(frame))
            pieces.extend(self._pcm(None))
            if self.decoded_samples == 0 and not pieces and self.bad_packets:
                raise ProviderError(self.provider, f"undecodable MP3 audio ({self.bad_packets} bad packets)",
                                    retryable=True)
        if not pieces:
            return np.zeros(0, dtype=np.float32)
        pcm = np.concatenate(pieces)
        self.decoded_samples += len(pcm)
        return from_pcm16(pcm)

    def _pcm(self, frame: av.AudioFrame | None) -> list[npt.NDArray[np.int16]]:
        return [out.to_ndarray().reshape(-1).astype(np.int16, copy=False) for out in self._resampler.resample(frame)]
