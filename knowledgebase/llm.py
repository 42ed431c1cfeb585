"""The language model the knowledge base's own jobs use (generated phrasings, close calls).

The configured server (``LLM_BASE_URL``, any OpenAI-compatible one, as the avatar's answerer
uses) when there is one; otherwise, for background jobs only, the embedded default: the local
Qwen GGUF (``MODELS_DIR/qwen``) served by llama.cpp for the length of the job
(``avatar_runtime.llm.local_server``; needs ``xllamacpp``). A search never starts a model: a
close call is sent to a configured server or not at all.
"""
import importlib.util
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from avatar_runtime.errors import ProviderError
from avatar_runtime.llm.local_server import MODEL_ALIAS, LocalLlamaServer, LocalServerConfig, default_model_path

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 60.0
_TRANSPORT_MODULES = frozenset({"httpx", "httpx2", "httpcore", "httpcore2", "h11"})


@dataclass(frozen=True)
class ChatModel:
    """One OpenAI-compatible endpoint; ``name`` says which model answered (recorded with its output)."""

    base_url: str
    model: str
    api_key: str = ""
    seed: int = 7

    @property
    def name(self) -> str:
        return self.model

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float,
             frequency_penalty: float = 0.0, timeout: float = REQUEST_TIMEOUT_S) -> str:
        """The model's whole reply (blocking); raises ``ProviderError`` (retryable or not) on failure."""
        client = _client(self.base_url, self.api_key)
        with _provider_errors():
            stream = client.chat.completions.create(
                model=self.model, messages=messages, stream=True,
                max_tokens=max_tokens, temperature=temperature, frequency_penalty=frequency_penalty, seed=self.seed,
                timeout=timeout,
            )
            return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    def first_token_alternatives(self, messages: list[dict[str, str]], *, top: int,
                                 timeout: float = REQUEST_TIMEOUT_S) -> list[tuple[str, float]]:
        """The ``top`` likeliest first tokens of the reply and their log-probabilities (one token is
        generated); empty when the server gives none. Raises ``ProviderError`` as ``chat`` does."""
        client = _client(self.base_url, self.api_key)
        with _provider_errors():
            response = client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=1, temperature=0.0, seed=self.seed,
                logprobs=True, top_logprobs=top, timeout=timeout,
            )
        choice = response.choices[0] if response.choices else None
        if choice is None or choice.logprobs is None or not choice.logprobs.content:
            return []
        return [(alternative.token, alternative.logprob) for alternative in choice.logprobs.content[0].top_logprobs]


@contextmanager
def _provider_errors() -> Iterator[None]:
    """The client's failures as ``ProviderError``, retryable or permanent."""
    import openai

    try:
        yield
    except (openai.APITimeoutError, openai.APIConnectionError) as exc:
        raise ProviderError("llm", f"the model server failed: {type(exc).__name__}", retryable=True) from exc
    except openai.APIStatusError as exc:
        retryable = exc.status_code in (408, 409, 429) or exc.status_code >= 500
        raise ProviderError("llm", f"the model server answered HTTP {exc.status_code}", retryable=retryable) from exc
    except Exception as exc:  # a stream broken mid-way raises the HTTP library's own error
        if isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in _TRANSPORT_MODULES:
            raise ProviderError("llm", f"the model server failed: {type(exc).__name__}", retryable=True) from exc
        raise


_clients: dict[tuple[str, str], Any] = {}


def _client(base_url: str, api_key: str) -> Any:
    """One client per endpoint (warm connections); the caller's job decides about retries."""
    import openai

    key = (base_url, api_key)
    if key not in _clients:
        _clients[key] = openai.OpenAI(base_url=base_url, api_key=api_key or "EMPTY", max_retries=0)
    return _clients[key]


def configured_model() -> ChatModel | None:
    """The configured server's model (``LLM_BASE_URL``), or None."""
    if not settings.LLM_BASE_URL:
        return None
    return ChatModel(settings.LLM_BASE_URL, settings.LLM_MODEL, settings.LLM_API_KEY)


def job_model_name() -> str:
    """The name of the model ``job_model`` would give (what generated text is recorded as coming from)."""
    configured = configured_model()
    return configured.name if configured is not None else MODEL_ALIAS


def local_model_path() -> Path:
    return default_model_path(Path(settings.MODELS_DIR))


def llm_available() -> bool:
    """Whether a background job could reach a model: a configured server, or the local GGUF and llama.cpp."""
    return configured_model() is not None or (
        local_model_path().is_file() and importlib.util.find_spec("xllamacpp") is not None)


@contextmanager
def job_model() -> Iterator[ChatModel | None]:
    """The model for one background job: the configured server's, or the local GGUF served
    until the job ends; None when neither is there (or the local one failed to start)."""
    configured = configured_model()
    if configured is not None:
        yield configured
        return
    if not llm_available():
        yield None
        return
    server = LocalLlamaServer(LocalServerConfig(model_path=local_model_path()))
    try:
        server.start()
    except ProviderError as exc:
        logger.warning("knowledge base: the local model could not start: %s", exc)
        yield None
        return
    try:
        yield ChatModel(server.base_url, MODEL_ALIAS)
    finally:
        server.stop()
