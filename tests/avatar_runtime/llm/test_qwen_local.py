"""The qwen-agent path against a real model: Qwen2.5-0.5B-Instruct served in-process by llama.cpp.

Needs ``python manage.py provision_models qwen2.5-0.5b-gguf`` and xllamacpp; skipped otherwise.
Greedy decoding (temperature 0) and short answers keep it deterministic and quick.
"""
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from avatar_runtime.errors import ModelMissingError, ProviderError
from avatar_runtime.health import Health, HealthRegistry, HealthTracker
from avatar_runtime.llm.base import Passage, Retrieved
from avatar_runtime.llm.extractive import ExtractiveAnswerer
from avatar_runtime.llm.failover import FailoverAnswerer
from avatar_runtime.llm.grounding import GroundingGuard, Verdict, is_decline
from avatar_runtime.llm.local_server import MODEL_ALIAS, LocalLlamaServer, LocalServerConfig
from avatar_runtime.llm.prompt import build_messages
from avatar_runtime.llm.qwen import QwenAnswerer, RetryPolicy
from avatar_runtime.llm.qwen_client import Deadlines, QwenClient, QwenSettings
from avatar_runtime.text.scripts import fits_language
from avatar_runtime.text.sentences import split_text
from common.priority import INFERENCE_NICE
from tests.avatar_runtime.llm.conftest import LOCAL_QWEN_MARKS, MODEL, PATIENT

pytestmark = LOCAL_QWEN_MARKS


@pytest.fixture(scope="module")
def server() -> Iterator[LocalLlamaServer]:
    with LocalLlamaServer(LocalServerConfig(MODEL)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: LocalLlamaServer) -> QwenClient:
    return QwenClient(QwenSettings(base_url=server.base_url, model=MODEL_ALIAS, max_tokens=60, temperature=0.0))


def failover(client: QwenClient) -> FailoverAnswerer:
    return FailoverAnswerer(QwenAnswerer(client, deadlines=PATIENT), ExtractiveAnswerer())


def test_server_is_openai_compatible_on_loopback(server: LocalLlamaServer) -> None:
    assert server.address.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as response:  # noqa: S310 - loopback
        models = json.loads(response.read())
    assert MODEL_ALIAS in json.dumps(models)


def test_the_server_runs_below_the_avatars_media(server: LocalLlamaServer) -> None:
    """All of llama.cpp's threads give way to the renderer and the WebRTC sender (common.priority)."""
    tasks = Path(f"/proc/{server.pid}/task").glob("*/stat")
    nice_values = {int(stat.read_text().rsplit(")", 1)[1].split()[16]) for stat in tasks}  # field 19: nice
    assert len(nice_values) == 1 and nice_values.pop() >= INFERENCE_NICE


def test_a_stopped_server_no_longer_listens() -> None:
    with LocalLlamaServer(LocalServerConfig(MODEL, n_ctx=512)) as extra:
        address = extra.address
        with urllib.request.urlopen(f"{address}/health", timeout=5) as response:  # noqa: S310 - loopback
            assert json.loads(response.read())["status"] == "ok"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{address}/health", timeout=2)  # noqa: S310 - loopback


