"""The voice per language: which voices each backend has, saving a choice, and speaking a sample.

Business logic behind the console's Voices screen and its preview/"play" buttons. Speaking goes
through the runtime's own voice chain (primary, fallback, espeak-ng last), so a preview sounds
exactly like the kiosk would, including the fall back to an offline voice when the provider
(edge-tts) is not reachable from this host.
"""
import asyncio
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils.translation import gettext as _

from audit.log import audit_record
from avatar_runtime.audio import resample
from avatar_runtime.errors import ProviderError
from avatar_runtime.factory import VoiceBook, VoiceChoice
from avatar_runtime.tts.base import Synthesizer, Voice
from avatar_runtime.tts.edge_catalogue import edge_catalogue
from avatar_runtime.tts.edge_catalogue import speaks as edge_speaks
from avatar_runtime.tts.espeak_voice import espeak_listing
from avatar_runtime.tts.espeak_voice import voices_for_language as espeak_voices_for_language
from avatar_runtime.tts.kokoro_voice import kokoro_style_names
from avatar_runtime.tts.registry import OFFLINE_VOICES, TTS_RETRY_AFTER_S, FallbackSynthesizer, espeak_voice_for
from avatar_runtime.tts.utterance import utterance_synthesize
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
_KOKORO_LANGUAGES = ("ja", "ko", "zh", "yue")
_KOKORO_NATIVE = {"ja": "j", "zh": "z", "yue": "z"}  # Kokoro's style prefixes: j Japanese, z Mandarin


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
    # Why the voice asked for did not speak (it failed, or cannot run on this host); "" when it did.
    fallback_reason: str = ""


def voice_names(backend: str, language: str) -> list[str]:
    """The voices ``backend`` has for ``language``: Edge's from the committed snapshot of its list,
    the offline backends' from what is installed on this host."""
    if backend == "edge":
        return [voice.name for voice in edge_catalogue().for_language(language)]
    if backend == "piper":
        folder = Path(settings.MODELS_DIR) / "piper"
        prefix = "en_" if language == "en" else f"{language}_"
        return sorted(p.stem for p in folder.glob(f"{prefix}*.onnx")) if folder.is_dir() else []
    if backend == "kokoro":
        if language not in _KOKORO_LANGUAGES:
            return []
        # Any style speaks any of these languages (the phonemes are the language's); its own first.
        native = _KOKORO_NATIVE.get(language, "")
        return sorted(kokoro_style_names(Path(settings.MODELS_DIR)), key=lambda name: (not name.startswith(native), name))
    if backend == "espeak":
        try:
            return espeak_voices_for_language(language)
        except (OSError, ValueError, subprocess.SubprocessError):
            return []
    return []


def voice_check(*, backend: str, name: str, language: str) -> None:
    """Raise ``voice_unknown`` unless ``backend`` has a voice ``name`` that can speak ``language``."""
    if backend not in VOICE_BACKENDS:
        raise ApplicationError("voice_backend_unknown", _("Unknown voice backend %(backend)s; use one of %(backends)s.")
                               % {"backend": backend, "backends": ", ".join(VOICE_BACKENDS)})
    if backend == "edge":
        _edge_check(name, language)
        return
    if backend == "espeak":
        base, plus, variant = name.lower().partition("+")
        try:
            variants = espeak_listing()[1]
        except (OSError, ValueError, subprocess.SubprocessError):
            variants = frozenset()
        if base in voice_names("espeak", language) and (not plus or f"+{variant}" in variants):
            return
    elif name in voice_names(backend, language):
        return
    raise ApplicationError("voice_unknown", _("The %(backend)s backend has no voice %(name)s for %(language)s on this "
                                              "host.") % {"backend": backend, "name": repr(name),
                                                           "language": LANGUAGE_NAMES[language]})


