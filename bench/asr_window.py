"""Whisper's encoder window: the full 30 s against the utterance plus padding (quality and CPU).

    python -m bench.asr_window [--padding 3.0 | --full]

The 40 test utterances (``SENTENCES`` and the questions of ``bench/pipeline_latency.py``, with
the VAD's 0.2 s pre-roll and 0.1 s post-roll) are recognised with language detection; printed:
per utterance the detected language, the CPU seconds and the transcript beside the reference,
then the character error rate per language (Chinese references are simplified, Whisper often
writes traditional characters, so zh/yue rates are above 1 either way: compare them, don't read
them). Results: bench/results/asr_window.md.
"""
import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from avatar_runtime.asr.whisper import WhisperConfig, WhisperRecognizer  # noqa: E402
from bench.pipeline_latency import QUESTIONS  # noqa: E402
from tests.speech_samples import RATE, SENTENCES, models_dir, speak  # noqa: E402


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[:], i
        for j, cb in enumerate(b, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
    return row[-1]


def normal(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--padding", type=float, default=3.0)
    parser.add_argument("--full", action="store_true", help="Whisper's full 30 s window")
    args = parser.parse_args()
    config = WhisperConfig(window_padding_s=None if args.full else args.padding)
    recognizer = WhisperRecognizer(models_dir() / "whisper-base", config)
    items = [(lang, text) for lang, texts in SENTENCES.items() for text in texts] + QUESTIONS
    recognizer.transcribe(speak("Hello there.", "en")[0], RATE)  # load the model outside the timing
    errors: dict[str, list[float]] = defaultdict(list)
    cpu_total = 0.0
    for language, reference in items:
        audio = np.concatenate([np.zeros(int(0.2 * RATE), np.float32), speak(reference, language)[0],
                                np.zeros(int(0.1 * RATE), np.float32)])
        cpu = time.process_time()
        result = recognizer.transcribe(audio, RATE)
        cpu = time.process_time() - cpu
        cpu_total += cpu
        errors[language].append(edit_distance(normal(result.text), normal(reference)) / max(1, len(normal(reference))))
        print(f"{language} {result.language} {cpu:.2f} {result.text!r} || {reference}", flush=True)
    rates = ", ".join(f"{lang} {np.mean(v):.2f}" for lang, v in errors.items())
    print(f"window: {'full 30 s' if args.full else f'utterance + {args.padding} s'}; CPU {cpu_total / len(items):.2f} s "
          f"per utterance; character error rate {rates}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
