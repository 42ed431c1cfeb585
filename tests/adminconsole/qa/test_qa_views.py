"""The lip-sync QA console screens: roles, the confidence chart, flags and their acknowledgement, clips."""
import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from avatar_runtime.qa.base import SyncScore
from common.roles import Role
from conversations.models import TranscriptAccess
from lipsync.models import QaFlag, TurnQaScore
from lipsync.services import turn_qa_record
from tests.conftest import TEST_PASSWORD


def client_for(make_user, role: Role | None, name: str = "") -> Client:  # type: ignore[no-untyped-def]
    user = make_user(name or (role.name.lower() if role else "nobody"), role)
    client = Client()
    assert client.login(username=user.get_username(), password=TEST_PASSWORD)
    return client


def scored(avatar_turn, confidence: float, *, days_ago: float = 0, offset: int = 0, **turn: str) -> TurnQaScore:  # type: ignore[no-untyped-def]
    score = turn_qa_record(turn=avatar_turn(clip=b"\x00\x00\x00\x18ftypmp42 answer", **turn), scorer="embedded",
                           result=SyncScore("embedded", offset, confidence, 0.5))
    TurnQaScore.objects.filter(pk=score.pk).update(scored_at=timezone.now() - datetime.timedelta(days=days_ago))
    return score


@pytest.fixture
def history(avatar_turn) -> list[TurnQaScore]:  # type: ignore[no-untyped-def]
    """Two avatars over three days; the Robot's lips drift out of sync, in Japanese.

    Whole days apart, so each score falls on a calendar day of its own whatever the time of day the test runs at
    (a score 0.01 days old fell on yesterday's date shortly after midnight, beside the one a day old).
    """
    scores = []
    for days_ago in (2.0, 1.0, 0.0):
        scores.append(scored(avatar_turn, 0.9, days_ago=days_ago, avatar="Astronaut", language="en"))
        scores.append(scored(avatar_turn, 0.3, days_ago=days_ago, avatar="Robot", language="ja", voice="edge:ja-JP-NanamiNeural"))
    return scores


@pytest.mark.parametrize("url", ["/console/qa/", "/console/qa/flags/"])
def test_screens_are_for_supervisors_and_admins(url: str, make_user, history) -> None:  # type: ignore[no-untyped-def]
    assert client_for(make_user, Role.STAFF).get(url).status_code == 403
    assert client_for(make_user, None).get(url).status_code == 403
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/console/login/")
    assert client_for(make_user, Role.SUPERVISOR).get(url).status_code == 200
    assert client_for(make_user, Role.ADMIN).get(url).status_code == 200


def test_staff_cannot_acknowledge_or_watch(make_user, history) -> None:  # type: ignore[no-untyped-def]
    flag = QaFlag.objects.filter(subject="avatar").get()
    staff = client_for(make_user, Role.STAFF)
    assert staff.post(reverse("console:qa_flag_acknowledge", args=[flag.pk])).status_code == 403
    assert staff.get(reverse("console:qa_turn_clip", args=[flag.turn_id])).status_code == 403
    flag.refresh_from_db()
    assert flag.acknowledged_at is None
    home = staff.get("/console/").content.decode()
    assert "/console/qa/" not in home  # no link to a screen staff cannot open
    assert "/console/qa/" in client_for(make_user, Role.SUPERVISOR).get("/console/").content.decode()


def test_overview_charts_confidence_per_avatar_and_per_language(make_user, history) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_user, Role.SUPERVISOR)
    page = client.get("/console/qa/?by=avatar&days=7").content.decode()
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert re.findall(r'data-label="([^"]+)"', svg) == ["Astronaut", "Robot"]
    assert svg.count("<circle") == 6 and svg.count("<polyline") == 2  # one point per avatar and day
    assert 'class="threshold"' in svg and "Flag threshold 0.65" in svg  # the embedded scorer's default
    # the Robot's line runs below the Astronaut's (SVG y grows downwards)
    ys = {label: float(y) for label, y in re.findall(r'data-label="([^"]+)">\s*<polyline[^>]*points="[\d.]+,([\d.]+)', svg)}
    assert ys["Robot"] > ys["Astronaut"]
    assert "1 open flag" not in page and "2 open flags" in page  # the Robot and its voice
    assert re.search(r'class="flagged"><td>avatar: Robot</td><td>3</td>\s*<td>0.3</td>', page)
    by_language = client.get("/console/qa/?by=language&days=1").content.decode()
    assert re.findall(r'data-label="([^"]+)"', by_language) == ["en", "ja"]  # kiosk language order
    assert by_language.count("<circle") == 2  # hourly buckets; only today's scores


