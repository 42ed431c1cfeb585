"""QwenAnswerer's guard while streaming, retries, deadlines and failover, against a scripted OpenAI-compatible server.

The real model is exercised in test_qwen_local.py; here the server's output and failures are
scripted so each rule is checked exactly.
"""
import asyncio

import pytest

from avatar_runtime.health import Health, HealthTracker
from avatar_runtime.llm.base import AnswerStream, Passage, Retrieved
from avatar_runtime.llm.extractive import ExtractiveAnswerer
from avatar_runtime.llm.failover import FailoverAnswerer
from avatar_runtime.llm.phrases import phrase
from avatar_runtime.llm.qwen import QwenAnswerer, RetryPolicy
from avatar_runtime.llm.qwen_client import Deadlines, LlmServiceError, QwenClient, QwenSettings

from .scripted_server import ScriptedServer, Step

HOURS_EN = "The mall is open every day from 10 a.m. to 10 p.m. "
FAST = Deadlines(first_token=2.0, total=5.0)


def qwen(server: ScriptedServer, **options: object) -> QwenAnswerer:
    options.setdefault("deadlines", FAST)
    options.setdefault("retry", RetryPolicy(attempts=2, backoff=0.05))
    return QwenAnswerer(QwenClient(QwenSettings(base_url=server.base_url, model="test")), **options)  # type: ignore[arg-type]


async def run(stream: AnswerStream) -> list[str]:
    return [sentence async for sentence in stream]


async def answer(script: list[Step], passages: list[Passage], *, language: str = "en", answerable: bool = True,
                 **options: object) -> tuple[list[str], AnswerStream, ScriptedServer]:
    async with ScriptedServer(script) as server:
        answerer = FailoverAnswerer(qwen(server, **options), ExtractiveAnswerer())
        stream = answerer.answer("When is the mall open?", language, Retrieved(answerable, passages), [])
        return await run(stream), stream, server


async def test_grounded_answer_streams_from_the_model(mall_passages: list[Passage]) -> None:
    sentences, stream, _ = await answer([["Sure! ", "The mall is open ", "every day from 10 a.m. ", "to 10 p.m. ",
                                          "Restaurants on Level 5 stay open until midnight."]], mall_passages)
    assert sentences == ["Sure!", "The mall is open every day from 10 a.m. to 10 p.m.",
                         "Restaurants on Level 5 stay open until midnight."]
    assert stream.outcome.answered_by == "qwen" and stream.outcome.complete and not stream.outcome.fallback_reason


async def test_ungrounded_first_sentence_is_replaced_by_the_extractive_answer(mall_passages: list[Passage]) -> None:
    sentences, stream, _ = await answer([["Sure! ", "The mall never closes, it is open 24 hours. ", HOURS_EN]], mall_passages)
    assert sentences == ["The mall is open every day from 10 a.m. to 10 p.m.", "Restaurants on Level 5 stay open until midnight."]
    assert (stream.outcome.answered_by, stream.outcome.fallback_reason) == ("extractive", "ungrounded")


async def test_ungrounded_later_sentence_ends_the_answer_there(mall_passages: list[Passage]) -> None:
    sentences, stream, _ = await answer([[HOURS_EN, "Dogs are welcome in all shops. ", "Parking is on B1."]], mall_passages)
    assert sentences == ["The mall is open every day from 10 a.m. to 10 p.m."]
    assert stream.outcome.answered_by == "qwen" and not stream.outcome.complete


async def test_answer_in_the_wrong_language_is_replaced(mall_passages: list[Passage]) -> None:
    sentences, stream, _ = await answer([["商场每天上午10点至晚上10点营业。"]], mall_passages, language="ja")
    assert sentences[0] == "モールは毎日午前10時から午後10時まで営業しています。"
    assert stream.outcome.fallback_reason == "wrong_language"


async def test_decline_is_kept_when_nothing_fits_but_not_when_retrieval_found_the_answer(mall_passages: list[Passage]) -> None:
    decline = ["I'm sorry, I don't know that. ", "Please ask a staff member at the customer service desk."]
    sentences, stream, _ = await answer([decline], mall_passages, answerable=False)
    assert sentences == ["I'm sorry, I don't know that.", "Please ask a staff member at the customer service desk."]
    assert stream.outcome.answered_by == "qwen"
    sentences, stream, _ = await answer([decline], mall_passages, answerable=True)
    assert sentences[0].startswith("The mall is open every day")
    assert stream.outcome.fallback_reason == "declined_answerable"


