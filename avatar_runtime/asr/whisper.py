"""faster-whisper (CTranslate2, CPU int8) as the embedded recognizer, from a model directory of
``MODELS_DIR`` (``whisper-base``; which model per language: ``asr/whisper_models.py``).

Tuned for latency on two cores: greedy decoding, no timestamps, no Whisper-side VAD (the
utterance already comes from our VAD), no conditioning on earlier text, and an encoder window
fitted to the utterance: Whisper reads 30 s windows, and encoding the padding of a 2-3 s question
was most of the cost (about 2 s of CPU of 2.5). The window is the utterance plus
``window_padding_s`` of padding, which keeps the padded end the model was trained to see: with
3 s, the 40 test utterances of ``bench/speech_stages.py`` transcribe as with the full window
(one ran into a repetition loop, which ``collapse_repeats`` undoes) at a fifth of the CPU time;
with 1 s, a third of them loop. Language detection is
restricted to the five kiosk languages: Whisper's language probabilities are renormalised over
them before the argmax, and the utterance is then decoded in that language.

Cantonese: Whisper base has no ``yue`` token; it hears Cantonese as ``zh``. Models that have one
(large-v3) report it and we map it to ``yue``. In addition, text written with characters that
only written Cantonese uses (嘅 喺 咩 冇 ...) is taken as Cantonese whatever the model said. And a
model without ``yue`` that hears ``zh`` but gives Vietnamese an unusual share beside it
(``sounds_cantonese``) heard Cantonese: Cantonese read aloud comes back in standard written Chinese,
without those characters, but its tones pull a little of the probability to the tonal language
Whisper base knows nearest, and Vietnamese is then a large part of what doubt Whisper leaves beside
Mandarin (Mandarin with English names in it is doubted too, but towards English). Any other ``zh``
from a model without ``yue`` is marked ``cantonese_as_zh``: the language policy then keeps a session
that is in Cantonese in Cantonese (``asr/language_policy.py``). Both rules decide after decoding, so
they change the language reported, never the text.

Venue vocabulary: with a ``vocabulary`` (the venue's terms per language, from the knowledge base),
the decoding of the detected language is prompted with that language's terms (``asr/prompt.py``), so
"FreshMart" is written as the venue writes it; a transcript that echoes the prompt is decoded again
without it, and so is an unsure transcript that is nothing but prompt terms (noise heard as "MTR").
Language detection reads the audio only and is not affected; the no-speech probability is the
unprompted one (a prompt makes noise look like speech).
"""
import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avatar_runtime.asr.base import Recognition
from avatar_runtime.asr.language_policy import chinese_as_cantonese
from avatar_runtime.asr.prompt import DEFAULT_MAX_TOKENS, Prompt, Vocabulary, copies_prompt, only_prompt_terms, prompt_build
from avatar_runtime.asr.whisper_models import model_problem
from avatar_runtime.audio import as_samples, resample, rms_dbfs
from avatar_runtime.errors import ModelMissingError, ProviderError
from avatar_runtime.pipeline.messages import Samples
from common.languages import KIOSK_LANGUAGES

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
_CANTONESE_MARKERS = (
    "嘅", "喺", "咩", "冇", "唔", "哋", "咗", "嚟", "噉", "啲", "乜", "點樣", "佢", "嗰", "睇", "俾", "咁", "邊度", "係咪",
)
_MIN_SPEECH_DBFS = -55.0  # quieter than this is silence: don't even run the model
_MIN_SECONDS = 0.15
_FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s window in 10 ms mel frames
_MIN_REPEATED = 4  # characters: a shorter "phrase" repeated is more likely real speech ("no no")
_MAX_TOKENS_PER_SECOND = 20  # Korean and Cantonese run to ~15 tokens per second of speech
# Vietnamese's probability over Mandarin's above which a "zh" from Whisper base is Cantonese. Chosen on
# the tuning clips of bench/data/real_speech: Mandarin read by real speakers at most 0.00022 (synthetic
# Mandarin questions at most 0.00005), Cantonese read by a real speaker 0.00112; 0.0005 sits between
# them, about a factor 2 from each (bench/results/asr_real_speech.md). On a CPU without AVX-512 the
# Cantonese clip gives 0.00074, and a held-out Mandarin sentence with three Latin-script names 0.00073.
_CANTONESE_VI_SHARE = 0.0005
# ... and Vietnamese's part of everything but Mandarin (1 - p(zh)), at least this much as well. The
# held-out sentence above showed that the share alone takes Mandarin in doubt for Cantonese (it doubts
# towards English: en 0.055, vi 0.0007, a part of 0.010); the value is chosen on the tuning clips only:
# Mandarin at most 0.058, Cantonese 0.195 (0.015 and 0.22 for the pair of clips the tests quote from the
# AVX-512 CPU); 0.1 sits between them, a factor 1.7-2 from each (bench/results/asr_models.md, session 26).
_CANTONESE_VI_PART_OF_DOUBT = 0.1


