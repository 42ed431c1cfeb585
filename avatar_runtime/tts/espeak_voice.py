"""espeak-ng as a subprocess: the offline voice for Cantonese, and the last-resort voice for every
language.

Voice names are espeak-ng's, variants included (``cmn-latn-pinyin+f3``). Text is prepared per voice:
- Mandarin: the ``cmn-latn-pinyin`` voice fed with tone-numbered pinyin from ``pypinyin``. The
  plain ``cmn`` voice of espeak-ng 1.51 spells Hanzi as pinyin and then reads the Latin letters
  as English ("qing three wen four"); Whisper hears English in it (see ``tests/speech_samples.py``).
- Japanese: espeak-ng reads kana but not kanji, so text goes through pyopenjtalk's reading first.
espeak-ng writes its WAV to stdout as it speaks, so chunks are streamed as they arrive.
"""
import asyncio
import re
import struct
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache

from pypinyin import Style, lazy_pinyin

from avatar_runtime.audio import from_pcm16
from avatar_runtime.errors import ProviderError
from avatar_runtime.inference_threads import in_inference_thread
from avatar_runtime.tts.base import SpeechChunk, Voice
from avatar_runtime.tts.streaming import MAX_CHUNK_S

ESPEAK_BINARY = "espeak-ng"
PINYIN_VOICE = "cmn-latn-pinyin"
DEFAULT_WPM = 175  # espeak-ng's own default speed, our rate 1.0
_WAV_HEADER = 44
_PUNCTUATION = str.maketrans({"，": ",", "。": ".", "？": "?", "！": "!", "、": ",", "；": ";", "：": ":", "（": "(", "）": ")"})
_HAN = re.compile(r"[\u3400-\u9fff]")


def hanzi_to_pinyin(text: str) -> str:
    """Hanzi as space-separated tone-numbered pinyin (``你好。`` → ``ni3 hao3 .``); other text kept.

    Digits stay digits: the pinyin voice reads them as Chinese numbers.
    """
    syllables = lazy_pinyin(text.translate(_PUNCTUATION), style=Style.TONE3, neutral_tone_with_five=True)
    return " ".join(s.strip() for s in syllables if s.strip())


def espeak_arguments(voice: Voice) -> list[str]:
    """Command line for ``voice``; pitch is approximate (espeak's 0-99 scale, 50 = default, ~4 per semitone)."""
    wpm = max(80, min(450, round(DEFAULT_WPM * voice.rate)))
    pitch = max(0, min(99, round(50 + 4 * voice.pitch)))
    return [ESPEAK_BINARY, "--stdout", "-b", "1", "-v", voice.name, "-s", str(wpm), "-p", str(pitch)]


def japanese_to_kana(text: str) -> str:
    """Kanji and kana as katakana readings (``東京駅`` → ``トーキョーエキ``), punctuation kept."""
    import pyopenjtalk  # loads its dictionary (~1 s) on first use

    return str(pyopenjtalk.g2p(text, kana=True))


# The espeak-ng languages (primary subtag of a voice's language) each kiosk language is spoken in.
ESPEAK_LANGUAGES = {"zh": "cmn", "yue": "yue", "en": "en", "ja": "ja", "ko": "ko"}


@dataclass(frozen=True)
class EspeakVoice:
    language: str  # espeak-ng's language tag, lower case ("cmn-latn-pinyin", "en-us")
    file: str  # the voice file's name, lower case, also accepted by -v ("yue-latn-jyutping")


@cache
def espeak_listing() -> tuple[tuple[EspeakVoice, ...], frozenset[str]]:
    """espeak-ng's voices and its ``+variant`` names (``+f3``), as ``espeak-ng --voices`` lists them."""
    voices: list[EspeakVoice] = []
    variants: set[str] = set()
    for option in ("--voices", "--voices=variant"):
        listing = subprocess.run([ESPEAK_BINARY, option], capture_output=True, text=True, check=True, timeout=10).stdout
        for line in listing.splitlines()[1:]:
            columns = line.split()  # priority, language, age/gender, name, file, other languages
            if len(columns) < 5:
                continue
            file = columns[4].rsplit("/", 1)[-1].lower()
            if option == "--voices":
                voices.append(EspeakVoice(columns[1].lower(), file))
            else:
                variants.add("+" + file)
    return tuple(voices), frozenset(variants)


