"""The load bench's capacity table: CPU per session by stage, busy kiosks and quality steps per N."""
from collections import Counter

from bench.load_client import KioskResult
from bench.load_report import RoundStats, reference_questions, round_stats, stage_table, sustained, table
from bench.load_stack import Resources, WorkerStats


def test_the_stage_table_reports_cpu_per_session_busy_kiosks_and_quality_steps() -> None:
    served = KioskResult("kiosk-0", frames=250, media_window=10.0, quality_steps=["reduced_video", "full"],
                         audio_packets=250, late_audio=5)
    waited = KioskResult("kiosk-1", busy_after=0.4, served_after_busy=6.5)
    never = KioskResult("kiosk-2", busy_after=0.6)
    before = WorkerStats({"rendering": 10.0, "encoding": 4.0}, session_seconds=100.0)
    after = WorkerStats({"rendering": 16.0, "encoding": 6.0, "recognition": 1.0}, session_seconds=120.0,
                        session_cost=[0.55], headroom=[0.3])
    resources = Resources(cpu_percent={"worker0": 60.0, "daphne": 10.0}, rss_mb={"worker0": 900.0, "daphne": 200.0},
                          rss_idle_mb={"worker0": 800.0, "daphne": 190.0})
    stats = round_stats(3, [served, waited, never], [], resources, after.since(before), duration=20.0)
    assert stats.quality_steps == Counter({"reduced_video": 1, "full": 1})
    header, _rule, row = stage_table([stats]).splitlines()
    cells = dict(zip([c.strip() for c in header.split("|")[1:-1]], [c.strip() for c in row.split("|")[1:-1]],
                     strict=True))
    # 20 s of session lifetime: rendering 6 s of CPU is 30 % of a core, encoding 10 %, recognition 5 %.
    assert (cells["rendering"], cells["encoding"], cells["recognition"], cells["synthesis"]) == ("30.0", "10.0", "5.0", "0.0")
    assert cells["worker / session"] == "60"  # 60 % of a core for 20 s, over 20 session-seconds
    assert cells["other"] == "15.0" and cells["learned cost"] == "0.55"
    assert cells["busy (kiosks, p95 s to busy, max s to served)"] == "2, 0.6, 6.5 (1 never served)"
    assert cells["quality steps"] == "full x1, reduced_video x1" and cells["audio late"] == "2.0 %"


def test_a_sweeps_lone_kiosk_asks_as_many_questions_as_the_largest_round() -> None:
    assert reference_questions(1, [1, 2, 3], 5) == 15  # the 15 answers of N=3, asked by one kiosk
    assert reference_questions(3, [1, 2, 3], 5) == 5
    assert reference_questions(1, [1], 5) == 5  # a single round is not a reference


def _round(kiosks: int, p95: float, *, busy: list[float] | None = None) -> RoundStats:
    return RoundStats(kiosks=kiosks, turns=5, answered=5, page_e2e=[p95] * 5, stored={}, fps_on_time=[25.0] * kiosks,
                      frames=250, expected_frames=250, late_frames=0, busy_after=busy or [])


def test_a_round_with_a_kiosk_told_busy_is_not_sustained() -> None:
    assert sustained([_round(1, 0.8), _round(2, 0.9), _round(3, 0.95)]) == 3
    assert sustained([_round(1, 0.8), _round(2, 0.9), _round(3, 0.95, busy=[0.1])]) == 2  # one waited: not 3 at once
    assert sustained([_round(1, 0.8), _round(2, 1.0), _round(3, 0.9)]) == 1  # over +20 %


def test_the_main_table_gives_each_stored_stage_beside_the_page_end_to_end() -> None:
    stored = [{"asr": 100.0 + i, "retrieval": 20.0 * (i + 1), "end_to_end": 700.0, "tts_first_audio": 10.0,
               "first_frame": 300.0} for i in range(5)]
    stats = round_stats(1, [KioskResult("kiosk-0")], stored, Resources(), WorkerStats(), duration=10.0)
    header, _rule, row = table([stats]).splitlines()
    cells = dict(zip([c.strip() for c in header.split("|")[1:-1]], [c.strip() for c in row.split("|")[1:-1]],
                     strict=True))
    # Retrieval of 20, 40, 60, 80, 100 ms: p50 60 ms, p95 96 ms.
    assert cells["retrieval p50/p95 ms"] == "60 / 96"
    assert cells["ASR p50/p95 ms"] == "102 / 104" and cells["first frame p95 ms"] == "300"