@dataclass(frozen=True)
class WhisperConfig:
    cpu_threads: int = 2
    compute_type: str = "int8"
    beam_size: int = 1
    beam_sizes: Mapping[str, int] = field(default_factory=dict)  # per language, where not beam_size
    no_speech_threshold: float = 0.6  # a segment above this (and unsure) is dropped as non-speech
    log_prob_threshold: float = -1.0
    # Seconds of padding after the utterance in the encoder window; None = Whisper's full 30 s.
    window_padding_s: float | None = 3.0
    prompt_max_tokens: int = DEFAULT_MAX_TOKENS  # the venue vocabulary's share of the decoder's input


    def beam_for(self, language: str) -> int:
        return self.beam_sizes.get(language, self.beam_size)


def looks_cantonese(text: str) -> bool:
    return any(marker in text for marker in _CANTONESE_MARKERS)


def sounds_cantonese(detected: list[tuple[str, float]]) -> bool:
    """Whisper's language probabilities (``("<|zh|>", p)`` pairs, all languages) of a model without
    ``yue`` for speech it takes for Chinese: whether Vietnamese's share beside Mandarin, and its part
    of the doubt about Mandarin, say Cantonese."""
    by_code = {token.strip("<|>"): prob for token, prob in detected}
    zh, vi = by_code.get("zh", 0.0), by_code.get("vi", 0.0)
    doubt = 1.0 - zh
    return (zh > 0.0 and doubt > 0.0 and vi / zh >= _CANTONESE_VI_SHARE
            and vi / doubt >= _CANTONESE_VI_PART_OF_DOUBT)


def check_model_dir(model_dir: Path) -> None:
    problem = model_problem(model_dir)
    if problem is not None:
        raise ModelMissingError(
            "whisper", f"{problem}; run `python manage.py provision_models` (nothing downloads at run time)",
        )


_models: dict[tuple[Path, int, str], Any] = {}
_models_lock = threading.Lock()


def _load_model(model_dir: Path, config: WhisperConfig) -> Any:
    """One WhisperModel per (directory, threads, precision) per process; loaded on first use."""
    key = (model_dir.resolve(), config.cpu_threads, config.compute_type)
    with _models_lock:
        if key not in _models:
            check_model_dir(model_dir)
            from faster_whisper import WhisperModel  # heavy import, only when ASR is used

            _models[key] = WhisperModel(
                str(model_dir), device="cpu", compute_type=config.compute_type, cpu_threads=config.cpu_threads,
                local_files_only=True,
            )
        return _models[key]


