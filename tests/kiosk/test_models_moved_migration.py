"""kiosk 0008 and adminconsole 0002: a database filled before the models moved to their apps
(avatars, conversations, lipsync, audit) migrates forward with every row kept.

The "old" database is the migration state of the day before the move: the moved apps unapplied,
kiosk at 0007, adminconsole at 0001. It is filled through that state's historical models, then
migrated to today's leaves and read back through today's models.
"""
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Model

from audit.models import AuditEntry
from avatars.models import Avatar, VoiceSetting
from conversations.models import Conversation, HandoffRequest, TranscriptAccess, Turn
from kiosk.models import Kiosk, Venue
from knowledgebase.models import FaqEntry, FaqRevision, FaqTranslation, Tag
from lipsync.models import QaFlag, TurnQaScore

BEFORE_THE_MOVE = {"kiosk": "0007_kiosk_state", "adminconsole": "0001_console_audit_log",
                   "knowledgebase": "0003_kb_document_chunks"}
MOVED_APPS = ("avatars", "conversations", "lipsync", "audit")
# (app, model) in the old state -> today's model
MOVED: dict[tuple[str, str], type[Model]] = {
    ("kiosk", "Venue"): Venue, ("kiosk", "Kiosk"): Kiosk,
    ("kiosk", "Avatar"): Avatar, ("kiosk", "VoiceSetting"): VoiceSetting,
    ("kiosk", "Conversation"): Conversation, ("kiosk", "Turn"): Turn, ("kiosk", "HandoffRequest"): HandoffRequest,
    ("kiosk", "TranscriptAccess"): TranscriptAccess,
    ("kiosk", "TurnQaScore"): TurnQaScore, ("kiosk", "QaFlag"): QaFlag,
    ("adminconsole", "AuditEntry"): AuditEntry,
    ("knowledgebase", "Tag"): Tag, ("knowledgebase", "FaqEntry"): FaqEntry,
    ("knowledgebase", "FaqTranslation"): FaqTranslation, ("knowledgebase", "FaqRevision"): FaqRevision,
}
WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _rows(model: Any) -> list[dict[str, Any]]:
    return list(model.objects.order_by("pk").values())


def _migrate(targets: list[tuple[str, str | None]]) -> Apps:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # what was applied changed: read it again
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _fill(old: Apps) -> None:
    """Conversations, turns with clips, QA scores and a flag, FAQs, avatars: one of everything."""
    user = old.get_model("auth", "User").objects.create(username="supervisor")
    m = {name: old.get_model(app, name) for app, name in MOVED}
    venue = m["Venue"].objects.create(name="Harbour Point Mall", address="1 Harbour Road")
    avatar = m["Avatar"].objects.create(name="Astronaut", source="avatars/astronaut.png", status="ready",
                                        face_box=[10, 20, 200, 260], mouth_box=[80, 180, 140, 210], mouth_confidence=0.9,
                                        preview_clip="avatars/preview/astronaut.mp4", license_note="Public domain")
    m["Avatar"].objects.create(name="Spare", video="avatars/video/spare.mp4", status="failed",
                               preparation_error="no face")
    m["VoiceSetting"].objects.create(language="yue", backend="edge", voice_name="zh-HK-HiuMaanNeural", rate=1.1,
                                     fallback_backend="espeak", fallback_voice_name="yue")
    kiosk = m["Kiosk"].objects.create(name="Lobby kiosk", venue=venue, avatar=avatar, languages=["en", "yue"],
                                      default_language="yue", greetings={"en": "Hello!"}, token_hash="ab" * 32,
                                      paired_at=WHEN, last_seen_at=WHEN, state="idle")
    conversation = m["Conversation"].objects.create(public_id=uuid.uuid4(), kiosk=kiosk, status="ended",
                                                    languages=["yue"], handoff_requested=True, ended_at=WHEN,
                                                    end_reason="inactivity")
    m["Turn"].objects.create(conversation=conversation, public_id=uuid.uuid4(), index=0, role="customer",
                             text="洗手間喺邊度？", language="yue", asr_confidence=0.92, timings={"asr": 310.5},
                             audio_clip="clips/customer/2026/11/30/q.wav", complete=True)
    answer = m["Turn"].objects.create(conversation=conversation, public_id=uuid.uuid4(), index=1, role="avatar",
                                      text="洗手間喺二樓。", heard_text="洗手間", interrupted=True, language="yue",
                                      retrieved=[{"key": "toilets", "score": 0.81}], answerable=True,
                                      answer_backend="extractive", voice="edge:zh-HK-HiuMaanNeural",
                                      answer_clip="clips/answer/2026/11/30/a.mp4", complete=True)
    m["HandoffRequest"].objects.create(conversation=conversation, kiosk=kiosk, resolved_at=WHEN)
    m["TurnQaScore"].objects.create(turn=answer, scorer="embedded", offset_frames=1, confidence=0.42, min_dist=7.5,
                                    avatar=avatar, voice=answer.voice, language="yue", scored_at=WHEN)
    m["TurnQaScore"].objects.create(turn=answer, scorer="syncnet", error_code="qa_model_missing",
                                    error="syncnet weights missing", scored_at=WHEN)
    m["QaFlag"].objects.create(subject="avatar", subject_key=str(avatar.pk), subject_label=avatar.name,
                               scorer="embedded", reason="low_confidence", mean_confidence=0.42, mean_abs_offset=1.0,
                               threshold=0.5, window=3, turn=answer, raised_at=WHEN, acknowledged_at=WHEN,
                               acknowledged_by=user, note="checked")
    m["TranscriptAccess"].objects.create(user=user, username="supervisor", action="clip",
                                         conversation_public_id=conversation.public_id, turn_public_id=answer.public_id,
                                         detail={"clip": "answer"})
    m["AuditEntry"].objects.create(actor=user, actor_name="supervisor", action="kiosk.avatar", target_type="kiosk.kiosk",
                                   target_id=str(kiosk.pk), target_label=kiosk.name, before={"avatar": None},
                                   after={"avatar": avatar.pk}, ip="10.0.0.7")
    tag = m["Tag"].objects.create(name="facilities")
    faq = m["FaqEntry"].objects.create(key="toilets", created_by=user)
    faq.tags.add(tag)
    m["FaqTranslation"].objects.create(entry=faq, language="yue", question="洗手間喺邊度？", answer="二樓。",
                                       alternates=["廁所喺邊"])
    m["FaqRevision"].objects.create(entry=faq, key="toilets", action="create", snapshot={"key": "toilets"}, user=user)


