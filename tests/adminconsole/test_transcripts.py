"""Transcript screens: roles, filters, the conversation view, clips, CSV export and the access log."""
import csv
import io
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from adminconsole.transcript_selectors import TranscriptFilters, conversation_list
from common.roles import Role
from conversations.models import Conversation, TranscriptAccess, Turn
from kiosk.models import Kiosk
from lipsync.models import TurnQaScore
from tests.adminconsole.conftest import Exchange

pytestmark = pytest.mark.django_db
MakeConversation = Callable[..., Conversation]


def _urls(conversation: Conversation) -> list[str]:
    turn = conversation.turns.get(index=0)
    return [reverse("console:transcript_list"), reverse("console:transcript_detail", args=[conversation.public_id]),
            reverse("console:transcript_clip", args=[turn.public_id, "audio"]), reverse("console:transcript_export"),
            reverse("console:dashboard"), reverse("api-transcript-list"),
            reverse("api-transcript-detail", args=[conversation.public_id])]


def test_staff_get_403_on_every_transcript_page_api_and_export(
    login: Callable[[Role | None], Client], kiosk: Kiosk, make_conversation: MakeConversation, spoken_wav: bytes
) -> None:
    conversation = make_conversation(kiosk, [Exchange("Where is the lost and found?")], audio=spoken_wav)
    staff = login(Role.STAFF)
    for url in _urls(conversation):
        assert staff.get(url).status_code == 403, url
    assert not TranscriptAccess.objects.exists()
    home = staff.get(reverse("console:home")).content.decode()
    assert reverse("console:transcript_list") not in home  # no link to a page they may not open


