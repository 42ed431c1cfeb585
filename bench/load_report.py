"""Numbers, table and chart of ``bench/load_kiosks.py`` rounds."""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avatar_runtime.capacity.stage_cpu import STAGES
from bench.load_client import FPS, KioskResult
from bench.load_stack import CLIENT, Resources, WorkerStats

STORED_STAGES = ("endpointing", "asr", "retrieval", "tts_first_audio", "first_frame", "end_to_end")
MIN_FPS = 24.5  # "25 fps delivered", allowing 2 % for the first and last frame of the window
MAX_RISE = 1.2  # p95 may rise 20 % over one kiosk


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


@dataclass
class RoundStats:
    kiosks: int
    turns: int
    answered: int
    page_e2e: list[float]  # seconds
    stored: dict[str, list[float]]  # stage -> seconds
    fps_on_time: list[float]  # per kiosk
    frames: int
    expected_frames: int
    late_frames: int
    errors: Counter[str] = field(default_factory=Counter)
    ready_after: list[float] = field(default_factory=list)
    cpu_total: float = 0.0  # percent of one core, daphne + workers
    client_cpu: float = 0.0  # percent of one core, the simulated kiosks (the bench's own process)
    host_cpu: float = 0.0  # percent of one core, the whole machine (helpers, databases, anything else)
    rss_mb: dict[str, float] = field(default_factory=dict)
    rss_added_mb: float = 0.0  # peak minus idle, all processes
    workers: WorkerStats = field(default_factory=WorkerStats)  # over the round (CPU per stage, lifetimes)
    worker_cpu: float = 0.0  # percent of one core, the worker processes (mean over the round)
    duration: float = 0.0  # seconds the round took
    busy_after: list[float] = field(default_factory=list)  # per kiosk told "busy": seconds to that
    served_after_busy: list[float | None] = field(default_factory=list)  # then to being served (None: never)
    quality_steps: Counter[str] = field(default_factory=Counter)  # level -> times a session went to it
    audio_packets: int = 0
    late_audio: int = 0  # arrived after their playout slot: gaps in the voice

    def p(self, values: list[float], q: float) -> float | None:
        return pct(values, q)


