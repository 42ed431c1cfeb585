"""The runtime's process-wide backends, chosen by configuration: recognizer, answerer, the voice
chain per language, the prepared portrait, the renderer (and MuseTalk's shared server), and the warm-up that loads them.

Models load once per process (lazily, thread-safe, in the backends' own modules); each session
gets its own streaming state (VAD stream, language policy, renderer). The pipeline itself never
imports a provider: this module is where configuration picks them. It imports no Django app:
the worker's composition root (``kiosk.session_factory``) hands it the apps' parts.
"""
import asyncio
import functools
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from avatar_runtime.asr.base import Recognizer
from avatar_runtime.asr.by_language import RecognizerByLanguage
from avatar_runtime.asr.prompt import Vocabulary
from avatar_runtime.audio import voiced_sound
from avatar_runtime.doctor import DoctorConfig
from avatar_runtime.errors import ProviderError
from avatar_runtime.health_checks import health_seed, health_voice
from avatar_runtime.llm.base import Answerer, Retrieved
from avatar_runtime.render.portrait.idle_loop import IdleLoop, idle_loop
from avatar_runtime.render.portrait.prepare import PortraitAvatar, prepare_portrait
from avatar_runtime.render.portrait.rig import RigOverrides
from avatar_runtime.render.selection import MUSETALK, RendererChoice, choose_renderer
from avatar_runtime.tts.base import Synthesizer, Voice
from avatar_runtime.tts.registry import (
    OFFLINE_VOICES,
    FallbackSynthesizer,
    espeak_voice_for,
    synthesizer_for,
    voice_breaker,
)
from avatar_runtime.vad.base import VAD_SAMPLE_RATE
from avatar_runtime.vad.silero import SileroVadStream
from common.languages import KIOSK_LANGUAGES

if TYPE_CHECKING:
    from avatar_runtime.render.musetalk.config import ArchitectureSpec
    from avatar_runtime.render.musetalk.live import LiveMuseTalk

log = logging.getLogger(__name__)
NETWORK_BACKENDS = frozenset({"edge"})
_lock = threading.Lock()


@functools.cache
def recognizer(vocabulary: Vocabulary | None = None) -> Recognizer:
    """The process-wide speech recognizer: SenseVoice when its model is complete, else Whisper
    (prompted with ``vocabulary``, the venue's terms per language, when given)."""
    models_dir = Path(settings.MODELS_DIR)
    if settings.AVATAR_ASR_BACKEND in ("auto", "sensevoice"):
        from avatar_runtime.asr.sensevoice import SenseVoiceRecognizer, validate_model_dir

        try:
            validate_model_dir(models_dir / "SenseVoiceSmall")
            return SenseVoiceRecognizer(models_dir / "SenseVoiceSmall")
        except (ProviderError, ImportError) as exc:  # files missing, or funasr not installed
            if settings.AVATAR_ASR_BACKEND == "sensevoice":
                raise
            log.info("ASR: SenseVoice unavailable (%s); using Whisper", exc)
    return whisper_recognizer(models_dir, vocabulary)


def whisper_recognizer(models_dir: Path, vocabulary: Vocabulary | None) -> Recognizer:
    """Whisper with the models the settings choose (per language too), unusable ones replaced by base."""
    from avatar_runtime.asr.whisper import WhisperConfig, WhisperRecognizer
    from avatar_runtime.asr.whisper_models import model_choice, model_dir, parse_beam_sizes

    choice = model_choice(settings.AVATAR_ASR_MODEL, settings.AVATAR_ASR_MODEL_BY_LANGUAGE, models_dir)
    beam_sizes, beam_notes = parse_beam_sizes(settings.AVATAR_ASR_BEAM_SIZE_BY_LANGUAGE)
    for note in [*choice.notes, *beam_notes]:
        log.warning("ASR: %s", note)
    config = WhisperConfig(cpu_threads=settings.AVATAR_ASR_THREADS, beam_size=settings.AVATAR_ASR_BEAM_SIZE,
                           beam_sizes=beam_sizes)
    recognizers = {name: WhisperRecognizer(model_dir(models_dir, name), config, vocabulary=vocabulary)
                   for name in {choice.default, *choice.by_language.values()}}
    log.info("ASR: Whisper %s", choice.describe())
    default = recognizers[choice.default]
    if not choice.by_language:
        return default
    return RecognizerByLanguage(default, {lang: recognizers[name] for lang, name in choice.by_language.items()})


@functools.cache
def answerer() -> Answerer:
    from avatar_runtime.llm.factory import LlmConfig, answerer_from_config

    return answerer_from_config(LlmConfig(backend=settings.AVATAR_LLM_BACKEND, base_url=settings.LLM_BASE_URL,
                                          model=settings.LLM_MODEL, api_key=settings.LLM_API_KEY))


