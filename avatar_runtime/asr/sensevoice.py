"""SenseVoiceSmall through funasr: text, language, emotion and audio events from one utterance.

The model loads only from ``MODELS_DIR/SenseVoiceSmall`` (nothing is downloaded: the
directory is checked first and funasr is told where every file is). funasr is imported
lazily, because CPU hosts run the embedded Whisper backend and need not install it.

SenseVoice prefixes each segment of its output with tags, e.g.
``<|yue|><|NEUTRAL|><|Speech|><|withitn|>洗手間喺邊度？``: language (or ``nospeech``),
emotion (``EMO_UNKNOWN`` when unsure), audio event (``Speech``, ``BGM``, ``Laughter``,
``Applause`` ...) and text normalisation. :func:`parse_output` keeps all of it: the language
becomes ``Recognition.language``, emotion and events go into ``Recognition.extras``.
"""
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avatar_runtime.asr.base import Recognition
from avatar_runtime.errors import ModelMissingError, ProviderError
from avatar_runtime.pipeline.messages import Samples
from avatar_runtime.text.scripts import is_cjk
from avatar_runtime.text.sentences import display_width
from common.languages import KIOSK_LANGUAGES, normalize_language

logger = logging.getLogger(__name__)

PROVIDER = "sensevoice"
MODEL_DIRECTORY = "SenseVoiceSmall"  # under MODELS_DIR
MODEL_FILE, CONFIG_FILE, CMVN_FILE, BPE_FILE = "model.pt", "config.yaml", "am.mvn", "chn_jp_yue_eng_ko_spectok.bpe.model"
REQUIRED_FILES = (MODEL_FILE, CONFIG_FILE, CMVN_FILE, BPE_FILE)
SAMPLE_RATE = 16_000

LANGUAGE_TAGS = frozenset({"zh", "en", "yue", "ja", "ko", "nospeech"})
EMOTION_TAGS = frozenset({"HAPPY", "SAD", "ANGRY", "NEUTRAL", "FEARFUL", "DISGUSTED", "SURPRISED", "EMO_UNKNOWN"})
EVENT_TAGS = frozenset({"Speech", "BGM", "Applause", "Laughter", "Cry", "Sneeze", "Breath", "Cough", "Event_UNK"})
TEXT_NORM_TAGS = frozenset({"withitn", "woitn"})
_TAG = re.compile(r"<\|([^|<>]*)\|>")


def _tag_name(tag: str) -> str:
    """Lower-case names for extras: ``EMO_UNKNOWN`` and ``Event_UNK`` become ``unknown``."""
    return "unknown" if tag in ("EMO_UNKNOWN", "Event_UNK") else tag.lower()


@dataclass
class Segment:
    language: str = ""  # SenseVoice's code, "nospeech" included
    emotion: str = ""
    events: list[str] = field(default_factory=list)
    text_norm: str = ""
    text: str = ""


def parse_segments(raw: str) -> list[Segment]:
    """Split SenseVoice's tagged text into segments; a tag after text starts a new segment."""
    segments: list[Segment] = []
    current = Segment()
    position = 0
    for match in _TAG.finditer(raw):
        current.text += raw[position : match.start()]
        position = match.end()
        if current.text.strip():
            segments.append(current)
            current = Segment()
        tag = match.group(1)
        if tag in LANGUAGE_TAGS:
            current.language = tag
        elif tag in EMOTION_TAGS:
            current.emotion = _tag_name(tag)
        elif tag in EVENT_TAGS:
            current.events.append(_tag_name(tag))
        elif tag in TEXT_NORM_TAGS:
            current.text_norm = tag
    current.text += raw[position:]
    segments.append(current)
    for segment in segments:
        segment.text = segment.text.strip()
    return [s for s in segments if s.text or s.language or s.emotion or s.events]


def _join(texts: list[str]) -> str:
    """Join segment texts: no space between CJK text, one space between Latin words."""
    joined = ""
    for text in texts:
        if joined and not (is_cjk(joined[-1]) or is_cjk(text[0])):
            joined += " "
        joined += text
    return joined


def parse_output(output: list[dict[str, Any]]) -> Recognition:
    """A :class:`Recognition` from ``AutoModel.generate``'s result (``[{'key': ..., 'text': ...}]``).

    SenseVoice gives no score: confidence is 1.0 when speech was recognised, 0.0 otherwise.
    ``language_probabilities`` is each language's share of the recognised text (by display width).
    """
    segments = [segment for item in output for segment in parse_segments(str(item.get("text", "")))]
    spoken = [s for s in segments if s.text]
    shares: dict[str, float] = {}
    total = sum(display_width(s.text) for s in spoken)
    for segment in spoken:
        if segment.language in KIOSK_LANGUAGES:
            shares[segment.language] = shares.get(segment.language, 0.0) + display_width(segment.text) / total
    # The main segment is the longest as spoken: display width counts a CJK character as two columns.
    main = max(spoken, key=lambda s: display_width(s.text), default=segments[0] if segments else Segment())
    language = main.language if main.language in KIOSK_LANGUAGES else ""
    events = list(dict.fromkeys(event for s in segments for event in s.events))
    extras = {"emotion": main.emotion or "unknown", "events": ",".join(events)}
    if main.text_norm:
        extras["text_norm"] = main.text_norm
    text = _join([s.text for s in spoken])
    return Recognition(
        text=text,
        language=language,
        confidence=1.0 if text else 0.0,
        language_probabilities={lang: round(share, 3) for lang, share in shares.items()},
        extras=extras,
    )


def validate_model_dir(model_dir: Path) -> None:
    """Raise :class:`ModelMissingError` naming every required file that is missing."""
    if not model_dir.is_dir():
        raise ModelMissingError(PROVIDER, f"{model_dir} does not exist; it must hold {', '.join(REQUIRED_FILES)}")
    missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        raise ModelMissingError(PROVIDER, f"{model_dir} is missing {', '.join(missing)}")


def resample(samples: Samples, sample_rate: int) -> Samples:
    if sample_rate == SAMPLE_RATE:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    divisor = math.gcd(SAMPLE_RATE, sample_rate)
    return np.asarray(resample_poly(samples, SAMPLE_RATE // divisor, sample_rate // divisor), dtype=np.float32)


class SenseVoiceRecognizer:
    name = "sensevoice"

    def __init__(self, model_dir: Path, *, device: str | None = None, threads: int = 4) -> None:
        validate_model_dir(model_dir)
        try:
            from funasr import AutoModel
        except ImportError as exc:
            raise ProviderError(PROVIDER, "funasr is not installed (pip install funasr)", retryable=False) from exc
        if device is None:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self._model = AutoModel(
            model=str(model_dir),
            disable_update=True,
            trust_remote_code=False,
            device=device,
            ncpu=threads,
            init_param=str(model_dir / MODEL_FILE),
            tokenizer_conf={"bpemodel": str(model_dir / BPE_FILE)},
            frontend_conf={"cmvn_file": str(model_dir / CMVN_FILE)},
        )

    def transcribe(self, samples: Samples, sample_rate: int, *, language: str | None = None) -> Recognition:
        audio = resample(samples, sample_rate)
        if audio.size == 0:
            return Recognition(text="", language="", confidence=0.0)
        forced = normalize_language(language) if language else None
        output = self._model.generate(
            input=audio, cache={}, language=forced or "auto", use_itn=True, ban_emo_unk=False, disable_pbar=True
        )
        return parse_output(output)
