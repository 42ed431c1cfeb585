"""What this process's avatar runtime measured, as Prometheus metrics (no Django here).

The worker process has no HTTP server of its own: ``avatar_runtime.worker.metrics_publisher``
copies these samples into the shared cache, and the web process's ``/metrics`` serves every live
worker's, labelled with its ``worker`` (``adminconsole.metrics``). Counters count from the
worker's start; Prometheus's ``rate()`` handles the reset a restart brings.
"""
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

RUNTIME_REGISTRY = CollectorRegistry(auto_describe=True)
# From 50 ms (a cached answer's first frame) to 10 s (a cold LLM on a loaded CPU).
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

STAGE_SECONDS = Histogram(
    "kiosk_stage_seconds", "Time of each stage of a turn (endpointing, asr, retrieval, answer_first_text, "
    "tts_first_audio, first_frame, end_to_end).", ["stage"], buckets=LATENCY_BUCKETS, registry=RUNTIME_REGISTRY)
BARGEIN_SECONDS = Histogram(
    "kiosk_bargein_seconds", "From the customer starting to speak over the avatar to the avatar going quiet.",
    buckets=(0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0), registry=RUNTIME_REGISTRY)
TURNS = Counter("kiosk_turns", "Customer turns answered (or cut off by barge-in).", ["interrupted"],
                registry=RUNTIME_REGISTRY)
HANDOFFS = Counter("kiosk_handoffs", "Hand-offs to staff requested.", registry=RUNTIME_REGISTRY)
BACKEND_REQUESTS = Counter(
    "kiosk_backend_requests", "Requests to a network backend (TTS per language, LLM) by outcome; each retry counts.",
    ["component", "backend", "outcome"], registry=RUNTIME_REGISTRY)
FALLBACKS = Counter(
    "kiosk_fallbacks", "Times a stage's primary backend failed and its fallback took over.",
    ["component", "primary", "fallback"], registry=RUNTIME_REGISTRY)
STAGE_ERRORS = Counter(
    "kiosk_stage_errors", "Turns in which a stage failed outright (asr, retrieval, answer, tts).", ["stage"],
    registry=RUNTIME_REGISTRY)


def turn_observe(timings_s: dict[str, float], *, interrupted: bool) -> None:
    """One finished turn: each stage's time, as the pipeline measured it (seconds)."""
    for stage, seconds in timings_s.items():
        STAGE_SECONDS.labels(stage).observe(seconds)
    TURNS.labels(str(interrupted).lower()).inc()


def runtime_samples() -> list[dict[str, Any]]:
    """This process's metric families as plain data (for the shared cache: JSON-able, no classes)."""
    return [
        {"name": family.name, "type": family.type, "documentation": family.documentation,
         "samples": [[sample.name, dict(sample.labels), sample.value] for sample in family.samples]}
        for family in RUNTIME_REGISTRY.collect()
    ]
