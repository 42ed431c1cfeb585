"""How many kiosks one machine serves: N simulated kiosks over the real WebSocket protocol.

    flock /tmp/kiosk-bench.lock python -m bench.load_kiosks --kiosks 2            # one round, N=2
    flock /tmp/kiosk-bench.lock python -m bench.load_kiosks --sweep 1,2,3,4,5,6   # the curve (< 8 min)

The bench starts the production layout on loopback by itself: PostgreSQL database ``kiosk_load``
(created on the local server if missing, kept between runs; ``--fresh`` re-creates it), Redis db 7 (flushed), ``daphne`` and
``manage.py avatar_worker`` process(es) with the embedded backends. Each simulated kiosk is a
paired device (pairing code exchanged for a token through ``kiosk.pairing``) that behaves like
the kiosk page with ``?media=ws`` (``bench/load_client.py``): PCM16 up in real time, JPEG frames
and PCM16 audio down, questions recorded with the offline voices in five languages. Each kiosk's
customer starts at a different place in the questions and waits 0.5-2.5 s (seeded) after each
answer; ``--lockstep`` has every kiosk ask the same languages in the same order 0.5 s after each
answer, so their questions end within a second of each other turn after turn (the worst case).

Per round: end to end from the page (last sample of the question sent → first audible answer
audio received) and from the stored turn timings (``Turn.timings``: endpointing, ASR,
retrieval, TTS first audio, first frame, end to end), frames received on time at 25 fps (a
frame arriving after the slot the page would show it in counts as dropped), errors, and CPU and
memory of daphne and the worker(s) (psutil). ``--sweep`` finds the largest N whose end-to-end
p95 stays within +20 % of N=1 with >= 24.5 fps delivered on time to every kiosk and none told
"busy" (N=1 asks as many questions as the largest round does in all, see ``reference_questions``),
writes ``bench/results/load_kiosks.md`` and ``docs/load_curve.png``.

The workers run their CPU governor unless ``--governor off`` (``AVATAR_CPU_GOVERNOR``): sessions are
admitted while the measured headroom holds one, kiosks beyond that are told "busy" and wait (up to
``--ready-timeout``) to be served, and sessions falling behind lose video before audio. A second
table gives, per N, a session's CPU by stage (the workers' own accounting, ``capacity.stage_cpu``),
the cost the workers learned, the kiosks told "busy" (how soon, how long until served) and the
quality steps taken, and audio packets that came after their playout slot (gaps in the voice).
``--spike 20:15`` starts a CPU-heavy job 20 s into each round for 15 s: the degradation steps and
the recovery show there. Run it on a quiet machine: other processes count against the headroom.
"""
import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("LOAD_DB_NAME", "kiosk_load")
PG = os.environ.get("LOAD_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/7")
# Kept between runs with the database (the demo avatar's photo lives in its media folder).
VAR = Path(os.environ.get("LOAD_VAR_DIR", str(ROOT / "var" / "load_kiosks")))
ENV = {
    "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": REDIS, "KIOSK_VAR_DIR": str(VAR),
    "MODELS_DIR": os.environ.get("MODELS_DIR", str(ROOT / "var" / "models")), "DJANGO_SETTINGS_MODULE": "config.settings",
    "AVATAR_EMBEDDED_WORKER": "0", "CELERY_TASK_ALWAYS_EAGER": "1", "LOG_LEVEL": "WARNING",
    "AVATAR_TTS_BACKEND": "offline",  # loopback only: no edge-tts
}
os.environ.update(ENV)

import django  # noqa: E402

django.setup()

from bench.load_client import (  # noqa: E402
    FPS,
    LOCKSTEP_PAUSE,
    THINK_TIMES,
    KioskResult,
    SimulatedKiosk,
    kiosk_questions,
    think_times,
)
from bench.load_report import RoundStats, chart, reference_questions, round_stats, stage_table, sustained, table  # noqa: E402
from bench.load_stack import Stack  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "load_kiosks.md"
CHART = ROOT / "docs" / "load_curve.png"
# Questions the demo knowledge base answers, two per language (recorded once with the offline voices).
QUESTIONS = [
    ("en", "Where can I find a toilet?"), ("zh", "商场几点关门？"), ("ja", "無料のWi-Fiはありますか？"),
    ("ko", "화장실은 어디에 있어요?"), ("yue", "泊車幾錢？"), ("en", "How much does parking cost?"),
    ("zh", "有免费无线网络吗？"), ("ja", "トイレはどこですか？"), ("ko", "주차 요금은 얼마예요?"), ("yue", "洗手間喺邊度？"),
]


