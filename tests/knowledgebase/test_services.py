"""Single-entry edits: validation, revisions, revert, and the index refresh after commit."""
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pytest

from common.errors import ApplicationError
from knowledgebase.indexing import index_version, kb_encoder, kb_index
from knowledgebase.models import FaqEntry, FaqRevision, FaqTranslation
from knowledgebase.restore_plan import RestoreChoice
from knowledgebase.services import (
    TranslationData,
    faq_create,
    faq_delete,
    faq_publish,
    faq_revert,
    faq_unpublish,
    faq_update,
)

pytestmark = pytest.mark.django_db
Capture = Callable[..., AbstractContextManager[Any]]

HOURS = {"en": TranslationData("When do you open?", "10 am to 10 pm.", ("Opening hours?",)),
         "zh": TranslationData("几点开门？", "上午10点到晚上10点。")}


def test_create_validates_and_starts_as_a_draft_with_a_revision() -> None:
    entry = faq_create(key="hours", translations=HOURS, tags=["Info Desk"])
    assert entry.status == FaqEntry.Status.DRAFT
    assert list(entry.tags.values_list("name", flat=True)) == ["info-desk"]
    revision = FaqRevision.objects.get(key="hours")
    assert revision.action == "create"
    assert revision.snapshot["translations"]["en"]["alternates"] == ["Opening hours?"]
    with pytest.raises(ApplicationError) as duplicate:
        faq_create(key="hours", translations=HOURS)
    assert duplicate.value.status == 409
    with pytest.raises(ApplicationError) as invalid:
        faq_create(key="x", translations={"fr": TranslationData("Q", "A"), "en": TranslationData(" ", "A")})
    assert invalid.value.extra["errors"] == {"fr": "not one of zh, yue, en, ja, ko", "en": "question and answer are required"}


def test_update_replaces_translations_side_by_side_and_keeps_unchanged_embeddings() -> None:
    entry = faq_create(key="hours", translations=HOURS)
    FaqTranslation.objects.update(embeddings=b"\1" * 8, embedding_model="m")
    faq_update(entry=entry, translations={
        "en": HOURS["en"],
        "ko": TranslationData("몇 시에 열어요?", "오전 10시부터 오후 10시까지입니다."),
    })
    translations = {t.language: t for t in entry.translations.all()}
    assert set(translations) == {"en", "ko"}  # zh was left out: removed
    assert translations["en"].embeddings is not None  # unchanged text keeps its vectors
    assert translations["ko"].embeddings is None
    assert [r.action for r in FaqRevision.objects.filter(key="hours")] == ["update", "create"]


def test_publish_unpublish_and_revert_to_an_earlier_revision() -> None:
    entry = faq_create(key="hours", translations=HOURS, tags=["info"])
    first = FaqRevision.objects.get(key="hours")
    faq_publish(entry=entry)
    faq_update(entry=entry, translations={"en": TranslationData("Hours?", "Always open.")}, tags=[])
    faq_revert(entry=entry, revision=first, choice=RestoreChoice(status=True, tags=True))  # everything, as chosen
    entry.refresh_from_db()
    assert entry.status == FaqEntry.Status.DRAFT
    assert {t.language: t.answer for t in entry.translations.all()} == {"en": "10 am to 10 pm.", "zh": "上午10点到晚上10点。"}
    assert list(entry.tags.values_list("name", flat=True)) == ["info"]
    faq_unpublish(entry=entry)
    assert [r.action for r in FaqRevision.objects.filter(key="hours")] == ["unpublish", "revert", "update", "publish", "create"]
    other = faq_create(key="other", translations=HOURS)
    with pytest.raises(ApplicationError):
        faq_revert(entry=other, revision=first)


def test_delete_keeps_the_history() -> None:
    entry = faq_create(key="hours", translations=HOURS)
    faq_delete(entry=entry)
    assert not FaqEntry.objects.exists() and not FaqTranslation.objects.exists()
    actions = list(FaqRevision.objects.filter(key="hours").values_list("action", "entry"))
    assert actions == [("delete", None), ("create", None)]


@pytest.mark.slow
def test_a_committed_change_is_embedded_and_announced(e5: None, django_capture_on_commit_callbacks: Capture) -> None:
    before = index_version()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        faq_create(key="hours", translations=HOURS)
        assert index_version() == before  # nothing happens before the commit
    assert len(callbacks) == 1
    assert index_version() != before
    translation = FaqTranslation.objects.get(entry__key="hours", language="en")
    encoder = kb_encoder()
    assert encoder is not None and translation.embedding_model == encoder.name
    vectors = np.frombuffer(bytes(translation.embeddings), dtype=np.float32).reshape(-1, encoder.dim)
    assert vectors.shape[0] == 4  # question, one alternate, answer, summary
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


@pytest.mark.slow
def test_the_rebuild_task_recomputes_every_embedding(e5: None) -> None:
    from knowledgebase.tasks import kb_index_rebuild

    entry = faq_create(key="hours", translations=HOURS)
    faq_publish(entry=entry)
    encoder = kb_encoder()
    assert encoder is not None
    stale = np.zeros((4, encoder.dim), dtype=np.float32).tobytes()  # right size and model name, wrong content
    FaqTranslation.objects.filter(language="en").update(embeddings=stale, embedding_model=encoder.name)
    before = index_version()
    assert kb_index_rebuild.delay().get() == 2
    assert index_version() != before
    vectors = np.frombuffer(bytes(FaqTranslation.objects.get(language="en").embeddings), dtype=np.float32)
    assert np.allclose(np.linalg.norm(vectors.reshape(4, encoder.dim), axis=1), 1.0, atol=1e-3)


@pytest.mark.slow
def test_vectors_of_an_earlier_encoder_are_replaced_when_the_index_builds(e5: None) -> None:
    entry = faq_create(key="hours", translations=HOURS)
    faq_publish(entry=entry)
    # what the knowledge base stored before USE joined e5: 384 dimensions under e5's name
    earlier = np.ones((4, 384), dtype=np.float32).tobytes()
    FaqTranslation.objects.update(embeddings=earlier, embedding_model="multilingual-e5-small-q4")
    loaded = kb_index()
    assert loaded.encoder is not None and loaded.index.dense
    assert set(FaqTranslation.objects.values_list("embedding_model", flat=True)) == {loaded.encoder.name}
    assert loaded.index.matrix.shape[1] == loaded.encoder.dim
