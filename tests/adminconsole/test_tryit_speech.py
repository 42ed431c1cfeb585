"""The "try it" box runs the kiosk's retrieval and answerer; the play button gets a real WAV."""
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
import soundfile as sf
from django.test import Client

from common.roles import Role
from knowledgebase.document_services import document_create
from knowledgebase.indexing import index_version_bump
from knowledgebase.services import TranslationData, faq_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def eager_and_fresh_index(celery_eager: None) -> Iterator[None]:
    index_version_bump()
    yield
    index_version_bump()


@pytest.mark.slow
def test_try_it_shows_retrieval_and_the_answer_and_follows_an_edit(
    login: Callable[..., Client], django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]
) -> None:
    staff = login(Role.STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        faq_create(key="toilets", status="published", translations={
            "en": TranslationData("Where is the toilet?", "The restrooms are on Level 2 next to the food court."),
            "zh": TranslationData("洗手间在哪里？", "洗手间在二楼美食广场旁边。")})
        faq_create(key="parking", status="published", translations={
            "en": TranslationData("Where can I park my car?", "The car park is on B2 and B3.")})
    response = staff.get("/console/faqs/try/", {"q": "where can I find a toilet", "language": "en"},
                         HTTP_X_CONSOLE_FRAGMENT="1")
    assert response.status_code == 200
    fragment = response.content.decode()
    assert 'data-answerable="true"' in fragment
    assert "Level 2 next to the food court" in fragment
    assert fragment.index(">toilets</a>") < fragment.index(">parking</a>")  # ranked first
    assert "<html" not in fragment  # a fragment for the page's script

    edit = {"key": "toilets", "tags": "", "en-question": "Where is the toilet?",
            "en-answer": "The restrooms are on Level 3 beside the cinema.", "en-alternates": "",
            "zh-question": "洗手间在哪里？", "zh-answer": "洗手间在二楼美食广场旁边。", "zh-alternates": ""}
    for code in ("yue", "ja", "ko"):
        edit.update({f"{code}-question": "", f"{code}-answer": "", f"{code}-alternates": ""})
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post("/console/faqs/toilets/", edit).status_code == 302
    page = staff.get("/console/faqs/try/", {"q": "where can I find a toilet", "language": "en"}).content.decode()
    assert "Level 3 beside the cinema" in page and "<html" in page
    chinese = staff.get("/console/faqs/try/", {"q": "厕所在哪", "language": "zh"}).content.decode()
    assert "洗手间在二楼美食广场旁边。" in chinese


def test_try_it_links_a_document_passage_to_its_document_and_an_faq_to_its_editor(
    login: Callable[..., Client], django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        guide = document_create(content=b"# Lockers\n\nLuggage lockers are on B1 near the MTR walkway.\n",
                                filename="guide.md", language="en")
        faq_create(key="lockers-fees", status="published", translations={
            "en": TranslationData("How much do the luggage lockers cost?", "Lockers cost 30 dollars a day.")})
    response = login(Role.STAFF).get("/console/faqs/try/", {"q": "where are the luggage lockers", "language": "en"},
                                      HTTP_X_CONSOLE_FRAGMENT="1")
    assert response.status_code == 200
    fragment = response.content.decode()
    assert f'<a href="/console/documents/{guide.pk}/">doc:{guide.pk}#0</a>' in fragment
    assert '<a href="/console/faqs/lockers-fees/">lockers-fees</a>' in fragment


def test_try_it_refuses_an_empty_question(login: Callable[..., Client]) -> None:
    response = login(Role.STAFF).get("/console/faqs/try/", {"q": "", "language": "en"}, HTTP_X_CONSOLE_FRAGMENT="1")
    assert response.status_code == 400
    assert "required" in response.content.decode()


def test_speech_speaks_the_text_with_the_configured_voice(login: Callable[..., Client]) -> None:
    staff = login(Role.STAFF)
    response = staff.get("/console/speech.wav", {"text": "洗手间在二楼。", "language": "zh"})
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    assert response["X-Spoken-By"] == "kokoro/zf_xiaobei"
    audio, rate = sf.read(io.BytesIO(response.content))
    assert rate == 24000 and len(audio) / rate > 0.8
    assert float((audio**2).mean()) ** 0.5 > 0.01  # speech, not silence


def test_speech_refuses_bad_input_and_anonymous_users(login: Callable[..., Client], client: Client) -> None:
    staff = login(Role.STAFF)
    assert staff.get("/console/speech.wav", {"text": "hi", "language": "fr"}).status_code == 400
    assert staff.get("/console/speech.wav", {"text": "x" * 601, "language": "en"}).status_code == 400
    unknown = staff.get("/console/speech.wav", {"text": "hi", "language": "en", "backend": "piper", "voice": "nope"})
    assert unknown.status_code == 400 and "no voice 'nope'" in unknown.content.decode()
    assert client.get("/console/speech.wav", {"text": "hi", "language": "en"}).status_code == 302
