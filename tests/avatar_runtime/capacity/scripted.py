"""Scripted time and CPU for the capacity tests: readings are what the test says the machine did."""
from avatar_runtime.capacity.cpu_meter import CpuReading


class ScriptedCpu:
    """A clock and a CPU reader: ``run(seconds, host=..., process=...)`` advances time with the
    host (all processes) and this process busy at those rates, in cores."""

    def __init__(self, cores: int = 2) -> None:
        self.cores = cores
        self.now = 0.0
        self.host_busy = 0.0
        self.process = 0.0

    def clock(self) -> float:
        return self.now

    def run(self, seconds: float, *, host: float, process: float | None = None) -> None:
        self.now += seconds
        self.host_busy += host * seconds
        self.process += (host if process is None else process) * seconds

    def read(self) -> CpuReading:
        return CpuReading(at=self.now, host_busy=self.host_busy, process=self.process, cores=self.cores)
