"""Kokoro answers streamed as a kiosk plays them: first audio, silences between pieces, CPU, intelligibility.

    .venv/bin/python -m bench.tts_streaming [--languages ja,ko,zh] [--limit 5] [--threads 1] [--name tts_streaming]

Each demo FAQ answer (``knowledgebase/demo/faqs.jsonl``) is split into sentences as the answerer
streams them (``text.sentences.split_text``) and spoken by the language's offline Kokoro voice
(``OFFLINE_VOICES``) through the synthesizer's own piece loop, in three plans:

- ``whole``: every clause in one piece (the reference for intelligibility; no pacing);
- ``clauses``: clauses, the first one cut after its first phrase (``phrasing.text_pieces``: the plan before pacing);
- ``paced``: pieces sized to the speech queued ahead of the listener (``tts.pacing``).

The machine is shared and loaded, so wall times say little: every piece's CPU time (process time,
ONNX Runtime's threads included) is measured, and playback is simulated on a clock that advances
only with that CPU time. With one inference thread, that is the wall time the same work takes on a
core of its own, i.e. a **projection** for a quiet machine where synthesis has a core (the other
being the renderer's), not a measurement. A piece is ready when its computation ends; it plays once
ready and the piece before it has played; a silence is the wait for a piece after the one before
it ended (the pauses the voice puts in on purpose are audio, not silence). The pacing plan reads
the queued speech from the same clock. Wall-clock first audio under the present load is printed
beside it, with the load average.

Intelligibility: the whole answer of each plan is heard by Whisper base (as
``bench.voice_intelligibility`` does) and scored by CER against the text.
"""
import argparse
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import django
import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")  # MODELS_DIR comes from the settings
django.setup()

import onnxruntime as ort  # noqa: E402
from django.conf import settings  # noqa: E402

from avatar_runtime.asr.whisper import WhisperRecognizer  # noqa: E402
from avatar_runtime.audio import resample, voiced_sound  # noqa: E402
from avatar_runtime.text.sentences import split_text  # noqa: E402
from avatar_runtime.tts import kokoro_voice  # noqa: E402
from avatar_runtime.tts.kokoro_voice import SAMPLE_RATE, KokoroModel, KokoroSynthesizer  # noqa: E402
from avatar_runtime.tts.pacing import Pace, SynthesisSpeed  # noqa: E402
from avatar_runtime.tts.registry import OFFLINE_VOICES  # noqa: E402
from bench.speech_scoring import edit_distance, units  # noqa: E402
from bench.voice_intelligibility import demo_answers  # noqa: E402

RESULTS = Path(__file__).parent / "results"
PLANS = ("whole", "clauses", "paced")
GAP_BUDGET_S = 0.25
SPOKEN: list[str] = []  # the text of every piece the synthesizer phonemised, in order


def record_piece_texts() -> None:
    """Keep each piece's text in ``SPOKEN`` (to show in the results where the pieces were cut)."""
    phonemize = kokoro_voice.phonemize

    def recording(text: str, language: str) -> str:
        SPOKEN.append(text)
        return phonemize(text, language)

    kokoro_voice.phonemize = recording


@dataclass
class Piece:
    sentence: int
    cpu_s: float
    wall_s: float
    audio_s: float
    text: str = ""


@dataclass
class Answer:
    language: str
    plan: str
    key: str
    first_audio_cpu_s: float  # projection: CPU seconds from the request to the first piece
    first_audio_wall_s: float  # measured under the present load
    max_silence_s: float
    silences_over_budget: int
    cer_errors: int
    cer_units: int
    transcript: str
    pieces: list[Piece] = field(default_factory=list)


