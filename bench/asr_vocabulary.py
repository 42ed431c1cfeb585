"""The venue vocabulary's effect: questions that hinge on the venue's own words, heard with and without it.

    .venv/bin/python -m bench.asr_vocabulary [--sets tuning,held_out,real]

Questions naming the demo venue's shops and places ("Where is FreshMart?") are spoken by the
kiosk's offline voices (``tests.speech_samples.speak``: Piper, Kokoro), the language detected as
for a stranger, and recognised by Whisper base twice per clip, alternately: plain, and prompted
with the vocabulary of the demo knowledge base (``knowledgebase.vocabulary.venue_terms``, over a
throwaway SQLite database loaded by ``load_demo``). Reported per set and language:

- term hit rate: the venue word appears in the transcript as the knowledge base writes it
  (compared without case, spaces or punctuation);
- CER (zh, ja, ko) / WER (en) against the question as the knowledge base would write it
  (``bench.speech_scoring``);
- right FAQ: ``faq_search`` over the transcript (in the question's language) ranks the expected
  FAQ first and answers;
- ASR time: the wall time of ``transcribe`` (p50 and max over the set).

The sets: ``tuning`` is what the word selection and the prompt budget were adjusted on (the rules
in ``knowledgebase/vocabulary.py`` and ``asr/prompt.py``); ``held_out`` was written before and
not looked at while adjusting; ``real`` is the real-speech set (``bench/data/real_speech``),
where the vocabulary must not hurt (its clips name nothing of the venue), reported as ``real-tuning``
and ``real-held_out`` after the manifest's split.

Printed and written to ``bench/results/asr_vocabulary.md`` and ``.json``, with the load average.
``--beam-sizes ja:5,zh:5`` decodes those languages with that beam (``AVATAR_ASR_BEAM_SIZE_BY_LANGUAGE``),
written to ``asr_vocabulary_beam.md`` and ``.json``.
"""
import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.throwaway_site import ROOT, throwaway_site_use

os.environ["ANSWER_AUDIO_CACHE"] = "0"  # recognition only: load_demo must not start a cache build it waits for at exit
throwaway_site_use()

import django  # noqa: E402

django.setup()

from io import StringIO  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from avatar_runtime.asr.whisper import WhisperConfig, WhisperRecognizer  # noqa: E402
from avatar_runtime.asr.whisper_models import parse_beam_sizes  # noqa: E402
from bench.speech_scoring import edit_distance, normalize, units  # noqa: E402
from knowledgebase.selectors import faq_search  # noqa: E402
from knowledgebase.vocabulary import venue_terms  # noqa: E402
from tests.speech_samples import speak  # noqa: E402

RESULTS = ROOT / "bench" / "results"
REAL = ROOT / "bench" / "data" / "real_speech"


@dataclass(frozen=True)
class Question:
    language: str
    spoken: str  # what the voice reads (names spelled the way the voice can say them)
    written: str  # the question as the knowledge base writes its names: the reference transcript
    term: str  # the venue word the answer hinges on
    faq: str  # the FAQ that answers it


def _q(language: str, spoken: str, term: str, faq: str, written: str = "") -> Question:
    return Question(language, spoken, written or spoken, term, faq)