@dataclass(frozen=True)
class VoiceChoice:
    primary: Voice
    fallback: Voice


class VoiceBook:
    """The voice per language (from the console's settings), with offline fallbacks behind it."""

    def __init__(self, choices: dict[str, VoiceChoice], models_dir: Path) -> None:
        self.choices = choices
        self.models_dir = models_dir

    def chain(self, language: str) -> list[Voice]:
        """The voices that may speak ``language``, in order: its voice, its fallback, espeak-ng last
        (those this host can use: no network voice where settings keep to the offline ones)."""
        choice = self.choices.get(language) or VoiceChoice(OFFLINE_VOICES["en"], OFFLINE_VOICES["en"])
        last_resort = espeak_voice_for(choice.primary)
        chain: list[Voice] = []
        for voice in (choice.primary, choice.fallback, last_resort):
            if voice not in chain and self._usable(voice):
                chain.append(voice)
        return chain

    def cached_voices(self, language: str) -> list[Voice]:
        """The voices whose answer audio is cached for ``language``: its voice and its offline fallback."""
        choice = self.choices.get(language)
        wanted = (choice.primary, choice.fallback) if choice is not None else ()
        return [voice for voice in self.chain(language) if voice in wanted]

    def synthesizer(self, language: str) -> tuple[Synthesizer, Voice]:
        chain = self.chain(language)
        synth: Synthesizer = synthesizer_for(chain[-1], self.models_dir)
        for voice, behind in zip(reversed(chain[:-1]), reversed(chain[1:]), strict=True):
            if voice.backend in NETWORK_BACKENDS:
                # Every retry is silence the customer hears: fail over at once, and let the
                # process-wide breaker keep the next sentences off a voice that is down.
                synth = FallbackSynthesizer(synthesizer_for(voice, self.models_dir), synth, behind, attempts=1,
                                            health=voice_breaker(voice, behind))
            else:
                synth = FallbackSynthesizer(synthesizer_for(voice, self.models_dir), synth, behind)
        return synth, chain[0]

    def _usable(self, voice: Voice) -> bool:
        if voice.backend == "edge":
            return settings.AVATAR_TTS_BACKEND in ("auto", "edge") and _edge_available()
        return settings.AVATAR_TTS_BACKEND != "edge" or voice.backend == "espeak"


def _edge_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("edge_tts") is not None and "edge" in _registered_backends()


def _registered_backends() -> set[str]:
    from avatar_runtime.tts import registry

    return set(getattr(registry, "_BACKENDS", {}))


@functools.lru_cache(maxsize=16)
def _portrait(photo_path: str, mtime: float, overrides_key: str) -> PortraitAvatar:
    overrides = RigOverrides.from_dict(json.loads(overrides_key)) if overrides_key else None
    with _lock:
        return prepare_portrait(Path(photo_path).read_bytes(), overrides=overrides,
                                cache_dir=Path(settings.MEDIA_ROOT) / "avatar-cache")


def portrait_current(profile: "KioskProfile") -> PortraitAvatar:
    """The prepared portrait for the kiosk's photo as it is now (a replaced photo is re-prepared)."""
    mtime = Path(profile.photo_path).stat().st_mtime
    return _portrait(profile.photo_path, mtime, profile.overrides_key)


@functools.lru_cache(maxsize=2)  # a loop holds ~80 MB of frames: the kiosks' current avatars only
def _idle_loop(video_path: str, mtime: float, photo_path: str, photo_mtime: float, overrides_key: str) -> IdleLoop:
    portrait = _portrait(photo_path, photo_mtime, overrides_key)
    with _lock:
        return idle_loop(Path(video_path).read_bytes(), portrait, cache_dir=Path(settings.MEDIA_ROOT) / "avatar-cache")


def idle_loop_current(profile: "KioskProfile") -> IdleLoop | None:
    """The idle loop of the kiosk's avatar video (stored by its preparation), or None for a photo avatar."""
    if not profile.video_path:
        return None
    return _idle_loop(profile.video_path, Path(profile.video_path).stat().st_mtime, profile.photo_path,
                      Path(profile.photo_path).stat().st_mtime, profile.overrides_key)


@dataclass(frozen=True)
class KioskProfile:
    kiosk_id: int | None
    languages: list[str]
    default_language: str
    photo_path: str
    overrides_key: str
    video_path: str = ""  # a video avatar's upload: its idle loop plays under the drawn mouth


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def renderer_choice() -> RendererChoice:
    """The renderer ``AVATAR_RENDER_BACKEND`` picks on this host (``ModelMissingError``: forced MuseTalk without weights)."""
    return choose_renderer(settings.AVATAR_RENDER_BACKEND, Path(settings.MODELS_DIR), cuda_available())


