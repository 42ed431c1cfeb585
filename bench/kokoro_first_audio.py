"""Where Kokoro's first audio goes: CPU time per step of an answer's first piece, per language and session option.

    .venv/bin/python -m bench.kokoro_first_audio [--languages ja,ko,zh] [--limit 6] [--repeats 3]

The first sentence of each demo FAQ answer (``knowledgebase/demo/faqs.jsonl``), cut as a turn cuts
it while nothing is queued (``pacing.paced_pieces`` for the paced languages, ``phrasing.text_pieces``
otherwise), goes through the steps a turn takes before its first sound: phonemes (espeak-ng's
process counted for Korean), the token and style lookup, the ONNX session's run, trimming the
silent ends, resampling to the renderer's rate. Each step's CPU time (this process's threads and
its children) is taken, which depends little on the machine's load; wall time is printed beside
it with the load average. The one-off costs of a cold process are timed once: loading the model
and each language's first phonemes and first run (what the worker's warm-up spends).

Session options (ONNX Runtime threads, graph optimisation level, memory arena and pattern) are
compared on the same pieces, interleaved, so that a change in the machine's load hits all alike.
"""
import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import django
import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")  # MODELS_DIR comes from the settings
django.setup()

import onnxruntime as ort  # noqa: E402
from django.conf import settings  # noqa: E402

from avatar_runtime.audio import resample, without_leading_silence, without_silent_ends  # noqa: E402
from avatar_runtime.render.base import RENDER_SAMPLE_RATE  # noqa: E402
from avatar_runtime.text.sentences import split_text  # noqa: E402
from avatar_runtime.tts import kokoro_voice  # noqa: E402
from avatar_runtime.tts.kokoro_phonemes import phonemize  # noqa: E402
from avatar_runtime.tts.pacing import PACED_LANGUAGES, Pace, paced_pieces  # noqa: E402
from avatar_runtime.tts.phrasing import text_pieces  # noqa: E402
from avatar_runtime.tts.registry import OFFLINE_VOICES  # noqa: E402
from bench.voice_intelligibility import demo_answers  # noqa: E402

RESULTS = Path(__file__).parent / "results"
STEPS = ("phonemes", "lookup", "run", "trim", "resample")


@dataclass
class Spent:
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)


@contextmanager
def timed(into: Spent) -> Iterator[None]:
    """Add the block's CPU (this process and the children it waited for) and wall milliseconds to ``into``."""
    before, wall = os.times(), time.perf_counter()
    yield
    after = os.times()
    cpu = sum(getattr(after, k) - getattr(before, k) for k in ("user", "system", "children_user", "children_system"))
    into.cpu_ms.append(cpu * 1000)
    into.wall_ms.append((time.perf_counter() - wall) * 1000)


def session_options() -> dict[str, Callable[[], ort.SessionOptions]]:
    """The variants compared; ``current`` is what ``kokoro_voice`` uses."""
    def options(threads: int, **settings: object) -> Callable[[], ort.SessionOptions]:
        def build() -> ort.SessionOptions:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            for name, value in settings.items():
                setattr(opts, name, value)
            return opts
        return build

    cores = max(1, os.cpu_count() or 1)
    return {
        f"current ({cores} threads)": options(cores),
        "1 thread": options(1),
        "1 thread, no memory pattern": options(1, enable_mem_pattern=False),
        "1 thread, no CPU arena": options(1, enable_cpu_mem_arena=False),
        "1 thread, basic graph optimisation": options(1, graph_optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
    }


def first_piece(text: str, language: str) -> str:
    sentence = split_text(text)[0]
    if language in PACED_LANGUAGES:
        return next(paced_pieces(sentence, language, Pace(lambda: 0.0)))[1]
    return text_pieces(sentence, language)[0][1]


def one_piece(model: kokoro_voice.KokoroModel, session: ort.InferenceSession, piece: str, language: str,
              spent: dict[str, Spent]) -> float:
    """The steps before a piece's first sound, each timed into ``spent``; returns the audio's seconds."""
    voice = OFFLINE_VOICES[language]
    with timed(spent["phonemes"]):
        phonemes = phonemize(piece, language)
    with timed(spent["lookup"]):
        tokens = [model.vocab[p] for p in phonemes if p in model.vocab][:500]
        style = model.styles[voice.name]
        reference = style[min(len(tokens), len(style)) - 1].reshape(1, -1).astype(np.float32)
        feeds = {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64), "style": reference,
                 "speed": np.array([voice.rate], dtype=np.float32)}
    with timed(spent["run"]):
        audio = session.run(None, feeds)[0]
    with timed(spent["trim"]):
        samples = without_silent_ends(np.asarray(audio, dtype=np.float32).reshape(-1), kokoro_voice.SAMPLE_RATE)
    with timed(spent["resample"]):
        without_leading_silence(resample(samples, kokoro_voice.SAMPLE_RATE, RENDER_SAMPLE_RATE), RENDER_SAMPLE_RATE)
    return len(samples) / kokoro_voice.SAMPLE_RATE


