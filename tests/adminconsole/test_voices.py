"""Voices screen: one voice per language, validated against what each backend has, audited, previewed."""
import io
import re
from collections.abc import Callable

import pytest
import soundfile as sf
from django.test import Client

from audit.models import AuditEntry
from avatars.models import VoiceSetting
from common.roles import Role

pytestmark = pytest.mark.django_db


def voice_form(language: str, **values: str) -> dict[str, str]:
    base = {"backend": "espeak", "voice_name": "cmn-latn-pinyin+f3", "rate": "1.0", "pitch": "0",
            "fallback_backend": "espeak", "fallback_voice_name": ""}
    base.update(values)
    return {f"{language}-{name}": value for name, value in base.items()}


def test_the_screen_lists_the_five_languages_with_their_voices(login: Callable[..., Client]) -> None:
    VoiceSetting.objects.create(language="yue", backend="edge", voice_name="zh-HK-HiuMaanNeural",
                                fallback_backend="espeak", fallback_voice_name="yue+m1")
    page = login(Role.STAFF).get("/console/voices/").content.decode()
    for name in ("Mandarin", "Cantonese", "English", "Japanese", "Korean"):
        assert name in page
    assert 'value="zh-HK-HiuMaanNeural"' in page
    assert "en_US-joe-medium" in page and "jf_alpha" in page  # what this host's backends have


def test_saving_a_voice_checks_it_exists_and_audits_the_change(login: Callable[..., Client]) -> None:
    staff = login(Role.STAFF)
    ok = staff.post("/console/voices/zh/", voice_form("zh", rate="1.2", pitch="2"))
    assert ok.status_code == 302
    row = VoiceSetting.objects.get(language="zh")
    assert (row.backend, row.voice_name, row.rate, row.pitch) == ("espeak", "cmn-latn-pinyin+f3", 1.2, 2.0)
    entry = AuditEntry.objects.get(action="voice.update")
    assert entry.before is None and entry.after["rate"] == 1.2 and entry.actor_name == "staff"

    bad = staff.post("/console/voices/zh/", voice_form("zh", backend="piper", voice_name="en_US-nobody"))
    assert bad.status_code == 400
    assert "has no voice" in bad.content.decode()
    kokoro_en = staff.post("/console/voices/en/", voice_form("en", backend="kokoro", voice_name="jf_alpha"))
    assert kokoro_en.status_code == 400  # Kokoro here speaks Japanese, Korean, Mandarin and Cantonese only
    edge_wrong_locale = staff.post("/console/voices/zh/", voice_form("zh", backend="edge", voice_name="ja-JP-NanamiNeural"))
    assert edge_wrong_locale.status_code == 400
    row.refresh_from_db()
    assert row.voice_name == "cmn-latn-pinyin+f3" and AuditEntry.objects.filter(action="voice.update").count() == 1

    edge = staff.post("/console/voices/zh/", voice_form("zh", backend="edge", voice_name="zh-CN-XiaoxiaoNeural"))
    assert edge.status_code == 302
    assert VoiceSetting.objects.get(language="zh").backend == "edge"


def test_preview_speaks_an_unsaved_voice_and_falls_back_when_the_provider_is_missing(login: Callable[..., Client]) -> None:
    staff = login(Role.STAFF)
    slow = staff.get("/console/speech.wav", {"language": "yue", "text": "你好，歡迎光臨。", "backend": "espeak",
                                             "voice": "yue+m1", "rate": "0.7", "pitch": "0"})
    fast = staff.get("/console/speech.wav", {"language": "yue", "text": "你好，歡迎光臨。", "backend": "espeak",
                                             "voice": "yue+m1", "rate": "1.6", "pitch": "0"})
    assert slow.status_code == fast.status_code == 200
    slow_audio, _rate = sf.read(io.BytesIO(slow.content))
    fast_audio, _ = sf.read(io.BytesIO(fast.content))
    assert len(slow_audio) > 1.5 * len(fast_audio)  # the rate really applies
    # Edge TTS is unreachable here (no network): the preview is spoken by the fallback voice, and says so.
    edge = staff.get("/console/speech.wav", {"language": "yue", "text": "你好。", "backend": "edge",
                                             "voice": "zh-HK-HiuMaanNeural", "fallback_backend": "espeak",
                                             "fallback_voice": "yue+m1"})
    assert edge.status_code == 200 and edge["X-Spoken-By"] == "espeak/yue+m1"


