"""Which answerer a worker gets from its configuration."""
import pytest

from avatar_runtime.llm.extractive import ExtractiveAnswerer
from avatar_runtime.llm.factory import LlmConfig, answerer_from_config
from avatar_runtime.llm.failover import FailoverAnswerer
from avatar_runtime.llm.qwen_client import LlmServiceError


def test_nothing_configured_means_extractive() -> None:
    assert isinstance(answerer_from_config(LlmConfig()), ExtractiveAnswerer)


def test_extractive_is_honoured_even_with_a_server() -> None:
    assert isinstance(answerer_from_config(LlmConfig("extractive", "http://127.0.0.1:9/v1", "m")), ExtractiveAnswerer)


def test_a_configured_server_gives_qwen_with_the_extractive_fallback() -> None:
    chosen = answerer_from_config(LlmConfig("auto", "http://127.0.0.1:9/v1", "qwen2.5-0.5b-instruct"))
    assert isinstance(chosen, FailoverAnswerer)
    assert (chosen.primary.name, chosen.fallback.name) == ("qwen", "extractive")
    # Its health reaches the registry (doctor, API, console) as the "llm" component.
    assert (chosen.health.component, chosen.health.backend, chosen.health.fallback) == ("llm", "qwen", "extractive")


def test_qwen_without_a_server_is_a_configuration_error() -> None:
    with pytest.raises(LlmServiceError) as caught:
        answerer_from_config(LlmConfig("qwen"))
    assert not caught.value.retryable and "LLM_BASE_URL" in str(caught.value)