def round_stats(kiosks: int, results: list[KioskResult], stored: list[dict[str, Any]], resources: Resources,
                workers: WorkerStats, duration: float) -> RoundStats:
    turns = [t for r in results for t in r.turns]
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(e.split(":")[0] + ":" + e.split(":")[1] if ":" in e else e for e in r.errors)
    stages = {stage: [float(t[stage]) / 1000 for t in stored if stage in t] for stage in STORED_STAGES}
    return RoundStats(
        kiosks=kiosks, turns=len(turns), answered=sum(1 for t in turns if t.end_to_end is not None),
        page_e2e=[t.end_to_end for t in turns if t.end_to_end is not None], stored=stages,
        fps_on_time=[r.on_time_fps for r in results], frames=sum(r.frames for r in results),
        expected_frames=sum(r.expected_frames for r in results if r.frames),
        late_frames=sum(r.late_frames for r in results), errors=errors,
        ready_after=[r.ready_after for r in results if r.ready_after is not None],
        cpu_total=sum(v for n, v in resources.cpu_percent.items() if n != CLIENT),
        client_cpu=resources.cpu_percent.get(CLIENT, 0.0), host_cpu=resources.host_cpu_percent,
        rss_mb={n: v for n, v in resources.rss_mb.items() if n != CLIENT},
        rss_added_mb=sum(resources.rss_mb[n] - resources.rss_idle_mb[n] for n in resources.rss_mb if n != CLIENT),
        workers=workers, duration=duration, worker_cpu=sum(v for n, v in resources.cpu_percent.items() if n.startswith("worker")),
        busy_after=[r.busy_after for r in results if r.busy_after is not None],
        served_after_busy=[r.served_after_busy for r in results if r.busy_after is not None],
        quality_steps=Counter(level for r in results for level in r.quality_steps),
        audio_packets=sum(r.audio_packets for r in results), late_audio=sum(r.late_audio for r in results),
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def table(rounds: list[RoundStats], header: bool = True) -> str:
    rows = []
    if header:
        rows += [
            "| N | answered | e2e page p50/p95 ms | e2e stored p50/p95 ms | ASR p50/p95 ms | retrieval p50/p95 ms "
            "| TTS 1st audio p50/p95 ms | first frame p95 ms | fps on time min/mean | frames late+missing "
            "| session ready p95 s | errors | CPU % (total / per session) | CPU % kiosks sim / host "
            "| RSS MB (peak, + over idle) |",
            "|---:|---:|---|---|---|---|---|---:|---|---:|---:|---|---|---|---|",
        ]
    for r in rounds:
        stored_e2e, asr, tts = r.stored["end_to_end"], r.stored["asr"], r.stored["tts_first_audio"]
        retrieval = r.stored["retrieval"]
        missing = max(0, r.expected_frames - r.frames)
        dropped = (missing + r.late_frames) / r.expected_frames * 100 if r.expected_frames else 0.0
        fps = f"{min(r.fps_on_time):.1f} / {np.mean(r.fps_on_time):.1f}" if r.fps_on_time else "-"
        errors = ", ".join(f"{k} x{v}" for k, v in sorted(r.errors.items())) or "none"
        ready = pct(r.ready_after, 95)
        rows.append(
            f"| {r.kiosks} | {r.answered}/{r.turns} | {_ms(pct(r.page_e2e, 50))} / {_ms(pct(r.page_e2e, 95))} "
            f"| {_ms(pct(stored_e2e, 50))} / {_ms(pct(stored_e2e, 95))} | {_ms(pct(asr, 50))} / {_ms(pct(asr, 95))} "
            f"| {_ms(pct(retrieval, 50))} / {_ms(pct(retrieval, 95))} | {_ms(pct(tts, 50))} / {_ms(pct(tts, 95))} "
            f"| {_ms(pct(r.stored['first_frame'], 95))} | {fps} "
            f"| {dropped:.1f} % | {'-' if ready is None else f'{ready:.1f}'} | {errors} "
            f"| {r.cpu_total:.0f} / {r.cpu_total / max(r.kiosks, 1):.0f} | {r.client_cpu:.0f} / {r.host_cpu:.0f} "
            f"| {sum(r.rss_mb.values()):.0f}, +{r.rss_added_mb:.0f} |"
        )
    return "\n".join(rows)


def stage_table(rounds: list[RoundStats]) -> str:
    """Per N: a session's CPU by stage (% of one core, over the sessions' lifetimes), what the
    stages do not hold ("other": the channel layer, the rest of the event loop), the
    cost the workers learned, the kiosks told "busy" and the quality steps taken under load."""
    rows = [
        "| N | " + " | ".join(STAGES) + " | other | worker / session | learned cost | busy (kiosks, p95 s to busy, "
        "max s to served) | quality steps | audio late |",
        "|---:|" + "---:|" * len(STAGES) + "---:|---:|---:|---|---|---:|",
    ]
    for r in rounds:
        lifetime = r.workers.session_seconds
        per_stage = {k: 100 * r.workers.stage_cpu.get(k, 0.0) / lifetime if lifetime > 0 else 0.0 for k in STAGES}
        # The workers' CPU-seconds over the sessions' lifetimes: % of a core per session, like the stages.
        per_session = r.worker_cpu * r.duration / lifetime if lifetime > 0 else 0.0
        other = per_session - sum(per_stage.values())
        cost = ", ".join(f"{c:.2f}" for c in r.workers.session_cost if c) or "-"
        served = [s for s in r.served_after_busy if s is not None]
        never = sum(1 for s in r.served_after_busy if s is None)
        busy = "none" if not r.busy_after else (
            f"{len(r.busy_after)}, {pct(r.busy_after, 95):.1f}, {max(served) if served else float('nan'):.1f}"
            + (f" ({never} never served)" if never else ""))
        steps = ", ".join(f"{k} x{v}" for k, v in sorted(r.quality_steps.items())) or "none"
        rows.append(f"| {r.kiosks} | " + " | ".join(f"{per_stage[k]:.1f}" for k in STAGES)
                    + f" | {other:.1f} | {per_session:.0f} | {cost} | {busy} | {steps} "
                    + f"| {100 * r.late_audio / max(r.audio_packets, 1):.1f} % |")
    return "\n".join(rows)


def reference_questions(kiosks: int, counts: list[int], questions: int) -> int:
    """Questions per kiosk in a round. A sweep's lone kiosk (N=1, the reference) asks as many as the
    largest round's kiosks ask together: the same questions, and a p95 over as many answers. A p95 of
    5 answers is near their maximum, of 15 answers near a maximum of three times as many draws, so
    equal counts keep the "+20 % of N=1" rule from counting sampling as slowdown."""
    return questions * max(counts) if kiosks == 1 and len(counts) > 1 else questions


def sustained(rounds: list[RoundStats]) -> int | None:
    """The largest N with p95 (page end to end) within +20 % of N=1, every kiosk at >= 24.5 fps and
    none told "busy": a round where the workers turned a kiosk away, even for a while, ran fewer
    kiosks side by side than it names."""
    base = next((r for r in rounds if r.kiosks == 1), None)
    if base is None or not base.page_e2e:
        return None
    limit = pct(base.page_e2e, 95)
    assert limit is not None
    best = None
    for r in sorted(rounds, key=lambda r: r.kiosks):
        p95 = pct(r.page_e2e, 95)
        ok = (p95 is not None and p95 <= MAX_RISE * limit and r.answered == r.turns and r.fps_on_time
              and min(r.fps_on_time) >= MIN_FPS and not r.busy_after)
        if ok:
            best = r.kiosks
        else:
            break
    return best


def chart(rounds: list[RoundStats], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [r.kiosks for r in rounds]
    fig, (ax, ax_fps) = plt.subplots(1, 2, figsize=(10, 4))
    for q, style in ((50, "o-"), (95, "s--")):
        ax.plot(ns, [(pct(r.page_e2e, q) or np.nan) * 1000 for r in rounds], style, label=f"end to end p{q} (page)")
    base = next((pct(r.page_e2e, 95) for r in rounds if r.kiosks == 1), None)
    if base is not None:
        ax.axhline(base * MAX_RISE * 1000, color="grey", linestyle=":", label="N=1 p95 + 20 %")
    ax.set_xlabel("concurrent kiosks")
    ax.set_ylabel("ms")
    ax.set_title("Answer latency")
    ax.legend()
    ax_fps.plot(ns, [min(r.fps_on_time) if r.fps_on_time else 0 for r in rounds], "o-", label="min over kiosks")
    ax_fps.plot(ns, [float(np.mean(r.fps_on_time)) if r.fps_on_time else 0 for r in rounds], "s--", label="mean")
    ax_fps.axhline(FPS, color="grey", linestyle=":", label=f"{FPS} fps")
    ax_fps.set_xlabel("concurrent kiosks")
    ax_fps.set_ylabel("frames/s on time")
    ax_fps.set_title("Video delivered on time")
    ax_fps.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