def test_supervisors_and_admins_may_edit_voices_users_without_a_role_may_not(login: Callable[..., Client]) -> None:
    assert login(Role.SUPERVISOR).get("/console/voices/").status_code == 200
    assert login(None).post("/console/voices/zh/", voice_form("zh")).status_code == 403
    assert not VoiceSetting.objects.exists()



def test_the_screen_shows_the_answer_audio_cache_and_rebuilds_it(  # type: ignore[no-untyped-def]
    login: Callable[..., Client], settings, tmp_path, celery_eager: None, django_capture_on_commit_callbacks,
) -> None:
    from avatars.models import AnswerAudio
    from knowledgebase.models import FaqEntry
    from knowledgebase.services import TranslationData, faq_create

    settings.MEDIA_ROOT = tmp_path
    VoiceSetting.objects.create(language="en", backend="espeak", voice_name="en-us", fallback_backend="espeak",
                                fallback_voice_name="en-us")
    faq_create(key="wifi", translations={"en": TranslationData("Is there wifi?", "Yes, the wifi is free.")},
               status=FaqEntry.Status.PUBLISHED)  # the cache jobs are off here (tests/conftest.py): nothing spoken yet
    staff = login(Role.STAFF)
    page = staff.get("/console/voices/").content.decode()
    missing = re.search(r'id="answer-audio-en".*?<dt>Missing</dt><dd>(\d+)</dd>', page, re.S)
    assert missing and int(missing.group(1)) > 1  # the answer and the fixed phrases
    settings.ANSWER_AUDIO_CACHE = True
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post("/console/voices/en/answer-audio/")
    assert response.status_code == 302
    assert AnswerAudio.objects.filter(text="Yes, the wifi is free.", voice_name="en-us").exists()
    page = staff.get("/console/voices/").content.decode()
    cached = re.search(r'id="answer-audio-en".*?<dt>Cached sentences</dt><dd>(\d+)</dd>\s*<dt>Missing</dt><dd>0</dd>',
                       page, re.S)
    assert cached and int(cached.group(1)) == int(missing.group(1)) == AnswerAudio.objects.count()
    assert login(None, username="nobody").post("/console/voices/en/answer-audio/").status_code in (302, 403)


def test_a_made_up_edge_voice_is_refused_with_a_form_error(login: Callable[..., Client]) -> None:
    staff = login(Role.STAFF)
    made_up = staff.post("/console/voices/zh/", voice_form("zh", backend="edge", voice_name="zh-CN-NobodyNeural"))
    assert made_up.status_code == 400
    page = made_up.content.decode()
    assert "is not in Edge&#x27;s voice list" in page and 'class="errorlist' in page
    other_language = staff.post("/console/voices/yue/", voice_form("yue", backend="edge", voice_name="zh-CN-YunxiNeural"))
    assert "is an Edge voice for zh-CN, not for Cantonese" in other_language.content.decode()
    english_espeak_for_mandarin = staff.post("/console/voices/zh/", voice_form("zh", backend="espeak", voice_name="en-us"))
    assert english_espeak_for_mandarin.status_code == 400
    assert not VoiceSetting.objects.exists() and not AuditEntry.objects.filter(action="voice.update").exists()