TUNING = [
    _q("en", "Where is FreshMart?", "FreshMart", "supermarket"),
    _q("en", "Is Wellcare Pharmacy open now?", "Wellcare Pharmacy", "pharmacy"),
    _q("en", "Where is Harbour Cinema?", "Harbour Cinema", "cinema"),
    _q("zh", "FreshMart超市在哪里？", "FreshMart", "supermarket"),
    _q("zh", "Harbour Cinema在几楼？", "Harbour Cinema", "cinema"),
    _q("ja", "フレッシュマートはどこですか？", "FreshMart", "supermarket", "FreshMartはどこですか？"),
    _q("ja", "ハーバーシネマはどこですか？", "Harbour Cinema", "cinema", "Harbour Cinemaはどこですか？"),
    _q("ko", "프레시마트는 어디에 있어요?", "FreshMart", "supermarket", "FreshMart는 어디에 있어요?"),
    _q("ko", "하버 시네마는 어디예요?", "Harbour Cinema", "cinema", "Harbour Cinema는 어디예요?"),
]
HELD_OUT = [
    _q("en", "Does Harbour Eats have Thai food?", "Harbour Eats", "food-court"),
    _q("en", "Where is the Harbour Medical Centre?", "Harbour Medical Centre", "first-aid"),
    _q("en", "How do I join Harbour Point Club?", "Harbour Point Club", "membership-points"),
    _q("en", "What is the password for HarbourPoint Free WiFi?", "HarbourPoint", "free-wifi"),
    _q("zh", "Harbour Eats在哪一层？", "Harbour Eats", "food-court"),
    _q("zh", "Harbour Medical Centre在哪里？", "Harbour Medical Centre", "first-aid"),
    _q("zh", "Wellcare药房几点开门？", "Wellcare", "pharmacy"),
    _q("ja", "ハーバーイーツは何階ですか？", "Harbour Eats", "food-court", "Harbour Eatsは何階ですか？"),
    _q("ja", "エアポートエクスプレスの乗り場はどこですか？", "エアポートエクスプレス", "mtr-access"),
    _q("ja", "ウェルケアファーマシーは何時まで開いていますか？", "Wellcare Pharmacy", "pharmacy",
       "Wellcare Pharmacyは何時まで開いていますか？"),
    _q("ko", "하버 이츠는 몇 층이에요?", "Harbour Eats", "food-court", "Harbour Eats는 몇 층이에요?"),
    _q("ko", "웰케어 파마시는 어디예요?", "Wellcare Pharmacy", "pharmacy", "Wellcare Pharmacy는 어디예요?"),
]


@dataclass
class Heard:
    set: str
    language: str
    reference: str
    term: str
    faq: str
    vocabulary: bool
    transcript: str
    detected: str
    edits: int
    reference_units: int
    hit: bool
    faq_found: str
    right_faq: bool
    asr_s: float


def _squeezed(text: str, language: str) -> str:
    return "".join(normalize(text, language).split())


def _hear(name: str, rec: WhisperRecognizer, samples: np.ndarray, rate: int, question: Question, vocabulary: bool) -> Heard:
    started = time.perf_counter()
    result = rec.transcribe(samples, rate)
    asr_s = time.perf_counter() - started
    reference = units(question.written, question.language)
    edits = edit_distance(reference, units(result.text, question.language))
    found = faq_search(result.text, question.language, 3) if question.faq else None
    top = found.results[0].key if found is not None and found.results else ""
    return Heard(name, question.language, question.written, question.term, question.faq, vocabulary, result.text,
                 result.language, edits, len(reference),
                 bool(question.term) and _squeezed(question.term, question.language) in _squeezed(result.text, question.language),
                 top, bool(question.faq) and found is not None and found.answerable and top == question.faq, asr_s)


def run_set(name: str, questions: list[Question], recognizers: dict[bool, WhisperRecognizer]) -> list[Heard]:
    heard = []
    for question in questions:
        samples, rate = speak(question.spoken, question.language)
        for vocabulary in (False, True):
            h = _hear(name, recognizers[vocabulary], samples, rate, question, vocabulary)
            heard.append(h)
            print(f"{name:8} {h.language} {'vocab' if vocabulary else 'plain'} {h.asr_s:.2f}s hit={h.hit:d} "
                  f"faq={h.faq_found or '-':20} {h.transcript!r}", flush=True)
    return heard


def run_real(recognizers: dict[bool, WhisperRecognizer]) -> list[Heard]:
    clips = json.loads((REAL / "manifest.json").read_text(encoding="utf-8"))["clips"]
    heard = []
    for clip in clips:
        samples, rate = sf.read(REAL / clip["file"], dtype="float32", always_2d=False)
        question = Question(clip["language"], "", clip["transcript"], "", "")
        for vocabulary in (False, True):
            h = _hear(f"real-{clip['split']}", recognizers[vocabulary], samples, int(rate), question, vocabulary)
            heard.append(h)
            print(f"{h.set:8} {h.language} {'vocab' if vocabulary else 'plain'} {h.asr_s:.2f}s "
                  f"{h.edits}/{h.reference_units} {h.transcript!r}", flush=True)
    return heard


