"""Real test speech, made with the offline voices, and the acoustic situations tests put it in.

``speak(text, language)`` synthesises with the kiosk's offline voice for the language (Piper for
English, Kokoro for Japanese, Korean and Mandarin, espeak-ng for Cantonese) and returns 16 kHz
audio; results are cached for the test session (in memory, and as WAV files in a temporary
directory for listening when a test fails). ``mix_echo`` simulates the kiosk's loudspeaker
leaking into its microphone; ``with_silence`` pads speech with silence or low noise.
"""
import asyncio
import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

import numpy as np

from avatar_runtime.audio import resample, write_wav
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.tts.base import Voice
from avatar_runtime.tts.registry import OFFLINE_VOICES, synthesizer_for

RATE = 16000
T = TypeVar("T")

# Sentences per language, as a customer might ask them at a venue's kiosk.
SENTENCES: dict[str, list[str]] = {
    "en": ["Where can I find the restrooms near the main entrance?", "What time does the museum close today?",
           "Is there a cafe on the second floor?", "How do I get to the train station from here?"],
    "ja": ["東京駅の北口はどちらですか。", "博物館は何時に閉まりますか。", "近くにコンビニはありますか。",
           "チケットはどこで買えますか。"],
    "zh": ["请问洗手间在哪里？", "今天天气很好，我们去公园散步吧。", "博物馆的开放时间是上午九点到下午五点。",
           "请问地铁站怎么走？"],
    "yue": ["請問洗手間喺邊度？", "今日天氣好好，我哋去公園行下啦。", "博物館幾點閂門？", "呢度有冇餐廳呀？"],
    "ko": ["화장실이 어디에 있어요?", "오늘 날씨가 정말 좋네요.", "박물관은 몇 시에 문을 닫아요?", "지하철역은 어떻게 가요?"],
}


def models_dir() -> Path:
    from django.conf import settings

    return Path(settings.MODELS_DIR)


def run_sync(coroutine: Coroutine[object, object, T]) -> T:
    """Run ``coroutine`` to completion from sync code, even when called inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    result: list[T] = []
    worker = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    worker.start()
    worker.join()
    return result[0]


async def synthesize(text: str, voice: Voice) -> tuple[Samples, int]:
    """The whole utterance of ``voice`` for ``text``, at the voice's own sample rate."""
    pieces, rate = [], RATE
    async for chunk in synthesizer_for(voice, models_dir()).synthesize(text, voice):
        pieces.append(chunk.samples)
        rate = chunk.sample_rate
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32), rate


@cache
def _cache_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"speech-samples-{os.getpid()}-"))
    atexit.register(shutil.rmtree, path, True)
    return path


@cache
def _spoken(text: str, voice: Voice) -> Samples:
    audio, rate = run_sync(synthesize(text, voice))
    audio16 = resample(audio, rate, RATE)
    write_wav(_cache_dir() / f"{voice.language}-{abs(hash((text, voice))):x}.wav", audio16, RATE)
    audio16.setflags(write=False)  # shared by every caller: nobody may change it
    return audio16


def speak(text: str, language: str, voice: Voice | None = None) -> tuple[Samples, int]:
    """``text`` spoken in ``language`` by its offline voice (or ``voice``), as 16 kHz samples."""
    return _spoken(text, voice or OFFLINE_VOICES[language]), RATE


def with_silence(samples: Samples, before_s: float, after_s: float, *, noise_dbfs: float | None = None,
                 seed: int = 0) -> Samples:
    """``samples`` with silence around it; with ``noise_dbfs``, white noise of that level throughout."""
    out = np.concatenate([np.zeros(int(before_s * RATE), np.float32), samples, np.zeros(int(after_s * RATE), np.float32)])
    if noise_dbfs is not None:
        out = out + noise(len(out), noise_dbfs, seed=seed)
    return out.astype(np.float32)


def noise(length: int, dbfs: float, *, seed: int = 0) -> Samples:
    return (np.random.default_rng(seed).standard_normal(length) * 10 ** (dbfs / 20)).astype(np.float32)


def room_impulse_response(length_ms: float = 60.0, rt60_ms: float = 120.0, *, seed: int = 1) -> Samples:
    """A short synthetic room: the direct path, then exponentially decaying reflections."""
    n = int(length_ms * RATE / 1000)
    decay = np.exp(-6.9 * np.arange(n) / (rt60_ms * RATE / 1000))  # -60 dB after rt60
    response = np.random.default_rng(seed).standard_normal(n) * decay * 0.3
    response[0] = 1.0
    return (response / np.sqrt(np.sum(response**2))).astype(np.float32)


@dataclass(frozen=True)
class EchoMix:
    mic: Samples  # what the microphone hears: near-end speech + echo
    echo: Samples  # the echo alone (same length as mic)
    near: Samples  # the near-end speech alone (same length as mic)


def mix_echo(near: Samples, far: Samples, delay_ms: float, gain: float) -> EchoMix:
    """The microphone signal when ``far`` plays on the loudspeaker while a customer says ``near``.

    The echo path is the loudspeaker-to-microphone delay, a short room response and an
    attenuation ``gain`` (linear); both signals are 16 kHz and start at the same instant.
    """
    delay = int(delay_ms * RATE / 1000)
    echo = (gain * np.convolve(np.concatenate([np.zeros(delay, np.float32), far]), room_impulse_response())).astype(np.float32)
    length = max(len(near), len(echo))
    echo = np.pad(echo, (0, length - len(echo))).astype(np.float32)
    near = np.pad(near, (0, length - len(near))).astype(np.float32)
    return EchoMix(mic=(near + echo).astype(np.float32), echo=echo, near=near)
