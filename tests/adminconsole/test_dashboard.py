"""The dashboard's aggregates over a few thousand turns, computed in the database with a bounded query count."""
import math
import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from adminconsole.dashboard_selectors import PERCENTILES, STAGES, dashboard_data
from common.roles import Role
from conversations.models import Conversation, HandoffRequest, Turn
from kiosk.models import Kiosk

pytestmark = pytest.mark.django_db
LANGUAGES = ("zh", "yue", "en", "ja", "ko")
UNANSWERED = ("Can I bring my dog?", "Is there a helipad?", "Do you sell tickets to the moon?")


def _nearest_rank(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


@pytest.fixture
def traffic(kiosk: Kiosk) -> dict[str, Any]:
    """600 conversations over 10 days (3,600 turns), bulk-created, and what the dashboard should say about them."""
    rng = random.Random(7)
    now = timezone.now()
    conversations = Conversation.objects.bulk_create(
        [Conversation(public_id=uuid.uuid4(), kiosk=kiosk, status="ended", languages=[LANGUAGES[i % 5]],
                      handoff_requested=i % 40 == 0) for i in range(600)])
    per_day = Counter()
    for day in range(10):
        ids = [c.pk for i, c in enumerate(conversations) if i % 10 == day]
        Conversation.objects.filter(pk__in=ids).update(started_at=now - timedelta(days=day, minutes=5))
        per_day[(now - timedelta(days=day, minutes=5)).date()] = len(ids)
    turns, timings, unanswered = [], {stage: [] for stage in STAGES}, Counter()
    answered = declined = 0
    for i, conversation in enumerate(conversations):
        language = LANGUAGES[i % 5]
        for exchange in range(3):
            is_declined = (i + exchange) % 7 == 0
            question = UNANSWERED[(i + exchange) % 3] if is_declined else f"Where is shop {i}-{exchange}?"
            stage_ms = {stage: round(rng.uniform(20, 2500), 1) for stage in STAGES if rng.random() > 0.1}
            for stage, ms in stage_ms.items():
                timings[stage].append(ms)
            turns += [Turn(conversation=conversation, public_id=uuid.uuid4(), index=2 * exchange, role="customer",
                           text=question, language=language, timings={"asr": stage_ms.get("asr", 0)}),
                      Turn(conversation=conversation, public_id=uuid.uuid4(), index=2 * exchange + 1, role="avatar",
                           text="…", language=language, answerable=not is_declined, timings=stage_ms)]
            if is_declined:
                unanswered[(question.lower(), language)] += 1
                declined += 1
            else:
                answered += 1
    Turn.objects.bulk_create(turns, batch_size=500)
    HandoffRequest.objects.bulk_create([HandoffRequest(conversation=c, kiosk=kiosk)
                                        for c in conversations if c.handoff_requested])
    return {"per_day": per_day, "timings": timings, "unanswered": unanswered, "answered": answered,
            "declined": declined}


def test_dashboard_figures_match_the_data_with_a_fixed_number_of_queries(
    traffic: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(5 + 1 + len(STAGES) * len(PERCENTILES)):
        data = dashboard_data(days=30)
    assert Turn.objects.count() == 3600
    assert data.conversations == 600 and data.handoffs == 15
    assert {day.day: day.conversations for day in data.days if day.conversations} == dict(traffic["per_day"])
    assert len(data.days) == 30
    assert data.languages == dict.fromkeys(LANGUAGES, 120)
    assert (data.answered, data.declined) == (traffic["answered"], traffic["declined"])
    assert data.answer_rate == pytest.approx(traffic["answered"] / 1800)
    expected = traffic["unanswered"]
    assert len(data.unanswered) == 10
    assert [q.count for q in data.unanswered] == sorted(expected.values(), reverse=True)[:10]
    assert all(expected[(q.text, q.language)] == q.count for q in data.unanswered)
    for latency in data.latencies:
        values = traffic["timings"][latency.stage]
        assert latency.samples == len(values)
        assert latency.percentiles == {p: _nearest_rank(values, p) for p in PERCENTILES}
    assert [latency.stage for latency in data.latencies] == list(STAGES)


def test_the_period_and_kiosk_narrow_the_figures(traffic: dict[str, Any], kiosk: Kiosk) -> None:
    week = dashboard_data(days=7)
    assert week.conversations == 7 * 60 and len(week.days) == 7
    other = Kiosk.objects.create(name="Car park kiosk", venue=kiosk.venue)
    empty = dashboard_data(days=30, kiosk_id=other.pk)
    assert (empty.conversations, empty.answer_rate, empty.latencies, empty.unanswered) == (0, None, [], [])


def test_dashboard_page_draws_accessible_charts_for_supervisors(
    traffic: dict[str, Any], login: Callable[[Role | None], Client], django_assert_max_num_queries: Any
) -> None:
    assert login(Role.STAFF).get(reverse("console:dashboard")).status_code == 403
    supervisor = login(Role.SUPERVISOR)
    with django_assert_max_num_queries(40):
        response = supervisor.get(reverse("console:dashboard"), {"days": 30})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('role="img"') == 3 and html.count("<desc") == 3
    assert "600 conversations and 15 hand-offs" in html
    assert "can i bring my dog?" in html and "Show as a table" in html
    rate = round(100 * traffic["answered"] / 1800)
    assert f"{rate}%" in html
    assert "end_to_end" in html and "<svg" in html


def test_an_empty_dashboard_renders(login: Callable[[Role | None], Client]) -> None:
    html = login(Role.SUPERVISOR).get(reverse("console:dashboard"), {"days": "bogus"}).content.decode()
    assert "No conversations in this period." in html and "No timed turns in this period." in html