@pytest.mark.django_db(transaction=True)
def test_a_database_filled_before_the_move_migrates_forward_with_every_row() -> None:
    executor = MigrationExecutor(connection)
    today = executor.loader.graph.leaf_nodes()
    before = [(app, BEFORE_THE_MOVE.get(app, name)) for app, name in today if app not in MOVED_APPS]
    old = _migrate([*before, *((app, None) for app in MOVED_APPS)])
    with pytest.raises(LookupError):
        old.get_app_config("avatars")
    content_types = old.get_model("contenttypes", "ContentType").objects
    old_type_ids = {model: content_types.get_or_create(app_label=app, model=model.lower())[0].pk
                    for app, model in (("kiosk", "Avatar"), ("kiosk", "Turn"), ("kiosk", "QaFlag"),
                                       ("adminconsole", "AuditEntry"))}
    _fill(old)
    rows_before = {key: _rows(old.get_model(*key)) for key in MOVED}
    tags_before = _rows(old.get_model("knowledgebase", "FaqEntry").tags.through)

    _migrate(today)

    for key, model in MOVED.items():
        # Compared on the columns of the day: those added since (a hand-off's status, a venue's
        # alerts) are no part of the move.
        columns = rows_before[key][0].keys() if rows_before[key] else ()
        rows_after = [{column: row[column] for column in columns} for row in _rows(model)]
        assert rows_after == rows_before[key], f"{key} -> {model._meta.label}"
    assert _rows(FaqEntry.tags.through) == tags_before
    assert all(rows_before[key] for key in MOVED), "every model had rows to carry"
    # Today's models read the old rows, relations and files included.
    answer = Turn.objects.select_related("conversation__kiosk__avatar").get(role="avatar")
    assert answer.conversation.kiosk is not None and answer.conversation.kiosk.avatar is not None
    assert answer.conversation.kiosk.avatar.name == "Astronaut"
    assert answer.answer_clip.name == "clips/answer/2026/11/30/a.mp4" and answer.heard_text == "洗手間"
    assert sorted(s.scorer for s in answer.qa_scores.all()) == ["embedded", "syncnet"]
    assert QaFlag.objects.get().acknowledged_by.username == "supervisor"
    # conversations 0002: a request from before the hand-off desk keeps its outcome, not a new "open".
    assert HandoffRequest.objects.get().status == HandoffRequest.Status.RESOLVED
    assert list(Kiosk.objects.get().conversations.all()) == [answer.conversation]
    # Content types follow the models (permissions keep their rows), and new rows get fresh ids.
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    for model, type_id in old_type_ids.items():
        assert ContentType.objects.get(pk=type_id).model_class().__name__ == model
    assert ContentType.objects.get(pk=old_type_ids["Avatar"]).app_label == "avatars"
    added = Turn.objects.create(conversation=answer.conversation, public_id=uuid.uuid4(), index=2, role="customer")
    assert added.pk > answer.pk