class SimulatedPlayback:
    """Pieces played back to back from the first one, each once ready, on a clock of CPU seconds."""

    def __init__(self) -> None:
        self.end: float | None = None
        self.silences: list[float] = []
        self.first: float | None = None

    def ahead(self, now: float) -> float:
        return 0.0 if self.end is None else max(0.0, self.end - now)

    def add(self, ready: float, seconds: float) -> None:
        if self.end is None:
            self.first, start = ready, ready
        else:
            self.silences.append(max(0.0, ready - self.end))
            start = max(ready, self.end)
        self.end = start + seconds


def kokoro_model(models_dir: Path, threads: int) -> KokoroModel:
    """The process's Kokoro model, its session rebuilt with ``threads`` inference threads."""
    model = KokoroSynthesizer(models_dir)._model()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    path = models_dir / "kokoro-ja" / "kokoro-v1.0.int8.onnx"
    model.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    return model


def speak(model: KokoroModel, synthesizer: KokoroSynthesizer, text: str, language: str, plan: str,
          speed: SynthesisSpeed) -> tuple[np.ndarray, list[Piece], SimulatedPlayback, float]:
    voice = OFFLINE_VOICES[language]
    playback = SimulatedPlayback()
    began_cpu, began_wall = time.process_time(), time.perf_counter()
    first_wall = 0.0
    audio: list[np.ndarray] = []
    pieces: list[Piece] = []
    for number, sentence in enumerate(split_text(text)):
        pace = None
        if plan == "paced":
            pace = Pace(lambda: playback.ahead(time.process_time() - began_cpu), speed, time.process_time)
        elif plan == "whole":
            pace = Pace(lambda: 1e9, SynthesisSpeed(), time.process_time)
        stream = synthesizer._pieces(model, sentence, voice, pace)
        while True:
            cpu, wall = time.process_time(), time.perf_counter()
            piece = next(stream, None)
            if piece is None:
                break
            now = time.process_time()
            pieces.append(Piece(number, now - cpu, time.perf_counter() - wall, len(piece) / SAMPLE_RATE,
                                SPOKEN[-1] if SPOKEN else ""))
            first_wall = first_wall or time.perf_counter() - began_wall
            playback.add(now - began_cpu, len(piece) / SAMPLE_RATE)
            audio.append(piece)
    return np.concatenate(audio), pieces, playback, first_wall


def hear(recognizer: WhisperRecognizer, samples: np.ndarray, text: str, language: str) -> tuple[int, int, str]:
    audio = resample(samples, SAMPLE_RATE, 16000)
    heard = recognizer.transcribe(audio, 16000, language=language)
    reference = units(text, language)
    return edit_distance(reference, units(heard.text, language)), len(reference), heard.text


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def table(rows: list[Answer]) -> str:
    lines = [
        "| language | plan | answers | first audio p50 / p95, projected (ms) | first audio p50, wall under load (ms) "
        f"| largest silence, projected (ms) | silences > {GAP_BUDGET_S * 1000:.0f} ms | pieces | CPU s per piece (mean) "
        "| CPU s per s of speech | CER |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for language in dict.fromkeys(r.language for r in rows):
        for plan in PLANS:
            mine = [r for r in rows if r.language == language and r.plan == plan]
            if not mine:
                continue
            firsts = [r.first_audio_cpu_s * 1000 for r in mine]
            pieces = [p for r in mine for p in r.pieces]
            cpu, speech = sum(p.cpu_s for p in pieces), sum(p.audio_s for p in pieces)
            lines.append(
                f"| {language} | {plan} | {len(mine)} | {percentile(firsts, 50):.0f} / {percentile(firsts, 95):.0f} "
                f"| {percentile([r.first_audio_wall_s * 1000 for r in mine], 50):.0f} "
                f"| {max(r.max_silence_s for r in mine) * 1000:.0f} | {sum(r.silences_over_budget for r in mine)} "
                f"| {len(pieces)} | {cpu / len(pieces):.2f} | {cpu / speech:.2f} "
                f"| {sum(r.cer_errors for r in mine) / max(1, sum(r.cer_units for r in mine)):.3f} |"
            )
    return "\n".join(lines)


def header(args: argparse.Namespace, load_before: tuple[float, ...], load_after: tuple[float, ...]) -> str:
    loads = ", ".join(f"{x:.1f}" for x in load_before), ", ".join(f"{x:.1f}" for x in load_after)
    return (
        f"# Kokoro answers streamed (bench/tts_streaming.py)\n\n"
        f"Demo answers {args.skip + 1}-{args.skip + args.limit} per language; Kokoro int8 ONNX with "
        f"{args.threads} inference thread(s); CPU {os.cpu_count()} cores, shared with other work: load average "
        f"(1/5/15 min) {loads[0]} before, {loads[1]} after.\n"
        "\"Projected\" columns replay the pieces on a clock of the CPU seconds they took: what a quiet machine\n"
        "with a core free for synthesis would show, a projection, not a measurement.\n"
        "Wall times are measured under the load above.\n"
    )


def write(name: str, text: str, rows: list[Answer]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text, encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=1),
                                          encoding="utf-8")


