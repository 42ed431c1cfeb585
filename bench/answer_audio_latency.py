"""Time to first audio of FAQ answers: played from the answer audio cache against synthesised live.

    python -m bench.answer_audio_latency [--answers 4]

For each language, the first ``--answers`` demo FAQ answers (the ones ``bench.pipeline_latency``
asks about first) are spoken sentence by sentence through the kiosk's own voice chain (the demo's
voices with ``AVATAR_TTS_BACKEND=offline``: the offline ones), stored in the cache as the job
stores them (``answer_audio_store``), then asked again through ``CachedSynthesizer`` (database
lookup, FLAC read and decode). Reported per language: p50 of the first sentence's first audio
live and from the cache, and the cache's bytes per second of speech. Written to
bench/results/answer_audio_latency.md with the machine's load average.
"""
import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.throwaway_site import ROOT, throwaway_site_use

throwaway_site_use()
os.environ.setdefault("AVATAR_TTS_BACKEND", "offline")
os.environ["ANSWER_AUDIO_CACHE"] = "off"  # no job behind the benchmark's back while the demo loads

import django  # noqa: E402

django.setup()

from io import StringIO  # noqa: E402

from django.core.management import call_command  # noqa: E402

from avatar_runtime.text.sentences import split_text  # noqa: E402
from avatar_runtime.tts.answer_cache import CachedSynthesizer  # noqa: E402
from avatar_runtime.tts.base import Synthesizer, Voice  # noqa: E402
from avatar_runtime.tts.utterance import utterance_synthesize  # noqa: E402
from avatars.answer_audio import DjangoSpeechCache, answer_audio_store  # noqa: E402
from avatars.models import AnswerAudio  # noqa: E402
from avatars.voices import voice_book_from_settings  # noqa: E402
from knowledgebase.models import FaqTranslation  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "answer_audio_latency.md"
KEYS = ["restrooms", "car-parking", "free-wifi", "opening-hours", "taxi-stand", "money-exchange"]


async def first_audio(synthesizer: Synthesizer, text: str, voice: Voice) -> float:
    began = time.perf_counter()
    async for _chunk in synthesizer.synthesize(text, voice):
        return time.perf_counter() - began
    return float("nan")


def measure(language: str, answers: int) -> tuple[list[float], list[float], str]:
    book = voice_book_from_settings()
    live, cached = [], []
    texts = [t.answer.strip() for key in KEYS[:answers]
             for t in FaqTranslation.objects.filter(entry__key=key, language=language)]
    name = ""
    for answer in texts:
        sentence = split_text(answer)[0]
        synthesizer, voice = book.synthesizer(language)
        utterance = asyncio.run(utterance_synthesize(synthesizer, sentence, voice))  # warm (model loading)
        synthesizer, voice = book.synthesizer(language)
        live.append(asyncio.run(first_audio(synthesizer, sentence, voice)))
        name = f"{utterance.voice.backend}:{utterance.voice.name}"  # who spoke the whole sentence
        answer_audio_store(voice=voice, text=sentence, samples=utterance.samples, sample_rate=utterance.sample_rate)
        synthesizer, voice = book.synthesizer(language)
        hit = CachedSynthesizer(synthesizer, DjangoSpeechCache())
        cached.append(asyncio.run(first_audio(hit, sentence, voice)))
        assert hit.from_cache
    return live, cached, name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=4)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    call_command("load_demo", stdout=StringIO())
    load_before = os.getloadavg()
    rows = ["| language | voice | live first audio p50 ms (max) | cached first audio p50 ms (max) | cache KB per s of speech |",
            "|---|---|---|---|---|"]
    for language in ("en", "zh", "yue", "ja", "ko"):
        live, cached, name = measure(language, args.answers)
        entries = AnswerAudio.objects.filter(language=language)
        per_second = sum(e.size for e in entries) / max(1e-9, sum(e.seconds for e in entries)) / 1024
        rows.append(f"| {language} | {name} | {np.median(live) * 1000:.0f} ({max(live) * 1000:.0f}) | "
                    f"{np.median(cached) * 1000:.1f} ({max(cached) * 1000:.1f}) | {per_second:.1f} |")
        print(rows[-1], flush=True)
    load_after = os.getloadavg()
    text = (f"# First audio of FAQ answers: answer audio cache against live synthesis ({os.cpu_count()} CPU cores)\n\n"
            f"{args.answers} demo answers per language, their first sentence; live = the kiosk's voice chain "
            "(offline voices: no internet here), cached = `CachedSynthesizer` over `DjangoSpeechCache` (SQLite "
            "lookup, FLAC 16 kHz read and decode). The machine is shared with other jobs: load average (1/5/15 min) "
            f"{' / '.join(f'{x:.1f}' for x in load_before)} at the start, "
            f"{' / '.join(f'{x:.1f}' for x in load_after)} at the end (synthesis runs on niced inference threads, "
            "so live times stretch with the load; a cache hit does not synthesise).\n\n" + "\n".join(rows) + "\n")
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
