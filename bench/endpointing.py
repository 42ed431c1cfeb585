"""End of turn on real test speech: the endpointing delay, the time until the transcript is ready,
and the false-endpoint rate of ending a turn early on a complete-looking speculative transcript.

    python -m bench.endpointing

Each utterance (the 40 of ``bench/speech_stages.py`` and ``bench/pipeline_latency.py``, plus
8 made of two sentences with a 0.3 s pause between them, where ending at the pause is wrong) is
streamed through Silero VAD in 32 ms chunks. At each "pause" event the utterance so far is
recognised (language given, as when the customer tapped it), as the session does. Compared:
- before: wait for the "end" event (400 ms of silence), then recognise;
- now: recognise at the pause; end at once when the words look complete, else at the "end"
  event, reusing the speculative transcript when nothing was said after the pause.
A false endpoint: the turn ended early at a pause and speech followed. Printed and written to
bench/results/endpointing.md.
"""
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from avatar_runtime.asr.whisper import WhisperRecognizer  # noqa: E402
from avatar_runtime.pipeline.endpointing import looks_complete  # noqa: E402
from avatar_runtime.vad.silero import SileroVadStream, VadConfig  # noqa: E402
from bench.pipeline_latency import QUESTIONS  # noqa: E402
from bench.speech_stages import speech_end  # noqa: E402
from tests.speech_samples import RATE, SENTENCES, models_dir, speak  # noqa: E402

CHUNK = 512
RESULTS = ROOT / "bench" / "results" / "endpointing.md"
TWO_PART = [
    ("en", "Excuse me.", "Where is the taxi stand?"), ("en", "I have a question,", "where can I park my car?"),
    ("ja", "すみません。", "トイレはどこですか？"), ("ja", "駐車場の料金は", "いくらですか？"),
    ("ko", "저기요.", "화장실은 어디에 있어요?"), ("ko", "주차 요금은", "얼마예요?"),
    ("zh", "你好。", "请问洗手间在哪里？"), ("zh", "请问", "停车多少钱？"),
]


def run(language: str, audio: np.ndarray, recognizer: WhisperRecognizer, config: VadConfig) -> dict[str, float]:
    """Times (s after the true end of speech) of the old and new end of turn and transcript."""
    lead = 0.5
    clean_end = lead + speech_end(audio)
    signal = np.concatenate([np.zeros(int(lead * RATE), np.float32), audio, np.zeros(RATE, np.float32)])
    stream = SileroVadStream(config)
    guess: tuple[float, float, bool] | None = None  # pts, ready at (mic time), complete
    early: float | None = None
    out: dict[str, float] = {}
    for start in range(0, len(signal), CHUNK):
        now = (start + CHUNK) / RATE
        for event in stream.push(signal[start:start + CHUNK]):
            if event.kind == "pause" and event.samples is not None and early is None:
                began = time.perf_counter()
                text = recognizer.transcribe(event.samples, RATE, language=language).text
                took = time.perf_counter() - began
                guess = (event.pts, now + took, looks_complete(text, language))
                if guess[2]:
                    early = guess[1]
                    out["early"] = 1.0
                    out["false"] = float(event.pts < clean_end - 0.15)
            if event.kind == "end" and event.samples is not None and "old_end" not in out:
                began = time.perf_counter()
                recognizer.transcribe(event.samples, RATE, language=language)
                took = time.perf_counter() - began
                out["old_end"] = now - clean_end
                out["old_ready"] = now + took - clean_end
                reuse = guess is not None and abs(guess[0] - event.pts) < 1e-6
                out["new_end"] = (early if early is not None else now) - clean_end
                if early is not None:
                    ready = early
                elif reuse and guess is not None:
                    ready = max(now, guess[1])
                else:
                    ready = now + took
                out["new_ready"] = ready - clean_end
    return out


def pct(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q) * 1000:.0f}" if values else "-"


def change(before: list[float], after: list[float]) -> str:
    return f"{pct(before, 50)}/{pct(before, 95)} → {pct(after, 50)}/{pct(after, 95)}"


def main() -> None:
    recognizer = WhisperRecognizer(models_dir() / "whisper-base")
    config = VadConfig()
    recognizer.transcribe(speak("Hello there.", "en")[0], RATE)  # load the model outside the timing
    load_before = os.getloadavg()
    single = [(lang, speak(text, lang)[0]) for lang, texts in SENTENCES.items() for text in texts]
    single += [(lang, speak(text, lang)[0]) for lang, text in QUESTIONS]
    gap = np.zeros(int(0.3 * RATE), np.float32)
    double = [(lang, np.concatenate([speak(a, lang)[0], gap, speak(b, lang)[0]])) for lang, a, b in TWO_PART]
    rows = ["| set | n | ended early | false endpoints | end of turn p50/p95 (ms): before → now "
            "| transcript ready p50/p95 (ms): before → now |",
            "|---|---|---|---|---|---|"]
    for name, items in (("single questions", single), ("two sentences, 0.3 s apart", double)):
        results = [run(lang, audio, recognizer, config) for lang, audio in items]
        results = [r for r in results if "old_end" in r]
        col = {k: [r[k] for r in results] for k in ("old_end", "new_end", "old_ready", "new_ready")}
        rows.append(f"| {name} | {len(results)} | {sum(r.get('early', 0) for r in results):.0f} | "
                    f"{sum(r.get('false', 0) for r in results):.0f} | "
                    f"{change(col['old_end'], col['new_end'])} | {change(col['old_ready'], col['new_ready'])} |")
    report = (f"# End of turn (Silero VAD pause {config.pause_ms} ms, end {config.end_silence_ms} ms; Whisper base)\n\n"
              f"Times from the true end of speech. Load average {load_before[0]:.1f} at the start, "
              f"{os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} cores, shared).\n\n" + "\n".join(rows) + "\n")
    print(report)
    RESULTS.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
