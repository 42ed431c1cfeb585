"""MuseTalk 1.5 on one GPU: model speed by batch size, and sessions served at 25 fps by the server.

Runs the real architecture (UNet of musetalk.json, sd-vae-ft-mse, whisper-tiny) at random weights:
speed does not depend on the weight values. Every section stops on its time budget and the JSON is
rewritten after each one, so a run cut short still leaves its numbers.

    PYTHONPATH=. python bench/musetalk_gpu.py --out bench/results        # on a CUDA machine
    PYTHONPATH=. python bench/musetalk_gpu.py --tiny --out /tmp/bench     # CPU smoke test, tiny configs
"""
import argparse
import asyncio
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from skimage import data
from torch.utils.flop_counter import FlopCounterMode

from avatar_runtime.render.musetalk.compose import upload_avatar
from avatar_runtime.render.musetalk.config import RELEASE_CONFIGS, SCALING_FACTOR, WINDOW_ROWS
from avatar_runtime.render.musetalk.engine import BATCH_SIZES, EngineSettings
from avatar_runtime.render.musetalk.prepare import PreparedAvatar, PrepareSettings, idle_clip, prepare_avatar
from avatar_runtime.render.musetalk.renderer import MuseTalkRenderer, SessionSettings
from avatar_runtime.render.musetalk.server import MuseTalkServer, ServerSettings
from avatar_runtime.render.musetalk.weights import MuseTalkModels, build_models