class WhisperRecognizer:
    name = "whisper"

    def __init__(self, model_dir: Path, config: WhisperConfig | None = None, *,
                 vocabulary: Vocabulary | None = None) -> None:
        check_model_dir(model_dir)
        self.model_dir = model_dir
        self.config = config or WhisperConfig()
        self.vocabulary = vocabulary
        self._prompts: dict[tuple[str, tuple[str, ...]], Prompt | None] = {}

    def transcribe(self, samples: Samples, sample_rate: int, *, language: str | None = None) -> Recognition:
        if language is not None and language not in KIOSK_LANGUAGES:
            raise ValueError(f"language {language!r} is not a kiosk language")
        audio = resample(as_samples(samples), sample_rate, SAMPLE_RATE)
        if len(audio) < _MIN_SECONDS * SAMPLE_RATE or rms_dbfs(audio) < _MIN_SPEECH_DBFS:
            return Recognition(text="", language=language or "", confidence=0.0)
        model = _load_model(self.model_dir, self.config)
        try:
            return self._recognize(model, audio, language)
        except (RuntimeError, ValueError) as exc:  # CTranslate2 reports failures as these
            raise ProviderError(self.name, f"transcription failed: {exc}", retryable=True) from exc

    def _recognize(self, model: Any, audio: Samples, forced: str | None) -> Recognition:
        from faster_whisper.audio import pad_or_trim

        # One encoder pass serves both language detection and decoding (faster-whisper's own
        # transcribe() would encode twice); utterances are shorter than Whisper's 30 s window.
        features = model.feature_extractor(audio)
        encoder_output = model.encode(pad_or_trim(features, self._window_frames(len(audio))))
        probabilities: dict[str, float] = {}
        detected: list[tuple[str, float]] = []
        if forced is None:
            detected = model.model.detect_language(encoder_output)[0]
            probabilities = _kiosk_probabilities(detected)
            language = max(probabilities, key=probabilities.__getitem__)
        else:
            language = forced
        seconds = len(audio) / SAMPLE_RATE
        prompt = self._prompt(model, language)
        text, avg_logprob, no_speech = self._decode(model, encoder_output, language, seconds, prompt)
        if prompt is not None and self._distrust(text, avg_logprob, no_speech, prompt):
            text, avg_logprob, no_speech = self._decode(model, encoder_output, language, seconds, None)
        # Whisper's own rule: confident "no speech" with an unsure decoding is noise, not words.
        text = collapse_repeats(text)
        if not text or (no_speech > self.config.no_speech_threshold and avg_logprob < self.config.log_prob_threshold):
            return Recognition(text="", language=language, confidence=0.0, language_probabilities=probabilities)
        undivided = forced is None and language == "zh" and not has_language_token(model, "yue")
        if forced is None and language == "zh" and (looks_cantonese(text) or (undivided and sounds_cantonese(detected))):
            language = "yue"
            probabilities = chinese_as_cantonese(probabilities)
            undivided = False
        confidence = max(0.0, min(1.0, math.exp(avg_logprob) * (1.0 - no_speech)))
        return Recognition(text=text, language=language, confidence=confidence, language_probabilities=probabilities,
                           cantonese_as_zh=undivided)

    def _window_frames(self, samples: int) -> int:
        """Mel frames (10 ms each) the encoder reads: the utterance plus padding, at most 30 s."""
        if self.config.window_padding_s is None:
            return _FULL_WINDOW_FRAMES
        seconds = samples / SAMPLE_RATE + self.config.window_padding_s
        return min(_FULL_WINDOW_FRAMES, math.ceil(seconds * 100))

    def _distrust(self, text: str, avg_logprob: float, no_speech: float, prompt: Prompt) -> bool:
        """A prompted decoding to redo without the prompt: an echo of it, an unsure one made of
        prompt terms only, or one of audio the model takes for non-speech (the prompt makes the
        decoder sure of itself on noise, so Whisper's rule of "no speech and unsure" misses it)."""
        unsure = avg_logprob < self.config.log_prob_threshold
        return (copies_prompt(text, prompt) or (unsure and only_prompt_terms(text, prompt))
                or no_speech > self.config.no_speech_threshold)

    def _prompt(self, model: Any, language: str) -> Prompt | None:
        """The venue vocabulary's prompt for ``language`` (built once per list of terms)."""
        if self.vocabulary is None:
            return None
        try:
            terms = tuple(self.vocabulary(language))
        except Exception:  # the vocabulary is a help: a failure to get it must not cost the question
            log.warning("venue vocabulary unavailable; recognising without it", exc_info=True)
            return None
        key = (language, terms)
        if key not in self._prompts:
            if len(self._prompts) > 64:  # a knowledge base edited all day: keep the newest few
                self._prompts.clear()
            self._prompts[key] = prompt_build(terms, language, model.hf_tokenizer, max_tokens=self.config.prompt_max_tokens)
        return self._prompts[key]

    def _decode(self, model: Any, encoder_output: Any, language: str, seconds: float,
                venue: Prompt | None = None) -> tuple[str, float, float]:
        """Decoding without timestamps (greedy unless the language's beam is wider): (text, average token
        log-probability, no-speech probability)."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        # The kiosk's codes are Whisper's; Whisper before large-v3 has no "yue". (faster-whisper's
        # supported_languages lists "yue" for every multilingual model: ask the vocabulary.)
        code = language if has_language_token(model, language) else "zh"
        tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=code)
        previous = [tokenizer.sot_prev, *venue.tokens] if venue is not None else []
        prompt = [*previous, *tokenizer.sot_sequence, tokenizer.no_timestamps]
        # Bounding the output by the audio's length stops a hallucination loop early.
        max_new = min(model.max_length - len(prompt), int(_MAX_TOKENS_PER_SECOND * seconds) + 16)
        result = model.model.generate(
            encoder_output, [prompt], beam_size=self.config.beam_for(language), max_length=len(prompt) + max_new,
            return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=list(get_suppressed_tokens(tokenizer, (-1,))),
        )[0]
        tokens = result.sequences_ids[0]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)  # scores are length-normalised
        no_speech = float(result.no_speech_prob)
        if venue is not None:
            # A prompt lowers the no-speech probability of noise (0.74 -> 0.41 for white noise at
            # -30 dBFS) and so would let noise through the no-speech rule: ask it without the
            # prompt, one decoder step.
            plain = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
            no_speech = float(model.model.generate(encoder_output, [plain], max_length=len(plain) + 1,
                                                   return_no_speech_prob=True)[0].no_speech_prob)
        return tokenizer.decode(tokens).strip(), float(avg_logprob), no_speech


def has_language_token(model: Any, code: str) -> bool:
    """Whether the model's vocabulary has ``<|code|>``: Whisper base has no ``<|yue|>``, and
    decoding with a missing language token produces garbage (``甚甚甚甚`` for a Mandarin sentence)."""
    return model.hf_tokenizer.token_to_id(f"<|{code}|>") is not None


def collapse_repeats(text: str) -> str:
    """A decoding that loops (``"A? A? A? A"``) becomes its phrase once (``"A?"``).

    Only a text that is nothing but two or more copies of one phrase (the last one possibly cut
    off by the token limit) is collapsed; a phrase repeated inside a longer text is kept.
    """
    for period in range(_MIN_REPEATED, (len(text) + 1) // 2 + 1):
        phrase = text[:period]
        copies = -(-len(text) // period)
        if text[period:].startswith(phrase.strip()) and (phrase * copies).startswith(text):
            return phrase.strip()
    return text


def _kiosk_probabilities(detected: list[tuple[str, float]]) -> dict[str, float]:
    """Whisper's language probabilities (``("<|en|>", p)`` pairs) restricted to the kiosk languages, renormalised."""
    by_code = {token.strip("<|>"): prob for token, prob in detected}
    raw = {code: float(by_code.get(code, 0.0)) for code in KIOSK_LANGUAGES}
    total = sum(raw.values())
    if total <= 0.0:
        return {code: 1.0 / len(KIOSK_LANGUAGES) for code in KIOSK_LANGUAGES}
    return {code: p / total for code, p in raw.items()}

