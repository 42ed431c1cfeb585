"""The whole GPU worker under N kiosk sessions: render, per-session composition and video encoding.

One real ``MuseTalkServer`` (random weights unless MODELS_DIR holds the official ones: the output
says which) serves N ``MuseTalkRenderer`` sessions. Each session speaks answers as a streaming TTS
delivers them and consumes its frames the way the worker's WebSocket media path does
(``session_runner``: JPEG + PCM16 in a thread), so rendering, the paste of the
face into the base frame and encoding all run in this process. Per N it reports frames on time at
the client (payload ready within one frame period of its slot, and not a base frame standing in for
a late render), first speaking frame after an answer's first audio (payload ready), CPU per session
by stage, GPU busy share and memory. Start-up is measured cold (empty compile caches, a child
process, which then stores the artefacts beside the weights) and warm (this process, loading them).

``--variants`` runs scheduling variants one after another in the same warm process (``N:name``, see
``VARIANTS``), e.g. the former fixed batch cap against the deadline-derived batches; ``N:best`` runs
the variant with the most frames on time so far, ``N:best+cachedNN`` the same with cached answers.
Variants that decode only the lower face (``lowerNN``) run on a second server built from the same
models, started when first needed (``--partial-decode`` first compares its pixels with the whole
face's: ``bench/musetalk_partial_decode.py``). A ``cachedNN``
variant serves NN % of the answers from the answer audio cache: their frames are rendered ahead
(``prerender``, in idle GPU time before the trial) and replayed, and the report gives the GPU time
the live sessions took per answer, to compare with the same variant without cached answers.

    PYTHONPATH=. python bench/gpu_worker.py --out bench/results                  # CUDA machine
    PYTHONPATH=. python bench/gpu_worker.py --tiny --out /tmp/bench               # CPU smoke test
"""
import argparse
import asyncio
import dataclasses
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avatar_runtime.pipeline.messages import VideoFrame
from avatar_runtime.render.musetalk.compile_cache import CompileCache
from avatar_runtime.render.musetalk.config import RELEASE_CONFIGS
from avatar_runtime.render.musetalk.engine import EngineSettings
from avatar_runtime.render.musetalk.prepare import PreparedAvatar, PrepareSettings, prepare_avatar
from avatar_runtime.render.musetalk.prerender import PrerenderedAnswer, Prerenderer, PrerenderStore, renderer_config
from avatar_runtime.render.musetalk.renderer import MuseTalkRenderer, SessionSettings
from avatar_runtime.render.musetalk.server import MuseTalkServer, ServerSettings
from avatar_runtime.render.musetalk.weights import MuseTalkModels, build_models, load_models, locate_weights
from avatar_runtime.transport.ws_media import JPEG_QUALITY, encode_jpeg, pcm16_bytes
from bench import musetalk_partial_decode as partial_decode
from bench.musetalk_gpu import TINY, Report, base_clip, speech

FRAME_PERIOD = 0.04
ANSWER_SECONDS = 3.0


@dataclass(frozen=True)
class Variant:
    """One way to run the worker: the server's batch cap, the first frame's start delay, cached answers."""

    max_batch_seconds: float | None = ServerSettings.max_batch_seconds  # None: batches derived from deadlines
    start_delay: float | None = SessionSettings.start_delay  # None: from the server's expected render time
    cached_share: float = 0.0  # share of answers served from the answer audio cache (rendered ahead)
    jpeg_quality: int = JPEG_QUALITY
    headroom: float = ServerSettings.headroom  # derived batches render this many times the arrival rate
    switch_interval: float | None = None  # the interpreter's GIL switch interval during the trial (default 5 ms)
    pipeline: bool = ServerSettings.pipeline  # the server prepares the next batch while the GPU renders one
    decode_from: int = EngineSettings.decode_from  # first decoded latent row (0: the whole face)


VARIANTS = {
    "default": Variant(),  # 75 ms cap, 60 ms start delay, serial thread
    "cap50": Variant(max_batch_seconds=0.05),  # the default before issue #25
    "pipelined": Variant(pipeline=True),
    "derived": Variant(max_batch_seconds=None),  # deadline-derived batches
    "expected": Variant(max_batch_seconds=None, start_delay=None),  # ... and the expected-render start delay
    "expected-pipelined": Variant(max_batch_seconds=None, start_delay=None, pipeline=True),
    "h105": Variant(max_batch_seconds=None, start_delay=None, headroom=1.05),
    "h2": Variant(max_batch_seconds=None, start_delay=None, headroom=2.0),
    "sw1": Variant(switch_interval=0.001),
    "q60": Variant(jpeg_quality=60),
    "cached40": Variant(cached_share=0.4),
    "cached50": Variant(cached_share=0.5),
    "lower14": Variant(decode_from=14),
    "lower14-pipelined": Variant(decode_from=14, pipeline=True),
    "lower16": Variant(decode_from=16),
    "cached80": Variant(cached_share=0.8),
}


