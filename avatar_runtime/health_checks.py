"""What a worker reports to the health registry when it starts, before any traffic.

``doctor``'s cheap checks give every stage a first state (which backend, and why); warming the
voices up gives each language's TTS one. From then on the backends' own trackers (the LLM's, each
network voice's breaker) and the pipeline's failures keep the registry current.
"""
from avatar_runtime.doctor import BROKEN, DEGRADED, DoctorConfig, diagnose
from avatar_runtime.health import Health, HealthRegistry, health_registry
from avatar_runtime.tts.base import Synthesizer, Voice

_STATES = {BROKEN: Health.DOWN, DEGRADED: Health.DEGRADED}


def health_seed(cfg: DoctorConfig, registry: HealthRegistry = health_registry) -> None:
    """Every stage as ``doctor`` sees it; TTS is left to ``health_voice`` (it is per language)."""
    for report in diagnose(cfg):
        if report.stage != "tts":
            registry.report(report.stage, _STATES.get(report.status, Health.HEALTHY), report.backend, report.reason)


def health_voice(language: str, synthesizer: Synthesizer, voice: Voice, spoken_by: str,
                 registry: HealthRegistry = health_registry) -> None:
    """A language's TTS after it spoke: a network voice's breaker has reported already."""
    if getattr(synthesizer, "health", None) is not None:
        return
    if spoken_by == voice.backend:
        registry.report(f"tts:{language}", Health.HEALTHY, spoken_by, f"{voice.backend} voice {voice.name}")
    else:
        registry.report(f"tts:{language}", Health.DEGRADED, spoken_by,
                        f"{voice.backend} voice {voice.name} failed; {spoken_by} speaks")


def health_voice_failed(language: str, error: str, registry: HealthRegistry = health_registry) -> None:
    """Every voice of ``language`` failed: the avatar can only show captions."""
    registry.report(f"tts:{language}", Health.DOWN, "none", f"every voice failed: {error}")
