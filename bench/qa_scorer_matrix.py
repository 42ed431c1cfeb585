"""The embedded lip-sync scorer, old and new, on the portrait renderer, old and new: own vs unrelated audio.

Renders every clip set of ``bench/qa_scorer.py`` (espeak-ng, Kokoro and real speakers; tuning, reported
and held-out) with this checkout's renderer and with the renderer of ``--before`` (its
``avatar_runtime`` exported with ``git archive`` and run in a child process), then scores each render's
face crops with this checkout's scorer and with the scorer of ``--old-scorer`` (its ``qa/embedded.py``).
Own audio is shifted by |k| <= 8 frames; unrelated audio is another clip of the same set.

    python bench/qa_scorer_matrix.py [--before c597546] [--old-scorer c440e4d]
                                     # prints the table, writes bench/results/qa_scorer_matrix.md
"""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

SETS = ("espeak-tuning", "kokoro-tuning", "real-tuning", "espeak-reported", "kokoro-reported", "real-held-out")


def set_audio(name: str, tmp: Path) -> dict[str, np.ndarray]:
    from bench import qa_scorer as q

    voice, split = name.split("-", 1)
    if voice == "real":
        return q.real_speech("held_out" if split == "held-out" else "tuning")
    if voice == "kokoro":
        return q.kokoro(q.KOKORO_TUNING if split == "tuning" else q.KOKORO)
    return {n: q.speak(v, text, tmp) for n, (v, text) in (q.TUNING if split == "tuning" else q.UTTERANCES).items()}


def render_crops(audio_dir: Path, out_dir: Path) -> None:
    """Render each ``<set>/<clip>.npy`` of ``audio_dir`` with the ``avatar_runtime`` on the path; save the
    frames cropped to the face (1.6 x its box) and the audio that played with them."""
    from skimage import data

    from avatar_runtime.render.clip import render_offline
    from avatar_runtime.render.face import detect_faces
    from avatar_runtime.render.portrait.prepare import prepare_portrait
    from tests.avatar_runtime.render.media import png_bytes

    avatar = prepare_portrait(png_bytes(data.astronaut()))
    for path in sorted(audio_dir.glob("*/*.npy")):
        frames = render_offline(avatar, np.load(path), 16000, tail_s=0.4)
        height, width = frames[0].image.shape[:2]
        rows, cols = detect_faces(frames[0].image)[0].box.expand(1.6).clip(width, height).slices()
        target = out_dir / path.parent.name
        target.mkdir(parents=True, exist_ok=True)
        np.save(target / f"{path.stem}.frames.npy", np.stack([f.image[rows, cols] for f in frames]))
        np.save(target / f"{path.stem}.audio.npy", np.concatenate([f.audio for f in frames]))


def old_mouth_signal(commit: str, tmp: Path) -> Callable[[list[np.ndarray]], np.ndarray]:
    source = subprocess.run(["git", "show", f"{commit}:avatar_runtime/qa/embedded.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = tmp / "old_embedded.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_embedded", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.mouth_signal


def separation(signals: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Own audio (shifted) against every other clip's audio, scored on each clip's mouth signal."""
    from avatar_runtime.qa.embedded import EmbeddedScorer
    from bench.qa_scorer import shifted

    scorer = EmbeddedScorer()
    own, unrelated, exact, k5 = [], [], 0, 0
    for name, (mouth, audio) in signals.items():
        for k in range(-8, 9):
            s = scorer.score_signal(mouth, shifted(audio, k, len(mouth)), 25, 16000)
            own.append(s.confidence)
            exact += s.offset_frames == k
            k5 += k == 5 and abs(s.offset_frames - 5) <= 1
        unrelated += [scorer.score_signal(mouth, shifted(other, 0, len(mouth)), 25, 16000).confidence
                      for o, (_, other) in signals.items() if o != name]
    o, u = np.array(own), np.array(unrelated)
    return {"own_min": o.min(), "own_med": float(np.median(o)), "un_med": float(np.median(u)), "un_max": u.max(),
            "auc": float(np.mean((o[:, None] > u[None]) + 0.5 * (o[:, None] == u[None]))),
            "exact": exact / len(o), "k5": k5 / len(signals)}


def main(before: str, old_scorer: str) -> None:
    import django

    django.setup()
    from avatar_runtime.qa.embedded import CONFIDENCE_THRESHOLD
    from avatar_runtime.qa.embedded import mouth_signal as new_signal

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name in SETS:
            (tmp / "audio" / name).mkdir(parents=True)
            for clip, samples in set_audio(name, tmp).items():
                np.save(tmp / "audio" / name / f"{clip}.npy", samples)
        render_crops(tmp / "audio", tmp / "after")
        old_tree = tmp / "before-tree"
        old_tree.mkdir()
        archive = subprocess.run(["git", "archive", before, "avatar_runtime"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive.stdout, check=True)
        # the child's working directory puts the old avatar_runtime ahead of this checkout's
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.append({str(ROOT)!r}); import django; django.setup(); "
                        f"from bench.qa_scorer_matrix import render_crops; from pathlib import Path; "
                        f"render_crops(Path({str(tmp / 'audio')!r}), Path({str(tmp / 'before')!r}))"],
                       cwd=old_tree, check=True, env={**os.environ, "PYTHONPATH": ""})
        scorers = {"old": old_mouth_signal(old_scorer, tmp), "new": new_signal}
        rows = []
        for name in SETS:
            for renderer in ("before", "after"):
                crops = sorted((tmp / renderer / name).glob("*.frames.npy"))
                signals = {s: {} for s in scorers}  # type: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]
                for path in crops:
                    images = list(np.load(path))
                    audio = np.load(path.with_name(path.name.replace(".frames", ".audio")))
                    for s, signal in scorers.items():
                        signals[s][path.name.split(".")[0]] = (signal(images), audio)
                for s in scorers:
                    r = separation(signals[s])
                    rows.append(f"| {name} ({len(crops)}) | {renderer} | {s} | {r['own_min']:.3f} / {r['own_med']:.3f} | "
                                f"{r['un_med']:.3f} / {r['un_max']:.3f} | {r['own_min'] - r['un_max']:+.3f} | "
                                f"{r['auc']:.4f} | {r['exact']:.0%} | {r['k5']:.0%} |")
                    print(rows[-1], flush=True)
    lines = ["# Embedded lip-sync scorer: old and new scorer on the old and new portrait renderer", "",
             f"Renderer `before`: {before}; `after`: this checkout. Scorer `old`: `qa/embedded.py` at {old_scorer}; "
             f"`new`: this checkout's (threshold {CONFIDENCE_THRESHOLD}). Own audio shifted by abs(k) <= 8 frames; "
             "unrelated: every other clip of the set at k = 0. Margin: own minimum - unrelated maximum. "
             "Offsets: share of own-audio shifts found exactly; k = 5: share of clips whose 5-frame shift is found "
             "within 1 frame.", "",
             "| clips | renderer | scorer | own min / median | unrelated median / max | margin | AUC | offsets exact | k = 5 |",
             "|---|---|---|---|---|---|---|---|---|", *rows, "",
             f"Machine: {os.cpu_count()} cores (shared), load average {os.getloadavg()[0]:.1f} at the end."]
    report = "\n".join(lines) + "\n"
    print(report)
    (ROOT / "bench" / "results" / "qa_scorer_matrix.md").write_text(report)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="c597546", help="commit whose renderer is the 'before'")
    parser.add_argument("--old-scorer", default="c440e4d", help="commit whose qa/embedded.py is the 'old' scorer")
    args = parser.parse_args()
    main(args.before, args.old_scorer)
