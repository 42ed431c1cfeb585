"""Benchmark: how fast a failing Edge TTS is noticed and the offline voice takes over.

    PYTHONPATH=. python bench/tts_failover.py [--runs 10]

Edge TTS (edge-tts, the production deadlines: first audio 0.8 s, stall 0.8 s) is pointed at local
servers that fail the ways a network service does (``tests/avatar_runtime/speech/edge_servers``):
nothing listening, a TCP black hole, a WebSocket that never answers, audio that stalls or whose
connection closes mid-sentence. Each run speaks one English sentence through the same chain a
worker builds (``FallbackSynthesizer``: edge, then Piper en, with the process-wide breaker), and
measures on the wall clock:

- detection: request (or last edge audio, for mid-sentence failures) to the error;
- failover: the same start to the offline voice's first chunk;
- longest gap between two chunks, and the longest silence a listener hears when each chunk plays
  as soon as it arrives (edge's buffered audio covers part of the failover);
- with edge marked down: the first chunk of the next sentence (no detection cost).

The servers run in the benchmark's own event loop. Results: bench/results/tts_failover.md.
"""
import argparse
import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import django
import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from avatar_runtime.errors import ProviderError  # noqa: E402
from avatar_runtime.health import HealthRegistry, HealthTracker  # noqa: E402
from avatar_runtime.tts.base import SpeechChunk, Voice  # noqa: E402
from avatar_runtime.tts.edge_voice import EDGE_DEFAULT_VOICES, EdgeConfig, EdgeSynthesizer  # noqa: E402
from avatar_runtime.tts.registry import OFFLINE_VOICES, FallbackSynthesizer, synthesizer_for  # noqa: E402
from tests.avatar_runtime.speech.edge_servers import (  # noqa: E402
    EdgeTestServer,
    mp3_speech,
    refused_url,
    tcp_black_hole,
)
from tests.speech_samples import models_dir  # noqa: E402

SENTENCE = "The information desk is on the ground floor, next to the lifts."
EDGE = Voice("en", "edge", EDGE_DEFAULT_VOICES["en"])
OFFLINE = OFFLINE_VOICES["en"]
CONFIG = EdgeConfig()  # the production deadlines
RESULTS = Path(__file__).parent / "results" / "tts_failover.md"


@asynccontextmanager
async def served(mode: str) -> AsyncIterator[str]:
    async with EdgeTestServer(mode=mode, pieces=3) as server:
        yield server.url


@asynccontextmanager
async def refused() -> AsyncIterator[str]:
    yield refused_url()


FAILURES: dict[str, Callable[[], AbstractAsyncContextManager[str]]] = {
    "connection refused": refused,
    "TCP black hole": tcp_black_hole,
    "WebSocket silent after handshake": lambda: served("silent"),
    "stall mid-sentence (0.6 s sent)": lambda: served("stall"),
    "close mid-sentence (0.6 s sent)": lambda: served("close"),
}


def audible_gap(timed: list[tuple[float, SpeechChunk]]) -> float:
    gap, playing_until = 0.0, timed[0][0]
    for arrived, chunk in timed:
        gap = max(gap, arrived - playing_until)
        playing_until = max(playing_until, arrived) + len(chunk.samples) / chunk.sample_rate
    return gap


async def edge_alone(url: str) -> tuple[float, float]:
    """Detection time (from the request, or from the last audio when some came) and audio received."""
    start = time.perf_counter()
    last, received = start, 0.0
    try:
        async for chunk in EdgeSynthesizer(EdgeConfig(endpoint=url)).synthesize(SENTENCE, EDGE):
            last, received = time.perf_counter(), received + len(chunk.samples) / chunk.sample_rate
    except ProviderError:
        return time.perf_counter() - last, received
    raise AssertionError("edge did not fail")


async def through_chain(url: str) -> dict[str, float]:
    breaker = HealthTracker(down_after=1, retry_after=60.0, component="tts:en", backend="edge", fallback="piper",
                            registry=HealthRegistry())
    edge = EdgeSynthesizer(EdgeConfig(endpoint=url))
    chain = FallbackSynthesizer(edge, synthesizer_for(OFFLINE, models_dir()), OFFLINE, attempts=1, health=breaker)
    start = time.perf_counter()
    timed = [(time.perf_counter() - start, chunk) async for chunk in chain.synthesize(SENTENCE, EDGE)]
    assert chain.spoken_by == "piper", chain.spoken_by
    rate = CONFIG.sample_rate
    edge_times = [t for t, c in timed if c.sample_rate == rate]
    first_offline = next(t for t, c in timed if c.sample_rate != rate)
    waits = np.diff([0.0] + [t for t, _ in timed])
    # The next answer while edge is down: straight to Piper.
    skip = FallbackSynthesizer(edge, synthesizer_for(OFFLINE, models_dir()), OFFLINE, attempts=1, health=breaker)
    began = time.perf_counter()
    async for _chunk in skip.synthesize(SENTENCE, EDGE):
        break
    return {"failover": first_offline - (edge_times[-1] if edge_times else 0.0), "max_gap": float(waits.max()),
            "audible": audible_gap(timed), "skip_first": time.perf_counter() - began}


def ms(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q) * 1000:.0f}"


async def healthy_edge(runs: int) -> list[str]:
    firsts = []
    async with EdgeTestServer(pace_s=0.05) as server:
        for _ in range(runs):
            start = time.perf_counter()
            async for _chunk in EdgeSynthesizer(EdgeConfig(endpoint=server.url)).synthesize(SENTENCE, EDGE):
                firsts.append(time.perf_counter() - start)
                break
    return ["edge healthy (local server)", "", "", ms(firsts, 50), ms(firsts, 95), "", "", ""]


async def main(runs: int) -> None:
    load_at_start = os.getloadavg()[0]
    mp3_speech(SENTENCE)
    async for _chunk in synthesizer_for(OFFLINE, models_dir()).synthesize(SENTENCE, OFFLINE):
        pass  # load Piper outside the timing
    rows = [await healthy_edge(runs)]
    for name, failure in FAILURES.items():
        detections, received, chains = [], [], []
        for _ in range(runs):
            async with failure() as url:
                detection, audio = await edge_alone(url)
                detections.append(detection)
                received.append(audio)
            async with failure() as url:
                chains.append(await through_chain(url))
        rows.append([name, ms(detections, 50), ms(detections, 95),
                     ms([c["failover"] for c in chains], 50), ms([c["failover"] for c in chains], 95),
                     ms([c["max_gap"] for c in chains], 95), ms([c["audible"] for c in chains], 95),
                     ms([c["skip_first"] for c in chains], 50)])
        print(name, rows[-1][1:], flush=True)
    headers = ["edge failure", "detected p50 (ms)", "detected p95", "Piper's first chunk p50 (ms)", "p95",
               "longest gap between chunks p95", "longest audible silence p95", "next sentence while down p50"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    report = "\n".join([
        f"# Edge TTS failover ({os.cpu_count()} CPU cores, shared; load average {load_at_start:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end)",
        "",
        f"{runs} runs per row; deadlines: first audio {CONFIG.first_audio_s} s, stall {CONFIG.stall_s} s; "
        "fallback: Piper en_US-joe-medium (loaded). \"detected\" and \"Piper's first chunk\" count from the "
        "request, or from the last edge audio when edge failed mid-sentence. For the healthy row, the p50/p95 "
        "columns are edge's first chunk from the request.",
        "",
        *lines,
        "",
    ])
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    asyncio.run(main(parser.parse_args().runs))
