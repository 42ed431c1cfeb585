"""The embedded recogniser on recordings of real people: error rate, language ID and speed per configuration.

    .venv/bin/python -m bench.asr_real_speech [--configs base,base-forced,...] [--repeats 3] [--set questions]

The clips and their transcripts are listed in ``bench/data/real_speech/manifest.json`` (sources and
licences there). ``--set questions`` takes instead the synthetic kiosk questions of the speech tests
and of ``bench/pipeline_latency.py`` (``tests.speech_samples.SENTENCES`` and ``QUESTIONS``, spoken
by the offline voices, 1-4 s, with the VAD's 0.2 s pre-roll and 0.1 s post-roll): the length the
latency target is about. A configuration whose model directory is absent or not an intact
CTranslate2 model is skipped with the reason. Each configuration is a ``WhisperConfig`` of
``avatar_runtime.asr.whisper`` plus whether the language is detected (as a kiosk hears a stranger)
or forced (as after a tap); ``configured`` is the kiosk's own (model, threads and beam per language
from the settings), without the venue vocabulary's prompt. Scored with ``bench.speech_scoring`` (its normalisation: NFKC, lower
case, Traditional folded to Simplified, punctuation and spaces dropped): CER for zh/yue/ja/ko, WER
for en, as total edits over total reference units per language.

Speed: every clip is recognised ``--repeats`` times after one warm-up, the configurations taking
turns clip by clip (so a shared machine's load falls on them alike); reported are the wall time
of ``transcribe`` (the ASR time after the end of the turn when nothing ran speculatively), its p95
over clips of at most 5 s and what of it is left after the end of the turn when recognition starts
at the VAD's pause (``HEAD_START_S`` earlier, as the session's speculative recognition does), the
CPU seconds of the process per call and the real-time factor (wall
seconds per second of audio). The model runs on ``cpu_threads`` threads; the machine's load average
is printed with the results, since on a shared machine wall time measures the neighbours too.

Rows compare only when measured on the same audio on the same kind of machine: CTranslate2 picks
its int8 kernels by CPU (forcing AVX or no SIMD with ``CT2_FORCE_CPU_ISA`` changes Whisper's scores
and some texts), as does onnxruntime, which runs the offline voices; and a synthetic question whose
language scores are close is then heard in another language (ko-16 "화장실이 어디에 있어요?": ja 0.56,
ko 0.43 on an AMD EPYC with AVX-512; -80 dBFS of noise or 10 % less gain turns it to ko). So the
results record the machine (CPU, instruction sets, library versions) and each clip's ``audio_sha256``:
a before/after whose hashes or machine differ measured different inputs, not a change of the recogniser.

Printed and written to ``bench/results/asr_real_speech.md`` and ``.json`` (``asr_questions.*`` for the
questions; ``--out NAME`` writes ``NAME.md`` and ``.json`` instead, for a run on a changed set).
"""
import argparse
import hashlib
import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import django
import numpy as np
import soundfile as sf

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")  # MODELS_DIR comes from the settings
django.setup()

from django.conf import settings  # noqa: E402

from avatar_runtime.asr.language_policy import LanguagePolicy  # noqa: E402
from avatar_runtime.asr.whisper import WhisperConfig, WhisperRecognizer  # noqa: E402
from avatar_runtime.asr.whisper_models import MODEL_DIRECTORIES, model_problem, parse_beam_sizes  # noqa: E402
from avatar_runtime.vad.silero import VadConfig  # noqa: E402
from bench.speech_scoring import edit_distance, units  # noqa: E402
from common.languages import KIOSK_LANGUAGES  # noqa: E402

DATA = Path(__file__).parent / "data" / "real_speech"
RESULTS = Path(__file__).parent / "results"
SHORT_S = 5.0  # the latency target covers questions up to this long
# Recognition starts at the VAD's pause event, this long before the end of the turn (pipeline/endpointing.py).
HEAD_START_S = (VadConfig().end_silence_ms - (VadConfig().pause_ms or 0)) / 1000
SPLITS = ("tuning", "held_out", "questions")
POLICY_DEFAULTS = ("yue", "zh", "en")  # kiosk default languages the Cantonese table asks about