_live_musetalk: "LiveMuseTalk | None" = None
_render_lock = threading.Lock()


def start_renderer(*, spec: "ArchitectureSpec | None" = None) -> RendererChoice:
    """At worker start: when MuseTalk is chosen, load its weights and start the one shared server
    (compiled artefacts from ``MODELS_DIR/musetalk-compiled`` where ``musetalk_build`` made them).

    ``spec`` is the architecture the weights must have (the MuseTalk 1.5 release by default).
    """
    global _live_musetalk
    choice = renderer_choice()
    log.info("renderer: %s (%s)", choice.backend, choice.reason)
    if choice.backend != MUSETALK:
        return choice
    with _render_lock:
        if _live_musetalk is None:
            from avatar_runtime.render.musetalk.compile_cache import CompileCache
            from avatar_runtime.render.musetalk.config import MUSETALK_V15
            from avatar_runtime.render.musetalk.live import LiveMuseTalk
            from avatar_runtime.render.musetalk.weights import load_models

            models_dir = Path(settings.MODELS_DIR)
            models = load_models(models_dir, device="cuda" if cuda_available() else "cpu", spec=spec or MUSETALK_V15)
            live = LiveMuseTalk(models, cache_dir=Path(settings.MEDIA_ROOT) / "avatar-cache",
                                prerender_max_bytes=settings.MUSETALK_PRERENDER_MAX_BYTES)
            live.start(CompileCache.beside_weights(models_dir))
            _live_musetalk = live
    return choice


def live_musetalk() -> "LiveMuseTalk | None":
    """The worker's MuseTalk, once ``start_renderer`` started it (None: sessions use the portrait renderer)."""
    return _live_musetalk


def stop_renderer() -> None:
    global _live_musetalk
    with _render_lock:
        if _live_musetalk is not None:
            _live_musetalk.stop()
            _live_musetalk = None


def warm_up(*, retrieve: Callable[[str, str, int], Retrieved], voice_book: Callable[[], VoiceBook],
            vocabulary: Vocabulary | None = None) -> None:
    """Load every process-wide model before the worker takes sessions (blocking: ~10-20 s on CPU).

    A kiosk's first question must not wait for Whisper, the retrieval index or a voice to load.
    """
    health_seed(DoctorConfig.from_settings())
    start_renderer()
    first_recognition(recognizer(vocabulary))
    answerer()
    SileroVadStream()
    retrieve("hello", "en", 1)
    voices = voice_book()
    for language in KIOSK_LANGUAGES:
        synthesizer, voice = voices.synthesizer(language)
        health_voice(language, synthesizer, voice, asyncio.run(_speak_once(synthesizer, voice)))
        offline_voices_warm(voices, language)
    log.info("avatar runtime warmed up")


def offline_voices_warm(voices: VoiceBook, language: str) -> None:
    """Speak once with each offline model voice behind ``language``'s network voice.

    While the network voice answers, its fallback is never used, so without this the first sentence
    of an outage waited for Kokoro's model, phonemiser and first run (bench/results/kokoro_first_audio.md).
    """
    chain = voices.chain(language)
    if chain[0].backend not in NETWORK_BACKENDS:
        return  # the voice that spoke at warm-up is the offline one, or stands before it
    for voice in chain[1:]:
        if voice.backend in NETWORK_BACKENDS or voice.backend == "espeak":  # espeak-ng has no model to load
            continue
        try:
            asyncio.run(_speak_once(synthesizer_for(voice, voices.models_dir), voice))
        except ProviderError:
            log.warning("warming the %s fallback voice failed; an outage's first sentence will load it", language,
                        exc_info=True)


def first_recognition(rec: Recognizer) -> None:
    """Run ``rec`` once: its first pass is several times slower than the next (Whisper-base on
    2 cores: 1.1 s against 0.13 s for a short question), so it is spent here, not on the first
    customer. A failure is logged and the worker starts anyway: each question reports its own.
    A model per language gets its own pass."""
    passes = [rec, *rec.by_language.values()] if isinstance(rec, RecognizerByLanguage) else [rec]
    for each in passes:
        try:
            each.transcribe(voiced_sound(1.5, VAD_SAMPLE_RATE), VAD_SAMPLE_RATE)
        except ProviderError:
            log.warning("ASR warm-up pass failed; the first question will pay for the first pass", exc_info=True)


async def _speak_once(synthesizer: Synthesizer, voice: Voice) -> str:
    """Speak a word (loading the voice, trying a network voice); returns who spoke it."""
    async for _chunk in synthesizer.synthesize("OK.", voice):
        pass
    return str(getattr(synthesizer, "spoken_by", "") or synthesizer.name)
