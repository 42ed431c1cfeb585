"""The avatar worker's composition root: a kiosk session assembled from settings and the database.

The one place that wires the apps into the runtime, through the runtime's own protocols: the
transcript store (``conversations``), retrieval and the venue vocabulary (``knowledgebase``), the voice
book and the answer audio cache (``avatars``), with the kiosk's avatar and languages from this app. The
``avatar_worker`` command and the embedded worker (``kiosk.embedded``) both start their worker with it.
"""
import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections

from avatar_runtime import factory
from avatar_runtime.aec.factory import echo_canceller
from avatar_runtime.asr.language_policy import LanguagePolicy
from avatar_runtime.asr.prompt import Vocabulary
from avatar_runtime.capacity.budget import BudgetConfig, CpuBudget
from avatar_runtime.capacity.degrade import Degrader
from avatar_runtime.capacity.frame_budget import FrameBudget, FrameBudgetConfig
from avatar_runtime.capacity.stage_cpu import StageCpu
from avatar_runtime.factory import KioskProfile, answerer, idle_loop_current, live_musetalk, portrait_current, recognizer
from avatar_runtime.inference_threads import in_inference_thread
from avatar_runtime.pipeline.clock import RealClock
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.pipeline.session import ConversationSession
from avatar_runtime.pipeline.session_config import SessionBackends, SessionConfig, VoiceSource
from avatar_runtime.render.base import RENDER_SAMPLE_RATE, Renderer
from avatar_runtime.render.portrait.renderer import PortraitRenderer
from avatar_runtime.tts.answer_cache import CachedVoices
from avatar_runtime.vad.silero import SileroVadStream
from avatar_runtime.worker.governor import Governor
from avatars.answer_audio import DjangoSpeechCache, answer_audio_sources
from avatars.voices import voice_book_from_settings
from common.languages import KIOSK_LANGUAGES
from conversations.transcript_store import DjangoTranscriptStore
from kiosk.models import Kiosk
from knowledgebase.runtime_retrieval import retrieve, venue_terms

log = logging.getLogger(__name__)


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
    """The runtime's warm-up (``avatar_runtime.factory.warm_up``) with the knowledge base and the saved
    voices; then, on a MuseTalk worker, cached answers start being rendered ahead."""
    factory.warm_up(retrieve=retrieve, voice_book=voice_book_from_settings, vocabulary=vocabulary())
    live = live_musetalk()
    if live is not None and settings.ANSWER_AUDIO_CACHE and settings.MUSETALK_PRERENDER_EVERY > 0:
        live.start_prerendering(_cached_answers, settings.MUSETALK_PRERENDER_EVERY)


def _cached_answers() -> list[tuple[str, Callable[[], Samples]]]:
    """The answer audio cache's entries (from the pre-render thread: its connection is closed after)."""
    try:
        return list(answer_audio_sources(RENDER_SAMPLE_RATE))
    finally:
        close_old_connections()


async def session_factory(session_id: str, kiosk_id: int | None) -> ConversationSession:
    profile = await database_sync_to_async(kiosk_profile)(kiosk_id)
    voices: VoiceSource = await database_sync_to_async(voice_book_from_settings)()
    if settings.ANSWER_AUDIO_CACHE:  # FAQ answers play from the answer audio cache (avatars.answer_audio)
        voices = CachedVoices(voices, DjangoSpeechCache())
    rec = await in_inference_thread(recognizer, vocabulary())
    cpu = StageCpu()
    renderer = await session_renderer(session_id, profile, cpu)
    backends = SessionBackends(
        vad=SileroVadStream(),
        recognizer=rec,
        retrieve=retrieve,
        answerer=answerer(),
        voices=voices,
        renderer=renderer,
        language_policy=LanguagePolicy(profile.default_language, profile.languages),
        aec=echo_canceller(),
    )
    config = SessionConfig(languages=profile.languages, default_language=profile.default_language,
                           idle_timeout=settings.AVATAR_SESSION_IDLE_SECONDS,
                           answer_clip_rate=settings.ANSWER_CLIP_SAMPLE_RATE,
                           answer_clip_max_seconds=settings.ANSWER_CLIP_MAX_SECONDS)
    return ConversationSession(session_id=session_id, kiosk_id=profile.kiosk_id, config=config, backends=backends,
                               store=DjangoTranscriptStore(profile.kiosk_id), clock=RealClock(), cpu=cpu)


async def session_renderer(session_id: str, profile: KioskProfile, cpu: StageCpu) -> Renderer:
    """MuseTalk on the worker's shared server where ``start_renderer`` started it, else the portrait
    renderer; a session whose avatar MuseTalk cannot show (no face, server stopped) gets the portrait."""
    live = live_musetalk()
    if live is not None:
        try:
            return await asyncio.to_thread(live.renderer, Path(profile.video_path or profile.photo_path), session_id)
        except Exception as exc:  # noqa: BLE001 - any MuseTalk failure costs the session its lip sync, not its life
            log.warning("session %s: MuseTalk unavailable (%s); using the portrait renderer", session_id, exc)
    portrait = await asyncio.to_thread(portrait_current, profile)
    loop = await asyncio.to_thread(idle_loop_current, profile)
    return PortraitRenderer(portrait, cpu=cpu, loop=loop)


def worker_governor() -> Governor:
    """The governor the settings ask for: CPU budget and degrading (``AVATAR_CPU_GOVERNOR`` off: none),
    and the MuseTalk server's frame budget (``AVATAR_GPU_FRAME_TARGET`` 0: none)."""
    frames = None
    if settings.AVATAR_GPU_FRAME_TARGET > 0:
        frames = FrameBudget(FrameBudgetConfig(target=settings.AVATAR_GPU_FRAME_TARGET),
                             sustained=_musetalk_sustained_fps, rendered=_musetalk_live_rendered)
    if not settings.AVATAR_CPU_GOVERNOR:
        return Governor(budget=None, degrader=None, frames=frames, min_sessions=settings.AVATAR_WORKER_MIN_SESSIONS)
    config = BudgetConfig(initial_cost=settings.AVATAR_SESSION_COST_CORES,
                          max_cost=settings.AVATAR_SESSION_COST_MAX_CORES, target=settings.AVATAR_CPU_TARGET,
                          burst_window=settings.AVATAR_CPU_BURST_SECONDS)
    return Governor(budget=CpuBudget(config), degrader=Degrader(), frames=frames,
                    min_sessions=settings.AVATAR_WORKER_MIN_SESSIONS,
                    overload_hold=settings.AVATAR_OVERLOAD_HOLD_SECONDS)


def _musetalk_sustained_fps() -> float | None:
    """The worker's MuseTalk server's sustained frames/s (None: no server, so no frame budget)."""
    live = live_musetalk()
    return live.server.sustained_fps() if live is not None else None


def _musetalk_live_rendered() -> int:
    live = live_musetalk()
    return live.server.live_rendered if live is not None else 0
