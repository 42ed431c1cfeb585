"""Benchmark and validation of the embedded lip-sync scorer on clips from the portrait renderer.

For each utterance (espeak-ng in five languages, Kokoro in four) the astronaut portrait is rendered, then its audio
is shifted by k = -10..10 frames (k > 0: audio later than video) and scored; unrelated audio
(another utterance) gives the confidence floor that the threshold must clear. Also times the
full ``score(path)`` (decode + face track + signals) on a 10 s mp4.

    python bench/qa_scorer.py            # prints tables, writes bench/results/qa_scorer.md
    python bench/qa_scorer.py --tuning   # the same on other sentences and voices, and the real speakers of
                                         # the real-speech set's tuning split: tune on these, report on
                                         # the first (writes qa_scorer_tuning.md)
    python bench/qa_scorer.py --held-out # the real speakers of the held-out split: checked, never tuned on
                                         # (writes qa_scorer_held_out.md)
"""
import json
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

from avatar_runtime.qa.embedded import CONFIDENCE_THRESHOLD, EmbeddedScorer, mouth_signal
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
# The offline Kokoro voices (language, style, text); KOKORO_TUNING joins --tuning, KOKORO the reported set.
KOKORO_TUNING = {
    "k-ja": ("ja", "jf_alpha", "いらっしゃいませ。チケット売り場は入口の右側にございます。お手洗いは二階です。"),
    "k-zh": ("zh", "zf_xiaobei", "请问您想去哪里？洗手间在二楼，电梯在左边，咖啡厅在一楼。"),
    "k-ko": ("ko", "jf_nezumi", "안녕하세요. 매표소는 입구 오른쪽에 있습니다. 무엇이든 물어보세요."),
    "k-yue": ("yue", "zf_xiaobei", "請問你想去邊度？洗手間喺二樓，電梯喺左邊。"),
}
KOKORO = {
    "k-ja-2": ("ja", "jm_kumo", "博物館へようこそ。二階の展示は十時に始まり、ガイドツアーは毎時出発します。"),
    "k-zh-2": ("zh", "zm_yunxi", "欢迎光临博物馆。二楼的展览十点开始，每个小时都有导览。"),
    "k-ko-2": ("ko", "jf_nezumi", "카페는 일층에 있으며 오후 다섯 시까지 커피와 차를 판매합니다."),
    "k-yue-2": ("yue", "zf_xiaoxiao", "博物館嘅導賞團每個鐘頭出發，門票可以喺入口買。"),
}
SPF = 640  # samples per frame at 16 kHz / 25 fps
REAL_SPEECH = Path(__file__).resolve().parent / "data" / "real_speech"  # people, not TTS (manifest.json)
REAL_SECONDS = 10