@dataclass(frozen=True)
class Setup:
    name: str
    model: str  # directory under MODELS_DIR
    config: WhisperConfig
    forced: bool  # the clip's language is given instead of detected


_BASE = WhisperConfig()
# What the kiosk runs (settings: AVATAR_ASR_MODEL, threads, beam per language), without the venue
# vocabulary's prompt, which needs a knowledge base (bench/asr_vocabulary.py measures it on these clips).
_CONFIGURED = WhisperConfig(cpu_threads=settings.AVATAR_ASR_THREADS, beam_size=settings.AVATAR_ASR_BEAM_SIZE,
                            beam_sizes=parse_beam_sizes(settings.AVATAR_ASR_BEAM_SIZE_BY_LANGUAGE)[0])
SETUPS = {
    s.name: s
    for s in (
        Setup("base", "whisper-base", _BASE, forced=False),
        Setup("base-forced", "whisper-base", _BASE, forced=True),
        Setup("base-beam5", "whisper-base", replace(_BASE, beam_size=5), forced=False),
        Setup("base-full-window", "whisper-base", replace(_BASE, window_padding_s=None), forced=False),
        Setup("configured", MODEL_DIRECTORIES.get(settings.AVATAR_ASR_MODEL, "whisper-base"), _CONFIGURED,
              forced=False),
        Setup("configured-beam10", MODEL_DIRECTORIES.get(settings.AVATAR_ASR_MODEL, "whisper-base"),
              replace(_CONFIGURED, beam_sizes={**_CONFIGURED.beam_sizes, "ja": 10, "zh": 10}), forced=False),
        Setup("base-1-thread", "whisper-base", replace(_BASE, cpu_threads=1), forced=False),
        Setup("base-float32", "whisper-base", replace(_BASE, compute_type="float32"), forced=False),
        Setup("small", "whisper-small", _BASE, forced=False),
        Setup("small-forced", "whisper-small", _BASE, forced=True),
        Setup("small-beam5", "whisper-small", replace(_BASE, beam_size=5), forced=False),
    )
}


@dataclass(frozen=True)
class Clip:
    file: str
    language: str
    transcript: str
    samples: np.ndarray
    rate: int
    split: str  # the manifest's: defaults are chosen on "tuning" clips, "held_out" ones only report

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


@dataclass
class Heard:
    setup: str
    file: str
    language: str
    split: str
    detected: str
    cantonese_as_zh: bool
    reference: str
    transcript: str
    edits: int
    reference_units: int
    seconds: float
    wall_s: list[float]
    cpu_s: list[float]
    answered_in: dict[str, str]  # kiosk default language -> the language a fresh session answers this turn in
    audio_sha256: str  # of the samples recognised: equal hashes, equal inputs


def audio_sha256(samples: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(samples, dtype=np.float32).tobytes()).hexdigest()


def machine() -> dict[str, Any]:
    """What the results depend on besides the code: the CPU and the versions of the numeric libraries."""
    import ctranslate2
    import onnxruntime

    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in cpuinfo.splitlines())}
    isa = sorted(set(fields.get("flags", "").split()) & {"avx", "avx2", "avx512f", "avx512_vnni", "avx512_bf16",
                                                          "avx_vnni", "amx_int8"})
    try:
        espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        espeak = "absent"
    return {
        "cpu": fields.get("model name") or platform.processor(),
        "isa": isa,
        "ctranslate2": ctranslate2.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
        "espeak_ng": espeak.split(" Data at")[0],
    }


def clips_load(path: Path = DATA / "manifest.json") -> list[Clip]:
    clips = []
    for entry in json.loads(path.read_text(encoding="utf-8"))["clips"]:
        samples, rate = sf.read(DATA / entry["file"], dtype="float32", always_2d=False)
        clips.append(Clip(entry["file"], entry["language"], entry["transcript"], samples, int(rate), entry["split"]))
    return clips


