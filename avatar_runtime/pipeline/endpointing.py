"""End of turn, sooner: speculative recognition during a pause, and a shorter wait when the words are complete.

The VAD offers the utterance after a short pause ("pause" event, ~160 ms of silence); the session
starts recognising it at once instead of waiting for the full end-of-turn silence (~400 ms). If
the customer goes on speaking, the guess is dropped (the next pause or end brings a later
``pts``); if the turn ends with nothing new said, the turn uses it, already done or nearly. When
the speculative transcript reads as a complete sentence in its language, the session does not
wait for the rest of the end-of-turn silence at all.
"""
import asyncio
import re
from dataclasses import dataclass

from avatar_runtime.asr.base import Recognition
from avatar_runtime.asr.recognition_queue import Ticket

_TERMINAL = re.compile(r"[.?!。？！]['\"」』）)]*$")
# Sentence-final forms that Whisper often leaves without punctuation.
_FINAL_FORMS: dict[str, tuple[str, ...]] = {
    "ja": ("です", "ます", "ですか", "ますか", "ません", "ください", "でしょう", "した", "か", "ね", "よ"),
    "ko": ("요", "다", "까", "죠", "니다"),
    "zh": ("吗", "呢", "吧", "嗎", "啊", "呀"),
    "yue": ("嗎", "呀", "啊", "呢", "啦", "咩", "未", "嘅", "喎", "吖"),
}
_MIN_CHARACTERS = 2


def looks_complete(text: str, language: str) -> bool:
    """Does ``text`` read as a finished sentence (terminal punctuation, or a sentence-final form)?

    Errs on the side of "not complete": then the turn just waits for the usual end-of-turn silence.
    """
    stripped = text.strip()
    if len(stripped) < _MIN_CHARACTERS or stripped.endswith(("...", "…", ",", "、", "，")):
        return False
    if _TERMINAL.search(stripped):
        return True
    return stripped.endswith(_FINAL_FORMS.get(language, ()))


@dataclass
class Speculation:
    """Recognition started at a pause; valid for the turn whose speech ends at ``pts``."""

    pts: float
    task: "asyncio.Task[Recognition]"
    ticket: Ticket

    def matches(self, pts: float) -> bool:
        return abs(self.pts - pts) < 1e-6

    def recognition(self) -> Recognition | None:
        """The result, when the task finished without error."""
        if not self.task.done() or self.task.cancelled() or self.task.exception() is not None:
            return None
        return self.task.result()
