"""Whisper-tiny audio features for MuseTalk: offline (whole clip) and streaming (per utterance).

Offline, as the release does it: 16 kHz audio in 30 s segments, each zero-padded to 30 s, log-mel
(80 x 3000), all encoder hidden states (embeddings + every layer, the last after the final layer
norm) stacked to [1500, L, D] per segment, concatenated and trimmed to ``n_samples // 320`` rows.
Frame i (25 fps) takes rows [2i, 2i + 10) of the features padded with 4 zero rows before and 12
after, flattened to [10 L, D], plus a fixed sinusoidal positional encoding.

Streaming keeps each utterance's segment anchored where the offline computation puts it (same
encoder positions, same left context: everything since the segment began) and re-encodes the
open segment as audio arrives; a frame becomes computable once audio reaches
``LOOKAHEAD_SAMPLES`` past its start. Convolutions and the STFT are local, so the only difference
from offline is that Whisper's self-attention and the log-mel's global clamp (max - 8) cannot see
audio that has not arrived yet; once an utterance is flushed, windows equal the offline ones.
"""
import math
import threading
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.render.musetalk.config import (
    LOOKAHEAD_SAMPLES,
    PAD_LEFT_ROWS,
    PAD_RIGHT_ROWS,
    ROWS_PER_FRAME,
    SAMPLES_PER_FRAME,
    SAMPLES_PER_ROW,
    SEGMENT_ROWS,
    SEGMENT_SAMPLES,
    WINDOW_ROWS,
)

# A frame's silence test looks at the audio its window covers: t - 80 ms .. t + 120 ms.
_SILENCE_BEFORE = PAD_LEFT_ROWS * SAMPLES_PER_ROW
_SILENCE_AFTER = (WINDOW_ROWS - PAD_LEFT_ROWS) * SAMPLES_PER_ROW


def sinusoidal_encoding(length: int, dim: int) -> torch.Tensor:
    """The fixed transformer positional encoding: sin on even channels, cos on odd ones."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    encoding = torch.zeros(length, dim)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency)
    return encoding


class LogMel(nn.Module):
    """Whisper's log-mel front end on torch (so it runs batched on the GPU next to the encoder)."""

    filters: torch.Tensor
    window: torch.Tensor

    def __init__(self, mel_filters: np.ndarray, n_fft: int, hop_length: int) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.register_buffer("filters", torch.from_numpy(np.asarray(mel_filters, dtype=np.float32)).T.contiguous())
        self.register_buffer("window", torch.hann_window(n_fft))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """[B, samples] float32 -> [B, mels, frames]."""
        spectrum = torch.stft(audio, self.n_fft, self.hop_length, window=self.window, return_complex=True)
        power = spectrum[..., :-1].abs() ** 2
        log_spec = torch.clamp(self.filters @ power, min=1e-10).log10()
        floor = log_spec.amax(dim=(1, 2), keepdim=True) - 8.0
        return (torch.maximum(log_spec, floor) + 4.0) / 4.0


class AudioEncoder(nn.Module):
    """Log-mel + the Whisper encoder, returning every hidden state per 30 s segment."""

    def __init__(self, logmel: LogMel, encoder: WhisperEncoder) -> None:
        super().__init__()
        self.logmel = logmel
        self.encoder = encoder

    @property
    def hidden_states(self) -> int:
        return len(self.encoder.layers) + 1

    @property
    def dim(self) -> int:
        return int(self.encoder.config.d_model)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """[B, SEGMENT_SAMPLES] float32 audio -> [B, rows, L, D] in the encoder's dtype."""
        enc = self.encoder
        mel = self.logmel(audio).to(enc.conv1.weight.dtype)
        x = F.gelu(enc.conv2(F.gelu(enc.conv1(mel)))).permute(0, 2, 1)
        x = x + enc.embed_positions.weight[: x.shape[1]]
        states = [x]
        for layer in enc.layers:
            x = layer(x, None)
            states.append(x)
        states[-1] = enc.layer_norm(x)
        return torch.stack(states, dim=2)

    def device_dtype(self) -> tuple[torch.device, torch.dtype]:
        weight = self.encoder.conv1.weight
        return weight.device, weight.dtype

    @torch.inference_mode()
    def encode_segments(self, segments: Sequence[np.ndarray]) -> torch.Tensor:
        """Encode audio segments (each at most 30 s, zero-padded here) as one batch."""
        device, _ = self.device_dtype()
        batch = np.zeros((len(segments), SEGMENT_SAMPLES), dtype=np.float32)
        for row, segment in zip(batch, segments, strict=True):
            row[: len(segment)] = segment
        return self(torch.from_numpy(batch).to(device))


