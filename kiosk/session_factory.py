"""The avatar worker's composition root: a kiosk session assembled from settings and the database.

The one place that wires the apps into the runtime, through the runtime's own protocols: the
transcript store (``conversations``), retrieval and the venue vocabulary (``knowledgebase``), the voice
book and the answer audio cache (``avatars``), with the kiosk's avatar and languages from this app. The
``avatar_worker`` command and the embedded worker (``kiosk.embedded``) both start their worker with it.
"""
import asyncio
import json

from channels.db import database_sync_to_async
from django.conf import settings

from avatar_runtime import factory
from avatar_runtime.aec.factory import echo_canceller
from avatar_runtime.asr.language_policy import LanguagePolicy
from avatar_runtime.asr.prompt import Vocabulary
from avatar_runtime.capacity.budget import BudgetConfig, CpuBudget
from avatar_runtime.capacity.degrade import Degrader
from avatar_runtime.capacity.stage_cpu import StageCpu
from avatar_runtime.factory import KioskProfile, answerer, idle_loop_current, portrait_current, recognizer
from avatar_runtime.inference_threads import in_inference_thread
from avatar_runtime.pipeline.clock import RealClock
from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.pipeline.session_config import SessionBackends, SessionConfig, VoiceSource
from avatar_runtime.render.portrait.renderer import PortraitRenderer
from avatar_runtime.tts.answer_cache import CachedVoices
from avatar_runtime.vad.silero import SileroVadStream
from avatar_runtime.worker.governor import Governor
from avatars.answer_audio import DjangoSpeechCache
from avatars.voices import voice_book_from_settings
from common.languages import KIOSK_LANGUAGES
from conversations.transcript_store import DjangoTranscriptStore
from kiosk.models import Kiosk
from knowledgebase.runtime_retrieval import retrieve, venue_terms


def kiosk_profile(kiosk_id: int | None) -> KioskProfile:
    kiosk = Kiosk.objects.select_related("avatar").filter(pk=kiosk_id).first() if kiosk_id else None
    if kiosk is None or kiosk.avatar is None:
        raise LookupError(f"kiosk {kiosk_id} has no avatar")
    avatar = kiosk.avatar
    overrides = {k: v for k, v in (("face", avatar.face_box), ("mouth", avatar.mouth_box)) if v}
    languages = [code for code in kiosk.languages if code in KIOSK_LANGUAGES] or list(KIOSK_LANGUAGES)
    return KioskProfile(kiosk.pk, languages, kiosk.default_language, avatar.source.path,
                        json.dumps(overrides, sort_keys=True) if overrides else "",
                        avatar.video.path if avatar.video else "")


def vocabulary() -> Vocabulary | None:
    """The venue's terms for the recogniser, from the published knowledge base, in the languages of
    ``ASR_VENUE_VOCABULARY_LANGUAGES`` (``ASR_VENUE_VOCABULARY`` turns it off)."""
    if not settings.ASR_VENUE_VOCABULARY:
        return None
    languages = frozenset(settings.ASR_VENUE_VOCABULARY_LANGUAGES)
    return lambda language: venue_terms(language) if language in languages else ()


def warm_up() -> None:
    """The runtime's warm-up (``avatar_runtime.factory.warm_up``) with the knowledge base and the saved voices."""
    factory.warm_up(retrieve=retrieve, voice_book=voice_book_from_settings, vocabulary=vocabulary())


async def session_factory(session_id: str, kiosk_id: int | None) -> ConversationSession:
    profile = await database_sync_to_async(kiosk_profile)(kiosk_id)
    voices: VoiceSource = await database_sync_to_async(voice_book_from_settings)()
    if settings.ANSWER_AUDIO_CACHE:  # FAQ answers play from the answer audio cache (avatars.answer_audio)
        voices = CachedVoices(voices, DjangoSpeechCache())
    portrait = await asyncio.to_thread(portrait_current, profile)
    loop = await asyncio.to_thread(idle_loop_current, profile)
    rec = await in_inference_thread(recognizer, vocabulary())
    cpu = StageCpu()
    backends = SessionBackends(
        vad=SileroVadStream(),
        recognizer=rec,
        retrieve=retrieve,
        answerer=answerer(),
        voices=voices,
        renderer=PortraitRenderer(portrait, cpu=cpu, loop=loop),
        language_policy=LanguagePolicy(profile.default_language, profile.languages),
        aec=echo_canceller(),
    )
    config = SessionConfig(languages=profile.languages, default_language=profile.default_language,
                           idle_timeout=settings.AVATAR_SESSION_IDLE_SECONDS,
                           answer_clip_rate=settings.ANSWER_CLIP_SAMPLE_RATE,
                           answer_clip_max_seconds=settings.ANSWER_CLIP_MAX_SECONDS)
    return ConversationSession(session_id=session_id, kiosk_id=profile.kiosk_id, config=config, backends=backends,
                               store=DjangoTranscriptStore(profile.kiosk_id), clock=RealClock(), cpu=cpu)


def worker_governor() -> Governor:
    """The CPU governor the settings ask for (``AVATAR_CPU_GOVERNOR`` off: admission by count only)."""
    if not settings.AVATAR_CPU_GOVERNOR:
        return Governor(budget=None, degrader=None)
    config = BudgetConfig(initial_cost=settings.AVATAR_SESSION_COST_CORES,
                          max_cost=settings.AVATAR_SESSION_COST_MAX_CORES, target=settings.AVATAR_CPU_TARGET)
    return Governor(budget=CpuBudget(config), degrader=Degrader(), min_sessions=settings.AVATAR_WORKER_MIN_SESSIONS)
