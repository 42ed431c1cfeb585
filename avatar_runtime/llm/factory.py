"""The answerer a worker uses, chosen by configuration (``AVATAR_LLM_BACKEND``, ``LLM_*`` settings).

``auto`` uses Qwen when a server is configured and qwen-agent is installed, with the
extractive answerer taking over any turn Qwen cannot answer; otherwise the extractive
answerer alone. ``qwen`` insists on Qwen (still with the per-turn fallback) and fails at
start-up if it cannot be set up; ``extractive`` never calls a model.
"""
import importlib.util
from dataclasses import dataclass

from avatar_runtime.health import HealthTracker
from avatar_runtime.llm.base import Answerer
from avatar_runtime.llm.extractive import ExtractiveAnswerer
from avatar_runtime.llm.failover import FailoverAnswerer
from avatar_runtime.llm.qwen import QwenAnswerer
from avatar_runtime.llm.qwen_client import LlmServiceError


@dataclass(frozen=True)
class LlmConfig:
    backend: str = "auto"  # auto | qwen | extractive
    base_url: str = ""
    model: str = ""
    api_key: str = ""


def answerer_from_config(config: LlmConfig) -> Answerer:
    extractive = ExtractiveAnswerer()
    if config.backend == "extractive":
        return extractive
    usable = bool(config.base_url) and importlib.util.find_spec("qwen_agent") is not None
    if config.backend == "auto" and not usable:
        return extractive
    if not config.base_url:
        raise LlmServiceError("not_configured", "AVATAR_LLM_BACKEND=qwen needs LLM_BASE_URL", retryable=False)
    health = HealthTracker(component="llm", backend="qwen", fallback=extractive.name)
    qwen = QwenAnswerer.connect(base_url=config.base_url, model=config.model, api_key=config.api_key, fallback=extractive,
                                health=health)
    return FailoverAnswerer(qwen, extractive)