def recorded_questions() -> list[tuple[str, np.ndarray]]:
    from tests.speech_samples import speak

    cache = ROOT / "var" / "cache" / "load_questions"
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for index, (language, text) in enumerate(QUESTIONS):
        path = cache / f"{index:02d}-{language}.npy"
        if not path.exists():
            np.save(path, np.asarray(speak(text, language)[0], dtype=np.float32))
        out.append((language, np.load(path)))
    return out


@dataclass(frozen=True)
class RoundPlan:
    kiosks: int
    questions: int
    stagger: float
    ready_timeout: float
    spike: tuple[float, float] | None = None  # (seconds in, seconds long) of a CPU-heavy job
    lockstep: bool = False  # every kiosk asks the same languages in the same order, LOCKSTEP_PAUSE after each answer


async def run_round(stack: Stack, plan: RoundPlan, recorded: list[tuple[str, np.ndarray]]) -> RoundStats:
    await stack.wait_idle()
    started = time.time()
    clients = []
    for i in range(plan.kiosks):
        clients.append(SimulatedKiosk(
            name=f"kiosk-{i}", url=stack.url, token=stack.tokens[i],
            questions=kiosk_questions(recorded, i, plan.questions, lockstep=plan.lockstep),
            pauses=think_times(i, plan.questions, lockstep=plan.lockstep), ready_timeout=plan.ready_timeout))

    async def start(i: int, client: SimulatedKiosk) -> KioskResult:
        await asyncio.sleep(i * plan.stagger)  # customers do not all start talking in the same 100 ms
        return await client.run()

    workers_before = await asyncio.to_thread(stack.worker_stats)
    sampler = stack.sample_resources()
    spike = asyncio.create_task(stack.cpu_spike(*plan.spike), name="cpu-spike") if plan.spike else None
    try:
        results = await asyncio.gather(*(start(i, c) for i, c in enumerate(clients)))
    finally:
        if spike is not None:
            spike.cancel()  # its burners are killed however it ends
            await asyncio.gather(spike, return_exceptions=True)
    resources = await sampler.stop()
    duration = time.time() - started
    await stack.wait_idle()  # sessions closed: their transcript writers have drained, their CPU is counted
    workers = (await asyncio.to_thread(stack.worker_stats)).since(workers_before)
    stored = await asyncio.to_thread(stack.stored_timings, stack.kiosk_ids[:plan.kiosks], started)
    return round_stats(plan.kiosks, list(results), stored, resources, workers, duration)


