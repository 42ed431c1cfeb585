"""The real CPU readings: sane on this machine, and /proc/stat read for the allowed CPUs only."""
import time
from pathlib import Path

from avatar_runtime.capacity.cpu_meter import CLOCK_TICKS, CpuReading, allowed_cpus, cpu_use, host_busy_seconds, read_cpu


def spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_real_reading_sees_this_process_work() -> None:
    before = read_cpu()
    spin(0.2)
    after = read_cpu()
    use = cpu_use(before, after)
    assert use is not None and use.cores == len(allowed_cpus()) >= 1
    assert after.process - before.process >= 0.15  # the spin, at least (the clock tick is 10 ms)
    assert 0.0 < use.process <= use.host <= use.cores
    if before.host_busy is not None and after.host_busy is not None:  # Linux
        assert after.host_busy - before.host_busy >= 0.15


def test_host_busy_counts_only_the_allowed_cpus_and_not_idle_or_iowait(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    #                 user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  900 0 300 9000 100 0 0 0 0 0\n"
                    "cpu0 100 10 50 4000 50 5 5 0 0 0\n"
                    "cpu1 800 0 250 5000 50 0 0 30 0 0\n"
                    "intr 12345\n")
    assert host_busy_seconds({0}, stat) == 170 / CLOCK_TICKS
    assert host_busy_seconds({0, 1}, stat) == (170 + 1080) / CLOCK_TICKS
    assert host_busy_seconds({0}, tmp_path / "missing") is None


def test_readings_too_close_together_tell_nothing() -> None:
    reading = CpuReading(at=10.0, host_busy=5.0, process=1.0, cores=2)
    assert cpu_use(reading, CpuReading(at=10.01, host_busy=5.0, process=1.0, cores=2)) is None
    use = cpu_use(reading, CpuReading(at=11.0, host_busy=6.5, process=1.2, cores=2))
    assert use is not None and abs(use.host - 1.5) < 1e-9 and abs(use.process - 0.2) < 1e-9