async def test_an_answer_to_a_question_the_entries_do_not_cover_is_replaced_by_the_decline(
    mall_passages: list[Passage],
) -> None:
    sentences, stream, _ = await answer([["Restrooms are on every floor next to the lifts."]], mall_passages, answerable=False)
    assert " ".join(sentences) == phrase("dont_know", "en")
    assert stream.outcome.fallback_reason == "answered_unanswerable"


async def test_only_filler_falls_back(mall_passages: list[Passage]) -> None:
    sentences, stream, _ = await answer([["Sure!"]], mall_passages)
    assert sentences[0].startswith("The mall is open") and stream.outcome.fallback_reason == "no_answer"


async def test_retryable_failure_is_retried(mall_passages: list[Passage]) -> None:
    sentences, stream, server = await answer([503, [HOURS_EN]], mall_passages)
    assert sentences == ["The mall is open every day from 10 a.m. to 10 p.m."]
    assert server.requests == 2 and stream.outcome.answered_by == "qwen"


async def test_permanent_failure_falls_back_at_once(mall_passages: list[Passage]) -> None:
    sentences, stream, server = await answer([401, [HOURS_EN]], mall_passages)
    assert server.requests == 1
    assert sentences[0].startswith("The mall is open every day")
    assert (stream.outcome.answered_by, stream.outcome.fallback_reason) == ("extractive", "http_401")
    assert isinstance(stream.outcome.error, LlmServiceError) and not stream.outcome.error.retryable


async def test_first_token_deadline_then_fallback(mall_passages: list[Passage]) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadlines = Deadlines(first_token=0.3, total=3.0)
    sentences, stream, server = await answer(["hang"], mall_passages, deadlines=deadlines)
    assert loop.time() - started < 1.5
    assert server.requests == 2  # the timeout was retried once
    assert stream.outcome.fallback_reason == "first_token_timeout"
    assert sentences[0].startswith("The mall is open every day")


async def test_connection_lost_before_speech_is_retried(mall_passages: list[Passage]) -> None:
    sentences, _stream, server = await answer([["The mall is", "<drop>"], [HOURS_EN]], mall_passages)
    assert server.requests == 2 and sentences == ["The mall is open every day from 10 a.m. to 10 p.m."]


async def test_connection_lost_after_speech_began_ends_with_an_apology(mall_passages: list[Passage]) -> None:
    sentences, stream, server = await answer([[HOURS_EN, "Restaurants on Level 5", "<drop>"]], mall_passages)
    assert sentences == ["The mall is open every day from 10 a.m. to 10 p.m.", phrase("answer_incomplete", "en")]
    assert server.requests == 1  # not retried: the customer would hear the start twice
    assert stream.outcome.error is not None and stream.outcome.error.retryable and not stream.outcome.complete


async def test_unreachable_server_is_skipped_while_down(mall_passages: list[Passage]) -> None:
    async with ScriptedServer([500]) as server:
        health = HealthTracker(down_after=2, retry_after=60.0)
        answerer = FailoverAnswerer(qwen(server, health=health, retry=RetryPolicy(attempts=1)), ExtractiveAnswerer())
        retrieved = Retrieved(True, mall_passages)
        for _ in range(2):
            await run(answerer.answer("hours?", "en", retrieved, []))
        assert health.state is Health.DOWN and server.requests == 2
        stream = answerer.answer("hours?", "en", retrieved, [])
        assert (await run(stream))[0].startswith("The mall is open")
        assert stream.outcome.fallback_reason == "primary_down" and server.requests == 2


async def test_closing_the_stream_stops_the_model(mall_passages: list[Passage]) -> None:
    slow = [HOURS_EN] + [" Parking is on B1 and B2."] * 50
    async with ScriptedServer([slow]) as server:
        stream = qwen(server).answer("hours?", "en", Retrieved(True, mall_passages), [])
        first = await anext(stream)
        await stream.aclose()
        assert first.startswith("The mall is open")
        with pytest.raises(StopAsyncIteration):
            await anext(stream)


def test_health_states_and_probe() -> None:
    now = [0.0]
    health = HealthTracker(window=5, down_after=3, retry_after=10.0, clock=lambda: now[0])
    assert health.state is Health.HEALTHY
    health.record(True)
    health.record(False)
    assert health.state is Health.DEGRADED and health.should_try()
    health.record(False)
    health.record(False)
    assert health.state is Health.DOWN and not health.should_try()
    now[0] = 10.0
    assert health.should_try()  # one probe
    health.record(True)
    assert health.state is Health.DEGRADED
    for _ in range(5):
        health.record(True)
    assert health.state is Health.HEALTHY