def speak(voice: str, text: str, tmp: Path) -> np.ndarray:
    path = tmp / "s.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    samples, rate = sf.read(path, dtype="float32")
    return resample_poly(samples, 16000 // 50, rate // 50).astype(np.float32)


def kokoro(utterances: dict[str, tuple[str, str, str]]) -> dict[str, np.ndarray]:
    """Each utterance spoken by the offline Kokoro voice (``MODELS_DIR``), at 16 kHz."""
    from django.conf import settings

    from avatar_runtime.tts.base import Voice
    from avatar_runtime.tts.kokoro_voice import SAMPLE_RATE, KokoroSynthesizer

    synth = KokoroSynthesizer(Path(settings.MODELS_DIR))
    model = synth._model()
    common = np.gcd(SAMPLE_RATE, 16000)
    return {name: resample_poly(np.concatenate(list(synth._pieces(model, text, Voice(language, "kokoro", style)))),
                                16000 // common, SAMPLE_RATE // common).astype(np.float32)
            for name, (language, style, text) in utterances.items()}


def real_speech(split: str) -> dict[str, np.ndarray]:
    """The real recordings of one split of the manifest (first ``REAL_SECONDS``), at 16 kHz."""
    clips = {}
    for item in json.loads((REAL_SPEECH / "manifest.json").read_text())["clips"]:
        if item["split"] == split:
            samples, rate = sf.read(REAL_SPEECH / item["file"], dtype="float32")
            samples = samples if samples.ndim == 1 else samples.mean(axis=1)
            common = np.gcd(rate, 16000)
            samples = resample_poly(samples, 16000 // common, rate // common).astype(np.float32)
            clips[Path(item["file"]).stem] = samples[: REAL_SECONDS * 16000]
    return clips


def clip_audio(which: str, tmp: Path) -> dict[str, np.ndarray]:
    """``reported``: ``UTTERANCES`` and ``KOKORO``; ``tuning``: ``TUNING``, ``KOKORO_TUNING`` and the real-speech
    tuning split; ``held-out``: its held-out split."""
    if which == "held-out":
        return real_speech("held_out")
    spoken = {name: speak(voice, text, tmp) for name, (voice, text) in (TUNING if which == "tuning" else UTTERANCES).items()}
    if which == "tuning":
        return {**spoken, **kokoro(KOKORO_TUNING), **real_speech("tuning")}
    return {**spoken, **kokoro(KOKORO)}


def shifted(audio: np.ndarray, k: int, frames: int) -> np.ndarray:
    moved = np.concatenate([np.zeros(k * SPF, np.float32), audio]) if k >= 0 else audio[-k * SPF :]
    out = np.zeros(frames * SPF, np.float32)
    out[: min(len(moved), len(out))] = moved[: len(out)]
    return out


def main(which: str) -> None:
    from skimage import data

    from tests.avatar_runtime.render.media import png_bytes

    avatar = prepare_portrait(png_bytes(data.astronaut()))
    scorer = EmbeddedScorer()
    clips: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # per clip: the mouth signal and the audio
    timing_clips: list[tuple[list[np.ndarray], np.ndarray]] = []  # the first two, for the 10 s mp4
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name, samples in clip_audio(which, tmp).items():
            frames = render_offline(avatar, samples, 16000, tail_s=0.4)
            images, audio = [f.image for f in frames], np.concatenate([f.audio for f in frames])
            clips[name] = (mouth_signal(images), audio)  # the video side does not depend on the audio
            if len(timing_clips) < 2:
                timing_clips.append((images, audio))

        # accuracy over shifts
        ks = list(range(-10, 11))
        estimates: dict[str, list[tuple[int, float]]] = {name: [] for name in clips}
        matched_conf = []
        for name, (mouth, audio) in clips.items():
            for k in ks:
                s = scorer.score_signal(mouth, shifted(audio, k, len(mouth)), 25, 16000)
                estimates[name].append((s.offset_frames, s.confidence))
                if abs(k) <= 8:
                    matched_conf.append(s.confidence)
        unrelated = []
        for a, (mouth, _) in clips.items():
            for b, (_, audio) in clips.items():
                if a != b:
                    unrelated.append((a, b, scorer.score_signal(mouth, shifted(audio, 0, len(mouth)), 25, 16000)))

        # timing of the whole path on a ~10 s mp4 (two clips back to back)
        (first_images, first_audio), (second_images, second_audio) = timing_clips
        images = (first_images + second_images)[:250]
        audio = np.concatenate([first_audio, second_audio])[: len(images) * SPF]
        path = write_clip(tmp / "ten.mp4", images, audio, 25, 16000)
        walls, cpus = [], []
        for _ in range(3):
            w0, c0 = time.perf_counter(), time.process_time()
            timed = scorer.score(path)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)

    names = list(clips)
    source = {"held-out": "real recordings of people (bench/data/real_speech, held-out split)",
              "tuning": "espeak-ng and Kokoro utterances and real recordings (the real-speech tuning split)",
              }.get(which, "espeak-ng and Kokoro utterances")
    lines = ["# Embedded lip-sync scorer", "",
             f"Clips: the astronaut portrait rendered by the CPU portrait renderer for {len(names)} {source} "
             f"({', '.join(names)}); audio shifted by k frames (k > 0: audio later than video).", "",
             "## Offset accuracy (estimate per clip; confidence in brackets)", "",
             "| k | " + " | ".join(names) + " | all within ±1 |", "|---" * (len(names) + 2) + "|"]
    for i, k in enumerate(ks):
        cells = [f"{estimates[n][i][0]:+d} ({estimates[n][i][1]:.2f})" for n in names]
        ok = all(abs(estimates[n][i][0] - k) <= 1 for n in names)
        lines.append(f"| {k:+d} | " + " | ".join(cells) + f" | {'yes' if ok else 'no'} |")
    exact = sum(estimates[n][i][0] == k for n in names for i, k in enumerate(ks) if abs(k) <= 8)
    within = sum(abs(estimates[n][i][0] - k) <= 1 for n in names for i, k in enumerate(ks) if abs(k) <= 8)
    total = len(names) * 17
    un = [s.confidence for _, _, s in unrelated]
    auc = float(np.mean([[(o > u) + 0.5 * (o == u) for u in un] for o in matched_conf]))
    lines += ["", f"|k| ≤ 8: {exact}/{total} exact, {within}/{total} within ±1 frame.", "",
              "## Confidence: own audio vs unrelated audio", "",
              "| audio | n | min | median | max |", "|---|---|---|---|---|",
              f"| own (shifted, abs(k) ≤ 8) | {len(matched_conf)} | {min(matched_conf):.3f} | {np.median(matched_conf):.3f} | "
              f"{max(matched_conf):.3f} |",
              f"| another utterance | {len(un)} | {min(un):.3f} | {np.median(un):.3f} | {max(un):.3f} |", "",
              f"Separation: own minimum - unrelated maximum {min(matched_conf) - max(un):+.3f}; AUC (own above unrelated) "
              f"{auc:.4f}; own below the threshold {sum(c < CONFIDENCE_THRESHOLD for c in matched_conf)}, unrelated above "
              f"it {sum(c >= CONFIDENCE_THRESHOLD for c in un)}.", "",
              f"Threshold in code: {CONFIDENCE_THRESHOLD} (`avatar_runtime/qa/embedded.py`).", "",
              "## Time to score a 10 s clip (decode + face track + signals + correlation), 3 runs", "",
              "| frames | wall s (median) | CPU s (median) |", "|---|---|---|",
              f"| {len(images)} | {np.median(walls):.2f} | {np.median(cpus):.2f} |", "",
              f"10 s clip result: offset {timed.offset_frames:+d}, confidence {timed.confidence:.3f}, "
              f"min_dist {timed.min_dist:.3f}.",
              "", f"Machine: {os.cpu_count()} cores (shared), load average {os.getloadavg()[0]:.1f} at the end."]
    report = "\n".join(lines) + "\n"
    print(report)
    name = {"tuning": "qa_scorer_tuning.md", "held-out": "qa_scorer_held_out.md"}.get(which, "qa_scorer.md")
    out = Path(__file__).resolve().parent / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(report)


if __name__ == "__main__":
    import django

    django.setup()
    args = sys.argv[1:]
    main("tuning" if "--tuning" in args else "held-out" if "--held-out" in args else "reported")
