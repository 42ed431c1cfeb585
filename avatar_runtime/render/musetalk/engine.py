"""The per-frame model call, batched: UNet (one step, t = 0) then VAE decode, at fixed batch sizes.

On the GPU each batch size gets a CUDA graph, captured once (largest first, one shared memory
pool): the UNet at small batches is bound by kernel launches, which a graph replay removes. The VAE
decoder, which dominates at larger batches (622 of 800 GFLOP a frame), is compiled by
``torch.compile`` (default mode, batch dimension dynamic: two compilations in all, size 1 and the
rest), fusing its group norms and activations. A batch is padded up to the next captured size;
padded rows hold stale inputs and are ignored. On the CPU (tests, CI) it runs eagerly at the exact
batch size.
"""
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from avatar_runtime.render.musetalk.config import LATENT_SIZE, SCALING_FACTOR
from avatar_runtime.render.musetalk.weights import MuseTalkModels

log = logging.getLogger(__name__)

BATCH_SIZES = (1, 2, 4, 8, 16, 24, 32, 48, 64)


@dataclass(frozen=True)
class EngineSettings:
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    cuda_graphs: bool = True  # ignored on the CPU
    compile_vae: bool = True  # ignored on the CPU
    channels_last: bool = False


class _Graph:
    def __init__(self, graph: torch.cuda.CUDAGraph, latents: torch.Tensor, audio: torch.Tensor, out: torch.Tensor) -> None:
        self.graph, self.latents, self.audio, self.out = graph, latents, audio, out


class FrameEngine:
    def __init__(self, models: MuseTalkModels, settings: EngineSettings | None = None) -> None:
        self.models = models
        self.settings = settings or EngineSettings()
        self.batch_sizes = tuple(sorted(self.settings.batch_sizes))
        self._graphs: dict[int, _Graph] = {}
        self.costs: dict[int, float] = {}  # seconds per graph replay, by batch size (GPU only)
        self._use_graphs = self.settings.cuda_graphs and models.device.type == "cuda"
        if models.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: pick each convolution's fastest kernel once
        self._memory_format = torch.channels_last if self.settings.channels_last else torch.contiguous_format
        if self.settings.channels_last:
            models.unet.to(memory_format=torch.channels_last)
            models.vae.to(memory_format=torch.channels_last)
        self._timestep = torch.zeros((), device=models.device, dtype=torch.long)
        self._decoder: Callable[[torch.Tensor], torch.Tensor] = models.vae.decoder
        self._compiled = self.settings.compile_vae and models.device.type == "cuda"
        if self._compiled:
            self._decoder = torch.compile(models.vae.decoder)

    @property
    def max_batch(self) -> int:
        return self.batch_sizes[-1]

    def padded_size(self, count: int) -> int:
        """The smallest fixed batch size that holds ``count`` frames."""
        if count > self.max_batch:
            raise ValueError(f"batch of {count} exceeds the largest size {self.max_batch}")
        return next(size for size in self.batch_sizes if size >= count)

    def batch_size(self, count: int) -> int:
        """Rows the model actually computes for ``count`` frames (padded only where graphs are replayed)."""
        return self.padded_size(count) if self._use_graphs else count

    def forward(self, latents: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """[B, 8, 32, 32] latents + [B, tokens, D] audio windows -> faces [B, 3, 256, 256] in [0, 1]."""
        latents = latents.contiguous(memory_format=self._memory_format)
        pred = self.models.unet(latents, self._timestep, encoder_hidden_states=audio, return_dict=False)[0]
        latent = self.models.vae.post_quant_conv(pred / SCALING_FACTOR)
        if self._compiled:
            torch._dynamo.maybe_mark_dynamic(latent, 0)  # one compiled decoder for every batch size above 1
        image = self._decoder(latent)
        return (image / 2 + 0.5).clamp(0, 1)

    @torch.inference_mode()
    def capture(self, tokens: int, sizes: Sequence[int] | None = None) -> dict[int, float]:
        """Capture a graph per batch size (seconds each); a no-op on the CPU."""
        if not self._use_graphs:
            return {}
        models, timings = self.models, {}
        pool = torch.cuda.graph_pool_handle()
        for size in sorted(sizes or self.batch_sizes, reverse=True):
            start = time.perf_counter()
            latents = torch.randn(size, 8, LATENT_SIZE, LATENT_SIZE, device=models.device, dtype=models.dtype)
            audio = torch.randn(size, tokens, models.audio.dim, device=models.device, dtype=models.dtype)
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(2):
                    self.forward(latents, audio)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=pool):
                out = self.forward(latents, audio)
            torch.cuda.synchronize()
            self._graphs[size] = _Graph(graph, latents, audio, out)
            timings[size] = time.perf_counter() - start
            self.costs[size] = _replay_seconds(graph)
        log.info("captured CUDA graphs for batch sizes %s", sorted(timings))
        return timings

    @torch.inference_mode()
    def render(self, latents: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Faces for ``count`` frames; a new tensor the caller may keep."""
        count = latents.shape[0]
        graph = self._graphs.get(self.padded_size(count)) if self._use_graphs else None
        if graph is None:
            return self.forward(latents, audio)
        graph.latents[:count].copy_(latents)
        graph.audio[:count].copy_(audio)
        graph.graph.replay()
        return graph.out[:count].clone()


def _replay_seconds(graph: torch.cuda.CUDAGraph, repeats: int = 5) -> float:
    """Median device time of a graph replay."""
    times = []
    for _ in range(repeats):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(begin.elapsed_time(end) / 1000.0)
    return sorted(times)[len(times) // 2]