REAL = RELEASE_CONFIGS
TINY = {
    "unet": {**REAL["unet"], "cross_attention_dim": 32, "block_out_channels": [32, 64], "layers_per_block": 1,
             "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
             "norm_num_groups": 8},
    "vae": {**REAL["vae"], "block_out_channels": [8, 8, 16, 16], "layers_per_block": 1, "norm_num_groups": 4},
    "whisper": {**REAL["whisper"], "d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 2, "encoder_ffn_dim": 64,
                "decoder_layers": 1, "decoder_attention_heads": 2, "decoder_ffn_dim": 64},
}
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Report:
    """Results so far, rewritten to disk after every section."""

    def __init__(self, path: Path, started: float, budget: float) -> None:
        self.path, self.started, self.budget = path, started, budget
        self.data: dict[str, Any] = {}

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.started)

    def save(self, **values: Any) -> None:
        self.data.update(values)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=1, default=str))
        print(f"[{time.monotonic() - self.started:6.1f}s] saved {', '.join(values)}", flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_ms(fn: Callable[[], object], device: torch.device, reps: int = 5, warmup: int = 2) -> float:
    """Median wall time of ``fn`` on the device (events on CUDA, so launch gaps count)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(reps):
        if device.type == "cuda":
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            fn()
            end.record()
            end.synchronize()
            times.append(begin.elapsed_time(end))
        else:
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def matmul_tflops(device: torch.device) -> float:
    n = 8192
    a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16) for _ in range(2))
    return 2 * n**3 / (time_ms(lambda: a @ b, device, reps=20, warmup=5) / 1000) / 1e12


def inputs(models: MuseTalkModels, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    latents = torch.randn(batch, 8, 32, 32, device=models.device, dtype=models.dtype)
    tokens = WINDOW_ROWS * models.audio.hidden_states
    audio = torch.randn(batch, tokens, models.audio.dim, device=models.device, dtype=models.dtype)
    return latents, audio


@torch.inference_mode()
def count_flops(models: MuseTalkModels) -> dict[str, float]:
    latents, audio = inputs(models, 1)
    with FlopCounterMode(display=False) as unet_counter:
        pred = models.unet(latents, 0, encoder_hidden_states=audio).sample
    with FlopCounterMode(display=False) as vae_counter:
        models.vae.decode(pred / SCALING_FACTOR)
    segment = np.zeros((1, 480000), dtype=np.float32)
    with FlopCounterMode(display=False) as whisper_counter:
        models.audio(torch.from_numpy(segment).to(models.device))
    unet, vae = unet_counter.get_total_flops(), vae_counter.get_total_flops()
    return {"unet": unet, "vae_decode": vae, "total": unet + vae, "whisper_segment_30s": whisper_counter.get_total_flops()}


def graph_ms(fn: Callable[[], object], device: torch.device) -> float:
    """Median time of a CUDA-graph replay of ``fn`` (its inputs are closed over, so fixed)."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        fn()
        fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    try:
        return time_ms(graph.replay, device, reps=10, warmup=2)
    finally:
        del graph
        torch.cuda.empty_cache()


@torch.inference_mode()
def sweep(models: MuseTalkModels, sizes: list[int], graphs: bool, report: Report, stop_at: float,
          decoder: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list[dict[str, float]]:
    """Per-batch latency of the UNet and the VAE decode, eager or as CUDA graphs (``decoder``: a
    compiled VAE decoder to time instead of the eager one)."""
    decode = decoder if decoder is not None else models.vae.decoder
    rows = []
    for size in sizes:
        if report.left() < stop_at:
            print(f"  budget: sweep stopped before batch {size}", flush=True)
            break
        latents, audio = inputs(models, size)
        step = torch.zeros((), dtype=torch.long, device=models.device)  # a host scalar would copy inside a graph
        pred = models.unet(latents, step, encoder_hidden_states=audio).sample

        def unet(latents: torch.Tensor = latents, audio: torch.Tensor = audio, step: torch.Tensor = step) -> object:
            return models.unet(latents, step, encoder_hidden_states=audio).sample

        def vae(pred: torch.Tensor = pred) -> object:
            latent = models.vae.post_quant_conv(pred / SCALING_FACTOR)
            if decoder is not None:
                torch._dynamo.maybe_mark_dynamic(latent, 0)
            return decode(latent)

        timer = (lambda fn: graph_ms(fn, models.device)) if graphs else (lambda fn: time_ms(fn, models.device))
        unet_ms, vae_ms = timer(unet), timer(vae)
        total = unet_ms + vae_ms
        rows.append({"batch": size, "unet_ms": unet_ms, "vae_ms": vae_ms, "total_ms": total,
                     "ms_per_frame": total / size, "fps": 1000 * size / total})
        print(f"  batch {size:3d}: unet {unet_ms:7.2f} ms  vae {vae_ms:7.2f} ms  -> {1000 * size / total:7.1f} fps", flush=True)
    return rows


def speech(seconds: float, seed: int) -> np.ndarray:
    """Speech-like audio: a voiced buzz with moving pitch and syllable-rate loudness."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t + seed)
    buzz = np.sign(np.sin(2 * np.pi * np.cumsum(pitch) / 16000)) + 0.3 * rng.standard_normal(len(t))
    return (0.2 * buzz * (0.5 + 0.5 * np.sin(2 * np.pi * 5 * t + seed) ** 2)).astype(np.float32)


async def simulate(server: MuseTalkServer, avatar: PreparedAvatar, sessions: int, seconds: float,
                   chunk: float = 0.2, burst: float = 0.4, pause: float = 0.2) -> dict[str, float]:
    """``sessions`` kiosks talking all the time (3 s utterances, ``pause`` apart), audio pushed as a
    streaming TTS delivers it: the first ``burst`` seconds at once, then ``chunk`` s every ``chunk`` s."""
    renderers = [MuseTalkRenderer(server, avatar, session_id=f"s{i}", settings=SessionSettings()) for i in range(sessions)]
    emit_lag: list[float] = []
    end = time.monotonic() + seconds
    before = dataclasses.replace(server.stats)

    async def consume(renderer: MuseTalkRenderer) -> None:
        async for frame in renderer.frames():
            emit_lag.append(time.monotonic() - renderer.slot_time(round(frame.pts * renderer.fps)))
            if time.monotonic() > end + 0.3:
                return

    async def produce(renderer: MuseTalkRenderer, index: int) -> None:
        await asyncio.sleep(index * 1.0 / sessions)
        utterance = 0
        while time.monotonic() < end - 1.0:
            audio = speech(3.0, seed=index * 100 + utterance)
            first, step = int(burst * 16000), int(chunk * 16000)
            renderer.push_audio(audio[:first], 16000)
            for start in range(first, len(audio), step):
                await asyncio.sleep(chunk)
                renderer.push_audio(audio[start : start + step], 16000)
            renderer.flush()
            utterance += 1
            await asyncio.sleep(pause)

    await asyncio.gather(*(consume(r) for r in renderers), *(produce(r, i) for i, r in enumerate(renderers)))
    for renderer in renderers:
        await renderer.close()
    lateness = [x for r in renderers for x in r.stats.lateness]
    first = [x for r in renderers for x in r.stats.first_frame]
    rendered = server.stats.rendered - before.rendered
    batches = server.stats.batches - before.batches
    busy = server.stats.busy_seconds - before.busy_seconds

    def pct(values: list[float], q: float) -> float:
        return float(np.percentile(values, q) * 1000) if values else float("nan")

    return {"sessions": sessions, "rendered_fps": rendered / seconds, "mean_batch": rendered / max(1, batches),
            "server_busy_fraction": busy / seconds, "encoded_segments_per_s": (server.stats.encoded_segments
                                                                             - before.encoded_segments) / seconds,
            "lateness_p50_ms": pct(lateness, 50), "lateness_p95_ms": pct(lateness, 95), "lateness_max_ms": pct(lateness, 100),
            "emit_lag_p95_ms": pct(emit_lag, 95), "replaced": sum(r.stats.replaced for r in renderers),
            "underruns": sum(r.stats.underruns for r in renderers),
            "first_frame_p50_ms": pct(first, 50), "first_frame_p95_ms": pct(first, 95), "frames": len(lateness)}


def sustained(result: dict[str, float]) -> bool:
    return (result["lateness_p95_ms"] < 40 and result["emit_lag_p95_ms"] < 40
            and result["replaced"] <= 0.01 * max(1.0, result["frames"]))


def base_clip(tiny: bool) -> list[np.ndarray]:
    """A 720 x 720 kiosk portrait (public-domain astronaut photo) made into a short idle clip."""
    side = 200 if tiny else 720
    photo = cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_CUBIC)
    return idle_clip(photo, seconds=0.12 if tiny else 0.8)


def serve(models: MuseTalkModels, report: Report, tiny: bool, trial_seconds: float) -> None:
    device = models.device
    prepare_start = time.perf_counter()
    avatar = prepare_avatar(base_clip(tiny), models, settings=PrepareSettings(batch=8))
    report.save(prepare={"frames": len(avatar.frames), "seconds": time.perf_counter() - prepare_start,
                         "crop_side": int(avatar.masks.shape[-1])})
    sizes = [1, 2, 4, 8] if tiny else list(BATCH_SIZES)
    server = MuseTalkServer(models, ServerSettings(engine=EngineSettings(batch_sizes=tuple(sizes))))
    capture_start = time.perf_counter()
    server.start()
    report.save(engine={"capture_seconds": time.perf_counter() - capture_start,
                        "graph_ms": {b: c * 1000 for b, c in server.engine.costs.items()},
                        "graph_fps": {b: b / c for b, c in server.engine.costs.items()}})
    if device.type == "cuda":
        before = torch.cuda.memory_allocated()
        copy = upload_avatar(dataclasses.replace(avatar, key="copy"), device, models.dtype)
        report.save(avatar_upload_mib=(torch.cuda.memory_allocated() - before) / 2**20)
        del copy
    trials: list[dict[str, float]] = []
    plan = [1, 2] if tiny else [1, 16, 20, 24, 28, 32, 12, 8]
    best = 0
    for sessions in plan:
        if report.left() < trial_seconds + 20 or (best and sessions < best) or (trials and not tiny and sessions > 16
                                                                                and not sustained(trials[-1])):
            continue
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        # One session pauses 1 s between utterances, so each starts from an idle avatar (first-frame latency).
        result = asyncio.run(simulate(server, avatar, sessions, trial_seconds, pause=1.0 if sessions == 1 else 0.2))
        if device.type == "cuda":
            result["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        result["sustained"] = sustained(result)
        trials.append(result)
        if result["sustained"]:
            best = max(best, sessions)
        print("  sim", {k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}, flush=True)
        report.save(server_trials=trials, sessions_at_25fps=best)
    server.stop()


def compile_unet(out: Path, dtype: torch.dtype, batch: int) -> None:
    """Child process: the UNet under torch.compile (default mode) vs eager, both as CUDA graphs."""
    device = torch.device("cuda")
    models = build_models(unet_config=REAL["unet"], vae_config=TINY["vae"], whisper_config=REAL["whisper"],
                          device=device, dtype=dtype)
    latents, audio = inputs(models, batch)
    step = torch.zeros((), dtype=torch.long, device=device)
    result: dict[str, float] = {"batch": batch}
    with torch.inference_mode():
        result["eager_graph_ms"] = graph_ms(lambda: models.unet(latents, step, encoder_hidden_states=audio).sample, device)
        out.write_text(json.dumps(result))
        unet = torch.compile(models.unet)
        start = time.perf_counter()
        unet(latents, step, encoder_hidden_states=audio)
        sync(device)
        result["compile_seconds"] = time.perf_counter() - start
        out.write_text(json.dumps(result))
        result["compiled_graph_ms"] = graph_ms(lambda: unet(latents, step, encoder_hidden_states=audio).sample, device)
    out.write_text(json.dumps(result))


def run_compile_child(report: Report, dtype_name: str, budget: float) -> None:
    out = report.path.with_name("musetalk_compile_unet.tmp.json")
    command = [sys.executable, __file__, "--compile-unet", str(out), "--dtype", dtype_name]
    try:
        subprocess.run(command, timeout=budget, check=False)
    except subprocess.TimeoutExpired:
        print(f"  compile experiment stopped after {budget:.0f} s", flush=True)
    result = json.loads(out.read_text()) if out.exists() else {}
    result["budget_seconds"] = budget
    report.save(unet_compile=result)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--budget", type=float, default=500.0, help="seconds for the whole run")
    parser.add_argument("--tiny", action="store_true", help="tiny configs on the CPU (smoke test)")
    parser.add_argument("--trial-seconds", type=float, default=8.0)
    parser.add_argument("--compile-budget", type=float, default=150.0)
    parser.add_argument("--skip-eager", action="store_true", help="no eager / eager-VAE sweeps (kept from an earlier run)")
    parser.add_argument("--skip-sweeps", action="store_true", help="no per-batch sweeps at all (kept from an earlier run)")
    parser.add_argument("--compile-unet", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="bf16", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compile_unet:
        compile_unet(args.compile_unet, DTYPES[args.dtype], batch=16)
        return

    started = time.monotonic()
    cuda = torch.cuda.is_available() and not args.tiny
    device = torch.device("cuda" if cuda else "cpu")
    gpu = torch.cuda.get_device_name().replace(" ", "_") if cuda else "cpu_tiny"
    report = Report(args.out / f"musetalk_{gpu.lower()}.json", started, args.budget)
    import diffusers
    import transformers

    report.save(gpu=gpu, torch=torch.__version__, diffusers=diffusers.__version__, transformers=transformers.__version__,
                architecture="tiny (smoke test)" if args.tiny else "MuseTalk 1.5 (random weights)")
    configs = TINY if args.tiny else REAL
    sizes = [1, 2, 4] if args.tiny else [1, 2, 4, 8, 16, 32, 48, 64]
    if cuda:
        torch.backends.cudnn.benchmark = True
        report.save(bf16_matmul_tflops=matmul_tflops(device))
    models = build_models(unet_config=configs["unet"], vae_config=configs["vae"], whisper_config=configs["whisper"],
                          device=device, dtype=torch.bfloat16 if cuda else None, face_parser=True)
    flops = count_flops(models)
    report.save(flops_per_frame=flops)

    results: dict[str, list[dict[str, float]]] = {}
    dtypes = ["bf16", "fp16"] if cuda else ["fp32"]
    for name in [] if args.skip_sweeps else dtypes:
        if cuda:
            for module in (models.unet, models.vae, models.audio.encoder):
                module.to(DTYPES[name])
            models.dtype = DTYPES[name]
        for layout in () if args.skip_eager else ("nchw", "channels_last"):
            memory_format = torch.channels_last if layout == "channels_last" else torch.contiguous_format
            models.unet.to(memory_format=memory_format)
            models.vae.to(memory_format=memory_format)
            print(f"eager {name} {layout}", flush=True)
            results[f"eager_{name}_{layout}"] = sweep(models, sizes, graphs=False, report=report, stop_at=args.budget * 0.6)
            report.save(sweeps=results)
        if cuda and not args.skip_eager:
            print(f"cuda graphs {name} channels_last", flush=True)
            results[f"graphs_{name}_channels_last"] = sweep(models, sizes, graphs=True, report=report, stop_at=args.budget * 0.55)
            report.save(sweeps=results)
        if cuda:
            models.unet.to(memory_format=torch.contiguous_format)
            models.vae.to(memory_format=torch.contiguous_format)
            print(f"cuda graphs {name}, UNet + compiled VAE decoder", flush=True)
            results[f"graphs_{name}_compiled_vae"] = sweep(models, sizes, graphs=True, report=report,
                                                           stop_at=args.budget * 0.55, decoder=torch.compile(models.vae.decoder))
            report.save(sweeps=results)

    best_dtype = "fp32"
    if cuda:
        compiled = {n: results[f"graphs_{n}_compiled_vae"] for n in dtypes if f"graphs_{n}_compiled_vae" in results}
        best_dtype = min(compiled, key=lambda n: min(r["ms_per_frame"] for r in compiled[n])) if compiled else "bf16"
        models.unet.to(DTYPES[best_dtype])
        models.vae.to(DTYPES[best_dtype])
        models.audio.encoder.to(DTYPES[best_dtype])
        models.dtype = DTYPES[best_dtype]
    report.save(dtype=best_dtype)
    serve(models, report, args.tiny, args.trial_seconds if not args.tiny else 2.0)
    summarise(report, best_dtype)
    if cuda and args.compile_budget > 0 and report.left() > 60:
        run_compile_child(report, best_dtype, min(args.compile_budget, report.left() - 20))
    print_table(report.data)


def summarise(report: Report, dtype: str) -> None:
    d = report.data
    graph_fps = d.get("engine", {}).get("graph_fps", {})
    swept = [r["fps"] for rows in d.get("sweeps", {}).values() for r in rows]
    fps = max(graph_fps.values()) if graph_fps else max(swept, default=float("nan"))
    trials = d.get("server_trials", [])
    single = next((t for t in trials if t["sessions"] == 1), {})
    summary: dict[str, Any] = {"frames_per_second": fps, "first_frame_ms": single.get("first_frame_p50_ms")}
    if "bf16_matmul_tflops" in d:
        floor_ms = d["flops_per_frame"]["total"] / (d["bf16_matmul_tflops"] * 1e12) * 1000
        summary.update(floor_ms_per_frame=floor_ms, achieved_fraction=floor_ms / (1000 / fps))
    peaks = [(t["sessions"], t["peak_mib"]) for t in trials if "peak_mib" in t]
    if len(peaks) >= 2:
        (n0, m0), (n1, m1) = min(peaks), max(peaks)
        summary["gpu_mib_per_added_session"] = (m1 - m0) / max(1, n1 - n0)
    report.save(**summary)


def print_table(d: dict[str, Any]) -> None:
    print(f"\nMuseTalk 1.5 on {d['gpu']} (torch {d['torch']}), dtype {d.get('dtype')}")
    flops = d["flops_per_frame"]
    print(f"FLOPs/frame: UNet {flops['unet'] / 1e9:.0f} G + VAE decode {flops['vae_decode'] / 1e9:.0f} G")
    for name, rows in d.get("sweeps", {}).items():
        print(f"{name:28s} " + "  ".join(f"b{r['batch']}:{r['fps']:.0f}" for r in rows) + "  (frames/s)")
    for name, rows in d.get("sweeps", {}).items():
        print(f"{name:28s} unet ms " + " ".join(f"{r['unet_ms']:.1f}" for r in rows)
              + " | vae ms " + " ".join(f"{r['vae_ms']:.1f}" for r in rows))
    for trial in d.get("server_trials", []):
        print(f"sessions {trial['sessions']:3d}: {trial['rendered_fps']:6.1f} fps rendered, batch {trial['mean_batch']:.1f}, "
              f"lateness p95 {trial['lateness_p95_ms']:.1f} ms, emit lag p95 {trial['emit_lag_p95_ms']:.1f} ms, "
              f"first frame p50 {trial['first_frame_p50_ms']:.0f} ms, replaced {trial['replaced']}, "
              f"underruns {trial['underruns']}, busy {trial['server_busy_fraction']:.2f}, "
              f"peak {trial.get('peak_mib', 0):.0f} MiB -> {'ok' if trial['sustained'] else 'NOT sustained'}")
    keys = ("frames_per_second", "sessions_at_25fps", "first_frame_ms", "floor_ms_per_frame", "achieved_fraction",
            "gpu_mib_per_added_session", "avatar_upload_mib", "unet_compile")
    for key in keys:
        if key in d:
            print(f"{key}: {d[key]}")


if __name__ == "__main__":
    main()