def cold_costs(languages: list[str]) -> dict[str, float]:
    """CPU ms of a cold process's one-off costs: the model load, each language's first phonemes and first run."""
    costs: dict[str, float] = {}
    spent = Spent()
    with timed(spent):
        model = kokoro_voice.KokoroSynthesizer(Path(settings.MODELS_DIR))._model()
    costs["model load"] = spent.cpu_ms[-1]
    for language in languages:
        with timed(spent):
            phonemes = phonemize("OK.", language)
        costs[f"{language}: first phonemes"] = spent.cpu_ms[-1]
        with timed(spent):
            model.infer(phonemes, OFFLINE_VOICES[language].name, 1.0)
        costs[f"{language}: first run"] = spent.cpu_ms[-1]
    return costs


def run(args: argparse.Namespace) -> str:
    load_before = os.getloadavg()
    cold = cold_costs(args.languages)
    model = kokoro_voice.KokoroSynthesizer(Path(settings.MODELS_DIR))._model()
    path = Path(settings.MODELS_DIR) / kokoro_voice.MODEL_FILE
    sessions = {name: ort.InferenceSession(str(path), sess_options=build(), providers=["CPUExecutionProvider"])
                for name, build in session_options().items()}
    answers = demo_answers()
    pieces = {language: [first_piece(text, language) for _key, text in answers[language][: args.limit]]
              for language in args.languages}
    spent = {(lang, name): {step: Spent() for step in STEPS} for lang in args.languages for name in sessions}
    audio_s: dict[str, list[float]] = {lang: [] for lang in args.languages}
    for session in sessions.values():  # each session's first run is spent before timing (the worker warms up)
        session.run(None, {"tokens": np.array([[0, 1, 0]], dtype=np.int64),
                           "style": np.zeros((1, 256), np.float32), "speed": np.ones(1, np.float32)})
    for _ in range(args.repeats):
        for language in args.languages:
            for piece in pieces[language]:
                for name, session in sessions.items():
                    seconds = one_piece(model, session, piece, language, spent[(language, name)])
                audio_s[language].append(seconds)
    report = header(args, load_before, cold, pieces) + "\n" + table(args.languages, list(sessions), spent, audio_s)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text(report, encoding="utf-8")
    (RESULTS / f"{args.name}.json").write_text(json.dumps({
        "cold_cpu_ms": cold, "pieces": pieces,
        "spent": {f"{lang} | {name}": {step: vars(s) for step, s in steps.items()} for (lang, name), steps in spent.items()},
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    return report


def header(args: argparse.Namespace, load_before: tuple[float, ...], cold: dict[str, float],
           pieces: dict[str, list[str]]) -> str:
    loads = ", ".join(f"{x:.1f}" for x in load_before), ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "# Kokoro's first audio, step by step (bench/kokoro_first_audio.py)", "",
        f"First pieces of demo answers 1-{args.limit} per language, {args.repeats} repeats, session variants interleaved; "
        f"{os.cpu_count()} cores, shared: load average (1/5/15 min) {loads[0]} before, {loads[1]} after.",
        "CPU ms are this process's threads and children; wall ms are measured under that load.", "",
        "One-off costs of a cold process (CPU ms): " + "; ".join(f"{k} {v:.0f}" for k, v in cold.items()) + ".", "",
        "First pieces: " + "; ".join(f"{lang}: " + " / ".join(ps) for lang, ps in pieces.items()), "",
    ]
    return "\n".join(lines)


def table(languages: list[str], names: list[str], spent: dict[tuple[str, str], dict[str, Spent]],
          audio_s: dict[str, list[float]]) -> str:
    lines = ["| language | session | audio s (median) | " + " | ".join(f"{s} CPU ms" for s in STEPS)
             + " | first audio CPU ms (median) | wall ms (median) |",
             "|" + "---|" * (len(STEPS) + 5)]
    for language in languages:
        for name in names:
            steps = spent[(language, name)]
            per_step = [statistics.median(steps[s].cpu_ms) for s in STEPS]
            totals = [sum(steps[s].cpu_ms[i] for s in STEPS) for i in range(len(steps["run"].cpu_ms))]
            walls = [sum(steps[s].wall_ms[i] for s in STEPS) for i in range(len(steps["run"].wall_ms))]
            lines.append(f"| {language} | {name} | {statistics.median(audio_s[language]):.2f} | "
                         + " | ".join(f"{v:.1f}" for v in per_step)
                         + f" | {statistics.median(totals):.0f} | {statistics.median(walls):.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", type=lambda s: s.split(","), default=["ja", "ko", "zh"])
    parser.add_argument("--limit", type=int, default=6, help="Answers per language.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--name", default="kokoro_first_audio", help="Results file name (without extension).")
    print(run(parser.parse_args()))


if __name__ == "__main__":
    main()