def summarize(heard: list[Heard]) -> list[dict[str, object]]:
    rows = []
    for group in dict.fromkeys((h.set, h.language) for h in heard):
        for vocabulary in (False, True):
            part = [h for h in heard if (h.set, h.language) == group and h.vocabulary == vocabulary]
            scored = [h for h in part if h.faq]
            times = [h.asr_s for h in part]
            rows.append({
                "set": group[0], "language": group[1], "vocabulary": vocabulary, "clips": len(part),
                "term_hit": sum(h.hit for h in scored) / len(scored) if scored else None,
                "error_rate": sum(h.edits for h in part) / max(1, sum(h.reference_units for h in part)),
                "right_faq": sum(h.right_faq for h in scored) / len(scored) if scored else None,
                "asr_p50_s": float(np.percentile(times, 50)), "asr_max_s": max(times),
            })
    return rows


def _cell(value: object, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| set | language | vocabulary | clips | term hit | CER/WER | right FAQ | ASR p50 (s) | ASR max (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['set']} | {r['language']} | {'with' if r['vocabulary'] else 'without'} | {r['clips']} | "
                     f"{_cell(r['term_hit'], '.2f')} | {_cell(r['error_rate'], '.3f')} | {_cell(r['right_faq'], '.2f')} | "
                     f"{_cell(r['asr_p50_s'], '.2f')} | {_cell(r['asr_max_s'], '.2f')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="tuning,held_out,real")
    parser.add_argument("--beam-sizes", default="", help="per language, as AVATAR_ASR_BEAM_SIZE_BY_LANGUAGE")
    args = parser.parse_args()
    beams, ignored = parse_beam_sizes(args.beam_sizes)
    if ignored:
        parser.error("; ".join(ignored))
    out = "asr_vocabulary_beam" if beams else "asr_vocabulary"
    call_command("migrate", verbosity=0)
    call_command("load_demo", stdout=StringIO())
    model_dir = Path(settings.MODELS_DIR) / "whisper-base"
    config = WhisperConfig(beam_sizes=beams)
    recognizers = {False: WhisperRecognizer(model_dir, config),
                   True: WhisperRecognizer(model_dir, config, vocabulary=venue_terms)}
    warm, rate = speak("Hello.", "en")
    for rec in recognizers.values():
        rec.transcribe(warm, rate)  # model, index and vocabulary load outside the timing
    faq_search("hello", "en")
    vocabulary = {lang: list(venue_terms(lang)) for lang in ("zh", "yue", "en", "ja", "ko")}
    prompts = {lang: p.text for (lang, _), p in recognizers[True]._prompts.items() if p is not None}
    load_before = os.getloadavg()
    heard: list[Heard] = []
    for name in args.sets.split(","):
        if name == "real":
            heard += run_real(recognizers)
        else:
            heard += run_set(name, TUNING if name == "tuning" else HELD_OUT, recognizers)
    load_after = os.getloadavg()
    prompts.update({lang: p.text for (lang, _), p in recognizers[True]._prompts.items() if p is not None})
    rows = summarize(heard)
    text = table(rows)
    note = (f"Load average (1, 5, 15 min) {', '.join(f'{x:.1f}' for x in load_before)} before, "
            f"{', '.join(f'{x:.1f}' for x in load_after)} after, on {os.cpu_count()} cores (shared with other "
            "work: times are inflated and noisy; with and without alternate clip by clip, so they share the load).")
    prompt_lines = "\n".join(f"- {lang}: `{text}`" for lang, text in sorted(prompts.items()))
    print(text + "\n\n" + note + "\n\nPrompts:\n" + prompt_lines)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{out}.json").write_text(json.dumps(
        {"load_average": [load_before, load_after], "vocabulary": vocabulary, "prompts": prompts, "rows": rows,
         "clips": [asdict(h) for h in heard]}, ensure_ascii=False, indent=1), encoding="utf-8")
    beam_note = f" Beam per language: {args.beam_sizes} (greedy elsewhere)." if beams else ""
    (RESULTS / f"{out}.md").write_text(
        "# Venue vocabulary: Whisper base with and without (`bench/asr_vocabulary.py`)\n\n"
        "Sets: `tuning` (word selection and prompt budget adjusted on it), `held_out` (not looked at while "
        "adjusting), `real` (real speech naming nothing of the venue: the vocabulary must not hurt). Questions "
        "spoken by the offline voices, language detected." + beam_note + "\n\n" + text + "\n\n" + note
        + "\n\nPrompts used (the terms the model does not know, within 48 tokens):\n\n" + prompt_lines + "\n",
        encoding="utf-8")


if __name__ == "__main__":
    main()
