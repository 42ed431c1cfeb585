"""The batched GPU work: audio encoding, and the per-frame UNet (one step, t = 0) + VAE decode.

On the GPU every call runs as a CUDA graph captured once per fixed batch size (largest first, one
shared memory pool; powers of two, so a batch pads to at most twice its rows and start-up captures
few sizes): at small batches the models are bound by kernel launches, which a replay
removes. Before capture, the UNet and the VAE decoder are compiled by ``torch.compile`` (default
mode; the batch dimension is dynamic, so each compiles twice: size 1 and every other size), which
fuses the group norms and activations around the convolutions; the VAE decoder (622 of the 800
GFLOP of a frame) runs channels-last. A batch is padded up to the next captured size; padded rows
hold stale inputs and are ignored. On the CPU (tests, CI) everything runs eagerly at the exact size.

With ``decode_from`` > 0 the decoder's up-sampling stages (nearly all of its cost) run only on the
latent rows from ``decode_from - decode_margin`` down (``LowerDecoder``); the face's rows above
``8 * decode_from``, which the blend mask leaves out, are the avatar's own reference face.
"""
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.models.autoencoders.vae import Decoder
from torch import nn

from avatar_runtime.render.musetalk.compile_cache import architecture_digest, host_fields
from avatar_runtime.render.musetalk.config import FACE_SIZE, LATENT_SIZE, SCALING_FACTOR, SEGMENT_SAMPLES
from avatar_runtime.render.musetalk.weights import MuseTalkModels

log = logging.getLogger(__name__)

BATCH_SIZES = (1, 2, 4, 8, 16, 32)  # 64 (116-125 ms) never fits the server's 75 ms batch cap
ENCODE_BATCH_SIZES = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class EngineSettings:
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    encode_batch_sizes: tuple[int, ...] = ENCODE_BATCH_SIZES
    cuda_graphs: bool = True  # GPU only
    compile: bool = True  # GPU only: torch.compile the UNet and the VAE decoder before capture
    # First latent row (of 32) that is decoded; 0 decodes the whole face. The blend mask keeps only
    # the lower half of the face box, feathered upwards by about 12 px, so 14 (face rows 112 on) is
    # the smallest that leaves every masked pixel decoded.
    decode_from: int = 0
    decode_margin: int = 4  # latent rows decoded above ``decode_from`` and thrown away (the convolutions' edge)

    def __post_init__(self) -> None:
        if not 0 <= self.decode_from < LATENT_SIZE or self.decode_margin < 0:
            raise ValueError(f"decode_from must be in [0, {LATENT_SIZE}) and decode_margin >= 0")

    @property
    def upper_rows(self) -> int:
        """Face rows (of 256) taken from the reference face instead of the decoder."""
        return self.decode_from * FACE_SIZE // LATENT_SIZE


class LowerDecoder(nn.Module):
    """The VAE decoder for the image rows from latent row ``start`` down.

    The input convolution and the middle block (attention over every position, cheap at 32 x 32)
    see the whole latent; the up-sampling stages see rows from ``start - margin``, whose top
    ``margin`` rows are cut from the output. Not exact: those stages' group norms take their
    statistics over the rows they see, and the convolutions' reach exceeds a small margin.
    """

    def __init__(self, decoder: Decoder, start: int, margin: int) -> None:
        super().__init__()
        self.decoder, self.start, self.first = decoder, start, max(0, start - margin)
        self.scale = 2 ** sum(getattr(block, "upsamplers", None) is not None for block in decoder.up_blocks)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        decoder = self.decoder
        sample = decoder.mid_block(decoder.conv_in(latent), None)[:, :, self.first :]
        for block in decoder.up_blocks:
            sample = block(sample, None)
        sample = decoder.conv_out(decoder.conv_act(decoder.conv_norm_out(sample)))
        return sample[:, :, (self.start - self.first) * self.scale :]