def frame_count(n_samples: int) -> int:
    """Video frames needed to play ``n_samples`` of audio (the last one partly silent)."""
    return -(-n_samples // SAMPLES_PER_FRAME)


def windows_from_rows(rows: torch.Tensor, frames: Sequence[int]) -> torch.Tensor:
    """Per-frame model inputs [n, 10 L, D] (+ positional encoding) from unpadded rows [T, L, D]."""
    _, layers, dim = rows.shape
    index = torch.tensor(frames, dtype=torch.long, device=rows.device).unsqueeze(1) * ROWS_PER_FRAME
    index = index + torch.arange(WINDOW_ROWS, device=rows.device)
    need = int(index.max()) + 1 if len(frames) else 0
    right = max(PAD_RIGHT_ROWS, need - PAD_LEFT_ROWS - rows.shape[0])
    padded = F.pad(rows, (0, 0, 0, 0, PAD_LEFT_ROWS, right))
    windows = padded[index].reshape(len(frames), WINDOW_ROWS * layers, dim)
    return windows + sinusoidal_encoding(WINDOW_ROWS * layers, dim).to(rows.device, rows.dtype)


@torch.inference_mode()
def clip_features(encoder: AudioEncoder, audio: Samples) -> torch.Tensor:
    """Offline features [n_samples // 320, L, D] of a whole clip, segment by segment."""
    segments = [audio[start : start + SEGMENT_SAMPLES] for start in range(0, max(len(audio), 1), SEGMENT_SAMPLES)]
    rows = torch.cat(list(encoder.encode_segments(segments)), dim=0)
    return rows[: len(audio) // SAMPLES_PER_ROW]


def clip_windows(encoder: AudioEncoder, audio: Samples) -> torch.Tensor:
    """Offline per-frame windows of a whole clip: the reference the streaming path must match."""
    return windows_from_rows(clip_features(encoder, audio), range(frame_count(len(audio))))


class Utterance:
    """One utterance's audio and features, fed in pieces (audio thread) and encoded by the server.

    ``append``/``flush`` run on the session's side; ``stale_segments``/``store``/``windows`` run
    on the inference thread. The audio buffer is guarded by a lock; the encoded rows belong to
    the inference thread alone.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._audio = np.zeros(SEGMENT_SAMPLES // 8, dtype=np.float32)
        self._n = 0
        self._flushed = False
        self._rows: dict[int, torch.Tensor] = {}
        self._encoded: dict[int, int] = {}  # segment -> samples it was encoded with

    def append(self, samples: Samples) -> None:
        with self._lock:
            if self._flushed:
                raise RuntimeError("audio pushed to a flushed utterance")
            end = self._n + len(samples)
            if end > len(self._audio):
                grown = np.zeros(max(end, 2 * len(self._audio)), dtype=np.float32)
                grown[: self._n] = self._audio[: self._n]
                self._audio = grown
            self._audio[self._n : end] = samples
            self._n = end

    def flush(self) -> None:
        with self._lock:
            self._flushed = True

    @property
    def n_samples(self) -> int:
        return self._n

    @property
    def flushed(self) -> bool:
        return self._flushed

    def ready_frames(self) -> int:
        """How many leading frames have all the audio their windows need."""
        with self._lock:
            if self._flushed:
                return frame_count(self._n)
            return max(0, (self._n - LOOKAHEAD_SAMPLES) // SAMPLES_PER_FRAME + 1)

    def frame_audio(self, frame: int) -> Samples:
        """The 40 ms that play with ``frame`` (zero-padded past the end)."""
        start = frame * SAMPLES_PER_FRAME
        out = np.zeros(SAMPLES_PER_FRAME, dtype=np.float32)
        with self._lock:
            piece = self._audio[start : min(start + SAMPLES_PER_FRAME, self._n)]
            out[: len(piece)] = piece
        return out

    def window_dbfs(self, frame: int) -> float:
        """Level of the audio the frame's feature window covers (t - 80 ms .. t + 120 ms)."""
        start = frame * SAMPLES_PER_FRAME
        with self._lock:
            piece = self._audio[max(0, start - _SILENCE_BEFORE) : min(self._n, start + _SILENCE_AFTER)]
            power = float(np.mean(np.square(piece, dtype=np.float64))) if len(piece) else 0.0
        return 10.0 * math.log10(max(power, 1e-20))

    def _segments_for(self, frames: Sequence[int]) -> range:
        first_row = max(0, min(frames) * ROWS_PER_FRAME - PAD_LEFT_ROWS)
        last_row = max(frames) * ROWS_PER_FRAME + WINDOW_ROWS - PAD_LEFT_ROWS - 1
        last_row = min(last_row, max(0, self._n - 1) // SAMPLES_PER_ROW)
        return range(first_row // SEGMENT_ROWS, max(first_row, last_row) // SEGMENT_ROWS + 1)

    def stale_segments(self, frames: Sequence[int]) -> list[tuple[int, np.ndarray]]:
        """Segments the windows of ``frames`` need that must be (re-)encoded, with their audio."""
        out = []
        with self._lock:
            for segment in self._segments_for(frames):
                start = segment * SEGMENT_SAMPLES
                audio = self._audio[start : min(self._n, start + SEGMENT_SAMPLES)]
                if self._encoded.get(segment, -1) < len(audio):
                    out.append((segment, audio.copy()))
        return out

    def store(self, segment: int, rows: torch.Tensor, samples: int) -> None:
        self._rows[segment] = rows
        self._encoded[segment] = samples

    def windows(self, frames: Sequence[int]) -> torch.Tensor:
        """Model inputs for ``frames``; their segments must have been stored since audio last grew."""
        segments = self._segments_for(frames)
        first = segments.start
        rows = torch.cat([self._rows[s] for s in segments], dim=0)
        if self._flushed:
            rows = rows[: max(0, self._n // SAMPLES_PER_ROW - first * SEGMENT_ROWS)]
        # Rows before the first stored segment are never read: shift frame indices instead.
        shift = first * SEGMENT_ROWS // ROWS_PER_FRAME
        return windows_from_rows(rows, [f - shift for f in frames])
