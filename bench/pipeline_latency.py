"""End-to-end latency of a kiosk session on this machine, with the embedded backends.

    python -m bench.pipeline_latency [--turns 20] [--barge-ins 10] [--cache on|asked|off]

The session is assembled exactly as a worker assembles it (``kiosk.session_factory``: Silero
VAD, Whisper, hybrid retrieval, extractive answers, offline voices, the portrait renderer, WebRTC
echo cancellation) over a throwaway SQLite database with the demo venue. Questions spoken by the
offline voices are streamed in real time, 32 ms at a time, as a browser sends them; answers play
in real time. Reported per stage (p50/p95): VAD endpointing, ASR, retrieval, answer text, TTS
first audio, first video frame after the end of the turn, and end to end ("customer stops
speaking → first answer audio and video frame"); then barge-in latency ("customer speech onset →
avatar output stopped"). Tables are printed and written to bench/results/pipeline_latency.md.

``--cache on`` builds the whole demo knowledge base's answer audio first, as the job does, and times
it; ``--cache asked`` caches only the answers the benchmark's questions retrieve (the same latency
for these turns, minutes instead of the better part of an hour of Kokoro on two cores).
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
os.environ.setdefault("AVATAR_TTS_BACKEND", "offline")  # the embedded voices; Edge has no network here

import django  # noqa: E402

django.setup()

from io import StringIO  # noqa: E402

from channels.db import database_sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from avatar_runtime.pipeline.session import ConversationSession, State  # noqa: E402
from avatars.models import AnswerAudio  # noqa: E402
from kiosk.models import Kiosk  # noqa: E402
from kiosk.session_factory import session_factory, warm_up  # noqa: E402
from tests.speech_samples import speak  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "pipeline_latency.md"
CACHE_RESULTS = ROOT / "bench" / "results" / "answer_audio_cache.md"
CHUNK = 512
QUESTIONS = [
    ("en", "Where can I find a toilet?"), ("en", "How much does parking cost?"), ("en", "Is there free wifi?"),
    ("en", "When does the mall close?"),
    ("zh", "请问停车一个小时多少钱？"), ("zh", "商场几点关门？"), ("zh", "有免费无线网络吗？"), ("zh", "哪里可以换钱？"),
    ("ja", "無料のWi-Fiはありますか？"), ("ja", "トイレはどこですか？"), ("ja", "駐車料金はいくらですか？"),
    ("ja", "映画館はどこですか？"),
    ("ko", "주차 요금은 얼마예요?"), ("ko", "화장실은 어디에 있어요?"), ("ko", "무료 와이파이 있어요?"),
    ("ko", "영화관은 어디예요?"),
    ("yue", "商場幾點鐘開門？"), ("yue", "洗手間喺邊度？"), ("yue", "泊車幾錢？"), ("yue", "有冇免費WiFi？"),
]
STAGES = ["endpointing", "asr", "retrieval", "answer_first_text", "tts_first_audio", "first_frame", "end_to_end"]


async def stream(session: ConversationSession, samples: np.ndarray) -> None:
    """Feed the microphone in real time."""
    began = time.monotonic()
    for i, start in enumerate(range(0, len(samples), CHUNK)):
        session.push_audio(samples[start:start + CHUNK].astype(np.float32))
        await asyncio.sleep(max(0.0, began + (i + 1) * CHUNK / 16000 - time.monotonic()))


async def drain_frames(session: ConversationSession) -> None:
    async for _frame in session.frames():
        pass


def pct(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q) * 1000:.0f}" if values else "-"


async def run(turns: int, barge_ins: int) -> str:
    kiosk_id = await database_sync_to_async(lambda: Kiosk.objects.values_list("id", flat=True).first())()
    # As a worker does before it takes sessions: the first question must not pay for loading models
    # (without it, the first turn's retrieval took 3.5 s: the embedding model loading).
    await database_sync_to_async(warm_up)()
    session = await session_factory("bench", kiosk_id)
    await session.start()
    frames = asyncio.get_running_loop().create_task(drain_frames(session))
    silence = np.zeros(16000, np.float32)
    per_language: dict[str, list[dict[str, float]]] = {}
    for language, question in (QUESTIONS * 2)[:turns]:
        session.set_language(language)
        audio, _ = speak(question, language)
        session.turn_finished.clear()
        await stream(session, np.concatenate([silence[:8000], audio, silence]))
        await asyncio.wait_for(session.turn_finished.wait(), 120)
        per_language.setdefault(language, []).append(session.metrics.turns[-1])
    for i in range(barge_ins):
        language, question = QUESTIONS[i % 4]
        audio, _ = speak(question, language)
        session.turn_finished.clear()
        await stream(session, np.concatenate([silence[:8000], audio, silence[:8000]]))
        while session.state != State.SPEAKING:
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)
        interruption, _ = speak("Sorry, where is the taxi stand?", "en")
        session.turn_finished.clear()
        await stream(session, np.concatenate([interruption, silence]))
        await asyncio.wait_for(session.turn_finished.wait(), 120)  # the answer to the interruption
    frames.cancel()
    await session.close("bench")
    rows = ["| stage | " + " | ".join(f"{lang} p50/p95" for lang in per_language) + " | all p50 | all p95 |",
            "|---|" + "---|" * (len(per_language) + 2)]
    for stage in STAGES:
        cells = []
        everything: list[float] = []
        for timings in per_language.values():
            values = [t[stage] for t in timings if stage in t]
            everything += values
            cells.append(f"{pct(values, 50)}/{pct(values, 95)}")
        rows.append(f"| {stage} (ms) | " + " | ".join(cells) + f" | {pct(everything, 50)} | {pct(everything, 95)} |")
    barge = session.metrics.bargein_latencies
    metrics = session.metrics
    rows += ["", f"Speculative ASR (started at a pause): used in {metrics.speculations_used} turns, "
             f"dropped {metrics.speculations_dropped} times (the customer went on, or a barge-in); "
             f"{metrics.early_ends} turns ended early because the words were complete."]
    rows += ["", "| barge-in: speech onset → output stopped | n | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|",
             f"| | {len(barge)} | {pct(barge, 50)} | {pct(barge, 95)} | {max(barge) * 1000 if barge else 0:.0f} |"]
    return "\n".join(rows)


def build_answer_audio_cache() -> str:
    """Build the demo KB's answer audio cache as the job does, per language; time and disk to CACHE_RESULTS."""
    from avatars.answer_audio import answer_audio_refresh, answer_audio_status

    load = os.getloadavg()
    rows = ["| language | voices | sentences cached | missing | build s | disk KB | audio s |", "|---|---|---|---|---|---|---|"]
    total_s = 0.0
    for language in ("en", "zh", "yue", "ja", "ko"):
        began = time.perf_counter()
        answer_audio_refresh(language=language)
        took = time.perf_counter() - began
        total_s += took
        status = next(s for s in answer_audio_status() if s.language == language)
        entries = AnswerAudio.objects.filter(language=language)
        voices = ", ".join(sorted({f"{b}:{n}" for b, n in entries.values_list("backend", "voice_name")}))
        seconds = sum(entries.values_list("seconds", flat=True))
        rows.append(f"| {language} | {voices} | {status.entries} | {status.missing} | {took:.1f} | "
                    f"{status.size / 1024:.0f} | {seconds:.0f} |")
    size = sum(AnswerAudio.objects.values_list("size", flat=True))
    text = (f"# Answer audio cache: the demo KB in every language's voices ({os.cpu_count()} CPU cores, shared)\n\n"
            f"Built by `avatars.answer_audio.answer_audio_refresh` (the job's body), one language after another, "
            f"AVATAR_TTS_BACKEND={settings.AVATAR_TTS_BACKEND} (no Edge: this machine has no internet, so the "
            f"offline voices are the ones cached). FLAC, 16 kHz mono. Load average (1/5/15 min) "
            f"{' / '.join(f'{x:.1f}' for x in load)} at the start, "
            f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} at the end.\n\n"
            + "\n".join(rows) + f"\n\nTotal: {total_s:.1f} s, {size / 2**20:.2f} MB.\n")
    CACHE_RESULTS.write_text(text)
    print(text)
    return f" (built in {total_s:.0f} s, {size / 2**20:.1f} MB)"