def installed_voices() -> frozenset[str]:
    """espeak-ng's voice names and ``+variant`` names, lower case (``cmn-latn-pinyin``, ``+f3``).

    Checked up front because espeak-ng reading stdin silently speaks an unknown voice as English.
    """
    voices, variants = espeak_listing()
    return frozenset({name for voice in voices for name in (voice.language, voice.file)} | variants)


def voices_for_language(language: str) -> list[str]:
    """The espeak-ng voice names that speak the kiosk ``language`` (``cmn``, ``cmn-latn-pinyin`` for zh)."""
    wanted = ESPEAK_LANGUAGES.get(language)
    voices, _variants = espeak_listing()
    return sorted({name for voice in voices if voice.language.split("-")[0] == wanted
                   for name in (voice.language, voice.file)})


def check_voice(voice: Voice) -> None:
    base, plus, variant = voice.name.lower().partition("+")
    try:
        known = installed_voices()
    except (OSError, subprocess.SubprocessError) as exc:
        raise ProviderError("espeak", f"cannot run {ESPEAK_BINARY}: {exc}", retryable=False) from exc
    if base not in known or (plus and f"+{variant}" not in known):
        raise ProviderError("espeak", f"espeak-ng has no voice {voice.name!r}", retryable=False)


def espeak_text(text: str, voice: Voice) -> str:
    """The text espeak-ng can read for ``voice`` (blocking: the Japanese reading may load a dictionary)."""
    base = voice.name.split("+", 1)[0]
    if not _HAN.search(text):
        return text
    if base == PINYIN_VOICE:
        return hanzi_to_pinyin(text)
    if base == "ja":
        return japanese_to_kana(text)
    return text


class EspeakSynthesizer:
    name = "espeak"

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[SpeechChunk]:
        await in_inference_thread(check_voice, voice)
        prepared = await in_inference_thread(espeak_text, text, voice)
        try:
            process = await asyncio.create_subprocess_exec(
                *espeak_arguments(voice), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise ProviderError(self.name, f"cannot run {ESPEAK_BINARY}: {exc}", retryable=False) from exc
        try:
            assert process.stdin is not None and process.stdout is not None
            # Text goes through stdin (-b 1: UTF-8), so text starting with "-" is never an option.
            process.stdin.write(prepared.encode("utf-8"))
            await process.stdin.drain()
            process.stdin.close()
            header = await _read_up_to(process.stdout, _WAV_HEADER)
            if len(header) < _WAV_HEADER:
                raise await self._failure(process, voice)
            sample_rate = struct.unpack_from("<I", header, 24)[0]
            chunk_bytes = int(MAX_CHUNK_S * sample_rate) * 2
            while data := await _read_up_to(process.stdout, chunk_bytes):
                yield SpeechChunk(samples=from_pcm16(data[: len(data) // 2 * 2]), sample_rate=sample_rate)
            if await process.wait() != 0:
                raise await self._failure(process, voice)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def _failure(self, process: asyncio.subprocess.Process, voice: Voice) -> ProviderError:
        assert process.stderr is not None
        message = (await process.stderr.read()).decode("utf-8", "replace").strip()
        code = await process.wait()
        # A bad voice name or text espeak cannot handle will fail again: permanent.
        return ProviderError(self.name, f"voice {voice.name!r} failed (exit {code}): {message or 'no audio'}", retryable=False)


async def _read_up_to(stream: asyncio.StreamReader, size: int) -> bytes:
    """Read ``size`` bytes, or fewer at end of stream."""
    data = b""
    while len(data) < size:
        more = await stream.read(size - len(data))
        if not more:
            break
        data += more
    return data
