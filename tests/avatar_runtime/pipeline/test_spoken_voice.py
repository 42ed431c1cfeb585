"""Each answer's turn records the voice that actually spoke it, from the synthesizer's chunks
through the session to the Django transcript store.

Real parts as in ``test_session``: the offline backends, knowledge-base search over two demo FAQs,
the transcript store; Edge TTS is the real edge-tts client against a local port nothing listens on (an outage).
"""
import pytest
from channels.db import database_sync_to_async

from avatar_runtime.factory import VoiceBook, VoiceChoice
from avatar_runtime.pipeline.session import State
from avatar_runtime.tts.base import Voice
from avatar_runtime.tts.registry import voice_breakers_reset
from conversations.models import Turn
from tests.avatar_runtime.pipeline.harness import build_session
from tests.avatar_runtime.speech.edge_servers import refused_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_faqs(db: None, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two of the demo's FAQs in English and Japanese (embedding the whole demo KB takes minutes
    on a busy 2-core machine)."""
    import json
    from pathlib import Path

    from knowledgebase.models import FaqEntry
    from knowledgebase.services import TranslationData, faq_create

    settings.MEDIA_ROOT = tmp_path / "media"
    rows = [json.loads(line) for line in (Path(settings.BASE_DIR) / "knowledgebase" / "demo" / "faqs.jsonl").open()]
    for key in ("restrooms", "free-wifi"):
        faq_create(key=key, status=FaqEntry.Status.PUBLISHED, translations={
            row["language"]: TranslationData(row["question"], row["answer"], tuple(row["alternates"]))
            for row in rows if row["key"] == key and row["language"] in ("en", "ja")})


@database_sync_to_async
def avatar_turns() -> list[Turn]:
    return list(Turn.objects.filter(role=Turn.Role.AVATAR).order_by("index"))


async def test_the_turn_names_the_fallback_that_spoke_when_the_configured_voice_failed(  # type: ignore[no-untyped-def]
    two_faqs: None, settings
) -> None:
    settings.AVATAR_TTS_BACKEND = "auto"
    settings.EDGE_TTS_URL = refused_url()  # Edge's service is down
    voice_breakers_reset()
    voices = VoiceBook({
        "en": VoiceChoice(Voice("en", "edge", "en-US-AvaNeural"), Voice("en", "espeak", "en-us")),
        "ja": VoiceChoice(Voice("ja", "kokoro", "jf_alpha"), Voice("ja", "espeak", "ja")),
    }, settings.MODELS_DIR)
    timeline = await build_session(default_language="en", voices=voices)
    await timeline.start()
    try:
        timeline.session.push_text("Where are the restrooms?")
        await timeline.until_state(State.SPEAKING)
        await timeline.until_state(State.LISTENING)
        timeline.session.set_language("ja")
        timeline.session.push_text("無料のWi-Fiはありますか？")
        await timeline.until_state(State.SPEAKING)
        await timeline.until_state(State.LISTENING)
    finally:
        await timeline.close()
        voice_breakers_reset()
    english, japanese = await avatar_turns()
    assert english.retrieved[0]["key"] == "restrooms" and english.complete
    assert (english.voice, english.spoken_voice) == ("edge:en-US-AvaNeural", "espeak:en-us")
    assert japanese.language == "ja"
    assert (japanese.voice, japanese.spoken_voice) == ("kokoro:jf_alpha", "kokoro:jf_alpha")