@pytest.mark.parametrize(("query", "code"), [("by=colour", "qa_bad_group"), ("days=0", "qa_bad_days"),
                                             ("days=soon", "qa_bad_days"), ("scorer=lipnet", "qa_bad_scorer")])
def test_overview_rejects_bad_parameters(make_user, history, query: str, code: str) -> None:  # type: ignore[no-untyped-def]
    response = client_for(make_user, Role.SUPERVISOR).get(f"/console/qa/?{query}")
    assert response.status_code == 400 and f'data-code="{code}"' in response.content.decode()


def test_flags_list_links_the_clip_and_acknowledges(make_user, history) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_user, Role.SUPERVISOR, "sam")
    page = client.get("/console/qa/flags/").content.decode()
    flag = QaFlag.objects.get(subject="avatar")
    assert page.count('class="qa-flag"') == 2 and "Robot" in page and "edge:ja-JP-NanamiNeural" in page
    clip_url = reverse("console:qa_turn_clip", args=[flag.turn_id])
    assert clip_url in page
    clip = client.get(clip_url)
    assert clip.status_code == 200 and clip["Content-Type"] == "video/mp4"
    assert b"".join(clip.streaming_content) == b"\x00\x00\x00\x18ftypmp42 answer"

    too_long = client.post(reverse("console:qa_flag_acknowledge", args=[flag.pk]), {"note": "x" * 301})
    assert too_long.status_code == 400 and 'data-code="qa_note_too_long"' in too_long.content.decode()
    done = client.post(reverse("console:qa_flag_acknowledge", args=[flag.pk]), {"note": "Robot photo replaced"}, follow=True)
    assert "Acknowledged: Low sync confidence for avatar Robot" in done.content.decode()
    flag.refresh_from_db()
    assert flag.acknowledged_by.get_username() == "sam" and flag.note == "Robot photo replaced"
    assert client.get("/console/qa/flags/").content.decode().count('class="qa-flag"') == 1
    acknowledged = client.get("/console/qa/flags/?status=acknowledged").content.decode()
    assert "Robot photo replaced" in acknowledged and "sam" in acknowledged
    assert client.get("/console/qa/flags/?status=maybe").status_code == 400
    assert client.post(reverse("console:qa_flag_acknowledge", args=[9999])).status_code == 404


def test_clip_of_an_answer_without_one_is_not_found(make_user, avatar_turn) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_user, Role.SUPERVISOR)
    assert client.get(reverse("console:qa_turn_clip", args=[avatar_turn().pk])).status_code == 404
    assert client.get(reverse("console:qa_turn_clip", args=[424242])).status_code == 404


def test_a_qa_clip_is_logged_and_never_cached_like_the_same_clip_under_transcripts(  # type: ignore[no-untyped-def]
    make_user, avatar_turn
) -> None:
    turn = avatar_turn(clip=b"\x00\x00\x00\x18ftypmp42 answer")
    client = client_for(make_user, Role.SUPERVISOR, "sam")
    responses = [client.get(reverse("console:qa_turn_clip", args=[turn.pk])),
                 client.get(reverse("console:transcript_clip", args=[turn.public_id, "answer"]))]
    for response in responses:
        assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
        assert response["Cache-Control"] == "private, no-store"
        assert b"".join(response.streaming_content) == b"\x00\x00\x00\x18ftypmp42 answer"
    logged = TranscriptAccess.objects.order_by("id").values_list("username", "action", "turn_public_id")
    assert list(logged) == [("sam", "clip", turn.public_id)] * 2
