"""Latency of the offline speech stages on this machine: VAD endpointing, ASR, TTS first audio.

    MODELS_DIR=... python -m bench.speech_stages

Twenty utterances (four per kiosk language) made with the offline voices are padded with
silence and a -65 dBFS noise floor, streamed through the VAD in 20 ms chunks as a microphone
would deliver them; the utterance the VAD cuts goes to Whisper; every offline voice then speaks
the same sentences. Tables are printed and written to bench/results/speech_stages.md.
"""
import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_runtime.asr.whisper import WhisperRecognizer
from avatar_runtime.audio import levels
from avatar_runtime.tts.base import Voice
from avatar_runtime.tts.registry import ESPEAK_VOICES, OFFLINE_VOICES, synthesizer_for
from avatar_runtime.vad.silero import SileroVadStream, VadConfig
from tests.speech_samples import RATE, SENTENCES, models_dir, speak, with_silence

CHUNK = 320  # 20 ms, a WebRTC packet
RESULTS = Path(__file__).parent / "results" / "speech_stages.md"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def speech_end(samples: np.ndarray) -> float:
    """End of the clean utterance: the last 10 ms frame within 40 dB of the loudest."""
    level = 20 * np.log10(levels(samples, 160) + 1e-9)
    return float((np.flatnonzero(level > level.max() - 40)[-1] + 1) * 0.01)


@dataclass
class Turn:
    language: str
    endpoint_delay: float  # s from the true end of speech to the "end" event (mic clock)
    vad_cpu_per_audio_s: float
    asr_latency: float
    asr_cpu: float
    utterance_s: float
    detected: str
    text: str


def run_turn(language: str, text: str, recognizer: WhisperRecognizer, config: VadConfig) -> Turn:
    clean = speak(text, language)[0]
    lead = 1.0
    audio = with_silence(clean, lead, 1.5, noise_dbfs=-65.0)
    stream = SileroVadStream(config)
    cpu = time.process_time()
    ended_at, utterance = None, None
    for start in range(0, len(audio), CHUNK):
        for event in stream.push(audio[start : start + CHUNK]):
            if event.kind == "end" and ended_at is None:
                ended_at, utterance = (start + CHUNK) / RATE, event.samples
    vad_cpu = (time.process_time() - cpu) / (len(audio) / RATE)
    if ended_at is None or utterance is None:
        raise RuntimeError(f"VAD found no end of turn in a {language} utterance")
    wall, cpu = time.perf_counter(), time.process_time()
    result = recognizer.transcribe(utterance, RATE)
    return Turn(language, ended_at - (lead + speech_end(clean)), vad_cpu, time.perf_counter() - wall,
                time.process_time() - cpu, len(utterance) / RATE, result.language, result.text)


async def first_audio(voice: Voice, text: str) -> tuple[float, float, float, float]:
    """(time to first chunk, total time, seconds of audio, CPU seconds) for one sentence."""
    synthesizer = synthesizer_for(voice, models_dir())
    wall, cpu = time.perf_counter(), time.process_time()
    first, samples, rate = None, 0, RATE
    async for chunk in synthesizer.synthesize(text, voice):
        if first is None:
            first = time.perf_counter() - wall
        samples, rate = samples + len(chunk.samples), chunk.sample_rate
    total = time.perf_counter() - wall
    return first or total, total, samples / rate, time.process_time() - cpu


