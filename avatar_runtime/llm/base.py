"""Answering: the customer's question plus what retrieval found, streamed as text."""
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from avatar_runtime.errors import ProviderError


@dataclass(frozen=True)
class Passage:
    """A retrieved knowledge-base entry, with its text in every language it has."""

    key: str
    score: float
    question: str
    answer: str
    language: str
    translations: dict[str, tuple[str, str]] = field(default_factory=dict)  # language -> (question, answer)


@dataclass(frozen=True)
class Retrieved:
    answerable: bool
    passages: list[Passage]


@dataclass(frozen=True)
class HistoryTurn:
    role: str  # "customer" or "avatar"
    text: str


class Answerer(Protocol):
    name: str

    def answer(
        self, question: str, language: str, retrieved: Retrieved, history: list[HistoryTurn]
    ) -> AsyncIterator[str]:
        """Stream the spoken answer in ``language``, grounded only in ``retrieved``."""
        ...


@dataclass
class AnswerOutcome:
    """What happened while an answer streamed; settled once the stream is exhausted or closed."""

    answered_by: str = ""  # the answerer whose sentences were spoken
    fallback_reason: str = ""  # why another answerer took over: "ungrounded", "provider_error", "primary_down", ...
    error: ProviderError | None = None  # the provider failure behind a fallback or a cut-short answer
    sentences: int = 0
    complete: bool = False  # ran to its natural end (not cut short by a failure or the grounding guard)


class AnswerStream(AsyncIterator[str]):
    """The sentences of one answer, as :meth:`Answerer.answer` promises, plus its :class:`AnswerOutcome`.

    Closing it (``aclose``, e.g. on barge-in) stops the work behind it.
    """

    def __init__(self, sentences: AsyncGenerator[str, None], outcome: AnswerOutcome) -> None:
        self._sentences = sentences
        self.outcome = outcome

    def __aiter__(self) -> "AnswerStream":
        return self

    async def __anext__(self) -> str:
        sentence = await self._sentences.__anext__()
        self.outcome.sentences += 1
        return sentence

    async def aclose(self) -> None:
        await self._sentences.aclose()


@asynccontextmanager
async def closing(stream: AsyncIterator[str]) -> AsyncGenerator[AsyncIterator[str], None]:
    """Close an answer stream on exit (barge-in, a failure, or its end), whatever kind of iterator it is."""
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
