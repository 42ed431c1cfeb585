"""Conversation records for the transcript and dashboard tests, written through the kiosk services."""
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from common.roles import Role
from conversations import services
from conversations.models import Conversation, Turn
from kiosk.models import Kiosk, Venue
from tests.conftest import TEST_PASSWORD


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real spoken sentence (espeak-ng), as the kiosk stores a customer's question."""
    path = tmp_path_factory.mktemp("speech") / "question.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Where is the lost and found office?"], check=True)
    return path.read_bytes()


@pytest.fixture
def kiosk(db: None) -> Kiosk:
    venue = Venue.objects.create(name="Harbour Point Mall")
    return Kiosk.objects.create(name="Lobby kiosk", venue=venue)


@dataclass
class Exchange:
    """One question and the avatar's answer."""

    question: str
    language: str = "en"
    answerable: bool = True
    answer: str = "It is on level 3, next to the lifts."
    interrupted: bool = False
    retrieved: list[dict[str, Any]] = field(default_factory=lambda: [{"key": "lost-and-found", "score": 0.83}])
    timings: dict[str, float] = field(default_factory=lambda: {"asr": 180.0, "retrieval": 35.0, "end_to_end": 900.0})
    voice: str = ""  # configured, "backend:name"
    spoken_voice: str = ""  # the voice that spoke the answer


@pytest.fixture
def make_conversation(db: None) -> Callable[..., Conversation]:
    def factory(kiosk: Kiosk | None, exchanges: list[Exchange], *, handoff: bool = False,
                audio: bytes | None = None) -> Conversation:
        public_id = uuid.uuid4()
        services.conversation_start(public_id=public_id, kiosk_id=kiosk.pk if kiosk else None,
                                    language=exchanges[0].language if exchanges else "")
        for exchange in exchanges:
            customer = uuid.uuid4()
            services.transcript_turn_append(conversation_id=public_id, turn_id=customer, role=Turn.Role.CUSTOMER, fields={
                "text": exchange.question, "language": exchange.language, "asr_confidence": 0.91, "complete": True})
            if audio is not None:
                services.turn_clip_attach(turn_id=customer, kind="audio", content=audio, filename="question.wav")
            answer = uuid.uuid4()
            services.transcript_turn_append(conversation_id=public_id, turn_id=answer, role=Turn.Role.AVATAR, fields={
                "text": exchange.answer, "language": exchange.language, "answerable": exchange.answerable,
                "retrieved": exchange.retrieved if exchange.answerable else [], "complete": True,
                "interrupted": exchange.interrupted,
                "heard_text": exchange.answer[:10] + "…" if exchange.interrupted else exchange.answer,
                "timings": exchange.timings, "voice": exchange.voice, "spoken_voice": exchange.spoken_voice})
            if audio is not None:
                services.turn_clip_attach(turn_id=answer, kind="answer", content=audio, filename="answer.wav")
        if handoff:
            services.handoff_request_create(conversation_id=public_id)
        services.conversation_end(public_id=public_id, reason="idle")
        return Conversation.objects.get(public_id=public_id)

    return factory


@pytest.fixture
def login(make_user: Callable[..., AbstractBaseUser]) -> Callable[..., Client]:
    """A client logged in as a new user holding ``role`` (CSRF checks on when asked)."""

    def factory(role: Role | None, *, username: str = "", csrf: bool = False) -> Client:
        user = make_user(username or (role.group_name if role else "nobody"), role)
        client = Client(enforce_csrf_checks=csrf)
        assert client.login(username=user.get_username(), password=TEST_PASSWORD)
        return client

    return factory


@pytest.fixture
def supervisor(login: Callable[..., Client]) -> Iterator[Client]:
    yield login(Role.SUPERVISOR, csrf=True)
