"""Benchmark of the CPU portrait renderer: one real-time session over ~10 s of speech.

Prints (and writes to bench/results/render_portrait.md) the achieved frame rate, CPU share
(process time / wall time: 1.0 = one core busy), lateness against the audio clock, and the
cost of one frame (p50/p95) measured offline, as the process's CPU time (OpenCV's own threads count).

    python bench/render_portrait.py [--png-dir /tmp]   # also saves a few frames as PNGs
    python bench/render_portrait.py --video   # a video avatar: the idle loop under the mouth
                                              # (written to bench/results/render_portrait_video.md)
    python bench/render_portrait.py --opencv-pool   # with OpenCV's own thread pool, which a worker
                                                    # turns off (written to ..._opencv_pool.md)
"""
import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from avatar_runtime.opencv_threads import run_opencv_on_calling_threads
from avatar_runtime.render.portrait.clock import LoopClock
from avatar_runtime.render.portrait.idle_loop import build_idle_loop
from avatar_runtime.render.portrait.prepare import prepare_portrait
from avatar_runtime.render.portrait.renderer import PortraitRenderer

TEXT = ("Welcome to the museum. The exhibition on the second floor opens at ten o'clock, and guided tours "
        "start every hour. The cafe on the ground floor serves coffee and light lunches.")


def speech() -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-w", str(path), TEXT], check=True, capture_output=True)
        samples, rate = sf.read(path, dtype="float32")
    return resample_poly(samples, 16000 // 50, rate // 50).astype(np.float32)


async def realtime_session(renderer: PortraitRenderer, audio: np.ndarray) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    renderer.push_audio(audio, 16000)
    renderer.flush()
    frames, late = 0, []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    start = loop.time()
    async for frame in renderer.frames():
        frames += 1
        late.append(loop.time() - (start + frame.pts))
        if not frame.speaking:
            await renderer.close()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"frames": frames, "wall": wall, "cpu": cpu, "late_p95": float(np.percentile(late, 95)), "late_max": max(late)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--png-dir", type=Path, default=None)
    parser.add_argument("--video", action="store_true", help="a video avatar (3 s of the photo panned and zoomed)")
    parser.add_argument("--opencv-pool", action="store_true",
                        help="keep OpenCV's thread pool (a worker turns it off: avatar_runtime.opencv_threads)")
    args = parser.parse_args()
    if not args.opencv_pool:
        run_opencv_on_calling_threads()
    from skimage import data

    from tests.avatar_runtime.render.media import moving_portrait_video, png_bytes

    photo = png_bytes(data.astronaut())
    t0 = time.perf_counter()
    avatar = prepare_portrait(photo)
    prepare_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    PortraitRenderer(avatar, seed=0)
    init_s = time.perf_counter() - t0
    loop, loop_s = None, 0.0
    if args.video:
        video = moving_portrait_video()
        t0 = time.perf_counter()
        loop = build_idle_loop(video, avatar)
        loop_s = time.perf_counter() - t0
    audio = speech()

    session = asyncio.run(realtime_session(PortraitRenderer(avatar, clock=LoopClock(), seed=0, loop=loop), audio))

    offline = PortraitRenderer(avatar, seed=0, loop=loop)
    offline.push_audio(audio, 16000)
    offline.flush()
    costs, saved = [], []
    index = 0
    while True:
        c0 = time.process_time()
        frame = offline.render_next()
        costs.append(time.process_time() - c0)
        if args.png_dir and index in (0, 40, 57, 93):
            import cv2

            path = args.png_dir / f"portrait_frame_{index:03d}.png"
            cv2.imwrite(str(path), cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
            saved.append(str(path))
        index += 1
        if not frame.speaking:
            break
    ms = np.array(costs) * 1000
    by_state = {}  # between answers: the face's own motion, with the listening and thinking looks
    for state in ("idle", "listening", "thinking"):
        offline.set_state(state)
        spent = []
        for _ in range(100):
            c0 = time.process_time()
            offline.render_next()
            spent.append(time.process_time() - c0)
        by_state[state] = np.array(spent[25:]) * 1000  # once the state has blended in
    speech_s = len(audio) / 16000
    source = "photo panned and zoomed as a 3 s video (idle loop, ping-pong)" if loop else "photo"
    lines = [
        "# CPU portrait renderer", "",
        f"One session, the astronaut {source}, {speech_s:.1f} s of espeak-ng speech, output 512x512 at 25 fps; "
        + ("OpenCV's own thread pool on (its default)." if args.opencv_pool
           else "OpenCV on the calling threads, as in a worker (avatar_runtime.opencv_threads)."), "",
        "## Real time (frames paced on the event loop's clock, drawing in a worker thread)", "",
        "| frames | wall s | fps | CPU s | CPU share (process/wall) | lateness p95 ms | lateness max ms |",
        "|---|---|---|---|---|---|---|",
        f"| {session['frames']} | {session['wall']:.2f} | {session['frames'] / session['wall']:.2f} | {session['cpu']:.2f} | "
        f"{session['cpu'] / session['wall']:.3f} | {session['late_p95'] * 1000:.1f} | {session['late_max'] * 1000:.1f} |", "",
        "## Cost of one frame (offline, the process's CPU time: OpenCV's own threads included)", "",
        "| frames | p50 ms | p95 ms | max ms | frames/s on one core |", "|---|---|---|---|---|",
        f"| {len(ms)} | {np.percentile(ms, 50):.2f} | {np.percentile(ms, 95):.2f} | {ms.max():.2f} | "
        f"{1000 / ms.mean():.0f} |", "",
        "Between answers (75 frames each, after 1 s to blend in):", "",
        "| state | p50 ms | p95 ms | CPU s per rendered s at 25 fps |", "|---|---|---|---|",
        *[f"| {state} | {np.percentile(v, 50):.2f} | {np.percentile(v, 95):.2f} | {v.mean() * 25 / 1000:.3f} |"
          for state, v in by_state.items()], "",
        "## One-off costs", "",
        "| step | seconds |", "|---|---|",
        f"| prepare (decode, face/mouth/eyes detection) | {prepare_s:.2f} |",
        f"| renderer init (mouth region grid, teeth band, 10 blink levels) | {init_s:.2f} |",
        *([f"| idle loop (decode, frame, track {len(loop)} frames) | {loop_s:.2f} |"] if loop is not None else []), "",
        f"Machine: {os.cpu_count()} cores (shared with other work), load average {os.getloadavg()[0]:.1f} at the end.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if saved:
        print("frames saved:", ", ".join(saved))
    name = ("render_portrait_video" if loop else "render_portrait") + ("_opencv_pool" if args.opencv_pool else "")
    out = Path(__file__).resolve().parent / "results" / f"{name}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report)


if __name__ == "__main__":
    import django

    django.setup()
    main()
