"""The production layout on loopback for ``bench/load_kiosks.py``: stores, daphne, avatar workers.

Expects Django to be set up with ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` pointing at the
bench's own database and Redis db. Everything it starts it stops, by process id.
"""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset_stores(fresh: bool) -> None:
    """Create the bench database if missing (drop it first with ``fresh``); flush the bench's Redis db.

    Loading the demo embeds ~150 FAQs (minutes on a busy 2-core machine), so the database is kept
    between runs; only the kiosks' tokens and the Redis state are renewed.
    """
    import psycopg
    import redis
    from django.conf import settings

    db = settings.DATABASES["default"]
    admin = f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def prepare_kiosks(count: int) -> tuple[list[int], list[str]]:
    """The demo venue and ``count`` freshly paired kiosks showing the demo avatar: (ids, device tokens)."""
    from django.core.management import call_command

    from kiosk.models import Kiosk
    from kiosk.pairing import kiosk_pair, kiosk_pairing_code_create

    call_command("migrate", verbosity=0)
    if not Kiosk.objects.filter(name="Lobby kiosk").exists():
        call_command("load_demo", stdout=StringIO())
    demo = Kiosk.objects.select_related("avatar").get(name="Lobby kiosk")
    if demo.avatar is not None and not Path(demo.avatar.source.path).exists():
        # The database outlived its media folder (another LOAD_VAR_DIR): store the demo photo again.
        from django.core.files.base import ContentFile

        from kiosk.demo import _astronaut_png

        demo.avatar.source.save("astronaut.png", ContentFile(_astronaut_png()), save=True)
    ids, tokens = [], []
    for i in range(count):
        kiosk, _created = Kiosk.objects.get_or_create(
            name=f"Load kiosk {i}", defaults={"venue": demo.venue, "avatar": demo.avatar, "languages": demo.languages,
                                              "default_language": demo.default_language})
        _kiosk, token = kiosk_pair(code=kiosk_pairing_code_create(kiosk=kiosk))
        ids.append(kiosk.pk)
        tokens.append(token)
    return ids, tokens


def answer_cache_ready() -> dict[str, int]:
    """Build what is missing of the answer audio cache (as a running venue has it), per language:
    entries made. Idempotent: a complete cache costs one query per language."""
    from django.conf import settings

    from avatars.answer_audio import answer_audio_refresh
    from common.languages import KIOSK_LANGUAGES

    if not settings.ANSWER_AUDIO_CACHE:
        return {}
    return {language: answer_audio_refresh(language=language).made for language in KIOSK_LANGUAGES}


CLIENT = "kiosks"  # the bench's own process: the simulated kiosks (on a venue, the kiosks' own devices)


@dataclass
class Resources:
    cpu_percent: dict[str, float] = field(default_factory=dict)  # mean over the round, per process
    host_cpu_percent: float = 0.0  # mean over the round, every process on the machine (% of one core)
    rss_mb: dict[str, float] = field(default_factory=dict)  # peak over the round, per process
    rss_idle_mb: dict[str, float] = field(default_factory=dict)  # before the round


@dataclass
class WorkerStats:
    stage_cpu: dict[str, float] = field(default_factory=dict)  # CPU-seconds per stage, all sessions so far
    session_seconds: float = 0.0  # the sessions' summed lifetimes
    session_cost: list[float] = field(default_factory=list)  # cores, per worker (0: no CPU governor)
    headroom: list[float] = field(default_factory=list)  # cores, per worker with a governor

    def since(self, earlier: "WorkerStats") -> "WorkerStats":
        """What happened between ``earlier`` and this (costs and headroom: these, the latest)."""
        return WorkerStats({k: v - earlier.stage_cpu.get(k, 0.0) for k, v in self.stage_cpu.items()},
                           self.session_seconds - earlier.session_seconds, self.session_cost, self.headroom)


class Sampler:
    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        self.processes = processes
        self.result = Resources()
        self._samples: dict[str, list[float]] = {name: [] for name in processes}
        self._host: list[float] = []
        psutil.cpu_percent(None)  # start the interval
        for name, proc in processes.items():
            proc.cpu_percent(None)  # start the interval
            self.result.rss_idle_mb[name] = proc.memory_info().rss / 2**20
            self.result.rss_mb[name] = self.result.rss_idle_mb[name]
        self._task = asyncio.create_task(self._run(), name="resource-sampler")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self._host.append(psutil.cpu_percent(None) * psutil.cpu_count())
            for name, proc in self.processes.items():
                try:
                    self._samples[name].append(proc.cpu_percent(None))
                    self.result.rss_mb[name] = max(self.result.rss_mb[name], proc.memory_info().rss / 2**20)
                except psutil.Error:
                    continue

    async def stop(self) -> Resources:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self.result.cpu_percent = {n: (sum(v) / len(v) if v else 0.0) for n, v in self._samples.items()}
        self.result.host_cpu_percent = sum(self._host) / len(self._host) if self._host else 0.0
        return self.result


