"""Silence inside a spoken answer: first audio and the gaps between audio chunks, per language.

    python -m bench.speech_gaps [--runs 3] [--languages ja,ko,zh,en,yue] [--label after]
    python bench/speech_gaps.py --code /tmp/gapless-base --label before   # the code before pacing

Each language's offline voice (Kokoro for ja/ko/zh, Piper for en, espeak-ng for yue) speaks a
three-sentence answer the way a turn does (``pipeline/turn.py``): sentence by sentence, with the
bounded look-ahead and the pace of the turn where the code has them (``tts/pacing.py``), into
a player that plays in real time from the first chunk on. A chunk that arrives after the audio
before it has finished playing leaves a gap. Reported per language: first audio (p50 over the
runs), the longest gap and the p95 of gaps over all runs (0 when none), the speech's length and
synthesis speed. Each label's run (with the 1-minute load average before and after each language) goes to
bench/results/speech_gaps.json (a run of some languages adds them to its label), and every label
there to bench/results/speech_gaps.md. For a fair before/after on a shared machine, alternate the
two per language (``--languages ja``, then the other code, ...).
"""
import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# Answers as the demo's FAQ answers read: three sentences, the Korean one without commas.
ANSWERS = {
    "ja": "トイレは各階の中央エレベーターホールの隣にございます。多目的トイレは一階と三階にあり、"
          "おむつ交換台もご利用いただけます。ご不明な点はインフォメーションカウンターのスタッフにお尋ねください。",
    "ko": "화장실은 각 층 중앙 엘리베이터 홀 옆에 있습니다. 다목적 화장실은 일층과 삼층에 있으며 기저귀 교환대도 "
          "이용하실 수 있습니다. 궁금하신 점은 안내 데스크 직원에게 문의해 주시기 바랍니다.",
    "zh": "洗手间位于每层的中央电梯大厅旁边。无障碍洗手间在一楼和三楼，也提供婴儿换尿布台。如有疑问，请咨询服务台的工作人员。",
    "en": "The restrooms are on every floor next to the central lift lobby. Accessible restrooms are on the "
          "ground and third floors, with baby changing tables. If you need anything else, please ask the staff "
          "at the information counter.",
    "yue": "洗手間喺每層中央升降機大堂隔籬。無障礙洗手間喺地下同三樓，仲有嬰兒換片枱。如果有咩疑問，請問服務台嘅職員。",
}