def make_models(tiny: bool, models_dir: Path | None) -> tuple[MuseTalkModels, str]:
    cuda = torch.cuda.is_available() and not tiny
    device, dtype = ("cuda", torch.bfloat16) if cuda else ("cpu", None)
    if models_dir is not None and not tiny:
        try:
            locate_weights(models_dir)
            return load_models(models_dir, device=device, dtype=dtype), "official MuseTalk 1.5 weights"
        except Exception as exc:  # noqa: BLE001 - any missing or unfit weights: say so and go on at random
            print(f"official weights not used ({exc})", flush=True)
    configs = TINY if tiny else RELEASE_CONFIGS
    models = build_models(unet_config=configs["unet"], vae_config=configs["vae"], whisper_config=configs["whisper"],
                          device=device, dtype=dtype)
    return models, "RANDOM weights (tiny configs)" if tiny else "RANDOM weights (release architecture)"


def start_server(models: MuseTalkModels, tiny: bool, cache_dir: Path, compile: bool = True,
                 batch_sizes: tuple[int, ...] | None = None, decode_from: int = 0) -> MuseTalkServer:
    sizes = batch_sizes or ((1, 2, 4, 8) if tiny else EngineSettings.batch_sizes)
    engine = EngineSettings(batch_sizes=sizes, compile=compile and not tiny, decode_from=decode_from)
    settings = ServerSettings(engine=engine)
    server = MuseTalkServer(models, settings)
    server.start(CompileCache(cache_dir))
    return server


def startup_child(args: argparse.Namespace) -> None:
    """A fresh process (own Inductor cache dir, set by the parent): load models, start, print the timings."""
    started = time.perf_counter()
    models, _ = make_models(args.tiny, args.models_dir)
    loaded = time.perf_counter() - started
    server = start_server(models, args.tiny, args.cache_dir)
    server.stop()
    print("STARTUP " + json.dumps({"models_seconds": loaded, **server.startup}), flush=True)


def measure_startup(args: argparse.Namespace, timeout: float) -> dict[str, Any]:
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": tempfile.mkdtemp(prefix="inductor-cold-"),
           "TRITON_CACHE_DIR": tempfile.mkdtemp(prefix="triton-cold-")}
    command = [sys.executable, __file__, "--startup-child", "--cache-dir", str(args.cache_dir)]
    command += ["--tiny"] if args.tiny else []
    command += ["--models-dir", str(args.models_dir)] if args.models_dir else []
    started = time.perf_counter()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"not ready within {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("STARTUP ")]
    if not lines:
        return {"error": f"exit {done.returncode}: {done.stderr[-2000:]}"}
    return {**json.loads(lines[-1][len("STARTUP "):]), "process_seconds": time.perf_counter() - started}


class GpuSampler:
    """GPU utilisation (NVML through torch) sampled every ``every`` s in a thread; empty on the CPU."""

    def __init__(self, every: float = 0.2) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.samples.append(float(torch.cuda.utilization()))
            except Exception:  # noqa: BLE001 - no NVML: no samples, reported as such
                return

    def __enter__(self) -> "GpuSampler":
        if torch.cuda.is_available():
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q) * 1000) if values else None


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cached_answers(count: int) -> list[tuple[str, np.ndarray]]:
    """The answer audio cache's stand-in: ``count`` answers, each under its content address."""
    answers = []
    for i in range(count):
        audio = speech(ANSWER_SECONDS, seed=10_000 + i)
        answers.append((hashlib.sha256(audio.tobytes()).hexdigest(), audio))
    return answers