def build_asked_answer_audio(questions: list[tuple[str, str]]) -> str:
    """Cache every sentence of the answers ``questions`` retrieve, and the fixed phrases, in each
    language's cached voices (what the job would store for them); how many and how long."""
    from avatar_runtime.llm.phrases import PHRASES, phrase
    from avatar_runtime.text.sentences import split_text
    from avatars.answer_audio import _speak, answer_audio_store
    from avatars.voices import voice_book_from_settings
    from knowledgebase.runtime_retrieval import retrieve

    book = voice_book_from_settings()
    wanted: dict[str, set[str]] = {}
    for language, question in questions:
        retrieved = retrieve(question, language, 1)
        texts = wanted.setdefault(language, set())
        for passage in retrieved.passages[:1]:
            texts.update(split_text(passage.translations.get(language, (passage.question, passage.answer))[1]))
        texts.update(s for key in PHRASES for s in (phrase(key, language), *split_text(phrase(key, language))))
    began, made = time.perf_counter(), 0
    for language, texts in wanted.items():
        for voice in book.cached_voices(language):
            for text in sorted(texts):
                samples, rate = _speak(voice, text)
                answer_audio_store(voice=voice, text=text, samples=samples, sample_rate=rate)
                made += 1
    return f" (only the asked answers: {made} sentences built in {time.perf_counter() - began:.0f} s)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--barge-ins", type=int, default=10)
    parser.add_argument("--cache", choices=["on", "asked", "off", "default"], default="default")
    parser.add_argument("--out", type=Path, help="results file (default: results/pipeline_latency.md, or per --cache)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    settings.ANSWER_AUDIO_CACHE = False  # no cache job behind the benchmark's back while the demo loads
    call_command("load_demo", stdout=StringIO())
    cache_note = ""
    if args.cache == "on":
        cache_note = build_answer_audio_cache()
    elif args.cache == "asked":
        cache_note = build_asked_answer_audio((QUESTIONS * 2)[:args.turns] + QUESTIONS[:4])
    settings.ANSWER_AUDIO_CACHE = args.cache in ("on", "asked")
    results = RESULTS if args.cache == "default" else RESULTS.with_name(f"pipeline_latency_cache_{args.cache}.md")
    results = args.out or results
    load_before = os.getloadavg()
    cpu_before = time.process_time()
    table = asyncio.run(run(args.turns, args.barge_ins))
    load_after = os.getloadavg()
    header = (f"# Kiosk session latency (embedded backends, {os.cpu_count()} CPU cores)\n\n"
              f"{args.turns} spoken turns (the customer taps the language), {args.barge_ins} barge-ins; "
              "times from the session's own clock. The machine is shared: load average (1/5/15 min) "
              f"{' / '.join(f'{x:.1f}' for x in load_before)} at the start, "
              f"{' / '.join(f'{x:.1f}' for x in load_after)} at the end; the benchmark's own CPU time "
              f"{time.process_time() - cpu_before:.0f} s.\n\n")
    if args.cache != "default":
        header += f"Answer audio cache **{args.cache}**{cache_note}.\n\n"
    header += (f"Recogniser: AVATAR_ASR_MODEL={settings.AVATAR_ASR_MODEL}, AVATAR_ASR_MODEL_BY_LANGUAGE="
               f"{settings.AVATAR_ASR_MODEL_BY_LANGUAGE or '(none)'}, AVATAR_ASR_BEAM_SIZE={settings.AVATAR_ASR_BEAM_SIZE}, "
               f"AVATAR_ASR_THREADS={settings.AVATAR_ASR_THREADS}.\n\n")
    results.write_text(header + table + "\n")
    print(header + table)


if __name__ == "__main__":
    main()
