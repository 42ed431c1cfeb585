"""espeak-ng's IPA for text, in Kokoro's symbols (blocking: runs in the synthesis thread).

Kokoro reads IPA: espeak-ng's phonemes give it Korean, and the English words inside Chinese text.
"""
import re
import subprocess

from avatar_runtime.errors import ProviderError

# espeak-ng writes some sounds as two symbols where Kokoro's vocabulary has one, or none at all.
# Korean aspirates are written with a plain "h" after them (phoˈinthɯ), which Kokoro would say as an h.
_IPA_TO_KOKORO = (("dʑ", "ʥ"), ("tɕh", "ʨʰ"), ("tɕ", "ʨ"), ("ph", "pʰ"), ("th", "tʰ"), ("kh", "kʰ"), ("ɫ", "l"),
                  ("q", "k"), ("-", ""))
# Where the text switches language (English words in Korean), espeak-ng writes the switch as "(en)"
# and back as "(ko)": letters that Kokoro would say.
_LANGUAGE_SWITCH = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)?\)")


def espeak_ipa(text: str, espeak_voice: str) -> str:
    """espeak-ng's IPA for ``text`` in Kokoro's symbols, ending with the text's closing punctuation."""
    try:
        result = subprocess.run(["espeak-ng", "-q", "--ipa", "-b", "1", "-v", espeak_voice], input=text.encode("utf-8"),
                                capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ProviderError("kokoro", f"espeak-ng phonemization failed: {exc}", retryable=False) from exc
    ipa = " ".join(_LANGUAGE_SWITCH.sub(" ", result.stdout.decode("utf-8")).split())
    for espeak, kokoro in _IPA_TO_KOKORO:
        ipa = ipa.replace(espeak, kokoro)
    return ipa + _closing_mark(text)


def english_ipa(words: str) -> str:
    """English words inside Chinese text (shop names: "Harbour Cinema"), as an English speaker says them.

    Left as letters, Kokoro reads each letter as the IPA symbol it looks like.
    """
    return espeak_ipa(words, "en-us")[:-1].strip()


def _closing_mark(text: str) -> str:
    """Kokoro shapes the intonation from punctuation, which espeak's IPA leaves out."""
    end = text.rstrip()[-1:]
    if end in ("?", "？"):
        return "?"
    if end in (",", "，", "、"):
        return ","
    return "."