async def main_async(args: argparse.Namespace, recorded: list[tuple[str, np.ndarray]]) -> None:
    counts = [int(n) for n in args.sweep.split(",")] if args.sweep else [args.kiosks]
    workers = args.workers
    spike = (float(args.spike.split(":")[0]), float(args.spike.split(":")[1])) if args.spike else None
    capacity = args.capacity or -(-max(counts) // workers)
    loadavg_before = [f"{x:.2f}" for x in os.getloadavg()]
    async with Stack(kiosks=max(counts), workers=workers, capacity=capacity, port=args.port,
                     fresh=args.fresh) as stack:
        print(f"stack up: daphne on {stack.url}, {workers} worker(s); logs in {VAR / 'logs'}", file=sys.stderr, flush=True)
        rounds = []
        for n in counts:
            print(f"round: {n} kiosk(s)", file=sys.stderr, flush=True)
            plan = RoundPlan(n, reference_questions(n, counts, args.questions), args.stagger, args.ready_timeout, spike,
                             args.lockstep)
            stats = await run_round(stack, plan, recorded)
            rounds.append(stats)
            print(table([stats], header=len(rounds) == 1), flush=True)
            print(stage_table([stats]), flush=True)
    loadavg_after = [f"{x:.2f}" for x in os.getloadavg()]
    best = sustained(rounds) if args.sweep else None
    lines = [
        f"# Concurrent kiosks on one machine ({os.cpu_count()} CPU cores, embedded backends, WebSocket media)", "",
        f"`python -m bench.load_kiosks {' '.join(sys.argv[1:])}` — {workers} avatar worker process(es), "
        f"capacity {capacity} each, CPU governor {args.governor}; {args.questions} spoken questions per kiosk "
        f"(5 languages), kiosks start {args.stagger:.1f} s apart"
        + (f"; in lockstep: every kiosk asks the same languages in the same order, {LOCKSTEP_PAUSE} s after each answer"
           if args.lockstep else
           f", each at its own place in the questions, {THINK_TIMES[0]}-{THINK_TIMES[1]} s after each answer")
        + f"; {FPS} fps expected."
        + (f" The lone kiosk of the sweep (N=1, the reference) asks {reference_questions(1, counts, args.questions)}: "
           "the questions of the largest round, so both p95 are over as many answers." if len(counts) > 1 else ""), "",
        f"Load average before: {' '.join(loadavg_before)}; after: {' '.join(loadavg_after)} "
        "(the machine is shared: other processes count too).", "",
        table(rounds), "",
        "CPU per session by stage, % of one core over the sessions' lifetimes (the workers' own accounting; "
        "recognition and synthesis include their native pools' threads, see avatar_runtime/capacity/stage_cpu.py; "
        "the channel layer and the rest of the event loop fall in \"other\"); the session cost the workers learned (cores); "
        "kiosks told \"busy\" (no worker had room) and when they were served; quality steps under load.", "",
        stage_table(rounds),
    ]
    if best is not None:
        lines += ["", f"**Sustained: {best} concurrent kiosk(s)** — the largest N with end-to-end p95 (page) within "
                      "+20 % of N=1, >= 24.5 fps delivered on time to every kiosk, and no kiosk told \"busy\"."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.sweep or args.write:
        write_results(text, rounds if args.sweep else [], Path(args.out))


def write_results(text: str, sweep: list[RoundStats], out: Path) -> None:
    """The table to ``out``; a sweep's curve beside it (the reference run's in docs/)."""
    out.write_text(text)
    print(f"wrote {out}")
    if sweep:
        curve = CHART if out.resolve() == RESULTS else out.with_suffix(".png")
        chart(sweep, curve)
        print(f"wrote {curve}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kiosks", type=int, default=1, help="simulated kiosks (one round)")
    parser.add_argument("--sweep", default="", help="comma-separated N values, e.g. 1,2,3,4")
    parser.add_argument("--questions", type=int, default=2, help="spoken questions per kiosk per round")
    parser.add_argument("--stagger", type=float, default=0.7, help="seconds between kiosks starting")
    parser.add_argument("--lockstep", action="store_true",
                        help=f"every kiosk asks the same languages in the same order, {LOCKSTEP_PAUSE} s after each answer "
                             "(their questions then end within a second of each other: the worst case)")
    parser.add_argument("--workers", type=int, default=1, help="avatar worker processes")
    parser.add_argument("--capacity", type=int, default=0, help="sessions per worker (default: enough for max N)")
    parser.add_argument("--governor", choices=("on", "off"), default="on",
                        help="the workers' CPU governor: admission by headroom, degradation under load")
    parser.add_argument("--ready-timeout", type=float, default=120.0,
                        help="seconds a kiosk told 'busy' waits to be served before it counts as an error")
    parser.add_argument("--spike", default="", metavar="AT:SECONDS",
                        help="a CPU-heavy job (one busy process per core) AT seconds into each round, for SECONDS: "
                             "the quality steps and audio gaps it causes are in the capacity table")
    parser.add_argument("--port", type=int, default=0, help="daphne port (default: a free one)")
    parser.add_argument("--fresh", action="store_true", help="drop and re-create the bench database first")
    parser.add_argument("--write", action="store_true", help="write the results (--out) for a single round")
    parser.add_argument("--out", default=str(RESULTS), help="where the results go (default: %(default)s)")
    args = parser.parse_args()
    if not args.sweep and args.kiosks < 1:
        parser.error("--kiosks must be at least 1")
    os.environ["AVATAR_CPU_GOVERNOR"] = args.governor  # the worker processes inherit it
    recorded = recorded_questions()  # outside the event loop: the voices run their own
    asyncio.run(main_async(args, recorded))


if __name__ == "__main__":
    main()
