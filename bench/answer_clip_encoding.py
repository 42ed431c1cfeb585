"""What recording an answer for lip-sync QA costs, per x264 preset, and whether the score changes.

The worker encodes every recorded answer (``pipeline/recording.py``) beside the sessions' media;
``bench.load_kiosks`` measured that work at a fifth of a core for a lone kiosk. Here the same frames
(the astronaut portrait speaking the reported utterances of ``bench/qa_scorer.py``, espeak-ng, as
the live renderer draws them) are encoded the way the recorder does, with each preset: CPU seconds
per second of answer (all the encoder's threads), file size, and the embedded lip-sync scorer's
offset and confidence on the decoded clip.

    python bench/answer_clip_encoding.py      # prints the table, writes bench/results/answer_clip_encoding.md
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from avatar_runtime.pipeline.messages import VideoFrame
from avatar_runtime.pipeline.recording import CLIP_CRF, CLIP_PRESET
from avatar_runtime.qa.embedded import EmbeddedScorer
from avatar_runtime.render.clip import ClipWriter, render_offline
from bench.qa_scorer import UTTERANCES, speak
from tests.avatar_runtime.render.media import astronaut

PRESETS = ("veryfast", "superfast", "ultrafast")
RESULTS = Path(__file__).resolve().parent / "results" / "answer_clip_encoding.md"


def encode(frames: list[VideoFrame], path: Path, preset: str) -> float:
    """CPU seconds (every thread of this process, x264's included) to encode ``frames`` as the recorder
    does (frame by frame, then close)."""
    began = time.process_time()
    writer = ClipWriter(path, fps=25, sample_rate=16000, crf=CLIP_CRF, preset=preset)
    for frame in frames:
        writer.add_image(frame.image)
        writer.add_audio(frame.audio)
    writer.close()
    return time.process_time() - began


def main() -> None:
    avatar = astronaut()
    scorer = EmbeddedScorer()
    rows: dict[str, list[tuple[float, float, int, float, float]]] = {p: [] for p in PRESETS}
    size = ""
    with tempfile.TemporaryDirectory() as tmp:
        for name, (voice, text) in UTTERANCES.items():
            audio = speak(voice, text, Path(tmp))
            frames = [f for f in render_offline(avatar, audio, 16000) if f.speaking]
            height, width = frames[0].image.shape[:2]
            size = f"{width}x{height}"
            seconds = len(frames) / 25
            for preset in PRESETS:
                path = Path(tmp) / f"{name}-{preset}.mp4"
                cpu = encode(frames, path, preset)
                score = scorer.score(path)
                rows[preset].append((seconds, cpu, path.stat().st_size, score.offset_frames, score.confidence))
            print(name, f"{seconds:.1f} s", {p: f"{rows[p][-1][1]:.2f} s CPU" for p in PRESETS}, flush=True)
    lines = [
        "# Recording an answer for lip-sync QA: CPU per x264 preset, and the score on the decoded clip",
        "",
        f"`python bench/answer_clip_encoding.py`, {time.strftime('%Y-%m-%d')}, one process, load average before "
        f"{os.getloadavg()[0]:.2f}. The astronaut portrait ({size}, 25 fps) speaking the {len(UTTERANCES)} reported "
        f"utterances of `bench/qa_scorer.py` (espeak-ng), frames as the live renderer draws them, encoded as the "
        f"recorder does (crf {CLIP_CRF}, frame by frame). CPU: every thread of the process (x264's own included), "
        "per second of answer. Scores: the embedded scorer on each decoded clip (offset in frames, 0 = in sync).",
        "",
        "| preset | CPU s per s of answer (% of a core) | size kB/s | offsets (frames) | confidence mean / min |",
        "|---|---:|---:|---|---|",
    ]
    for preset in PRESETS:
        seconds = sum(r[0] for r in rows[preset])
        cpu = sum(r[1] for r in rows[preset]) / seconds
        kbps = sum(r[2] for r in rows[preset]) / seconds / 1000
        offsets = ", ".join(str(int(r[3])) for r in rows[preset])
        confidences = [r[4] for r in rows[preset]]
        current = " (the recorder's)" if preset == CLIP_PRESET else ""
        lines.append(f"| {preset}{current} | {cpu:.3f} ({100 * cpu:.0f} %) | {kbps:.0f} | {offsets} "
                     f"| {np.mean(confidences):.3f} / {min(confidences):.3f} |")
    out = "\n".join(lines) + "\n"
    print(out)
    RESULTS.write_text(out)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
