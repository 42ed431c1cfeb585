"""Recognition latency while other sessions' video is drawn: how many threads should Whisper use?

    .venv/bin/python -m bench.asr_under_media_load [--media 0,1,3] [--threads 1,2] [--repeats 2]

At three kiosks the page's end-to-end p95 rose 35-81 % over one kiosk, and the rise was recognition
waiting for CPU (``bench/results/load_kiosks_s27.md``: ASR p50 doubled with three sessions' media on
two cores). This isolates that: the real-speech clips of at most 5 s (``bench/data/real_speech``)
are recognised by the configured Whisper model at the worker's inference priority (the event loop's,
as ``avatar_runtime.inference_threads``; session 28's results were taken at nice 10), one at a time,
while ``--media`` child processes each draw a portrait session's frames (the astronaut,
``PortraitRenderer``) and encode them as JPEG at 25 fps at normal priority, as a worker's sessions do.
The thread counts take turns clip by clip.

Reported per (media sessions, threads): recognition wall time p50/p95 over clips and repeats, and the
share of frames the media processes finished late (after the next frame was due). The load
average is printed with the results: on a shared machine wall time measures the neighbours too.
Printed, and written to ``bench/results/asr_under_media_load.md`` (``--out`` to choose another name).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

FPS = 25
RESULTS = Path(__file__).parent / "results"


def media_child(cache_dir: Path, out: Path) -> None:
    """One session's video until SIGTERM: draw and JPEG-encode a frame every 40 ms; then write the lateness."""
    import signal

    import cv2
    from skimage import data

    from avatar_runtime.render.portrait.prepare import prepare_portrait
    from avatar_runtime.render.portrait.renderer import PortraitRenderer
    from avatar_runtime.transport.ws_media import encode_jpeg

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    _ok, png = cv2.imencode(".png", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    renderer = PortraitRenderer(prepare_portrait(png.tobytes(), cache_dir=cache_dir), seed=1)
    speech = (0.3 * np.sin(np.linspace(0, 2000 * np.pi, 16000 * 4))).astype(np.float32)
    frames = late = 0
    start = time.monotonic()
    while not stop.is_set():
        if not renderer.speaking:  # a session that talks the whole time: the mouth moves in every frame
            renderer.push_audio(speech, 16000)
        encode_jpeg(renderer.render_next().image)  # as the session runner sends it
        frames += 1
        done = time.monotonic()
        late += done > start + (frames + 1) / FPS  # finished after the next frame was due
        time.sleep(max(0.0, start + frames / FPS - done))
    out.write_text(json.dumps({"frames": frames, "late": late}))


def _start_media(count: int, work: Path) -> list[tuple[subprocess.Popen[bytes], Path]]:
    children = []
    for i in range(count):
        out = work / f"media-{count}-{i}.json"
        command = [sys.executable, "-m", "bench.asr_under_media_load", "--media-child", str(work / "avatar-cache"),
                   str(out)]
        children.append((subprocess.Popen(command, cwd=Path(__file__).parent.parent), out))
    return children


def _stop_media(children: list[tuple[subprocess.Popen[bytes], Path]]) -> float | None:
    """Stop the media processes; the share of their frames that were late."""
    for process, _out in children:
        process.terminate()
    frames = late = 0
    for process, out in children:
        process.wait(30)
        result = json.loads(out.read_text())
        frames, late = frames + result["frames"], late + result["late"]
    return late / frames if frames else None


def run(media_counts: list[int], threads: list[int], repeats: int) -> list[dict[str, Any]]:
    from django.conf import settings

    from avatar_runtime.asr.whisper import WhisperConfig, WhisperRecognizer
    from avatar_runtime.asr.whisper_models import parse_beam_sizes
    from bench.asr_real_speech import SHORT_S, clips_load

    clips = [c for c in clips_load() if c.seconds <= SHORT_S]
    beams, _notes = parse_beam_sizes(settings.AVATAR_ASR_BEAM_SIZE_BY_LANGUAGE)
    walls: dict[tuple[int, int], list[float]] = {(m, n): [] for m in media_counts for n in threads}
    late: dict[int, float | None] = {}

    def recognise_all(media: int) -> None:
        recognizers = {n: WhisperRecognizer(Path(settings.MODELS_DIR) / "whisper-base", WhisperConfig(
            cpu_threads=n, beam_size=settings.AVATAR_ASR_BEAM_SIZE, beam_sizes=beams)) for n in threads}
        for recognizer in recognizers.values():
            recognizer.transcribe(clips[0].samples, clips[0].rate)  # loaded and warm, outside the timing
        for _ in range(repeats):
            for clip in clips:
                for n, recognizer in recognizers.items():
                    started = time.perf_counter()
                    recognizer.transcribe(clip.samples, clip.rate)
                    walls[(media, n)].append(time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as tmp:
        for media in media_counts:
            children = _start_media(media, Path(tmp))
            time.sleep(10.0 if media else 0.0)  # the children prepare the portrait and reach their pace
            try:
                recognise_all(media)
            finally:
                late[media] = _stop_media(children)
    return [{"media": media, "threads": n, "clips": len(values),
             "p50_ms": float(np.percentile(np.array(values) * 1000, 50)),
             "p95_ms": float(np.percentile(np.array(values) * 1000, 95)), "late": late[media]}
            for (media, n), values in walls.items()]


def report(rows: list[dict[str, Any]]) -> str:
    from bench.asr_real_speech import machine

    lines = [
        "# Recognition latency while other sessions' video is drawn",
        "",
        f"`python -m bench.asr_under_media_load {' '.join(sys.argv[1:])}`; Whisper base at the worker's inference "
        f"priority (the configured beams), real-speech clips of at most 5 s, one at a time; media processes draw "
        f"and JPEG-encode a portrait session's frames at 25 fps at nice 0. Machine: {json.dumps(machine(), ensure_ascii=False)}. "
        f"Load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "| media sessions | ASR threads | recognitions | ASR p50 ms | ASR p95 ms | frames late |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        late = "-" if row["late"] is None else f"{100 * row['late']:.1f} %"
        lines.append(f"| {row['media']} | {row['threads']} | {row['clips']} | {row['p50_ms']:.0f} | "
                     f"{row['p95_ms']:.0f} | {late} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--media-child":
        media_child(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", default="0,1,3", help="media sessions alongside, one round each")
    parser.add_argument("--threads", default="1,2", help="Whisper cpu_threads to compare")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="asr_under_media_load")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")  # MODELS_DIR comes from the settings
    import django

    django.setup()
    rows = run([int(m) for m in args.media.split(",")], [int(n) for n in args.threads.split(",")], args.repeats)
    text = report(rows)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