def _edge_check(name: str, language: str) -> None:
    catalogue = edge_catalogue()
    voice = catalogue.get(name)
    if voice is None:
        raise ApplicationError("voice_unknown", _("%(name)s is not in Edge's voice list (snapshot of %(date)s); pick one "
                                                  "of the suggested voices, e.g. %(example)s.")
                               % {"name": repr(name), "date": catalogue.snapshot_date,
                                  "example": next(iter(voice_names("edge", language)), "")})
    if not edge_speaks(voice.locale, language):
        raise ApplicationError("voice_unknown", _("%(name)s is an Edge voice for %(locale)s, not for %(language)s.")
                               % {"name": name, "locale": voice.locale, "language": LANGUAGE_NAMES[language]})


def voice_settings() -> dict[str, VoiceSetting | None]:
    rows = {row.language: row for row in VoiceSetting.objects.all()}
    return {language: rows.get(language) for language in KIOSK_LANGUAGES}


def _clean(language: str, data: VoiceData) -> VoiceData:
    if language not in KIOSK_LANGUAGES:
        raise ApplicationError("invalid_language", _("Unknown language %(language)s.") % {"language": repr(language)})
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
        errors["fallback_backend"] = _("The fallback must be an offline voice (piper, kokoro or espeak).")
    if not RATE_RANGE[0] <= data.rate <= RATE_RANGE[1]:
        errors["rate"] = _("Rate must be between %(low)s and %(high)s.") % {"low": RATE_RANGE[0], "high": RATE_RANGE[1]}
    if not PITCH_RANGE[0] <= data.pitch <= PITCH_RANGE[1]:
        errors["pitch"] = _("Pitch must be between %(low)g and %(high)g semitones.") % {"low": PITCH_RANGE[0],
                                                                                        "high": PITCH_RANGE[1]}
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
        raise ApplicationError("invalid_language", _("Unknown language %(language)s.") % {"language": repr(language)})
    if not text:
        raise ApplicationError("speech_empty", _("There is nothing to say."))
    if len(text) > MAX_SPOKEN_CHARS:
        raise ApplicationError("speech_too_long",
                               _("Previews are limited to %(count)d characters.") % {"count": MAX_SPOKEN_CHARS})
    if data is not None:
        _clean(language, data)
    choice = voice_choice(language, data)
    book = VoiceBook({language: choice}, Path(settings.MODELS_DIR))
    synthesizer, voice = book.synthesizer(language)
    failures = _listen_for_fallbacks(synthesizer)
    try:
        utterance = asyncio.run(utterance_synthesize(synthesizer, text, voice))
    except ProviderError as exc:
        raise ApplicationError("speech_failed", _("No voice could speak this: %(error)s") % {"error": exc},
                               status=503) from exc
    samples = resample(utterance.samples, utterance.sample_rate, WAV_RATE)
    buffer = io.BytesIO()
    sf.write(buffer, samples, WAV_RATE, format="WAV", subtype="PCM_16")
    spoken = utterance.voice
    reason = "" if spoken == choice.primary else _fallback_reason(choice.primary, voice, failures)
    return SpokenAudio(buffer.getvalue(), spoken.backend, spoken.name, len(samples) / WAV_RATE, reason)


def _listen_for_fallbacks(synthesizer: Synthesizer) -> list[ProviderError]:
    """Collect the errors that make each voice of the chain hand over to the next."""
    failures: list[ProviderError] = []
    while isinstance(synthesizer, FallbackSynthesizer):
        synthesizer.on_fallback = failures.append
        synthesizer = synthesizer.fallback
    return failures


def _fallback_reason(wanted: Voice, first: Voice, failures: list[ProviderError]) -> str:
    names = {"voice": f"{wanted.backend}/{wanted.name}"}
    if first != wanted:
        return _("%(voice)s is not used on this host (its backend is missing or turned off by AVATAR_TTS_BACKEND).") % names
    if failures:
        return _("%(voice)s failed: %(error)s") % {**names, "error": failures[0]}
    return _("%(voice)s failed moments ago and is retried every %(seconds)d s.") % {**names, "seconds": TTS_RETRY_AFTER_S}