def prerender(server: MuseTalkServer, avatar: PreparedAvatar, store: PrerenderStore,
              answers: list[tuple[str, np.ndarray]]) -> dict[str, Any]:
    """Render every cached answer ahead through the idle queue; GPU seconds and disk it took."""
    before = (server.stats.idle_seconds, server.stats.idle_rendered)
    started = time.perf_counter()
    made = sum(Prerenderer(server, store).ensure(avatar, key, audio) for key, audio in answers)
    return {"answers": len(answers), "rendered_answers": made, "wall_seconds": time.perf_counter() - started,
            "gpu_seconds": server.stats.idle_seconds - before[0], "frames": server.stats.idle_rendered - before[1],
            "store_bytes": store.size()}


async def trial(server: MuseTalkServer, avatar: PreparedAvatar, sessions: int, seconds: float,
                variant: Variant = Variant(),
                cached: list[tuple[str, PrerenderedAnswer, np.ndarray]] | None = None) -> dict[str, Any]:
    """``sessions`` kiosks answering questions back to back (3 s answers, 0.5 s apart) for ``seconds``;
    ``variant.cached_share`` of the answers come from ``cached`` (frames rendered ahead, replayed)."""
    quality = variant.jpeg_quality
    server.settings = dataclasses.replace(server.settings, max_batch_seconds=variant.max_batch_seconds,
                                          headroom=variant.headroom, pipeline=variant.pipeline)
    settings = SessionSettings(start_delay=variant.start_delay)
    renderers = [MuseTalkRenderer(server, avatar, session_id=f"s{i}", settings=settings) for i in range(sessions)]
    served = {"live": 0, "cached": 0}
    end = time.monotonic() + seconds
    delivery: list[float] = []  # payload ready - slot time
    first: list[float] = []  # first speaking payload ready - the answer's first audio
    encode_cpu = [0.0]
    first_audio: dict[int, float | None] = dict.fromkeys(range(sessions))

    def encode(frame: VideoFrame) -> dict[str, object]:
        cpu = time.thread_time()
        payload = {"pts": frame.pts, "video": encode_jpeg(frame.image, quality), "audio": pcm16_bytes(frame.audio),
                   "sample_rate": frame.sample_rate}  # as the worker's session runner sends it
        encode_cpu[0] += time.thread_time() - cpu  # float += under the GIL: threads may race, a rare lost add
        return payload

    async def consume(index: int, renderer: MuseTalkRenderer) -> None:
        async for frame in renderer.frames():
            await asyncio.to_thread(encode, frame)
            now = time.monotonic()
            delivery.append(now - renderer.slot_time(round(frame.pts * renderer.fps)))
            pushed = first_audio[index]
            if frame.speaking and pushed is not None:
                first.append(now - pushed)
                first_audio[index] = None
            if now > end:
                return

    async def produce(index: int, renderer: MuseTalkRenderer) -> None:
        await asyncio.sleep(index * 1.0 / sessions)
        answer = 0
        rng = np.random.default_rng(index)
        while time.monotonic() < end - 1.0:
            if cached and rng.random() < variant.cached_share:
                _, frames, audio = cached[int(rng.integers(len(cached)))]
                first_audio[index] = time.monotonic()
                renderer.play_prerendered(frames, audio)  # the cached answer's audio arrives whole
                served["cached"] += 1
                await asyncio.sleep(ANSWER_SECONDS)
            else:
                audio = speech(ANSWER_SECONDS, seed=index * 100 + answer)
                burst, step = 6400, 3200  # a streaming TTS: 0.4 s at once, then 0.2 s every 0.2 s
                first_audio[index] = time.monotonic()
                renderer.push_audio(audio[:burst], 16000)
                for start in range(burst, len(audio), step):
                    await asyncio.sleep(0.2)
                    renderer.push_audio(audio[start: start + step], 16000)
                renderer.flush()
                served["live"] += 1
            answer += 1
            await asyncio.sleep(0.5)

    stats_before = (server.stats.rendered, server.stats.cpu_seconds, server.stats.busy_seconds, server.stats.batches)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    cpu_before, wall_before = cpu_seconds(), time.monotonic()
    with GpuSampler() as gpu:
        await asyncio.gather(*(consume(i, r) for i, r in enumerate(renderers)),
                             *(produce(i, r) for i, r in enumerate(renderers)))
    wall = time.monotonic() - wall_before
    process_cpu = cpu_seconds() - cpu_before
    for renderer in renderers:
        await renderer.close()
    replaced = sum(r.stats.replaced for r in renderers)
    on_time = sum(1 for lag in delivery if lag <= FRAME_PERIOD)  # a replaced render is shown >= max_wait late
    render_cpu = server.stats.cpu_seconds - stats_before[1]
    compose_cpu = sum(r.stats.compose_cpu_seconds + r.stats.replay_cpu_seconds for r in renderers)
    per_session = {"render": render_cpu, "compose": compose_cpu, "encode": encode_cpu[0],
                   "other": process_cpu - render_cpu - compose_cpu - encode_cpu[0]}
    busy = server.stats.busy_seconds - stats_before[2]
    batches = server.stats.batches - stats_before[3]
    return {
        "sessions": sessions, "jpeg_quality": quality, "frames": len(delivery),
        "max_batch_seconds": variant.max_batch_seconds, "start_delay": variant.start_delay,
        "cached_share": variant.cached_share, "answers_live": served["live"], "answers_cached": served["cached"],
        "gpu_seconds_per_answer": busy / max(1, served["live"] + served["cached"]),
        "mean_batch": (server.stats.rendered - stats_before[0]) / max(1, batches),
        "headroom": variant.headroom, "switch_interval": variant.switch_interval, "pipeline": variant.pipeline,
        "decode_from": variant.decode_from,
        "batch_ms": {size: 1000 * t for size, t in server.batch_seconds.items()},
        "on_time_fraction": on_time / max(1, len(delivery)), "replaced": replaced,
        "delivery_lag_p95_ms": pct(delivery, 95), "delivery_lag_max_ms": pct(delivery, 100),
        "first_frame_p50_ms": pct(first, 50), "first_frame_p95_ms": pct(first, 95), "answers": len(first),
        "rendered_fps": (server.stats.rendered - stats_before[0]) / wall,
        "cpu_cores_per_session": {k: v / wall / sessions for k, v in per_session.items()},
        "process_cpu_cores": process_cpu / wall,
        "server_busy_fraction": (server.stats.busy_seconds - stats_before[2]) / wall,
        "gpu_busy_percent": float(np.mean(gpu.samples)) if gpu.samples else None,
        "gpu_peak_mib": torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None,
        "rss_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def resolve(name: str, trials: list[dict[str, Any]]) -> tuple[str, Variant]:
    """A variant by name; ``best`` is the named variant without cached answers that had the most
    frames on time so far (``best+cachedNN``: the same, NN % of answers cached)."""
    base, _, extra = name.partition("+")
    if base != "best":
        return name, VARIANTS[name]
    candidates = [r for r in trials if r["variant"] in VARIANTS and not r["cached_share"]]
    if not candidates:
        raise ValueError("'best' needs an earlier trial without cached answers")
    top = max(candidates, key=lambda r: (r["on_time_fraction"], -r["replaced"]))["variant"]
    variant = VARIANTS[top]
    if extra:
        variant = dataclasses.replace(variant, cached_share=VARIANTS[extra].cached_share)
    return f"{top}+{extra}" if extra else top, variant


def passed(result: dict[str, Any]) -> bool:
    """The issue's bar: >= 99.5 % of frames on time, first frame <= 100 ms p95."""
    return result["on_time_fraction"] >= 0.995 and (result["first_frame_p95_ms"] or 1e9) <= 100


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--tiny", action="store_true", help="tiny configs on the CPU (smoke test)")
    parser.add_argument("--sessions", default="8,12,16,20")
    parser.add_argument("--trial-seconds", type=float, default=10.0)
    parser.add_argument("--models-dir", type=Path, help="official weights here are used; else random weights")
    parser.add_argument("--cache-dir", type=Path, help="compile cache (default: a fresh temporary directory)")
    parser.add_argument("--cold-timeout", type=float, default=330.0)
    parser.add_argument("--variants", default="", help="then these, in order: N:name (names: VARIANTS), comma-separated")
    parser.add_argument("--cached-answers", type=int, default=8, help="answers in the cache that cached variants use")
    parser.add_argument("--what", default="", help="suffix of the result files' names")
    parser.add_argument("--skip-cold", action="store_true", help="no cold-start child (this process compiles)")
    parser.add_argument("--warm-child", action="store_true",
                        help="after this process compiled and saved the cache, time a child process loading it")
    parser.add_argument("--no-compile", action="store_true", help="CUDA graphs of the eager models (a quick smoke run)")
    parser.add_argument("--batch-sizes", default="", help="captured batch sizes, e.g. 2,4,8,16,32 (default: the engine's)")
    parser.add_argument("--partial-decode", action="store_true",
                        help="first compare the lower-face decode with the whole face (bench/musetalk_partial_decode.py)")
    parser.add_argument("--startup-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.startup_child:
        startup_child(args)
        return
    args.cache_dir = args.cache_dir or Path(tempfile.mkdtemp(prefix="musetalk-compiled-"))
    # This process is the warm start: only the compile cache beside the weights, none of Inductor's own.
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-warm-")
    os.environ["TRITON_CACHE_DIR"] = tempfile.mkdtemp(prefix="triton-warm-")
    cuda = torch.cuda.is_available() and not args.tiny
    gpu = torch.cuda.get_device_name().replace(" ", "_").lower() if cuda else "cpu_tiny"
    name = f"gpu_worker_{gpu}_{args.what}" if args.what else f"gpu_worker_{gpu}"
    report = Report(args.out / f"{name}.json", time.monotonic(), budget=1e9)
    report.save(gpu=gpu, torch=torch.__version__, cpu_cores=os.cpu_count(), load_average=os.getloadavg())
    if not args.skip_cold:
        report.save(startup_cold=measure_startup(args, args.cold_timeout))
        print("cold start", report.data["startup_cold"], flush=True)

    started = time.perf_counter()
    models, weights = make_models(args.tiny, args.models_dir)
    loaded = time.perf_counter() - started
    sizes = tuple(int(b) for b in args.batch_sizes.split(",")) if args.batch_sizes else None
    servers: dict[int, MuseTalkServer] = {}

    def server_for(decode_from: int) -> MuseTalkServer:
        """One server per decoded-rows setting, on the same models, started when first needed."""
        if decode_from not in servers:
            servers[decode_from] = start_server(models, args.tiny, args.cache_dir, compile=not args.no_compile,
                                                batch_sizes=sizes, decode_from=decode_from)
            started = servers[decode_from]
            report.save(servers={**report.data.get("servers", {}), str(decode_from): {
                **started.startup, "graph_ms": {b: c * 1000 for b, c in started.engine.costs.items()}}})
        return servers[decode_from]

    server = server_for(0)
    report.save(weights=weights, startup_warm={"models_seconds": loaded, **server.startup,
                                               "graph_ms": {b: c * 1000 for b, c in server.engine.costs.items()}})
    print("warm start", report.data["startup_warm"], flush=True)
    if args.warm_child:
        report.save(startup_warm_child=measure_startup(args, args.cold_timeout))
        print("warm child", report.data["startup_warm_child"], flush=True)
    avatar = prepare_avatar(base_clip(args.tiny), models, settings=PrepareSettings(batch=8))
    if args.partial_decode:
        report.save(partial_decode=partial_decode.compare(models, avatar, frames=4 if args.tiny else 32,
                                                          speed_batch=2 if args.tiny else 32))
        print(partial_decode.markdown(report.data["partial_decode"]), flush=True)
    plan = [(int(n), "default") for n in args.sessions.split(",") if n]
    plan += [(int(n), variant) for n, variant in (item.split(":") for item in args.variants.split(",") if item)]
    cached: list[tuple[str, PrerenderedAnswer, np.ndarray]] = []
    trials: list[dict[str, Any]] = []
    for sessions, name in plan:
        name, variant = resolve(name, trials)
        server = server_for(variant.decode_from)
        if variant.cached_share and not cached:  # rendered ahead by the first cached trial's server
            store = PrerenderStore(Path(tempfile.mkdtemp(prefix="prerendered-")),
                                   renderer_config(models, decode_from=variant.decode_from), max_bytes=2**30)
            answers = cached_answers(args.cached_answers)
            report.save(prerender=prerender(server, avatar, store, answers))
            print("prerender", report.data["prerender"], flush=True)
            cached = [(key, frames, audio) for key, audio in answers if (frames := store.load(avatar.key, key)) is not None]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(variant.switch_interval or interval)
        try:
            result = asyncio.run(trial(server, avatar, sessions, args.trial_seconds, variant, cached))
        finally:
            sys.setswitchinterval(interval)
        result.update(passed=passed(result), variant=name)
        trials.append(result)
        report.save(trials=trials)
        report.path.with_suffix(".md").write_text(markdown(report.data))
        print(f"{name}:", end=" ")
        print_row(result)
    for running in servers.values():
        running.stop()
    report.save(load_average_end=os.getloadavg())
    report.path.with_suffix(".md").write_text(markdown(report.data))


def markdown(d: dict[str, Any]) -> str:
    """The report as the tables of the closing note."""
    lines = [f"GPU: {d['gpu']}, torch {d['torch']}, {d['cpu_cores']} CPU cores, {d.get('weights')}; "
             f"load average {d['load_average'][0]:.1f} at start, {d.get('load_average_end', [0])[0]:.1f} at end", "",
             "| start | models s | compile + capture s | compile cache |", "|---|---:|---:|---|"]
    for name in ("startup_cold", "startup_warm", "startup_warm_child"):
        if name not in d:
            continue
        s = d[name]
        lines.append(f"| {name.removeprefix('startup_')} | {s.get('models_seconds', 0):.1f} | {s.get('seconds', 0):.1f} | "
                     f"{s.get('compile_cache', s.get('error', '?'))} |")
    for decode_from, started in d.get("servers", {}).items():
        graphs = ", ".join(f"{b}: {ms:.1f}" for b, ms in sorted(started["graph_ms"].items(), key=lambda kv: int(kv[0])))
        lines.append(f"\nServer decoding from latent row {decode_from}: compile + capture {started['seconds']:.1f} s; "
                     f"graph ms by batch size {graphs}.")
    if "partial_decode" in d:
        lines += ["", partial_decode.markdown(d["partial_decode"])]
    if "prerender" in d:
        pre = d["prerender"]
        lines += ["", f"Pre-rendered answers: {pre['answers']} answers ({pre['frames']} frames) rendered ahead in "
                  f"{pre['gpu_seconds']:.2f} s of idle GPU time ({pre['wall_seconds']:.1f} s wall), "
                  f"{pre['store_bytes'] / 2**20:.1f} MiB on disk."]
    lines += ["", "| variant | sessions | decoded rows | pipelined | batch cap ms | start delay ms | cached share | "
              "frames on time | replaced | "
              "first frame p50 / p95 ms | rendered fps | mean batch | server s/answer | "
              "CPU cores/session render / compose / encode / other | process CPU cores | GPU busy % | GPU peak MiB | pass |",
              "|---|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|"]
    for r in d.get("trials", []):
        c = r["cpu_cores_per_session"]
        cap = "derived" if r.get("max_batch_seconds") is None else f"{1000 * r['max_batch_seconds']:.0f}"
        start = "expected" if r.get("start_delay") is None else f"{1000 * r['start_delay']:.0f}"
        rows = f"{8 * r['decode_from']}-255" if r.get("decode_from") else "all"
        lines.append(f"| {r.get('variant', 'default')} | {r['sessions']} | {rows} | {'yes' if r.get('pipeline') else 'no'} | "
                     f"{cap} | {start} | "
                     f"{r.get('cached_share', 0):.1f} | {100 * r['on_time_fraction']:.2f} % | {r['replaced']} | "
                     f"{r['first_frame_p50_ms'] or 0:.0f} / {r['first_frame_p95_ms'] or 0:.0f} | {r['rendered_fps']:.0f} | "
                     f"{r.get('mean_batch', 0):.1f} | {r.get('gpu_seconds_per_answer', 0):.3f} | "
                     f"{c['render']:.3f} / {c['compose']:.3f} / {c['encode']:.3f} / {c['other']:.3f} | "
                     f"{r['process_cpu_cores']:.2f} | {r['gpu_busy_percent'] or 0:.0f} | {r['gpu_peak_mib'] or 0:.0f} | "
                     f"{'yes' if r['passed'] else 'no'} |")
    return "\n".join(lines) + "\n"


def print_row(r: dict[str, Any]) -> None:
    cpu = r["cpu_cores_per_session"]
    print(f"N={r['sessions']:3d} q{r['jpeg_quality']}: on time {100 * r['on_time_fraction']:.2f} % of {r['frames']}, "
          f"replaced {r['replaced']}, first frame p50/p95 {r['first_frame_p50_ms'] or 0:.0f}/"
          f"{r['first_frame_p95_ms'] or 0:.0f} ms, "
          f"{r['rendered_fps']:.0f} fps, CPU/session render {cpu['render']:.3f} compose {cpu['compose']:.3f} "
          f"encode {cpu['encode']:.3f} other {cpu['other']:.3f} cores, GPU busy {r['gpu_busy_percent']}, "
          f"peak {r['gpu_peak_mib']} MiB -> {'PASS' if r['passed'] else 'fail'}", flush=True)


if __name__ == "__main__":
    main()
