"""The voice per language: which voices each backend has, saving a choice, and speaking a sample.

Business logic behind the console's Voices screen and its preview/"play" buttons. Speaking goes
through the runtime's own voice chain (primary, fallback, espeak-ng last), so a preview sounds
exactly like the kiosk would, including the fall back to an offline voice when the provider
(edge-tts) is not reachable from this host.
"""
import asyncio
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction

from audit.log import audit_record
from avatar_runtime.audio import resample
from avatar_runtime.errors import ProviderError
from avatar_runtime.factory import VoiceBook, VoiceChoice
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.tts.base import Synthesizer, Voice
from avatar_runtime.tts.espeak_voice import installed_voices
from avatar_runtime.tts.kokoro_voice import kokoro_style_names
from avatar_runtime.tts.registry import OFFLINE_VOICES, FallbackSynthesizer, espeak_voice_for
from avatars.models import VoiceSetting
from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES, LANGUAGE_NAMES

VOICE_BACKENDS = ("edge", "piper", "kokoro", "espeak")
MAX_SPOKEN_CHARS = 600
WAV_RATE = 24000
RATE_RANGE = (0.5, 2.0)
PITCH_RANGE = (-12.0, 12.0)  # semitones
SAMPLE_SENTENCES = {
    "zh": "您好，欢迎光临。洗手间在二楼电梯旁边。",
    "yue": "你好，歡迎光臨。洗手間喺二樓電梯隔籬。",
    "en": "Hello and welcome. The restrooms are on level two, next to the lifts.",
    "ja": "こんにちは、ようこそ。お手洗いは二階のエレベーターの隣です。",
    "ko": "안녕하세요, 어서 오세요. 화장실은 이층 엘리베이터 옆에 있습니다.",
}
# edge-tts voices are named by locale ("zh-HK-HiuMaanNeural"); the service's list needs the internet.
_EDGE_LOCALES = {"zh": r"zh-CN|zh-TW", "yue": r"zh-HK|yue-CN", "en": r"en-[A-Z]{2}", "ja": r"ja-JP", "ko": r"ko-KR"}
_KOKORO_LANGUAGES = ("ja", "ko", "zh", "yue")


@dataclass(frozen=True)
class VoiceData:
    backend: str
    voice_name: str
    rate: float = 1.0
    pitch: float = 0.0
    fallback_backend: str = "espeak"
    fallback_voice_name: str = ""


@dataclass(frozen=True)
class SpokenAudio:
    wav: bytes
    spoken_by: str  # the backend that actually spoke (the fallback when the primary failed)
    voice: str
    seconds: float


def voice_names(backend: str, language: str) -> list[str] | None:
    """The voices ``backend`` has for ``language`` on this host; None when it cannot be listed (edge)."""
    if backend == "piper":
        folder = Path(settings.MODELS_DIR) / "piper"
        prefix = "en_" if language == "en" else f"{language}_"
        return sorted(p.stem for p in folder.glob(f"{prefix}*.onnx")) if folder.is_dir() else []
    if backend == "kokoro":
        return kokoro_style_names(Path(settings.MODELS_DIR)) if language in _KOKORO_LANGUAGES else []
    if backend == "espeak":
        try:
            return sorted(installed_voices())
        except (OSError, ValueError):
            return []
    return None


def voice_check(*, backend: str, name: str, language: str) -> None:
    """Raise ``voice_unknown`` unless ``backend`` has a voice ``name`` that can speak ``language``."""
    if backend not in VOICE_BACKENDS:
        raise ApplicationError("voice_backend_unknown",
                               f"Unknown voice backend {backend!r}; use one of {', '.join(VOICE_BACKENDS)}.")
    if backend == "edge":
        if not re.fullmatch(rf"(?:{_EDGE_LOCALES[language]})-[A-Za-z]+Neural", name):
            raise ApplicationError("voice_unknown", f"{name!r} is not an edge-tts voice for {LANGUAGE_NAMES[language]} "
                                                    "(e.g. zh-HK-HiuMaanNeural).")
        return
    if backend == "espeak":
        base, plus, variant = name.lower().partition("+")
        known = set(voice_names("espeak", language) or ())
        if base in known and (not plus or f"+{variant}" in known):
            return
    elif name in (voice_names(backend, language) or []):
        return
    raise ApplicationError("voice_unknown", f"The {backend} backend has no voice {name!r} for {LANGUAGE_NAMES[language]}.")


def voice_settings() -> dict[str, VoiceSetting | None]:
    rows = {row.language: row for row in VoiceSetting.objects.all()}
    return {language: rows.get(language) for language in KIOSK_LANGUAGES}


def _clean(language: str, data: VoiceData) -> VoiceData:
    if language not in KIOSK_LANGUAGES:
        raise ApplicationError("invalid_language", f"Unknown language {language!r}.")
    errors: dict[str, str] = {}
    for field, backend, name in (("voice_name", data.backend, data.voice_name),
                                 ("fallback_voice_name", data.fallback_backend, data.fallback_voice_name)):
        if field == "fallback_voice_name" and not name:
            continue  # the language's offline voice
        try:
            voice_check(backend=backend, name=name.strip(), language=language)
        except ApplicationError as exc:
            errors[field] = exc.message
    if data.fallback_backend == "edge":
        errors["fallback_backend"] = "The fallback must be an offline voice (piper, kokoro or espeak)."
    if not RATE_RANGE[0] <= data.rate <= RATE_RANGE[1]:
        errors["rate"] = f"Rate must be between {RATE_RANGE[0]} and {RATE_RANGE[1]}."
    if not PITCH_RANGE[0] <= data.pitch <= PITCH_RANGE[1]:
        errors["pitch"] = f"Pitch must be between {PITCH_RANGE[0]:g} and {PITCH_RANGE[1]:g} semitones."
    if errors:
        raise ApplicationError("voice_invalid", " ".join(errors.values()), extra={"errors": errors})
    return VoiceData(data.backend, data.voice_name.strip(), data.rate, data.pitch, data.fallback_backend,
                     data.fallback_voice_name.strip())


