"""A recogniser per language behind one: ``AVATAR_ASR_MODEL_BY_LANGUAGE=zh:small`` (``asr/whisper_models.py``).

The default recogniser hears every turn first: it detects the language (its probabilities are what
the session's language policy learns from) and, for a language without a recogniser of its own,
its transcript is the answer. A turn in a language listed here is recognised again by that
language's recogniser with the language forced, which costs the first decoding on top (an encoder
pass and a greedy decoding of the default model: ~0.1-0.3 s of CPU for a short question with base).
A forced language (the customer's tap) goes straight to its recogniser.
"""
from collections.abc import Mapping
from dataclasses import replace

from avatar_runtime.asr.base import Recognition, Recognizer
from avatar_runtime.pipeline.messages import Samples


class RecognizerByLanguage:
    def __init__(self, default: Recognizer, by_language: Mapping[str, Recognizer]) -> None:
        self.default = default
        self.by_language = dict(by_language)
        self.name = default.name

    def transcribe(self, samples: Samples, sample_rate: int, *, language: str | None = None) -> Recognition:
        if language is not None:
            return self.by_language.get(language, self.default).transcribe(samples, sample_rate, language=language)
        heard = self.default.transcribe(samples, sample_rate)
        other = self.by_language.get(heard.language)
        if other is None or not heard.text:
            return heard
        again = other.transcribe(samples, sample_rate, language=heard.language)
        # The language was detected, not chosen: keep what detection said for the language policy.
        return replace(again, language_probabilities=heard.language_probabilities,
                       cantonese_as_zh=heard.cantonese_as_zh)