class Stack:
    def __init__(self, *, kiosks: int, workers: int, capacity: int, port: int = 0, fresh: bool = False) -> None:
        self.fresh = fresh
        self.kiosks = kiosks
        self.workers = workers
        self.capacity = capacity
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.kiosk_ids: list[int] = []
        self.tokens: list[str] = []
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = Path(os.environ["KIOSK_VAR_DIR"]) / "logs"

    async def __aenter__(self) -> "Stack":
        await asyncio.to_thread(reset_stores, self.fresh)
        self.kiosk_ids, self.tokens = await asyncio.to_thread(prepare_kiosks, self.kiosks)
        started = time.monotonic()
        made = await asyncio.to_thread(answer_cache_ready)
        if any(made.values()):
            print(f"answer audio cache built before the rounds ({sum(made.values())} entries: {made}) "
                  f"in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        bin_dir = Path(sys.executable).parent
        for i in range(self.workers):
            self._spawn(f"worker{i}", [sys.executable, "manage.py", "avatar_worker", "--capacity", str(self.capacity)])
        self._spawn("daphne", [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"])
        await self._wait_ready()
        return self

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - the child holds it until it exits
        self.procs[name] = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=log,
                                            stderr=subprocess.STDOUT)

    async def _wait_ready(self, timeout: float = 240.0) -> None:
        from avatar_runtime.worker.registry import workers_live

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    tail = (self.logs / f"{name}.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")
            live = await asyncio.to_thread(workers_live)
            if len(live) >= self.workers and await asyncio.to_thread(self._port_open):
                return
            await asyncio.sleep(1.0)
        raise TimeoutError("the avatar workers or daphne did not come up in time (see the logs in KIOSK_VAR_DIR)")

    def _port_open(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every worker reports no session (the previous round's kiosks have gone)."""
        from avatar_runtime.worker.registry import workers_live

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(w.load == 0 for w in await asyncio.to_thread(workers_live)):
                return
            await asyncio.sleep(0.5)

    def worker_stats(self) -> "WorkerStats":
        """The workers' cumulative CPU per stage and session lifetimes, and what they learned (registry)."""
        from avatar_runtime.worker.registry import workers_live

        stats = WorkerStats()
        for worker in workers_live():
            for stage, seconds in worker.stage_cpu.items():
                stats.stage_cpu[stage] = stats.stage_cpu.get(stage, 0.0) + seconds
            stats.session_seconds += worker.session_seconds
            stats.session_cost.append(worker.session_cost)
            if worker.headroom is not None:
                stats.headroom.append(worker.headroom)
        return stats

    async def cpu_spike(self, after: float, seconds: float) -> None:
        """A CPU-heavy job mid-round: one busy process per allowed core for ``seconds``, ``after`` seconds in."""
        await asyncio.sleep(after)
        burners = [await asyncio.create_subprocess_exec(sys.executable, "-c", "while True: pass")
                   for _ in range(len(os.sched_getaffinity(0)))]
        try:
            await asyncio.sleep(seconds)
        finally:
            for burner in burners:
                burner.kill()
            for burner in burners:
                await burner.wait()

    def sample_resources(self) -> Sampler:
        return Sampler({**{name: psutil.Process(proc.pid) for name, proc in self.procs.items()},
                        CLIENT: psutil.Process()})

    def stored_timings(self, kiosk_ids: list[int], since: float) -> list[dict[str, Any]]:
        """``Turn.timings`` of the avatar's answers to these kiosks since ``since`` (unix time)."""
        from datetime import UTC, datetime

        from conversations.models import Turn

        turns = Turn.objects.filter(conversation__kiosk_id__in=kiosk_ids, role=Turn.Role.AVATAR,
                                    created_at__gte=datetime.fromtimestamp(since, tz=UTC))
        return [dict(t.timings) for t in turns]

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                await asyncio.to_thread(proc.wait, 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait, 5)