def _voice_snapshot(row: VoiceSetting) -> dict[str, object]:
    return {"backend": row.backend, "voice_name": row.voice_name, "rate": row.rate, "pitch": row.pitch,
            "fallback_backend": row.fallback_backend, "fallback_voice_name": row.fallback_voice_name}


@transaction.atomic
def voice_setting_update(
    *, language: str, data: VoiceData, user: AbstractBaseUser | AnonymousUser | None
) -> VoiceSetting:
    """Set the voice ``language`` is spoken with (creating its row on first use); audited."""
    cleaned = _clean(language, data)
    row = VoiceSetting.objects.select_for_update().filter(language=language).first()
    before = _voice_snapshot(row) if row is not None else None
    row = row or VoiceSetting(language=language)
    row.backend, row.voice_name, row.rate, row.pitch = cleaned.backend, cleaned.voice_name, cleaned.rate, cleaned.pitch
    row.fallback_backend, row.fallback_voice_name = cleaned.fallback_backend, cleaned.fallback_voice_name
    row.save()
    audit_record(actor=user, action="voice.update", target=row, before=before, after=_voice_snapshot(row))
    if before != _voice_snapshot(row):
        from avatars.answer_audio import answer_audio_enqueue  # it builds on this module

        answer_audio_enqueue(languages=[language])  # the new voice's answers, and the old one's audio deleted
    return row


def voice_choice(language: str, data: VoiceData | None = None) -> VoiceChoice:
    """The primary and fallback voice for ``language``: ``data`` (a preview) or the saved setting."""
    if data is None:
        row = VoiceSetting.objects.filter(language=language).first()
        if row is None:
            offline = OFFLINE_VOICES[language]
            return VoiceChoice(offline, espeak_voice_for(offline))
        data = VoiceData(row.backend, row.voice_name, row.rate, row.pitch, row.fallback_backend, row.fallback_voice_name)
    primary = Voice(language, data.backend, data.voice_name, data.rate, data.pitch)
    fallback_name = data.fallback_voice_name or OFFLINE_VOICES[language].name
    fallback_backend = data.fallback_backend if data.fallback_voice_name else OFFLINE_VOICES[language].backend
    return VoiceChoice(primary, Voice(language, fallback_backend, fallback_name, data.rate, data.pitch))


def voice_book_from_settings() -> VoiceBook:
    """The runtime's voice book from the voice table; languages without a row get the defaults."""
    choices = {code: VoiceChoice(OFFLINE_VOICES[code], espeak_voice_for(OFFLINE_VOICES[code])) for code in KIOSK_LANGUAGES}
    for row in VoiceSetting.objects.all():
        primary = Voice(row.language, row.backend, row.voice_name, row.rate, row.pitch)
        fallback_name = row.fallback_voice_name or OFFLINE_VOICES[row.language].name
        fallback = Voice(row.language, row.fallback_backend or "espeak", fallback_name, row.rate, row.pitch)
        choices[row.language] = VoiceChoice(primary, fallback)
    return VoiceBook(choices, Path(settings.MODELS_DIR))


def speech_synthesize(*, text: str, language: str, data: VoiceData | None = None) -> SpokenAudio:
    """Speak ``text`` as the kiosk would in ``language`` (with ``data`` instead of the saved voice
    when previewing); a 16-bit mono WAV. Blocking: call from a worker thread, not an event loop."""
    text = text.strip()
    if language not in KIOSK_LANGUAGES:
        raise ApplicationError("invalid_language", f"Unknown language {language!r}.")
    if not text:
        raise ApplicationError("speech_empty", "There is nothing to say.")
    if len(text) > MAX_SPOKEN_CHARS:
        raise ApplicationError("speech_too_long", f"Previews are limited to {MAX_SPOKEN_CHARS} characters.")
    if data is not None:
        _clean(language, data)
    book = VoiceBook({language: voice_choice(language, data)}, Path(settings.MODELS_DIR))
    synthesizer, voice = book.synthesizer(language)
    try:
        chunks, rate = asyncio.run(_collect(synthesizer, text, voice))
    except ProviderError as exc:
        raise ApplicationError("speech_failed", f"No voice could speak this: {exc}", status=503) from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    spoken_by = getattr(synthesizer, "spoken_by", "") or synthesizer.name
    if isinstance(synthesizer, FallbackSynthesizer) and spoken_by != synthesizer.primary.name:
        voice = synthesizer.fallback_voice  # the provider failed: the offline voice spoke it
    return SpokenAudio(buffer.getvalue(), spoken_by, voice.name, len(samples) / rate if rate else 0.0)


async def _collect(synthesizer: Synthesizer, text: str, voice: Voice) -> tuple[list[Samples], int]:
    """All of the speech, at one rate (a fallback that took over mid-way may speak at another)."""
    chunks: list[Samples] = []
    async for chunk in synthesizer.synthesize(text, voice):
        chunks.append(resample(chunk.samples, chunk.sample_rate, WAV_RATE))
    return chunks, WAV_RATE