def test_anonymous_is_sent_to_log_in_and_the_api_refuses(kiosk: Kiosk, make_conversation: MakeConversation) -> None:
    conversation = make_conversation(kiosk, [Exchange("Hello?")])
    client = Client()
    response = client.get(reverse("console:transcript_detail", args=[conversation.public_id]))
    assert response.status_code == 302 and reverse("console:login") in response["Location"]
    assert client.get(reverse("api-transcript-list")).status_code == 401  # not logged in: challenged (Basic)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_read_transcripts_and_each_read_is_logged(
    login: Callable[[Role | None], Client], role: Role, kiosk: Kiosk, make_conversation: MakeConversation,
    spoken_wav: bytes,
) -> None:
    conversation = make_conversation(kiosk, [Exchange("Where is the lost and found?")], audio=spoken_wav)
    client = login(role)
    assert client.get(reverse("console:transcript_list")).status_code == 200
    page = client.get(reverse("console:transcript_detail", args=[conversation.public_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Where is the lost and found?" in html and "lost-and-found" in html and "0.91" in html
    customer = conversation.turns.get(index=0)
    clip = client.get(reverse("console:transcript_clip", args=[customer.public_id, "audio"]))
    assert clip.status_code == 200 and clip["Content-Type"] == "audio/x-wav"
    assert b"".join(clip.streaming_content) == spoken_wav  # type: ignore[attr-defined]
    assert "no-store" in clip["Cache-Control"]
    log = list(TranscriptAccess.objects.order_by("id").values_list("username", "action", "conversation_public_id",
                                                                   "turn_public_id"))
    assert log == [(role.name.lower(), "view", conversation.public_id, None),
                   (role.name.lower(), "clip", conversation.public_id, customer.public_id)]


def test_the_conversation_page_shows_turn_details_and_players(
    supervisor: Client, kiosk: Kiosk, make_conversation: MakeConversation, spoken_wav: bytes
) -> None:
    conversation = make_conversation(kiosk, [
        Exchange("Where is the lost and found?", interrupted=True),
        Exchange("Can I park a helicopter here?", answerable=False, answer="Sorry, I don't know. Staff can help."),
    ], audio=spoken_wav, handoff=True)
    html = supervisor.get(reverse("console:transcript_detail", args=[conversation.public_id])).content.decode()
    avatar = conversation.turns.get(index=1)
    assert html.count("<audio") == 4  # two customer recordings, two answers
    assert reverse("console:transcript_clip", args=[avatar.public_id, "answer"]) in html
    assert "Heard before the interruption" in html and "It is on l…" in html
    assert "Declined" in html and "Interrupted" in html
    assert "end_to_end" in html and ">900<" in html  # per-stage timings
    assert "/media/" not in html  # clips only through the access-checked view
    assert "could not answer this" in html


def test_turn_this_question_into_an_faq_links_to_the_prefilled_editor(
    supervisor: Client, kiosk: Kiosk, make_conversation: MakeConversation, settings: Any
) -> None:
    settings.ROOT_URLCONF = "tests.adminconsole.faq_editor_urls"
    conversation = make_conversation(kiosk, [Exchange("ヘリコプターを停められますか？", language="ja", answerable=False),
                                             Exchange("Where is the lost and found?")])
    html = supervisor.get(reverse("console:transcript_detail", args=[conversation.public_id])).content.decode()
    query = urlencode({"question": "ヘリコプターを停められますか？", "language": "ja"})
    url = "/console/faqs/new/?" + query.replace("&", "&amp;")
    assert html.count("Turn this question into an FAQ") == 1  # only the declined question
    assert url in html


def test_filters_narrow_the_list(kiosk: Kiosk, make_conversation: MakeConversation) -> None:
    other = Kiosk.objects.create(name="Car park kiosk", venue=kiosk.venue)
    answered = make_conversation(kiosk, [Exchange("Where is the toilet?")])
    declined = make_conversation(kiosk, [Exchange("¿Dónde está?", answerable=False), Exchange("Toilet?")])
    interrupted = make_conversation(other, [Exchange("トイレはどこですか", language="ja", interrupted=True)])
    handoff = make_conversation(other, [Exchange("화장실 어디예요?", language="ko")], handoff=True)
    old = make_conversation(kiosk, [Exchange("Old question")])
    Conversation.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(days=40))

    def ids(**filters: Any) -> set[uuid.UUID]:
        return {c.public_id for c in conversation_list(filters=TranscriptFilters(**filters))}

    assert ids() == {c.public_id for c in (answered, declined, interrupted, handoff, old)}
    assert ids(kiosk_id=other.pk) == {interrupted.public_id, handoff.public_id}
    assert ids(language="ja") == {interrupted.public_id}
    assert ids(outcome="declined") == {declined.public_id}
    assert declined.public_id not in ids(outcome="answered") and answered.public_id in ids(outcome="answered")
    assert ids(interrupted=True) == {interrupted.public_id}
    assert interrupted.public_id not in ids(interrupted=False)
    assert ids(handoff=True) == {handoff.public_id}
    assert ids(date_to=(timezone.now() - timedelta(days=30)).date()) == {old.public_id}
    assert old.public_id not in ids(date_from=(timezone.now() - timedelta(days=7)).date())
    row = conversation_list(filters=TranscriptFilters(outcome="declined")).get()
    assert (row.turn_count, row.answered_count, row.declined_count, row.first_question) == (4, 1, 1, "¿Dónde está?")


def test_the_list_page_filters_by_query_string_and_rejects_bad_input(
    supervisor: Client, kiosk: Kiosk, make_conversation: MakeConversation
) -> None:
    make_conversation(kiosk, [Exchange("Where is the toilet?")])
    make_conversation(kiosk, [Exchange("Parking for helicopters?", answerable=False)])
    html = supervisor.get(reverse("console:transcript_list"), {"outcome": "declined"}).content.decode()
    assert "Parking for helicopters?" in html and "Where is the toilet?" not in html
    bad = supervisor.get(reverse("console:transcript_list"), {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert bad.status_code == 200 and "The start date is after the end date." in bad.content.decode()
    export = supervisor.get(reverse("console:transcript_export"), {"language": "xx"})
    assert export.status_code == 400 and "transcript_filter_invalid" in export.content.decode()


def _score(conversation: Conversation, confidence: float, offset: int = 0) -> None:
    answer = conversation.turns.get(role=Turn.Role.AVATAR)
    TurnQaScore.objects.create(turn=answer, scorer="embedded", offset_frames=offset, confidence=confidence,
                               min_dist=1.0 - confidence, language=answer.language, scored_at=timezone.now())


def test_lip_sync_scores_filter_and_show_in_the_list_and_the_conversation(
    supervisor: Client, kiosk: Kiosk, make_conversation: MakeConversation
) -> None:
    low = make_conversation(kiosk, [Exchange("Where is the toilet?")])
    good = make_conversation(kiosk, [Exchange("Where is the exit?")])
    make_conversation(kiosk, [Exchange("Is there a cafe?")])  # not scored
    _score(low, 0.21, offset=3)
    _score(good, 0.93)
    page = supervisor.get(reverse("console:transcript_list"), {"qa_below": "0.5"}).content.decode()
    assert "1 conversation" in page and "Where is the toilet?" in page and "0.21" in page
    flagged = supervisor.get(reverse("api-transcript-list"), {"qa_flagged": "true"}).json()
    assert [c["id"] for c in flagged["results"]] == [str(low.public_id)]
    unflagged = supervisor.get(reverse("api-transcript-list"), {"qa_flagged": "false"}).json()
    assert {c["id"] for c in unflagged["results"]} == {str(c.public_id) for c in Conversation.objects.exclude(pk=low.pk)}
    detail = supervisor.get(reverse("console:transcript_detail", args=[low.public_id])).content.decode()
    assert "confidence 0.21" in detail and "offset 3" in detail


def test_list_query_count_is_bounded(
    supervisor: Client, kiosk: Kiosk, make_conversation: MakeConversation, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        make_conversation(kiosk, [Exchange(f"Question {i}?"), Exchange("And another?", answerable=i % 2 == 0)],
                          handoff=i % 5 == 0)
    supervisor.get(reverse("console:transcript_list"))  # session and role lookups warm up
    with django_assert_max_num_queries(12):
        response = supervisor.get(reverse("console:transcript_list"), {"page": 2})
    assert response.status_code == 200 and "Page 2 of 2" in response.content.decode()
    with django_assert_max_num_queries(10):
        api = supervisor.get(reverse("api-transcript-list"))
    assert api.json()["count"] == 30 and len(api.json()["results"]) == 25


def test_csv_export_escapes_formulas_streams_every_turn_and_is_logged(
    supervisor: Client, kiosk: Kiosk, make_conversation: MakeConversation
) -> None:
    make_conversation(kiosk, [Exchange('=HYPERLINK("http://evil.example","click")', answerable=False),
                              Exchange("@SUM(A1:A2)")])
    make_conversation(kiosk, [Exchange("Not declined", language="ja")])
    response = supervisor.get(reverse("console:transcript_export"), {"outcome": "declined"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 4  # two exchanges of the declined conversation, customer and avatar turns
    assert rows[0]["text"] == "'=HYPERLINK(\"http://evil.example\",\"click\")" and rows[2]["text"] == "'@SUM(A1:A2)"
    assert rows[1]["answerable"] == "false" and rows[3]["retrieved"] == "lost-and-found:0.83"
    entry = TranscriptAccess.objects.get()
    assert (entry.action, entry.detail["filters"], entry.detail["conversations"]) == ("export", {"outcome": "declined"}, 1)


def test_access_log_page_is_for_admins(
    login: Callable[[Role | None], Client], kiosk: Kiosk, make_conversation: MakeConversation
) -> None:
    conversation = make_conversation(kiosk, [Exchange("Where is the toilet?")])
    supervisor = login(Role.SUPERVISOR)
    supervisor.get(reverse("console:transcript_detail", args=[conversation.public_id]))
    assert supervisor.get(reverse("console:transcript_access_log")).status_code == 403
    admin = login(Role.ADMIN)
    html = admin.get(reverse("console:transcript_access_log")).content.decode()
    assert "supervisor" in html and "Viewed a conversation" in html and str(conversation.public_id)[:8] in html


def test_missing_conversation_and_clip_are_404(supervisor: Client, kiosk: Kiosk,
                                               make_conversation: MakeConversation) -> None:
    conversation = make_conversation(kiosk, [Exchange("Where is the toilet?")])  # no audio stored
    assert supervisor.get(reverse("console:transcript_detail", args=[uuid.uuid4()])).status_code == 404
    turn = conversation.turns.get(index=0)
    assert supervisor.get(reverse("console:transcript_clip", args=[turn.public_id, "audio"])).status_code == 404
    assert supervisor.get(reverse("console:transcript_clip", args=[turn.public_id, "video"])).status_code == 404
    api = supervisor.get(reverse("api-transcript-detail", args=[uuid.uuid4()]))
    assert api.status_code == 404 and api.json()["error"]["code"] == "conversation_not_found"
    assert not TranscriptAccess.objects.exists()


def test_api_detail_returns_turns_with_clip_urls_and_logs_the_read(
    supervisor: Client, kiosk: Kiosk, make_conversation: MakeConversation, spoken_wav: bytes
) -> None:
    conversation = make_conversation(kiosk, [Exchange("Where is the lost and found?")], audio=spoken_wav)
    data = supervisor.get(reverse("api-transcript-detail", args=[conversation.public_id])).json()
    assert [t["role"] for t in data["turns"]] == [Turn.Role.CUSTOMER, Turn.Role.AVATAR]
    customer, avatar = data["turns"]
    assert customer["asr_confidence"] == 0.91 and customer["audio_clip"].endswith(f"/{customer['id']}/audio/")
    assert avatar["retrieved"] == [{"key": "lost-and-found", "score": 0.83}] and avatar["timings"]["end_to_end"] == 900
    assert supervisor.get(avatar["answer_clip"]).status_code == 200
    assert list(TranscriptAccess.objects.order_by("id").values_list("action", flat=True)) == ["view", "clip"]
    assert TranscriptAccess.objects.order_by("id").first().detail == {"channel": "api"}  # type: ignore[union-attr]


def test_openapi_documents_the_transcript_api(supervisor: Client) -> None:
    schema = supervisor.get(reverse("api-schema"), {"format": "json"}).json()
    assert "/api/transcripts/" in schema["paths"] and "/api/transcripts/{public_id}/" in schema["paths"]


def test_the_transcript_screens_speak_chinese(supervisor: Client, kiosk: Kiosk,
                                              make_conversation: MakeConversation) -> None:
    make_conversation(kiosk, [Exchange("洗手间在哪里？", language="zh", answerable=False)])
    html = supervisor.get(reverse("console:transcript_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "对话记录" in html and "未能回答" in html and "1 次对话" in html and "数据看板" in html


def test_the_conversation_says_which_voice_spoke_each_answer(
    supervisor: Client, kiosk: Kiosk, make_conversation: MakeConversation
) -> None:
    conversation = make_conversation(kiosk, [
        Exchange("Where is the lost and found?", voice="edge:en-US-AvaNeural", spoken_voice="edge:en-US-AvaNeural"),
        Exchange("Is there wifi?", voice="edge:en-US-AvaNeural", spoken_voice="piper:en_US-joe-medium"),
    ])
    html = supervisor.get(reverse("console:transcript_detail", args=[conversation.public_id])).content.decode()
    spoke = re.findall(r'data-spoken-voice="([^"]+)"', html)
    assert spoke == ["edge:en-US-AvaNeural", "piper:en_US-joe-medium"]
    assert html.count("Fallback voice") == 1 and "The configured voice edge:en-US-AvaNeural did not speak it." in html
    data = supervisor.get(reverse("api-transcript-detail", args=[conversation.public_id])).json()
    answers = [(t["voice"], t["spoken_voice"]) for t in data["turns"] if t["role"] == Turn.Role.AVATAR]
    assert answers == [("edge:en-US-AvaNeural", "edge:en-US-AvaNeural"),
                       ("edge:en-US-AvaNeural", "piper:en_US-joe-medium")]
    customer = next(t for t in data["turns"] if t["role"] == Turn.Role.CUSTOMER)
    assert (customer["voice"], customer["spoken_voice"]) == ("", "")