def merged(args: argparse.Namespace) -> str:
    """One table from runs written apart (e.g. one process per language), each run's header kept."""
    rows: list[Answer] = []
    headers = []
    for name in args.merge:
        for row in json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8")):
            rows.append(Answer(**{**row, "pieces": [Piece(**p) for p in row["pieces"]]}))
        headers.append(f"- {name}: " + (RESULTS / f"{name}.md").read_text(encoding="utf-8").split("\n\n")[1].split("\n")[0])
    text = "# Kokoro answers streamed (bench/tts_streaming.py)\n\n" + "\n".join(headers) + "\n\n" + table(rows) + "\n"
    write(args.name, text, rows)
    return text


def run(args: argparse.Namespace) -> str:
    models_dir = Path(settings.MODELS_DIR)
    synthesizer = KokoroSynthesizer(models_dir)
    model = kokoro_model(models_dir, args.threads)
    record_piece_texts()
    recognizer = WhisperRecognizer(models_dir / "whisper-base")
    recognizer.transcribe(voiced_sound(1.5, 16000), 16000)  # its first pass is slow
    answers = demo_answers()
    rows: list[Answer] = []
    load_before = os.getloadavg()
    for language in args.languages:
        voice = OFFLINE_VOICES[language]
        list(synthesizer._pieces(model, "OK.", voice))  # the g2p and the session's first run, as the worker's warm-up
        speed = SynthesisSpeed()
        for key, text in answers[language][args.skip:][: args.limit]:
            for plan in args.plans:
                samples, pieces, playback, first_wall = speak(model, synthesizer, text, language, plan, speed)
                errors, total, transcript = hear(recognizer, samples, text, language)
                rows.append(Answer(language, plan, key, playback.first or 0.0, first_wall, max(playback.silences, default=0.0),
                                   sum(s > GAP_BUDGET_S for s in playback.silences), errors, total, transcript, pieces))
            print(f"[{language} {key}: load {os.getloadavg()[0]:.1f}]", flush=True)
    text = header(args, load_before, os.getloadavg()) + "\n" + table(rows) + "\n"
    write(args.name, text, rows)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", type=lambda s: s.split(","), default=["ja", "ko", "zh"])
    parser.add_argument("--limit", type=int, default=5, help="Answers per language.")
    parser.add_argument("--skip", type=int, default=0, help="Leave out the first N answers of each language.")
    parser.add_argument("--plans", type=lambda s: s.split(","), default=list(PLANS), help=f"Of {', '.join(PLANS)}.")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime inference threads.")
    parser.add_argument("--name", default="tts_streaming", help="Results file name (without extension).")
    parser.add_argument("--merge", type=lambda s: s.split(","), default=[],
                        help="Only merge these earlier runs' results (names) into --name.")
    args = parser.parse_args()
    print(merged(args) if args.merge else run(args))


if __name__ == "__main__":
    main()
