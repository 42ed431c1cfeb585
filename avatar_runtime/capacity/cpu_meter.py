"""How busy the CPUs this worker may run on are, and how much of that is this process.

Read from ``/proc/stat`` (only the CPUs in the process's affinity set: a worker pinned to two
cores of a bigger host judges those two) and ``os.times``. Without ``/proc`` (macOS laptops) the
host is judged by this process alone.
"""
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuReading:
    """Cumulative counters at one moment (seconds)."""

    at: float  # monotonic
    host_busy: float | None  # CPU-seconds busy on the allowed CPUs (None: not known here)
    process: float  # CPU-seconds used by this process
    cores: int  # CPUs this process may run on


def allowed_cpus() -> set[int]:
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def host_busy_seconds(cpus: set[int], stat: Path = PROC_STAT) -> float | None:
    """CPU-seconds the CPUs ``cpus`` have spent busy since boot (all but idle and iowait)."""
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    busy_ticks = 0
    for line in lines:
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in cpus:
            continue
        # user nice system idle iowait irq softirq steal (guest time is already inside user)
        fields = [int(v) for v in rest.split()[:8]]
        busy_ticks += sum(fields) - fields[3] - fields[4]
    return busy_ticks / CLOCK_TICKS


def read_cpu(clock: Callable[[], float] = time.monotonic) -> CpuReading:
    """The real reading of this machine and process now."""
    cpus = allowed_cpus()
    times = os.times()
    return CpuReading(at=clock(), host_busy=host_busy_seconds(cpus), process=times.user + times.system,
                      cores=len(cpus))


@dataclass(frozen=True)
class CpuUse:
    """Use over a window, in cores (1.0 = one core fully busy)."""

    host: float  # every process on the allowed CPUs
    process: float  # this process
    cores: int


def cpu_use(earlier: CpuReading, later: CpuReading) -> CpuUse | None:
    """Use between two readings; None when they are too close together to tell."""
    elapsed = later.at - earlier.at
    if elapsed <= 0.05:
        return None
    process = max(0.0, later.process - earlier.process) / elapsed
    if earlier.host_busy is None or later.host_busy is None:
        host = process
    else:
        host = max(process, (later.host_busy - earlier.host_busy) / elapsed)
    return CpuUse(host=min(host, float(later.cores)), process=process, cores=later.cores)