def questions_load() -> list[Clip]:
    """The synthetic kiosk questions, spoken by the offline voices, framed as the VAD hands them over."""
    from bench.pipeline_latency import QUESTIONS
    from tests.speech_samples import RATE, SENTENCES, speak

    items = [(lang, text) for lang, texts in SENTENCES.items() for text in texts] + QUESTIONS
    clips = []
    for i, (language, text) in enumerate(items):
        audio = np.concatenate([np.zeros(int(0.2 * RATE), np.float32), speak(text, language)[0],
                                np.zeros(int(0.1 * RATE), np.float32)])
        clips.append(Clip(f"{language}-{i:02d}", language, text, audio, RATE, "questions"))
    return clips


def setups_run(setups: list[Setup], clips: list[Clip], repeats: int) -> list[Heard]:
    """Every clip by every configuration, the configurations taking turns clip by clip and repeat by
    repeat, so that on a shared machine they share its load alike."""
    recognizers = {}
    for setup in setups:
        problem = model_problem(Path(settings.MODELS_DIR) / setup.model)
        if problem is not None:
            print(f"{setup.name}: skipped, {problem}", flush=True)
            continue
        recognizers[setup.name] = WhisperRecognizer(Path(settings.MODELS_DIR) / setup.model, setup.config)
        recognizers[setup.name].transcribe(clips[0].samples, clips[0].rate)  # load the model outside the timing
    heard = []
    for clip in clips:
        walls: dict[str, list[float]] = {name: [] for name in recognizers}
        cpus: dict[str, list[float]] = {name: [] for name in recognizers}
        results = {}
        for _ in range(repeats):
            for name, recognizer in recognizers.items():
                language = clip.language if SETUPS[name].forced else None
                wall, cpu = time.perf_counter(), time.process_time()
                results[name] = recognizer.transcribe(clip.samples, clip.rate, language=language)
                walls[name].append(time.perf_counter() - wall)
                cpus[name].append(time.process_time() - cpu)
        reference = units(clip.transcript, clip.language)
        for name, result in results.items():
            edits = edit_distance(reference, units(result.text, clip.language))
            heard.append(Heard(name, clip.file, clip.language, clip.split, result.language, result.cantonese_as_zh,
                               clip.transcript, result.text, edits, len(reference), clip.seconds, walls[name], cpus[name],
                               {d: LanguagePolicy(d).observe(result) for d in POLICY_DEFAULTS},
                               audio_sha256(clip.samples)))
            print(f"{name:18} {clip.file:42} {result.language:3} {edits}/{len(reference)} "
                  f"{np.median(walls[name]):.2f}s {result.text!r}", flush=True)
    return sorted(heard, key=lambda h: list(recognizers).index(h.setup))


def summarize(heard: list[Heard]) -> list[dict[str, object]]:
    """One row per (configuration, language, split)."""
    rows = []
    groups = sorted(dict.fromkeys((h.split, h.language, h.setup) for h in heard),
                    key=lambda g: (SPLITS.index(g[0]), KIOSK_LANGUAGES.index(g[1]), list(SETUPS).index(g[2])))
    for split, language, setup in groups:
        group = [h for h in heard if (h.split, h.language, h.setup) == (split, language, setup)]
        walls = [w for h in group for w in h.wall_s]
        short = [w for h in group if h.seconds <= SHORT_S for w in h.wall_s]
        rows.append({
            "setup": setup, "language": language, "split": split, "clips": len(group),
            "error_rate": sum(h.edits for h in group) / max(1, sum(h.reference_units for h in group)),
            "language_id": None if SETUPS[setup].forced else sum(h.detected == language for h in group) / len(group),
            "rtf": sum(np.median(h.wall_s) for h in group) / sum(h.seconds for h in group),
            "wall_p50_s": float(np.percentile(walls, 50)),
            "short_wall_p95_s": float(np.percentile(short, 95)) if short else None,
            "short_after_end_p95_s": (float(np.percentile(np.maximum(0.0, np.array(short) - HEAD_START_S), 95))
                                      if short else None),
            "cpu_per_call_s": float(np.mean([c for h in group for c in h.cpu_s])),
        })
    return rows


