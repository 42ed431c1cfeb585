"""The production answerer: Qwen (through qwen-agent) streamed sentence by sentence, behind a grounding guard.

Streaming and the guard: sentences are released only once the first substantive sentence
passes :class:`GroundingGuard` (a leading "Sure!" waits with it). If that first sentence is
ungrounded or in the wrong language, the model is stopped and the extractive answer is
spoken instead. What kind of first sentence may pass: an answer when retrieval found one whose
entry has usable text (:func:`top_answer`, as the extractive answerer), a decline otherwise. A small model's declines are
often wrong, and its "answers" to questions the entries don't cover are stitched from
unrelated entries (measured in ``bench/llm_local.py``); in both cases the extractive answerer
says the right thing.
After that each sentence is judged as it comes; the first one that fails ends the answer
there (what was already said was grounded). So the customer never hears an unchecked
sentence, and waits at most one sentence longer than the model takes to write it.

Failures before anything was spoken are retried with backoff while the turn's deadline
allows, then raised as :class:`LlmServiceError` for :class:`FailoverAnswerer` to fall back.
A failure after speech began ends the answer early (``outcome.error``); it is not retried,
because the customer would hear the beginning twice.
"""
import asyncio
import logging
import random
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from avatar_runtime.health import HealthTracker
from avatar_runtime.llm.base import Answerer, AnswerOutcome, AnswerStream, HistoryTurn, Retrieved, closing
from avatar_runtime.llm.extractive import ExtractiveAnswerer
from avatar_runtime.llm.grounding import GroundingGuard, Verdict
from avatar_runtime.llm.passages import top_answer
from avatar_runtime.llm.prompt import DEFAULT_HISTORY_TURNS, build_messages
from avatar_runtime.llm.qwen_client import Deadlines, LlmServiceError, QwenClient, QwenSettings
from avatar_runtime.text.sentences import split_stream

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 2  # in all, the first included
    backoff: float = 0.4  # seconds before the first retry; doubled each time, with up to 50% jitter


# Why the first substantive sentence was not let through, when the guard itself found no fault.
_MISMATCH = {Verdict.DECLINE: "declined_answerable", Verdict.GROUNDED: "answered_unanswerable"}
DEFAULT_DEADLINES = Deadlines()
DEFAULT_RETRY = RetryPolicy()


class _SwitchToFallback(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class QwenAnswerer:
    name = "qwen"

    def __init__(
        self,
        client: QwenClient,
        *,
        deadlines: Deadlines = DEFAULT_DEADLINES,
        retry: RetryPolicy = DEFAULT_RETRY,
        fallback: Answerer | None = None,
        history_turns: int = DEFAULT_HISTORY_TURNS,
        health: HealthTracker | None = None,
    ) -> None:
        self.client = client
        self.deadlines = deadlines
        self.retry = retry
        self.fallback: Answerer = fallback or ExtractiveAnswerer()
        self.history_turns = history_turns
        self.health = health or HealthTracker()

    @classmethod
    def connect(cls, *, base_url: str, model: str, api_key: str = "", **options: object) -> "QwenAnswerer":
        """An answerer for the OpenAI-compatible server at ``base_url`` (settings ``LLM_BASE_URL`` etc.)."""
        return cls(QwenClient(QwenSettings(base_url=base_url, model=model, api_key=api_key)), **options)  # type: ignore[arg-type]

    def answer(self, question: str, language: str, retrieved: Retrieved, history: list[HistoryTurn]) -> AnswerStream:
        outcome = AnswerOutcome(answered_by=self.name)
        return AnswerStream(self._answer(question, language, retrieved, history, outcome), outcome)

    async def _answer(
        self, question: str, language: str, retrieved: Retrieved, history: list[HistoryTurn], outcome: AnswerOutcome
    ) -> AsyncGenerator[str, None]:
        messages = build_messages(question, language, retrieved.passages, history, history_turns=self.history_turns)
        guard = GroundingGuard(retrieved.passages, language)
        answerable = top_answer(language, retrieved) is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadlines.total
        released = 0
        for attempt in range(1, self.retry.attempts + 1):
            remaining = deadline - loop.time()
            attempt_deadlines = Deadlines(first_token=min(self.deadlines.first_token, remaining), total=remaining)
            guarded = self._guarded(messages, language, answerable, guard, attempt_deadlines, outcome)
            try:
                async with aclosing(guarded):
                    async for sentence in guarded:
                        released += 1
                        yield sentence
                self.health.record(True)
                return
            except _SwitchToFallback as switch:
                self.health.record(True)  # the service worked; its answer did not
                outcome.fallback_reason = switch.reason
                outcome.answered_by = self.fallback.name
                async with closing(self.fallback.answer(question, language, retrieved, history)) as fallback:
                    async for sentence in fallback:
                        yield sentence
                outcome.complete = True
                return
            except LlmServiceError as exc:
                self.health.record(False, exc.code)
                kind = "retryable" if exc.retryable else "permanent"
                logger.warning("qwen attempt %d failed: %s (%s)", attempt, exc.code, kind)
                if released:
                    outcome.error = exc  # speech began: end the answer here rather than repeat it
                    return
                delay = self.retry.backoff * 2 ** (attempt - 1) * (1 + random.random() / 2)
                if not exc.retryable or attempt == self.retry.attempts or loop.time() + delay >= deadline:
                    raise
                await asyncio.sleep(delay)

    async def _guarded(
        self,
        messages: list[dict[str, str]],
        language: str,
        answerable: bool,
        guard: GroundingGuard,
        deadlines: Deadlines,
        outcome: AnswerOutcome,
    ) -> AsyncGenerator[str, None]:
        """The model's sentences that pass the guard; raises _SwitchToFallback if the first one fails."""
        held: list[str] = []
        released = 0
        deltas = self.client.stream(messages, language=language, deadlines=deadlines)
        async with aclosing(deltas), aclosing(split_stream(deltas)) as sentences:
            async for sentence in sentences:
                verdict = guard.judge(sentence).verdict
                if released:
                    if not verdict.acceptable:
                        logger.info("qwen answer cut at sentence %d: %s", released + 1, verdict.value)
                        return  # drop this sentence and the rest; what was said stands
                    released += 1
                    yield sentence
                    continue
                if verdict is Verdict.FILLER:
                    held.append(sentence)
                    continue
                expected = Verdict.GROUNDED if answerable else Verdict.DECLINE
                if verdict is expected:
                    for accepted in [*held, sentence]:
                        released += 1
                        yield accepted
                    continue
                raise _SwitchToFallback(_MISMATCH.get(verdict, verdict.value))
        if not released:
            raise _SwitchToFallback("no_answer")
        outcome.complete = True
