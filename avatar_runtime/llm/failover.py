"""Primary answerer with a fallback for the turn: the session never goes silent because a service failed.

If the primary fails before saying anything, the fallback (the extractive answerer) answers
that turn; if it fails after speech began, the customer hears a short apology instead of an
answer that stops mid-air. While the primary's health is down it is skipped, with a probe
now and then (see :class:`HealthTracker`). ``outcome.answered_by`` says who answered and
``outcome.fallback_reason`` / ``outcome.error`` why, for the pipeline to surface as events.
"""
import logging
from collections.abc import AsyncGenerator

from avatar_runtime.errors import ProviderError
from avatar_runtime.health import HealthTracker
from avatar_runtime.llm.base import Answerer, AnswerOutcome, AnswerStream, HistoryTurn, Retrieved, closing
from avatar_runtime.llm.phrases import phrase
from avatar_runtime.metrics import FALLBACKS

logger = logging.getLogger(__name__)


class FailoverAnswerer:
    def __init__(self, primary: Answerer, fallback: Answerer, *, health: HealthTracker | None = None) -> None:
        self.primary = primary
        self.fallback = fallback
        # Share the primary's own tracker when it keeps one (QwenAnswerer does, counting retries).
        self.health: HealthTracker = health or getattr(primary, "health", None) or HealthTracker()
        self._tracks_itself = health is None and getattr(primary, "health", None) is not None
        self.name = primary.name

    def answer(self, question: str, language: str, retrieved: Retrieved, history: list[HistoryTurn]) -> AnswerStream:
        outcome = AnswerOutcome()
        return AnswerStream(self._answer(question, language, retrieved, history, outcome), outcome)

    async def _answer(
        self, question: str, language: str, retrieved: Retrieved, history: list[HistoryTurn], outcome: AnswerOutcome
    ) -> AsyncGenerator[str, None]:
        if not self.health.should_try():
            outcome.fallback_reason = "primary_down"
        else:
            spoken = 0
            stream = self.primary.answer(question, language, retrieved, history)
            try:
                async with closing(stream):
                    async for sentence in stream:
                        spoken += 1
                        yield sentence
            except Exception as exc:
                self._record(False)
                outcome.error = exc if isinstance(exc, ProviderError) else ProviderError(
                    self.primary.name, type(exc).__name__, retryable=False)
                outcome.fallback_reason = getattr(exc, "code", None) or "provider_error"
                logger.warning("answerer %s failed (%s); %s", self.primary.name, outcome.fallback_reason,
                               "apologising" if spoken else f"falling back to {self.fallback.name}",
                               exc_info=not isinstance(exc, ProviderError))
                if spoken:
                    outcome.answered_by = self.primary.name
                    yield phrase("answer_incomplete", language)
                    return
            else:
                self._record(True)
                self._adopt(stream, outcome)
                if outcome.error is not None and spoken:
                    yield phrase("answer_incomplete", language)
                return
        outcome.answered_by = self.fallback.name
        FALLBACKS.labels("llm", self.primary.name, self.fallback.name).inc()
        async with closing(self.fallback.answer(question, language, retrieved, history)) as fallback:
            async for sentence in fallback:
                yield sentence
        outcome.complete = True

    def _record(self, ok: bool) -> None:
        if not self._tracks_itself:
            self.health.record(ok)

    def _adopt(self, stream: object, outcome: AnswerOutcome) -> None:
        """Copy what the primary reported about its own answer (its guard may have handed over already)."""
        inner = getattr(stream, "outcome", None)
        if isinstance(inner, AnswerOutcome):
            outcome.answered_by = inner.answered_by or self.primary.name
            outcome.fallback_reason = inner.fallback_reason
            outcome.error = inner.error
            outcome.complete = inner.complete
        else:
            outcome.answered_by = self.primary.name
            outcome.complete = True