def test_stopping_with_a_request_still_streaming_returns_promptly() -> None:
    """A turn that missed its deadline leaves its request open; stopping must not wait for it."""
    with LocalLlamaServer(LocalServerConfig(MODEL, n_ctx=512)) as extra:
        body = json.dumps({"model": MODEL_ALIAS, "stream": True, "max_tokens": 400,
                           "messages": [{"role": "user", "content": "Count from 1 to 200."}]}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{extra.base_url}/chat/completions", data=body, headers={"Content-Type": "application/json"})
        abandoned = urllib.request.urlopen(request, timeout=30)  # noqa: S310 - loopback
        abandoned.readline()  # the answer has started streaming
        started = time.monotonic()
    assert time.monotonic() - started < 10
    abandoned.close()


def test_a_file_that_is_not_a_model_fails_permanently(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"GGUF" + bytes(1000))
    with pytest.raises(ProviderError) as caught:
        LocalLlamaServer(LocalServerConfig(bogus)).start()
    assert not caught.value.retryable and "model.gguf" in str(caught.value)


def test_a_missing_model_names_the_provisioning_command(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError) as caught:
        LocalLlamaServer(LocalServerConfig(tmp_path / "absent.gguf")).start()
    assert "provision_models qwen2.5-0.5b-gguf" in str(caught.value)


@pytest.mark.parametrize(
    ("language", "question", "fact"),
    [
        ("en", "What time does the mall open?", "10"),
        ("zh", "商场几点开门？", "10"),
        ("ja", "モールは何時に開きますか？", "10"),
    ],
)
async def test_answer_comes_from_the_entries_in_the_customers_language(
    client: QwenClient, mall_passages: list[Passage], language: str, question: str, fact: str
) -> None:
    stream = failover(client).answer(question, language, Retrieved(True, mall_passages), [])
    text = " ".join([s async for s in stream])
    assert stream.outcome.answered_by == "qwen", stream.outcome
    assert fact in text
    assert fits_language(text, language), text
    guard = GroundingGuard(mall_passages, language)
    assert all(guard.judge(s).verdict.acceptable for s in split_text(text))


async def test_out_of_scope_question_is_declined_and_the_invented_answer_never_spoken(
    client: QwenClient, mall_passages: list[Passage]
) -> None:
    """Asked "Can I bring my dog?", the small model makes up a rule; the guard catches it and the customer hears the decline."""
    retrieved = Retrieved(False, mall_passages)
    question = "Can I bring my dog into the mall?"
    raw = "".join([d async for d in client.stream(build_messages(question, "en", mall_passages, []),
                                                   language="en", deadlines=PATIENT)])
    invented = split_text(raw)[0]
    assert GroundingGuard(mall_passages, "en").judge(invented).verdict is Verdict.UNGROUNDED, raw

    stream = failover(client).answer(question, "en", retrieved, [])
    spoken = [s async for s in stream]
    assert (stream.outcome.answered_by, stream.outcome.fallback_reason) == ("extractive", "ungrounded")
    assert spoken == [s async for s in ExtractiveAnswerer().answer(question, "en", retrieved, [])]
    assert is_decline(spoken[0]) and "staff" in spoken[1]
    assert invented not in spoken


async def test_a_missed_deadline_on_the_real_server_hands_the_turn_over_and_reports_llm_health(
    client: QwenClient, mall_passages: list[Passage]
) -> None:
    """No model answers within 10 ms on two CPU cores: both attempts time out, extractive answers the turn."""
    registry = HealthRegistry()
    health = HealthTracker(down_after=2, component="llm", backend="qwen", fallback="extractive", registry=registry)
    qwen = QwenAnswerer(client, deadlines=Deadlines(first_token=0.01, total=2.0),
                        retry=RetryPolicy(attempts=2, backoff=0.01), health=health)
    retrieved = Retrieved(True, mall_passages)
    question = "What time does the mall open?"
    stream = FailoverAnswerer(qwen, ExtractiveAnswerer()).answer(question, "en", retrieved, [])
    spoken = [s async for s in stream]
    assert (stream.outcome.answered_by, stream.outcome.fallback_reason) == ("extractive", "first_token_timeout")
    assert spoken == [s async for s in ExtractiveAnswerer().answer(question, "en", retrieved, [])]
    status = registry.get("llm")
    assert status is not None and (status.state, status.backend) == (Health.DEGRADED, "extractive")
    assert status.reason == "qwen down: first_token_timeout; extractive serves"
    # While down, the next turn skips the server at once.
    again = FailoverAnswerer(qwen, ExtractiveAnswerer()).answer(question, "en", retrieved, [])
    assert [s async for s in again] == spoken and again.outcome.fallback_reason == "primary_down"