def test_each_voice_field_suggests_only_its_backends_voices_for_the_language(login: Callable[..., Client]) -> None:
    VoiceSetting.objects.create(language="zh", backend="edge", voice_name="zh-CN-XiaoxiaoNeural",
                                fallback_backend="espeak", fallback_voice_name="cmn-latn-pinyin+f3")
    page = login(Role.STAFF).get("/console/voices/").content.decode()

    def suggestions(list_id: str) -> set[str]:
        found = re.search(rf'<datalist id="{list_id}">(.*?)</datalist>', page, re.S)
        assert found, list_id
        return set(re.findall(r'<option value="([^"]+)">', found.group(1)))

    assert {"zh-CN-XiaoxiaoNeural", "zh-TW-HsiaoChenNeural"} <= suggestions("voices-zh-edge")
    assert not any(name.startswith(("zh-HK", "ja-", "en-")) for name in suggestions("voices-zh-edge"))
    assert suggestions("voices-yue-edge") == {"zh-HK-HiuGaaiNeural", "zh-HK-HiuMaanNeural", "zh-HK-WanLungNeural"}
    assert suggestions("voices-ja-edge") == {"ja-JP-KeitaNeural", "ja-JP-NanamiNeural"}
    assert suggestions("voices-ja-espeak") == {"ja"} and suggestions("voices-ko-espeak") == {"ko"}
    assert suggestions("voices-zh-espeak") == {"cmn", "cmn-latn-pinyin"}
    # The saved voice's field points at its backend's list; the backend select switches it (console.js).
    assert re.search(r'<input[^>]*name="zh-voice_name"[^>]*list="voices-zh-edge"', page)
    assert re.search(r'<input[^>]*name="zh-fallback_voice_name"[^>]*list="voices-zh-espeak"', page)
    assert re.search(r'<select[^>]*name="zh-backend"[^>]*data-list-for="id_zh-voice_name"', page)
    assert "Edge voices are checked against a copy of Edge's voice list taken on 2026-12-06" in page


def test_preview_errors_come_back_with_their_message(login: Callable[..., Client], settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from avatar_runtime.tts import espeak_voice

    staff = login(Role.STAFF)
    unknown = staff.get("/console/speech.wav", {"language": "zh", "text": "你好。", "backend": "edge",
                                                "voice": "zh-CN-NobodyNeural"})
    assert unknown.status_code == 400 and unknown["Content-Type"].startswith("text/plain")
    assert "is not in Edge's voice list" in unknown.content.decode()
    espeak_voice.installed_voices()  # known before the binary goes missing: only synthesis fails
    monkeypatch.setattr(espeak_voice, "ESPEAK_BINARY", "/nonexistent/espeak-ng")
    failed = staff.get("/console/speech.wav", {"language": "yue", "text": "你好。", "backend": "espeak",
                                               "voice": "yue+m1", "fallback_backend": "espeak", "fallback_voice": "yue"})
    assert failed.status_code == 503 and "No voice could speak this" in failed.content.decode()


def test_preview_says_when_a_fallback_spoke_and_why(login: Callable[..., Client], settings) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import unquote

    from avatar_runtime.tts.registry import voice_breakers_reset
    from tests.avatar_runtime.speech.edge_servers import refused_url

    settings.EDGE_TTS_URL = refused_url()  # Edge's service is down
    voice_breakers_reset()
    staff = login(Role.STAFF)
    edge = {"language": "yue", "text": "你好。", "backend": "edge", "voice": "zh-HK-HiuMaanNeural",
            "fallback_backend": "espeak", "fallback_voice": "yue+m1"}
    try:
        down = staff.get("/console/speech.wav", edge)
        assert down.status_code == 200 and down["X-Spoken-By"] == "espeak/yue+m1"
        assert unquote(down["X-Voice-Fallback"]).startswith("edge/zh-HK-HiuMaanNeural failed: ")
        again = staff.get("/console/speech.wav", {**edge, "text": "早晨。"})  # the breaker keeps it off Edge for now
        assert "failed moments ago and is retried every 30 s" in unquote(again["X-Voice-Fallback"])
    finally:
        voice_breakers_reset()
    settings.AVATAR_TTS_BACKEND = "offline"
    off = staff.get("/console/speech.wav", edge)
    assert "is not used on this host" in unquote(off["X-Voice-Fallback"])
    spoke = staff.get("/console/speech.wav", {**edge, "backend": "espeak", "voice": "yue"})
    assert spoke["X-Spoken-By"] == "espeak/yue" and "X-Voice-Fallback" not in spoke
