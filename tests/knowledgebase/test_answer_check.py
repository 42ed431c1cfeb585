"""The answer check (``knowledgebase.answer_check``): its prompt, the reading of the model's reply, and
search declining an answer the model says does not tell what was asked."""
import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from avatar_runtime.errors import ProviderError
from avatar_runtime.llm.local_server import MODEL_ALIAS, LocalLlamaServer, LocalServerConfig
from knowledgebase.answer_check import answer_check_messages, answer_check_score
from knowledgebase.llm import ChatModel
from knowledgebase.models import FaqEntry
from knowledgebase.selectors import faq_search
from knowledgebase.services import TranslationData, faq_create
from tests.avatar_runtime.llm.conftest import LOCAL_QWEN_MARKS, MODEL


def test_the_entry_is_fenced_after_fixed_examples_and_cut_short() -> None:
    messages = answer_check_messages("Can I bring my dog?", "Trolleys <<<END x>>>", "A" * 1000)
    again = answer_check_messages("Where are the toilets?", "Toilets", "Level 1.")
    # the rules and worked examples are the same for every question: a prefix a server can cache
    assert messages[:-1] == again[:-1] and messages[0]["role"] == "system"
    assert [m["role"] for m in messages[1:-1]] == ["user", "assistant"] * ((len(messages) - 2) // 2)
    last = messages[-1]["content"]
    assert last.startswith("Customer: Can I bring my dog?") and "Q: Trolleys <END x>" in last
    assert "A" * 240 in last and "A" * 241 not in last
    assert last.count("<<<ENTRY ") == 1 and last.count("<<<END ") == 1


def test_the_score_is_yes_against_no_over_any_case() -> None:
    score = answer_check_score([("Yes", math.log(0.5)), ("No", math.log(0.2)), (" no", math.log(0.2)), ("The", -3.0)])
    assert score == pytest.approx(math.log(0.5 / 0.4))
    only_no = answer_check_score([("no", -0.1), ("maybe", -3.0)])
    assert only_no is not None and only_no < -10  # "yes" not among the alternatives
    assert answer_check_score([("The", -0.1)]) is None


QUESTION = "Where can I leave my suitcase for a few hours?"
ENTRIES = {
    "left-luggage": ("Where is Left Luggage?", "Left Luggage is on Level 2, next to the taxi rank, 7 am to 11 pm."),
    "lost-property": ("I lost something on the train", "Ask at the Customer Service Centre on Level 1."),
}


@pytest.fixture
def venue(db: None, e5: None, settings: Any,
          django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]) -> None:
    settings.KB_CLOSE_CALLS = False  # the answer check alone
    settings.KB_ANSWER_CHECK, settings.KB_ANSWER_CHECK_FLOOR = True, -1.0
    with django_capture_on_commit_callbacks(execute=True):
        for key, (question, answer) in ENTRIES.items():
            faq_create(key=key, translations={"en": TranslationData(question, answer)}, status=FaqEntry.Status.PUBLISHED)


def _model_says(monkeypatch: pytest.MonkeyPatch, settings: Any, reply: list[tuple[str, float]] | Exception) -> list[Any]:
    """Configure a model server whose answer check replies ``reply``; the list collects each request."""
    settings.LLM_BASE_URL, settings.LLM_MODEL = "http://127.0.0.1:9/v1", "stand-in"
    asked: list[Any] = []

    def alternatives(self: ChatModel, messages: list[dict[str, str]], *, top: int, timeout: float) -> list[Any]:
        asked.append(messages)
        if isinstance(reply, Exception):
            raise reply
        return reply

    monkeypatch.setattr(ChatModel, "first_token_alternatives", alternatives)
    return asked


def test_without_a_model_search_is_unchanged(venue: None) -> None:
    result = faq_search(QUESTION, "en")
    assert result.answerable and result.answer_check is None and result.llm_ms == 0.0


@pytest.mark.parametrize(("reply", "answerable"), [
    ([("yes", math.log(0.3)), ("no", math.log(0.6))], True),  # -0.69: over the floor of -1.0
    ([("no", math.log(0.9)), ("yes", math.log(0.1))], False),  # -2.2: under it
    ([("The", -0.1)], True),  # no verdict: retrieval's answer stands
    (ProviderError("llm", "HTTP 503", retryable=True), True),
])
def test_the_model_declines_an_answer_that_does_not_tell_what_was_asked(
        venue: None, settings: Any, monkeypatch: pytest.MonkeyPatch, reply: Any, answerable: bool) -> None:
    asked = _model_says(monkeypatch, settings, reply)
    result = faq_search(QUESTION, "en")
    assert len(asked) == 1 and "Customer: " + QUESTION in asked[0][-1]["content"]
    assert "Left Luggage is on Level 2" in asked[0][-1]["content"]  # the first entry's answer is what is checked
    assert result.answerable is answerable and result.results[0].key == "left-luggage"


def test_a_declined_search_is_not_checked(venue: None, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _model_says(monkeypatch, settings, [("yes", 0.0)])
    result = faq_search("tell me a joke about penguins", "en")
    assert not result.answerable and asked == [] and result.answer_check is None


@pytest.fixture(scope="module")
def qwen() -> Iterator[ChatModel]:
    with LocalLlamaServer(LocalServerConfig(MODEL, n_threads=1)) as server:
        yield ChatModel(server.base_url, MODEL_ALIAS)


@pytest.mark.parametrize("question", [pytest.param(QUESTION, marks=LOCAL_QWEN_MARKS)])
def test_llama_cpp_gives_the_first_tokens_alternatives(qwen: ChatModel, question: str) -> None:
    """The real server on the real prompt (slow; skipped when the GGUF or xllamacpp is missing):
    a score comes back. The 0.5B model's verdicts are weak (bench/results/kb_answer_check_llm.md)."""
    alternatives = qwen.first_token_alternatives(answer_check_messages(question, *ENTRIES["left-luggage"]), top=10,
                                                 timeout=300)
    assert len(alternatives) == 10 and answer_check_score(alternatives) is not None
