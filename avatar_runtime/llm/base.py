"""Answering: the customer's question plus what retrieval found, streamed as text."""
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol


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