def vad_asr_section(turns: list[Turn], config: VadConfig) -> str:
    delays = [t.endpoint_delay * 1000 for t in turns]
    latencies = [t.asr_latency * 1000 for t in turns]
    rtf = [t.asr_latency / t.utterance_s for t in turns]
    rows = [
        ["VAD endpointing delay (ms)", f"{pct(delays, 50):.0f}", f"{pct(delays, 95):.0f}",
         f"end_silence_ms={config.end_silence_ms}; CPU {np.mean([t.vad_cpu_per_audio_s for t in turns]) * 100:.2f}% of a core"],
        ["ASR latency (ms)", f"{pct(latencies, 50):.0f}", f"{pct(latencies, 95):.0f}",
         f"CPU {np.mean([t.asr_cpu for t in turns]):.2f} s per utterance"],
        ["ASR real-time factor", f"{pct(rtf, 50):.2f}", f"{pct(rtf, 95):.2f}",
         f"utterances {min(t.utterance_s for t in turns):.1f}-{max(t.utterance_s for t in turns):.1f} s"],
    ]
    per_language = []
    for language in SENTENCES:
        mine = [t for t in turns if t.language == language]
        hits = sum(t.detected == language for t in mine)
        detected = ", ".join(f"{code} x{n}" for code, n in Counter(t.detected for t in mine).most_common())
        per_language.append([language, f"{hits}/{len(mine)}", detected, mine[0].text])
    return "\n\n".join([
        f"VAD + ASR over {len(turns)} utterances (VAD in 20 ms chunks, Whisper base int8, 2 threads)",
        table(["stage", "p50", "p95", "notes"], rows),
        "Language detection per language (voice: the kiosk's offline voice)",
        table(["language", "detected right", "detected as", "first transcript"], per_language),
    ])


async def tts_section() -> str:
    voices = [*OFFLINE_VOICES.values(), *(Voice(lang, "espeak", ESPEAK_VOICES[lang]) for lang in ("en", "ja", "ko"))]
    rows = []
    for voice in voices:
        await first_audio(voice, SENTENCES[voice.language][0])  # load the model outside the timing
        runs = [await first_audio(voice, text) for text in SENTENCES[voice.language]]
        firsts = [r[0] * 1000 for r in runs]
        rtf = sum(r[1] for r in runs) / sum(r[2] for r in runs)
        rows.append([f"{voice.language} {voice.backend} {voice.name}", f"{pct(firsts, 50):.0f}", f"{pct(firsts, 95):.0f}",
                     f"{rtf:.2f}", f"{sum(r[3] for r in runs) / sum(r[2] for r in runs):.2f}"])
    return "\n\n".join([
        "TTS per voice, 4 sentences each (model already loaded)",
        table(["voice", "first chunk p50 (ms)", "first chunk p95 (ms)", "real-time factor", "CPU s per audio s"], rows),
    ])


def mandarin_voice_section(recognizer: WhisperRecognizer) -> str:
    """Which espeak-ng Mandarin voice Whisper understands: plain ``cmn`` against pinyin input."""
    rows = []
    for name in ("cmn", "cmn-latn-pinyin", "cmn-latn-pinyin+f3"):
        voice = Voice("zh", "espeak", name)
        results = [recognizer.transcribe(speak(text, "zh", voice)[0], RATE) for text in SENTENCES["zh"]]
        overlap = np.mean([len(set(r.text) & set(t)) / len(set(t) - set("，。？")) for r, t in
                           zip(results, SENTENCES["zh"], strict=True)])
        rows.append([name, f"{sum(r.language == 'zh' for r in results)}/{len(results)}",
                     f"{np.mean([r.language_probabilities['zh'] for r in results]):.2f}", f"{overlap:.2f}",
                     results[0].text])
    return "\n\n".join([
        "espeak-ng Mandarin voices as Whisper hears them (4 sentences)",
        table(["voice", "detected zh", "mean P(zh)", "characters right (simplified)", "first transcript"], rows),
    ])


def timed(label: str, fn: Callable[[], str]) -> str:
    started = time.perf_counter()
    out = fn()
    print(f"[{label}: {time.perf_counter() - started:.1f} s]", flush=True)
    return out


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")  # MODELS_DIR comes from the settings
    recognizer = WhisperRecognizer(models_dir() / "whisper-base")
    config = VadConfig()
    recognizer.transcribe(speak(SENTENCES["en"][0], "en")[0], RATE)  # load the model outside the timing
    sections = [
        timed("vad+asr", lambda: vad_asr_section(
            [run_turn(language, text, recognizer, config) for language, texts in SENTENCES.items() for text in texts], config)),
        timed("tts", lambda: asyncio.run(tts_section())),
        timed("mandarin voices", lambda: mandarin_voice_section(recognizer)),
    ]
    title = f"# Speech stages ({os.cpu_count()} CPU cores, shared; load average {os.getloadavg()[0]:.1f} at the end)"
    report = title + "\n\n" + "\n\n".join(sections) + "\n"
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
