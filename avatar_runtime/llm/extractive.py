"""The embedded default answerer: the knowledge base's own words, never anything else.

When retrieval found an answer, speak the top entry's answer in the customer's language (or
the closest language the entry has, see :mod:`avatar_runtime.llm.passages`); otherwise say
politely that the avatar doesn't know and that the customer service desk can help.
"""
from collections.abc import AsyncGenerator

from avatar_runtime.llm.base import AnswerOutcome, AnswerStream, HistoryTurn, Retrieved
from avatar_runtime.llm.passages import top_answer
from avatar_runtime.llm.phrases import phrase
from avatar_runtime.text.sentences import split_text


def extractive_text(language: str, retrieved: Retrieved) -> str:
    """The whole extractive answer (the top passage's answer, or the polite decline)."""
    translation = top_answer(language, retrieved)
    return translation.answer.strip() if translation is not None else phrase("dont_know", language)


class ExtractiveAnswerer:
    name = "extractive"

    def answer(self, question: str, language: str, retrieved: Retrieved, history: list[HistoryTurn]) -> AnswerStream:
        outcome = AnswerOutcome(answered_by=self.name)
        return AnswerStream(self._sentences(language, retrieved, outcome), outcome)

    async def _sentences(self, language: str, retrieved: Retrieved, outcome: AnswerOutcome) -> AsyncGenerator[str, None]:
        for sentence in split_text(extractive_text(language, retrieved)):
            yield sentence
        outcome.complete = True
