"""Benchmark and validation of the embedded lip-sync scorer on clips from the portrait renderer.

For each utterance (espeak-ng, five languages) the astronaut portrait is rendered, then its audio
is shifted by k = -10..10 frames (k > 0: audio later than video) and scored; unrelated audio
(another utterance) gives the confidence floor that the threshold must clear. Also times the
full ``score(path)`` (decode + face track + signals) on a 10 s mp4.

    python bench/qa_scorer.py            # prints tables, writes bench/results/qa_scorer.md
    python bench/qa_scorer.py --tuning   # the same on other sentences and voices: tune on these,
                                         # report on the first (writes qa_scorer_tuning.md)
"""
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

from avatar_runtime.qa.embedded import CONFIDENCE_THRESHOLD, EmbeddedScorer
from avatar_runtime.render.clip import render_offline, write_clip
from avatar_runtime.render.portrait.prepare import prepare_portrait

UTTERANCES = {
    "en-museum": ("en", "Welcome to the museum. The exhibition on the second floor opens at ten o'clock, "
                  "and guided tours start every hour."),
    "en-help": ("en-us", "Hello! I can help you find the restrooms, the cafe, and the ticket office. Please ask me anything."),
    "en-cafe": ("en+f3", "The cafe on the ground floor serves coffee, tea and light lunches until five in the afternoon."),
    "zh": ("cmn", "欢迎光临博物馆。二楼的展览十点开始，每个小时都有导览。"),
    "ko": ("ko", "안녕하세요. 매표소는 입구 오른쪽에 있습니다. 무엇이든 물어보세요."),
}
# Held apart from UTTERANCES: renderer or scorer changes are tuned on these, never on the reported set.
TUNING = {
    "t-en-gb": ("en-gb+m3", "Buses to the airport leave from platform four; please keep your ticket until you pass the barrier."),
    "t-en-us": ("en-us+f2", "My apologies, the bookshop is closed today, but the map by the main stairs shows every shop."),
    "t-yue": ("yue", "請問你想去邊度？洗手間喺二樓，電梯喺左邊。"),
    "t-ja": ("ja", "いらっしゃいませ。チケット売り場は入口の右側にございます。"),
    "t-de": ("de", "Bitte beachten Sie, dass das Museum am Montag geschlossen bleibt."),
}
SPF = 640  # samples per frame at 16 kHz / 25 fps


def speak(voice: str, text: str, tmp: Path) -> np.ndarray:
    path = tmp / "s.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    samples, rate = sf.read(path, dtype="float32")
    return resample_poly(samples, 16000 // 50, rate // 50).astype(np.float32)


def shifted(audio: np.ndarray, k: int, frames: int) -> np.ndarray:
    moved = np.concatenate([np.zeros(k * SPF, np.float32), audio]) if k >= 0 else audio[-k * SPF :]
    out = np.zeros(frames * SPF, np.float32)
    out[: min(len(moved), len(out))] = moved[: len(out)]
    return out


def main(tuning: bool) -> None:
    from skimage import data

    from tests.avatar_runtime.render.media import png_bytes

    avatar = prepare_portrait(png_bytes(data.astronaut()))
    scorer = EmbeddedScorer()
    clips = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name, (voice, text) in (TUNING if tuning else UTTERANCES).items():
            frames = render_offline(avatar, speak(voice, text, tmp), 16000, tail_s=0.4)
            clips[name] = ([f.image for f in frames], np.concatenate([f.audio for f in frames]))

        # accuracy over shifts
        ks = list(range(-10, 11))
        estimates: dict[str, list[tuple[int, float]]] = {name: [] for name in clips}
        matched_conf = []
        for name, (images, audio) in clips.items():
            for k in ks:
                s = scorer.score_media(images, shifted(audio, k, len(images)), 25, 16000)
                estimates[name].append((s.offset_frames, s.confidence))
                if abs(k) <= 8:
                    matched_conf.append(s.confidence)
        unrelated = []
        for a, (images, _) in clips.items():
            for b, (_, audio) in clips.items():
                if a != b:
                    unrelated.append((a, b, scorer.score_media(images, shifted(audio, 0, len(images)), 25, 16000)))

        # timing of the whole path on a ~10 s mp4 (two utterances back to back)
        first, second = (clips[name] for name in list(clips)[:2])
        images = first[0] + second[0][: 250 - len(first[0])]
        audio = np.concatenate([first[1], second[1]])[: len(images) * SPF]
        path = write_clip(tmp / "ten.mp4", images, audio, 25, 16000)
        walls, cpus = [], []
        for _ in range(3):
            w0, c0 = time.perf_counter(), time.process_time()
            timed = scorer.score(path)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)

    names = list(clips)
    lines = ["# Embedded lip-sync scorer", "",
             f"Clips: the astronaut portrait rendered by the CPU portrait renderer for {len(names)} espeak-ng utterances "
             f"({', '.join(names)}); audio shifted by k frames (k > 0: audio later than video).", "",
             "## Offset accuracy (estimate per utterance; confidence in brackets)", "",
             "| k | " + " | ".join(names) + " | all within ±1 |", "|---" * (len(names) + 2) + "|"]
    for i, k in enumerate(ks):
        cells = [f"{estimates[n][i][0]:+d} ({estimates[n][i][1]:.2f})" for n in names]
        ok = all(abs(estimates[n][i][0] - k) <= 1 for n in names)
        lines.append(f"| {k:+d} | " + " | ".join(cells) + f" | {'yes' if ok else 'no'} |")
    exact = sum(estimates[n][i][0] == k for n in names for i, k in enumerate(ks) if abs(k) <= 8)
    within = sum(abs(estimates[n][i][0] - k) <= 1 for n in names for i, k in enumerate(ks) if abs(k) <= 8)
    total = len(names) * 17
    un = [s.confidence for _, _, s in unrelated]
    lines += ["", f"|k| ≤ 8: {exact}/{total} exact, {within}/{total} within ±1 frame.", "",
              "## Confidence: own audio vs unrelated audio", "",
              "| audio | n | min | median | max |", "|---|---|---|---|---|",
              f"| own (shifted, abs(k) ≤ 8) | {len(matched_conf)} | {min(matched_conf):.3f} | {np.median(matched_conf):.3f} | "
              f"{max(matched_conf):.3f} |",
              f"| another utterance | {len(un)} | {min(un):.3f} | {np.median(un):.3f} | {max(un):.3f} |", "",
              f"Threshold in code: {CONFIDENCE_THRESHOLD} (`avatar_runtime/qa/embedded.py`).", "",
              "## Time to score a 10 s clip (decode + face track + signals + correlation), 3 runs", "",
              "| frames | wall s (median) | CPU s (median) |", "|---|---|---|",
              f"| {len(images)} | {np.median(walls):.2f} | {np.median(cpus):.2f} |", "",
              f"10 s clip result: offset {timed.offset_frames:+d}, confidence {timed.confidence:.3f}, "
              f"min_dist {timed.min_dist:.3f}.",
              "", f"Machine: {os.cpu_count()} cores (shared), load average {os.getloadavg()[0]:.1f} at the end."]
    report = "\n".join(lines) + "\n"
    print(report)
    out = Path(__file__).resolve().parent / "results" / ("qa_scorer_tuning.md" if tuning else "qa_scorer.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text(report)


if __name__ == "__main__":
    import django

    django.setup()
    main(tuning="--tuning" in sys.argv[1:])
