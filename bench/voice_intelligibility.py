"""How well the offline voices are understood: every demo FAQ answer spoken, then heard back.

    .venv/bin/python -m bench.voice_intelligibility [--languages zh,yue] [--skip N] [--limit N] [--only] [--voice zh:espeak:cmn]

The answers are those ``manage.py load_demo`` loads (``knowledgebase/demo/faqs.jsonl``, read
directly: no database). Each voice speaks each answer of its language (``synthesizer_for``, the
voice alone, no fallback chain, the model loaded before timing); the embedded recogniser
(Whisper base, as ``factory.recognizer`` picks it without SenseVoice) hears the audio at 16 kHz.
Scored with ``bench.speech_scoring``: CER for zh/yue/ja/ko, WER for en, after its normalisation.

Recognition runs first with the language detected, as a kiosk would; when Whisper picks another
language the answer is heard again with its language forced, so the error rate measures the voice's
words, and the "detected right" column its accent. Cantonese: Whisper base has no Cantonese; forced
to ``yue`` it decodes as Chinese (``zh``) and writes Cantonese speech as it would write Mandarin, so
the Cantonese CER is an upper bound that mixes the voice's and the recogniser's faults: compare it
between voices, not against the Mandarin target.

Reported per voice: error rate (total edits / total reference units, and the median per answer),
language detection, time to first audio (p50, p95) and real-time factor (synthesis seconds per
second of speech). Printed and written to ``bench/results/voice_intelligibility.md`` and ``.json``.
"""
import argparse
import asyncio
import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import django
import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")  # MODELS_DIR comes from the settings
django.setup()

from django.conf import settings  # noqa: E402

from avatar_runtime.asr.base import Recognizer  # noqa: E402
from avatar_runtime.asr.whisper import WhisperRecognizer  # noqa: E402
from avatar_runtime.audio import resample, voiced_sound  # noqa: E402
from avatar_runtime.tts.base import Voice  # noqa: E402
from avatar_runtime.tts.registry import OFFLINE_VOICES, espeak_voice_for, synthesizer_for  # noqa: E402
from avatar_runtime.tts.utterance import utterance_synthesize  # noqa: E402
from bench.speech_scoring import edit_distance, units  # noqa: E402
from common.languages import KIOSK_LANGUAGES  # noqa: E402
from knowledgebase.importing import parse_faq_file  # noqa: E402

RESULTS = Path(__file__).parent / "results"
DEMO_FAQS = Path(__file__).resolve().parent.parent / "knowledgebase" / "demo" / "faqs.jsonl"
RATE = 16000


@dataclass
class Heard:
    language: str
    voice: str
    key: str
    reference: str
    transcript: str
    detected: str
    errors: int
    units: int
    first_audio_s: float
    synthesis_s: float
    audio_s: float


def demo_answers() -> dict[str, list[tuple[str, str]]]:
    """(FAQ key, answer) per language, as ``load_demo`` would import them."""
    parsed = parse_faq_file(DEMO_FAQS.read_bytes(), DEMO_FAQS.name)
    if parsed.errors:
        raise SystemExit(f"{DEMO_FAQS}: {parsed.errors}")
    answers: dict[str, list[tuple[str, str]]] = {}
    for row in parsed.rows:
        answers.setdefault(row.language, []).append((row.key, row.answer))
    return answers


def voices_to_test(languages: list[str], extra: list[str], *, only_extra: bool = False) -> list[Voice]:
    """The kiosk's offline voice of each language, espeak-ng where it is only the last resort, and ``extra``."""
    voices: list[Voice] = []
    for language in [] if only_extra else languages:
        for voice in (OFFLINE_VOICES[language], espeak_voice_for(OFFLINE_VOICES[language])):
            if voice not in voices:
                voices.append(voice)
    for spec in extra:
        language, backend, name = spec.split(":", 2)
        voices.append(Voice(language, backend, name))
    return voices


async def hear_one(voice: Voice, key: str, text: str, recognizer: Recognizer, models_dir: Path) -> Heard:
    utterance = await utterance_synthesize(synthesizer_for(voice, models_dir), text, voice)
    audio = resample(utterance.samples, utterance.sample_rate, RATE)
    heard = recognizer.transcribe(audio, RATE)
    detected = heard.language
    if detected != voice.language:
        heard = recognizer.transcribe(audio, RATE, language=voice.language)
    reference, hypothesis = units(text, voice.language), units(heard.text, voice.language)
    return Heard(voice.language, f"{voice.backend} {voice.name}", key, text, heard.text, detected,
                 edit_distance(reference, hypothesis), len(reference), utterance.first_audio_s, utterance.synthesis_s,
                 utterance.seconds)


