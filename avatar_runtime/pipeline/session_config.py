"""What a session is built from: its configuration and its backends (``session.ConversationSession``).

Apart from the session, so that a turn (``turn.py``) can name them without importing the session.
"""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from avatar_runtime.aec.base import EchoCanceller
from avatar_runtime.asr.base import Recognizer
from avatar_runtime.asr.language_policy import LanguagePolicy
from avatar_runtime.llm.base import Answerer, Retrieved
from avatar_runtime.render.base import Renderer
from avatar_runtime.tts.base import Synthesizer, Voice
from avatar_runtime.vad.base import VadStream


@dataclass
class SessionConfig:
    languages: list[str]
    default_language: str
    idle_timeout: float = 45.0
    retrieval_k: int = 3
    history_turns: int = 4
    # While the avatar speaks, speech must reach this fraction of the level it is playing to count
    # as the customer: what is left of its own voice after echo cancellation is far quieter.
    bargein_min_level: float = 0.05
    # Speech quieter than this fraction may still be its echo (before the canceller converges the
    # residual reaches a third of the level played): output keeps playing until the speech gets
    # louder or ends, and then whether it followed the avatar's voice, or else its words, decide.
    bargein_doubt_level: float = 0.5
    # Pauses for speech that was not an interruption (a cough, "okay", a noisy neighbour) one answer
    # takes; after that, speech over it keeps it playing and only its words decide, so noise cannot
    # hold an answer up without end.
    bargein_false_alarms_per_answer: int = 3
    # Fraction of answers recorded as an mp4 of what the kiosk played (lip-sync QA, review).
    answer_clip_rate: float = 0.0
    answer_clip_max_seconds: float = 60.0


class VoiceSource(Protocol):
    def synthesizer(self, language: str) -> tuple[Synthesizer, Voice]:
        """The synthesizer (with its fallbacks behind it) and voice to speak ``language`` with."""
        ...


@dataclass
class SessionBackends:
    vad: VadStream
    recognizer: Recognizer
    retrieve: Callable[[str, str, int], Retrieved]  # blocking; run in a worker thread
    answerer: Answerer
    voices: VoiceSource
    renderer: Renderer
    language_policy: LanguagePolicy
    aec: EchoCanceller | None = None