class _Graph:
    """A captured call: copy inputs into ``inputs``, replay, read ``out``."""

    def __init__(self, fn: Callable[..., torch.Tensor], inputs: list[torch.Tensor], pool: Any) -> None:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                fn(*inputs)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, pool=pool):
            self.out = fn(*inputs)
        self.inputs = inputs

    def run(self, *values: torch.Tensor) -> torch.Tensor:
        for static, value in zip(self.inputs, values, strict=True):
            static[: value.shape[0]].copy_(value)
        self.graph.replay()
        return self.out[: values[0].shape[0]]

    def seconds(self, repeats: int = 5) -> float:
        """Median device time of a replay."""
        times = []
        for _ in range(repeats):
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            self.graph.replay()
            end.record()
            end.synchronize()
            times.append(begin.elapsed_time(end) / 1000.0)
        return sorted(times)[len(times) // 2]


def _next_size(sizes: Sequence[int], count: int) -> int:
    if count > max(sizes):
        raise ValueError(f"batch of {count} exceeds the largest size {max(sizes)}")
    return next(size for size in sorted(sizes) if size >= count)


class FrameEngine:
    def __init__(self, models: MuseTalkModels, settings: EngineSettings | None = None) -> None:
        self.models = models
        self.settings = settings or EngineSettings()
        self.batch_sizes = tuple(sorted(self.settings.batch_sizes))
        gpu = models.device.type == "cuda"
        self._use_graphs = self.settings.cuda_graphs and gpu
        self._compiled = self.settings.compile and gpu
        self._frames: dict[int, _Graph] = {}
        self._encodes: dict[int, _Graph] = {}
        self.costs: dict[int, float] = {}  # seconds per frame-batch replay, by batch size (GPU only)
        self._timestep = torch.zeros((), device=models.device, dtype=torch.long)
        self._unet: Callable[..., Any] = models.unet
        decoder = models.vae.decoder
        if self.settings.decode_from:
            decoder = LowerDecoder(decoder, self.settings.decode_from, self.settings.decode_margin)
        self._decoder: Callable[[torch.Tensor], torch.Tensor] = decoder
        if gpu:
            torch.backends.cudnn.benchmark = True  # fixed shapes: pick each convolution's fastest kernel once
        if self._compiled:
            models.vae.to(memory_format=torch.channels_last)
            self._unet = torch.compile(models.unet)
            self._decoder = torch.compile(decoder)

    @property
    def compiled(self) -> bool:
        return self._compiled

    def cache_fields(self) -> dict[str, object]:
        """What this engine's compiled code depends on: the key of its compile cache entry."""
        models = self.models
        return {**host_fields(models.device), "dtype": str(models.dtype), "batch_sizes": list(self.batch_sizes),
                "encode_batch_sizes": list(self.settings.encode_batch_sizes),
                "decode": [self.settings.decode_from, self.settings.decode_margin],
                "architecture": architecture_digest(models.unet.config, models.vae.config)}  # the compiled modules

    @property
    def max_batch(self) -> int:
        return self.batch_sizes[-1]

    def padded_size(self, count: int) -> int:
        """The smallest fixed batch size that holds ``count`` frames."""
        return _next_size(self.batch_sizes, count)

    def batch_size(self, count: int) -> int:
        """Rows the model actually computes for ``count`` frames (padded only where graphs are replayed)."""
        return self.padded_size(count) if self._use_graphs else count

    @property
    def upper_rows(self) -> int:
        """Rows of each face that ``render`` takes from its ``upper`` argument (0: none)."""
        return self.settings.upper_rows

    def forward(self, latents: torch.Tensor, audio: torch.Tensor, upper: torch.Tensor | None = None) -> torch.Tensor:
        """[B, 8, 32, 32] latents + [B, tokens, D] audio windows -> faces [B, 3, 256, 256] in [0, 1].

        ``upper``: [B, 3, upper_rows, 256] reference faces in [0, 1], when only the lower rows are decoded.
        """
        if self._compiled:
            torch._dynamo.maybe_mark_dynamic(latents, 0)  # one compiled UNet for every batch size above 1
        pred = self._unet(latents, self._timestep, encoder_hidden_states=audio, return_dict=False)[0]
        latent = self.models.vae.post_quant_conv(pred / SCALING_FACTOR)
        if self._compiled:
            latent = latent.contiguous(memory_format=torch.channels_last)
            torch._dynamo.maybe_mark_dynamic(latent, 0)
        image = (self._decoder(latent) / 2 + 0.5).clamp(0, 1)
        if upper is not None:
            image = torch.cat([upper.to(image.dtype), image], dim=2)
        return image

    @torch.inference_mode()
    def capture(self, tokens: int) -> dict[int, float]:
        """Compile (first call) and capture every batch size; seconds each. A no-op on the CPU."""
        if not self._use_graphs:
            return {}
        models, timings = self.models, {}
        pool = torch.cuda.graph_pool_handle()
        for size in sorted(self.batch_sizes, reverse=True):
            start = time.perf_counter()
            latents = torch.randn(size, 8, LATENT_SIZE, LATENT_SIZE, device=models.device, dtype=models.dtype)
            audio = torch.randn(size, tokens, models.audio.dim, device=models.device, dtype=models.dtype)
            inputs = [latents, audio]
            if self.upper_rows:
                inputs.append(torch.rand(size, 3, self.upper_rows, FACE_SIZE, device=models.device, dtype=models.dtype))
            graph = _Graph(self.forward, inputs, pool)
            self._frames[size] = graph
            self.costs[size] = graph.seconds()
            timings[size] = time.perf_counter() - start
        for size in sorted(self.settings.encode_batch_sizes, reverse=True):
            audio = torch.zeros(size, SEGMENT_SAMPLES, device=models.device)
            self._encodes[size] = _Graph(models.audio, [audio], pool)
        log.info("captured CUDA graphs for batch sizes %s", sorted(timings))
        return timings

    @torch.inference_mode()
    def render(self, latents: torch.Tensor, audio: torch.Tensor, upper: torch.Tensor | None = None) -> torch.Tensor:
        """Faces for ``count`` frames; a new tensor the caller may keep. ``upper`` is required when
        ``upper_rows`` > 0 (and ignored otherwise)."""
        inputs = [latents, audio]
        if self.upper_rows:
            if upper is None:
                raise ValueError("this engine decodes only the lower face: pass the reference faces' upper rows")
            inputs.append(upper)
        graph = self._frames.get(self.padded_size(latents.shape[0])) if self._use_graphs else None
        if graph is None:
            return self.forward(*inputs)
        return graph.run(*inputs).clone()

    @torch.inference_mode()
    def encode(self, segments: Sequence[np.ndarray]) -> torch.Tensor:
        """Whisper hidden states [B, 1500, L, D] of audio segments (each up to 30 s, zero-padded here).

        Only the audio present crosses to the device; the padding to 30 s is made there.
        """
        device = self.models.device
        longest = max(1, max(len(s) for s in segments))
        host = np.zeros((len(segments), longest), dtype=np.float32)
        for row, segment in zip(host, segments, strict=True):
            row[: len(segment)] = segment
        audio = F.pad(torch.from_numpy(host).to(device), (0, SEGMENT_SAMPLES - longest))
        sizes = self.settings.encode_batch_sizes
        graph = self._encodes.get(_next_size(sizes, len(segments))) if self._encodes and len(segments) <= max(sizes) else None
        if graph is None:
            return self.models.audio(audio)
        return graph.run(audio).clone()
