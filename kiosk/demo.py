"""Demo content for a fresh install: a venue, its FAQs, an avatar, voices, a kiosk, users.

Idempotent: running it again updates the FAQs in place and leaves existing users' passwords
alone. Passwords come from the environment or are generated and returned once to the caller
(the setup command prints them); none is written in the repository.
"""
import io
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction

from avatar_runtime.tts.registry import OFFLINE_VOICES
from avatars.models import Avatar, VoiceSetting
from avatars.tasks import avatar_prepare_task
from common.roles import Role, roles_ensure_groups
from kiosk.models import Kiosk, Venue
from kiosk.pairing import kiosk_pairing_code_create
from knowledgebase.services import ImportReport, faq_import_file

DEMO_FAQS = Path(__file__).resolve().parent.parent / "knowledgebase" / "demo" / "faqs.jsonl"
VENUE_NAME = "Harbour Point Mall"

# Production voice (edge-tts); the offline voice of ``OFFLINE_VOICES`` takes over when it is unreachable.
EDGE_VOICES = {
    "zh": "zh-CN-XiaoxiaoNeural",
    "yue": "zh-HK-HiuMaanNeural",
    "en": "en-US-JennyNeural",
    "ja": "ja-JP-NanamiNeural",
    "ko": "ko-KR-SunHiNeural",
}
GREETINGS = {
    "zh": "您好！欢迎来到海港坊商场，有什么可以帮您？",
    "yue": "你好！歡迎嚟到海港坊商場，有咩可以幫到你？",
    "en": "Hello! Welcome to Harbour Point Mall. How can I help you?",
    "ja": "こんにちは！ハーバーポイントモールへようこそ。何かお手伝いしましょうか？",
    "ko": "안녕하세요! 하버 포인트 몰에 오신 것을 환영합니다. 무엇을 도와드릴까요?",
}
DEMO_USERS = (("staff", Role.STAFF), ("supervisor", Role.SUPERVISOR), ("admin", Role.ADMIN))


@dataclass
class DemoResult:
    faqs: ImportReport
    pairing_code: str
    new_passwords: dict[str, str] = field(default_factory=dict)


def _astronaut_png() -> bytes:
    """The public-domain astronaut portrait (Eileen Collins, NASA) that ships in scikit-image."""
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    return buffer.getvalue()


def _demo_avatar() -> Avatar:
    avatar = Avatar.objects.filter(name="Astronaut (demo)").first()
    if avatar is None:
        avatar = Avatar(name="Astronaut (demo)", license_note="Public domain (NASA), shipped in scikit-image")
        avatar.source.save("astronaut.png", ContentFile(_astronaut_png()), save=False)
        avatar.save()
    return avatar


def _demo_users(passwords: dict[str, str]) -> dict[str, str]:
    """Create the demo users; return the passwords that were generated (to be shown once)."""
    roles_ensure_groups()
    user_model = get_user_model()
    generated: dict[str, str] = {}
    for username, role in DEMO_USERS:
        user = user_model.objects.filter(username=username).first()
        password = passwords.get(username)
        if user is None:
            if not password:
                password = secrets.token_urlsafe(12)
                generated[username] = password
            user = user_model.objects.create_user(username=username, password=password, is_superuser=role is Role.ADMIN,
                                                  is_staff=role is Role.ADMIN)
        elif password:
            user.set_password(password)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role.group_name))
    return generated


@transaction.atomic
def demo_load(*, passwords: dict[str, str], faq_file: Path = DEMO_FAQS) -> DemoResult:
    venue, _ = Venue.objects.get_or_create(
        name=VENUE_NAME, defaults={"address": "1 Harbour Road, Hong Kong", "time_zone": "Asia/Hong_Kong"})
    report = faq_import_file(content=faq_file.read_bytes(), filename=faq_file.name, publish=True)
    avatar = _demo_avatar()
    if avatar.status != Avatar.Status.READY:
        transaction.on_commit(lambda: avatar_prepare_task.delay(avatar.pk))
    for language, edge_voice in EDGE_VOICES.items():
        offline = OFFLINE_VOICES[language]
        VoiceSetting.objects.get_or_create(
            language=language,
            defaults={"backend": "edge", "voice_name": edge_voice, "fallback_backend": offline.backend,
                      "fallback_voice_name": offline.name},
        )
    kiosk, _ = Kiosk.objects.get_or_create(
        name="Lobby kiosk",
        defaults={"venue": venue, "location": "Ground floor, main entrance", "avatar": avatar,
                  "default_language": "en", "greetings": GREETINGS},
    )
    code = kiosk_pairing_code_create(kiosk=kiosk, ttl=timedelta(hours=24))
    return DemoResult(faqs=report, pairing_code=code, new_passwords=_demo_users(passwords))