def summary(rows: list[Heard]) -> dict[str, object]:
    firsts = [r.first_audio_s * 1000 for r in rows]
    rates = [r.errors / max(1, r.units) for r in rows]
    return {
        "language": rows[0].language, "voice": rows[0].voice, "answers": len(rows),
        "metric": "WER" if rows[0].language == "en" else "CER",
        "error_rate": sum(r.errors for r in rows) / max(1, sum(r.units for r in rows)),
        "median_error_rate": float(np.median(rates)),
        "detected_right": sum(r.detected == r.language for r in rows),
        "detected_as": dict(Counter(r.detected for r in rows).most_common()),
        "first_audio_p50_ms": float(np.percentile(firsts, 50)), "first_audio_p95_ms": float(np.percentile(firsts, 95)),
        "real_time_factor": sum(r.synthesis_s for r in rows) / max(1e-9, sum(r.audio_s for r in rows)),
        "audio_s": sum(r.audio_s for r in rows),
    }


def table(summaries: list[dict[str, object]]) -> str:
    headers = ["language", "voice", "answers", "metric", "error rate", "median", "detected right", "detected as",
               "first audio p50 (ms)", "p95 (ms)", "real-time factor"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for s in summaries:
        detected = ", ".join(f"{code or '?'} {n}" for code, n in s["detected_as"].items())
        lines.append(f"| {s['language']} | {s['voice']} | {s['answers']} | {s['metric']} | {s['error_rate']:.3f} | "
                     f"{s['median_error_rate']:.3f} | {s['detected_right']}/{s['answers']} | {detected} | "
                     f"{s['first_audio_p50_ms']:.0f} | {s['first_audio_p95_ms']:.0f} | {s['real_time_factor']:.2f} |")
    return "\n".join(lines)


def examples(rows: list[Heard]) -> str:
    """The worst-heard answer of each voice, to show what the error rate means."""
    lines = ["| voice | answer | heard | error rate |", "|---|---|---|---|"]
    by_voice: dict[str, list[Heard]] = {}
    for row in rows:
        by_voice.setdefault(f"{row.language} {row.voice}", []).append(row)
    for name, mine in by_voice.items():
        worst = max(mine, key=lambda r: r.errors / max(1, r.units))
        lines.append(f"| {name} | {worst.reference} | {worst.transcript} | {worst.errors / max(1, worst.units):.2f} |")
    return "\n".join(lines)


def write(name: str, rows: list[Heard], summaries: list[dict[str, object]], *, complete: bool) -> str:
    """The report so far (rewritten after each voice, so a long run that is stopped keeps its results)."""
    state = "" if complete else " (incomplete: the run was still going)"
    title = (f"# Voice intelligibility: demo FAQ answers spoken and heard back by Whisper base{state}\n\n"
             f"{os.cpu_count()} CPU cores, shared; load average {os.getloadavg()[0]:.1f} when written.")
    report = "\n\n".join([title, table(summaries), "Worst-heard answer per voice", examples(rows)]) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(report, encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(json.dumps({"summaries": summaries, "answers": [asdict(r) for r in rows]},
                                                     ensure_ascii=False, indent=1), encoding="utf-8")
    return report


async def run(args: argparse.Namespace) -> str:
    models_dir = Path(settings.MODELS_DIR)
    recognizer = WhisperRecognizer(models_dir / "whisper-base")
    recognizer.transcribe(voiced_sound(1.5, RATE), RATE)  # its first pass is slow: spent outside the timing
    answers = demo_answers()
    rows: list[Heard] = []
    summaries: list[dict[str, object]] = []
    for voice in voices_to_test(args.languages, args.voice, only_extra=args.only):
        texts = answers[voice.language][args.skip:][: args.limit or None]
        await utterance_synthesize(synthesizer_for(voice, models_dir), texts[0][1], voice)  # load the model
        started = time.perf_counter()
        mine = [await hear_one(voice, key, text, recognizer, models_dir) for key, text in texts]
        rows += mine
        summaries.append(summary(mine))
        write(args.name, rows, summaries, complete=False)
        print(f"[{voice.language} {voice.backend} {voice.name}: {len(mine)} answers, "
              f"{summaries[-1]['metric']} {summaries[-1]['error_rate']:.3f}, {time.perf_counter() - started:.0f} s]", flush=True)
    return write(args.name, rows, summaries, complete=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", type=lambda s: s.split(","), default=list(KIOSK_LANGUAGES))
    parser.add_argument("--limit", type=int, default=0, help="At most this many answers per language (0: all).")
    parser.add_argument("--skip", type=int, default=0, help="Leave out the first N answers of each language "
                        "(they chose the voice: the rest is held out).")
    parser.add_argument("--voice", action="append", default=[], help="Another voice, language:backend:name.")
    parser.add_argument("--only", action="store_true", help="Only the voices given with --voice.")
    parser.add_argument("--name", default="voice_intelligibility", help="Results file name (without extension).")
    print(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