class RealtimePlayer:
    """Plays pushed audio in real time from its first chunk; notes every time it ran dry."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.first_audio_s: float | None = None
        self.play_end: float | None = None  # monotonic time the audio pushed so far ends
        self.gaps_s: list[float] = []
        self.speech_s = 0.0

    def push(self, seconds: float) -> None:
        now = time.monotonic()
        if self.play_end is None:
            self.first_audio_s = now - self.started
            self.play_end = now
        elif now > self.play_end:
            self.gaps_s.append(now - self.play_end)
            self.play_end = now
        self.play_end += seconds
        self.speech_s += seconds

    def queued_s(self) -> float:
        return 0.0 if self.play_end is None else max(0.0, self.play_end - time.monotonic())


async def speak_answer(language: str, models_dir: Path) -> dict[str, Any]:
    from avatar_runtime.pipeline.clock import RealClock
    from avatar_runtime.text.sentences import split_text
    from avatar_runtime.tts.registry import OFFLINE_VOICES, synthesizer_for

    try:  # the code after pacing; before it, sentences were synthesised back to back as fast as possible
        from avatar_runtime.tts.pacing import lookahead_room, speech_pace_set
    except ImportError:
        lookahead_room = speech_pace_set = None  # type: ignore[assignment]

    voice = OFFLINE_VOICES[language]
    synthesizer = synthesizer_for(voice, models_dir)
    player = RealtimePlayer()
    synthesis_s = 0.0  # time spent synthesising, not waiting for room to look ahead
    for sentence in split_text(ANSWERS[language]):
        if lookahead_room is not None and speech_pace_set is not None:
            await lookahead_room(RealClock(), player.queued_s)
            speech_pace_set(player.queued_s)
        began = time.perf_counter()
        async for chunk in synthesizer.synthesize(sentence, voice):
            player.push(len(chunk.samples) / chunk.sample_rate)
        synthesis_s += time.perf_counter() - began
    return {"first_audio_ms": 1000 * (player.first_audio_s or 0.0), "gaps_ms": [1000 * g for g in player.gaps_s],
            "speech_s": player.speech_s, "synthesis_s": synthesis_s}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(languages: list[str], runs: int, models_dir: Path) -> dict[str, Any]:
    import avatar_runtime
    from avatar_runtime.tts.registry import OFFLINE_VOICES, synthesizer_for

    print(f"speaking with {Path(avatar_runtime.__file__).parent}", flush=True)
    rows = {}
    for language in languages:
        voice = OFFLINE_VOICES[language]
        load = os.getloadavg()[0]
        async for _ in synthesizer_for(voice, models_dir).synthesize(ANSWERS[language][:12], voice):
            pass  # model and dictionaries loaded, as a worker's warm-up does
        results = [await speak_answer(language, models_dir) for _ in range(runs)]
        gaps = [g for r in results for g in r["gaps_ms"]]
        rows[language] = {
            "voice": f"{voice.backend}:{voice.name}",
            "first_audio_ms_p50": statistics.median(r["first_audio_ms"] for r in results),
            "first_audio_ms": [round(r["first_audio_ms"]) for r in results],
            "max_gap_ms": max(gaps, default=0.0),
            "p95_gap_ms": percentile(gaps, 0.95),
            "gaps_over_250ms": sum(g > 250 for g in gaps),
            "speech_s": statistics.mean(r["speech_s"] for r in results),
            "rtf": statistics.mean(r["synthesis_s"] / r["speech_s"] for r in results),
            "load_1min": [round(load, 2), round(os.getloadavg()[0], 2)],
        }
        print(f"{language}: {rows[language]}", flush=True)
    return rows


def markdown(all_runs: dict[str, Any]) -> str:
    lines = ["# Gaps in a spoken answer (bench/speech_gaps.py)", "",
             "A three-sentence answer per language, offline voices, played in real time from its first chunk;",
             "a gap is a wait for the next chunk after the audio before it had played out. "
             "2-core machine shared with other work: the load average is given per run.", ""]
    for label, run in all_runs.items():
        lines += [f"## {label}: {run['code']}, {run['runs']} runs per language", "",
                  "| language | voice | first audio p50 (ms) | first audio per run (ms) | max gap (ms) | p95 gap (ms) "
                  "| gaps > 250 ms | speech (s) | synthesis time / speech | load (1 min) before, after |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for language, row in run["languages"].items():
            lines.append(f"| {language} | {row['voice']} | {row['first_audio_ms_p50']:.0f} | "
                         f"{', '.join(map(str, row['first_audio_ms']))} | {row['max_gap_ms']:.0f} | "
                         f"{row['p95_gap_ms']:.0f} | {row['gaps_over_250ms']} | {row['speech_s']:.1f} | {row['rtf']:.2f} | "
                         f"{', '.join(map(str, row['load_1min']))} |")
        lines.append("")
    return "\n".join(lines)


def _describe(code: Path) -> str:
    import subprocess

    commit = subprocess.run(["git", "-C", str(code), "log", "-1", "--format=%h"], capture_output=True, text=True)
    return f"code at {commit.stdout.strip() or code}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--languages", default="ja,ko,zh,en,yue")
    parser.add_argument("--label", default="after")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose avatar_runtime speaks")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    models_dir = Path(os.environ.get("MODELS_DIR", ROOT / "var" / "models"))
    rows = asyncio.run(measure(args.languages.split(","), args.runs, models_dir))
    store = RESULTS / "speech_gaps.json"
    all_runs = json.loads(store.read_text()) if store.exists() else {}
    run = all_runs.get(args.label, {"languages": {}})  # languages measured separately add up
    run.update({"code": _describe(args.code), "runs": args.runs})
    run["languages"].update(rows)
    all_runs[args.label] = run
    RESULTS.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(all_runs, indent=1, ensure_ascii=False) + "\n")
    (RESULTS / "speech_gaps.md").write_text(markdown(all_runs) + "\n")
    print(markdown({args.label: run}))


if __name__ == "__main__":
    main()
