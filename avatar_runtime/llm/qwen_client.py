"""Qwen through qwen-agent against any OpenAI-compatible server, as an async stream of text deltas.

qwen-agent is synchronous and streams *cumulative* responses; :class:`QwenClient` runs it
in a named worker thread, turns the cumulative text into deltas, and enforces two deadlines
(first token, whole answer). Failures become :class:`LlmServiceError`: retryable for
timeouts, lost connections, 429 and 5xx; permanent for a bad request, a wrong key or an
unknown model. qwen-agent's and the OpenAI client's own retries are off: the answerer retries
against the turn's deadlines.

qwen-agent is imported lazily: hosts without it use the extractive answerer.
"""
import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from avatar_runtime.errors import ProviderError

logger = logging.getLogger(__name__)

PROVIDER = "qwen"


class LlmServiceError(ProviderError):
    """A failure of the language-model service; ``code`` is machine-readable (e.g. ``first_token_timeout``)."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(PROVIDER, message, retryable=retryable)
        self.code = code


@dataclass(frozen=True)
class QwenSettings:
    base_url: str  # e.g. http://127.0.0.1:8080/v1
    model: str
    api_key: str = ""
    max_tokens: int = 160
    temperature: float = 0.3
    top_p: float = 0.8
    seed: int = 7


@dataclass(frozen=True)
class Deadlines:
    first_token: float = 8.0  # seconds from the request to the first text
    total: float = 25.0  # seconds from the request to the end of the answer


# A stream that breaks mid-way raises the HTTP library's own error, not an OpenAI one.
_TRANSPORT_MODULES = frozenset({"httpx", "httpx2", "httpcore", "httpcore2", "h11"})


def _classify(exc: BaseException) -> LlmServiceError:
    """Map qwen-agent's ``ModelServiceError`` (wrapping an OpenAI error) onto retryable or permanent."""
    import openai

    cause = getattr(exc, "exception", None) or exc
    if isinstance(cause, openai.APITimeoutError):
        return LlmServiceError("timeout", "the model server timed out", retryable=True)
    if isinstance(cause, openai.APIConnectionError):
        return LlmServiceError("connection", "the model server could not be reached", retryable=True)
    if isinstance(cause, openai.APIStatusError):
        status = cause.status_code
        retryable = status in (408, 409, 429) or status >= 500
        return LlmServiceError(f"http_{status}", f"the model server answered HTTP {status}", retryable=retryable)
    if isinstance(cause, OSError) or type(cause).__module__.split(".")[0] in _TRANSPORT_MODULES:
        return LlmServiceError("connection", f"the connection to the model server failed ({type(cause).__name__})",
                               retryable=True)
    code = getattr(exc, "code", None)
    return LlmServiceError(str(code or "model_service"), f"{type(cause).__name__} from the model service", retryable=False)


async def iterate_in_thread(factory: Callable[[], Iterator[Any]], *, name: str) -> AsyncGenerator[Any, None]:
    """Items of a blocking iterator, produced in a dedicated thread named ``name``.

    Closing the generator asks the thread to stop at its next item and close the iterator
    (which closes the HTTP response); the thread cannot outlive the iterator's own timeout.
    Exceptions in the thread are re-raised here, in the consumer.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()

    def put(kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop has closed: nobody is waiting any more
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def work() -> None:
        iterator: Iterator[Any] | None = None
        try:
            iterator = factory()
            for item in iterator:
                if stop.is_set():
                    break
                put("item", item)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which owns it
            put("error", exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            put("end", None)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def _assistant_text(response: list[dict[str, Any]]) -> str:
    return "".join(m["content"] for m in response if m.get("role") == "assistant" and isinstance(m.get("content"), str))


class QwenClient:
    """One configured model endpoint; :meth:`stream` is safe to call concurrently."""

    def __init__(self, settings: QwenSettings) -> None:
        try:
            from qwen_agent.llm import get_chat_model
        except ImportError as exc:
            raise LlmServiceError("not_installed", "qwen-agent is not installed (pip install qwen-agent)",
                                  retryable=False) from exc
        # Customers' words must never reach a log: qwen-agent logs prompts at DEBUG and token counts at INFO.
        logging.getLogger("qwen_agent_logger").setLevel(logging.WARNING)
        import openai

        self.settings = settings
        self._llm = get_chat_model({
            "model": settings.model,
            "model_server": settings.base_url,
            "api_key": settings.api_key or "EMPTY",
            "generate_cfg": {"max_retries": 0},
        })
        # qwen-agent (0.0.34) builds a new OpenAI client, with its default hidden retries, for every
        # request. One client for the endpoint keeps connections warm, and max_retries=0 leaves
        # retrying to the answerer, which knows the turn's deadline.
        client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key or "EMPTY", max_retries=0)
        self._llm._chat_complete_create = client.chat.completions.create

    def _responses(self, messages: list[dict[str, str]], language: str, timeout: float) -> Iterator[list[dict[str, Any]]]:
        generate_cfg = {
            "max_tokens": self.settings.max_tokens,
            "temperature": self.settings.temperature,
            "top_p": self.settings.top_p,
            "seed": self.settings.seed,
            "timeout": timeout,
            "lang": "zh" if language in ("zh", "yue") else "en",
        }
        responses: Iterator[list[dict[str, Any]]] = self._llm.chat(
            messages=messages, stream=True, extra_generate_cfg=generate_cfg
        )
        return responses

    async def stream(
        self, messages: list[dict[str, str]], *, language: str, deadlines: Deadlines, turn: str = ""
    ) -> AsyncGenerator[str, None]:
        """The answer's text as deltas, within ``deadlines``; raises :class:`LlmServiceError`."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        sent = ""
        responses = iterate_in_thread(
            lambda: self._responses(messages, language, deadlines.total), name=f"qwen-answer-{turn or 'turn'}"
        )
        async with aclosing(responses):
            while True:
                limit = deadlines.total if sent else min(deadlines.first_token, deadlines.total)
                try:
                    async with asyncio.timeout_at(started + limit):
                        response = await anext(responses)
                except StopAsyncIteration:
                    return
                except TimeoutError as exc:
                    code = "total_timeout" if sent else "first_token_timeout"
                    raise LlmServiceError(code, f"no {'end' if sent else 'first token'} within {limit:.1f} s",
                                          retryable=True) from exc
                except Exception as exc:  # ModelServiceError, or the HTTP library's own when a stream breaks
                    raise _classify(exc) from exc
                text = _assistant_text(response)
                if len(text) > len(sent):
                    # qwen-agent streams the whole answer so far; pass on what is new.
                    delta, sent = text[len(sent):], text
                    yield delta