def cantonese_rows(heard: list[Heard]) -> list[dict[str, object]]:
    """On the Cantonese clips, per detecting configuration and split: how often the recogniser itself
    says ``yue``, and how often the kiosk would answer in Cantonese after the turn (``LanguagePolicy``
    of a fresh session) when its default language is yue, zh or en."""
    rows = []
    for split, setup in dict.fromkeys((h.split, h.setup) for h in heard if h.language == "yue"):
        group = [h for h in heard if (h.split, h.setup, h.language) == (split, setup, "yue")]
        if SETUPS[setup].forced:
            continue
        row: dict[str, object] = {"setup": setup, "split": split, "clips": len(group),
                                  "heard_as_yue": sum(h.detected == "yue" for h in group)}
        for default in POLICY_DEFAULTS:
            row[f"answered_yue_default_{default}"] = sum(h.answered_in[default] == "yue" for h in group)
        rows.append(row)
    return rows


def _cell(value: object, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| split | configuration | language | clips | CER/WER | language ID | RTF | wall p50 (s) | wall p95, <= 5 s (s) "
             "| after the turn's end, speculative, p95 (s) | CPU per call (s) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['split']} | {r['setup']} | {r['language']} | {r['clips']} | {_cell(r['error_rate'], '.3f')} | "
                     f"{_cell(r['language_id'], '.2f')} | {_cell(r['rtf'], '.2f')} | {_cell(r['wall_p50_s'], '.2f')} | "
                     f"{_cell(r['short_wall_p95_s'], '.2f')} | {_cell(r['short_after_end_p95_s'], '.2f')} | "
                     f"{_cell(r['cpu_per_call_s'], '.2f')} |")
    return "\n".join(lines)


def cantonese_table(rows: list[dict[str, object]]) -> str:
    if not rows:
        return ""
    lines = ["| split | configuration | Cantonese clips | recognised as yue | answered in Cantonese, kiosk default yue "
             "| ... default zh | ... default en |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['split']} | {r['setup']} | {r['clips']} | {r['heard_as_yue']} | "
                     + " | ".join(str(r[f'answered_yue_default_{d}']) for d in POLICY_DEFAULTS) + " |")
    return "\n\nCantonese identified (a fresh session, this one turn):\n\n" + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", default=",".join(SETUPS), help=f"comma-separated, of {', '.join(SETUPS)}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", choices=("real", "questions"), default="real")
    parser.add_argument("--out", help="results file name without extension (default asr_real_speech or "
                        "asr_questions); a run on a changed set gets its own, so earlier results stay readable")
    args = parser.parse_args()
    clips = clips_load() if args.set == "real" else questions_load()
    out = args.out or ("asr_real_speech" if args.set == "real" else "asr_questions")
    load_before = os.getloadavg()
    heard = setups_run([SETUPS[name] for name in args.configs.split(",")], clips, args.repeats)
    rows = summarize(heard)
    load_after = os.getloadavg()
    canto = cantonese_rows(heard)
    text = table(rows) + cantonese_table(canto)
    note = (f"Load average (1, 5, 15 min) {', '.join(f'{x:.1f}' for x in load_before)} before, "
            f"{', '.join(f'{x:.1f}' for x in load_after)} after, on {os.cpu_count()} cores.")
    box = machine()
    note += (f"\nMachine: {box['cpu']} ({', '.join(box['isa'])}), CTranslate2 {box['ctranslate2']}, onnxruntime "
             f"{box['onnxruntime']}, {box['espeak_ng']}; each clip's audio SHA-256 is in the .json.")
    print(text + "\n\n" + note)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{out}.json").write_text(
        json.dumps({"load_average": [load_before, load_after], "machine": box, "rows": rows, "cantonese": canto,
                    "clips": [asdict(h) for h in heard]}, ensure_ascii=False, indent=1), encoding="utf-8")
    title = "real speech" if args.set == "real" else "the synthetic kiosk questions (`--set questions`)"
    (RESULTS / f"{out}.md").write_text(
        f"# Whisper on {title} (`bench/asr_real_speech.py`)\n\n" + text + "\n\n" + note + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
