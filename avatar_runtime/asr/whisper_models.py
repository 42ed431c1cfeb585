"""Which Whisper model recognises which language (``AVATAR_ASR_MODEL``, ``AVATAR_ASR_MODEL_BY_LANGUAGE``).

Models by name, each a CTranslate2 conversion in its own directory of ``MODELS_DIR``: ``base`` (the
catalogue's, provisioned by setup) and ``small``, which no registry package carries intact (the
one upload is truncated: ``bench/results/asr_models.md``), so an operator who wants it converts
it on a machine that can (``ct2-transformers-converter --model openai/whisper-small
--quantization int8 --copy_files tokenizer.json --output_dir whisper-small``) and places it in ``MODELS_DIR/whisper-small``.

A model asked for but absent, incomplete or not an intact CTranslate2 file is replaced by base, and
the choice says so (``doctor`` prints it, the worker logs it): the kiosk keeps hearing.
"""
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from avatar_runtime.asr.ctranslate2_file import ctranslate2_problem
from common.languages import KIOSK_LANGUAGES

DEFAULT_MODEL = "base"
MODEL_DIRECTORIES = {"base": "whisper-base", "small": "whisper-small"}  # under MODELS_DIR
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
VOCABULARY_FILES = ("vocabulary.txt", "vocabulary.json")  # older and newer converters write one of them


@dataclass(frozen=True)
class ModelChoice:
    default: str  # the model that detects the language and recognises every language not listed below
    by_language: Mapping[str, str] = field(default_factory=dict)  # languages recognised by another model
    notes: tuple[str, ...] = ()  # what was asked for and not used, and why

    def model_for(self, language: str) -> str:
        return self.by_language.get(language, self.default)

    def describe(self) -> str:
        """``"base; zh, ja: small"``."""
        groups: dict[str, list[str]] = {}
        for language, model in self.by_language.items():
            groups.setdefault(model, []).append(language)
        return "; ".join([self.default, *(f"{', '.join(langs)}: {model}" for model, langs in groups.items())])


def model_dir(models_dir: Path, name: str) -> Path:
    return models_dir / MODEL_DIRECTORIES[name]


def model_problem(directory: Path) -> str | None:
    """Why ``directory`` holds no usable faster-whisper model (None when it does)."""
    missing = [name for name in MODEL_FILES if not (directory / name).is_file()]
    if not any((directory / name).is_file() for name in VOCABULARY_FILES):
        missing.append(" or ".join(VOCABULARY_FILES))
    if missing:
        return f"{directory} lacks {', '.join(missing)}"
    return ctranslate2_problem(directory / "model.bin")


def parse_by_language(text: str) -> tuple[dict[str, str], list[str]]:
    """``"zh:small, ja:small"`` -> ({"zh": "small", "ja": "small"}, notes on the entries left out)."""
    chosen: dict[str, str] = {}
    notes = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        language, _, model = (part.strip() for part in entry.partition(":"))
        if language not in KIOSK_LANGUAGES or model not in MODEL_DIRECTORIES:
            notes.append(f"AVATAR_ASR_MODEL_BY_LANGUAGE entry {entry!r} ignored (language:model, with a language of "
                         f"{', '.join(KIOSK_LANGUAGES)} and a model of {', '.join(MODEL_DIRECTORIES)})")
            continue
        chosen[language] = model
    return chosen, notes


def parse_beam_sizes(text: str) -> tuple[dict[str, int], list[str]]:
    """``"ja:5, zh:5"`` -> ({"ja": 5, "zh": 5}, notes on the entries left out)."""
    chosen: dict[str, int] = {}
    notes = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        language, _, size = (part.strip() for part in entry.partition(":"))
        if language not in KIOSK_LANGUAGES or not size.isdigit() or not 1 <= int(size) <= 10:
            notes.append(f"AVATAR_ASR_BEAM_SIZE_BY_LANGUAGE entry {entry!r} ignored (language:beam, with a language of "
                         f"{', '.join(KIOSK_LANGUAGES)} and a beam of 1 to 10)")
            continue
        chosen[language] = int(size)
    return chosen, notes


def model_choice(default: str, by_language: str, models_dir: Path) -> ModelChoice:
    """The models to use, from the settings' values: each one asked for and unusable becomes base."""
    notes: list[str] = []
    usable: dict[str, bool] = {}

    def usable_or_base(name: str, asked_by: str) -> str:
        if name not in MODEL_DIRECTORIES:
            notes.append(f"{asked_by}={name} is not a model ({', '.join(MODEL_DIRECTORIES)}): base instead")
            return DEFAULT_MODEL
        if name not in usable:
            problem = model_problem(model_dir(models_dir, name)) if name != DEFAULT_MODEL else None
            usable[name] = problem is None
            if problem is not None:
                notes.append(f"{asked_by}={name}, but {problem}: base instead")
        return name if usable[name] else DEFAULT_MODEL

    chosen_default = usable_or_base(default.strip() or DEFAULT_MODEL, "AVATAR_ASR_MODEL")
    wanted, parse_notes = parse_by_language(by_language)
    notes.extend(parse_notes)
    per_language = {language: usable_or_base(model, f"AVATAR_ASR_MODEL_BY_LANGUAGE {language}")
                    for language, model in wanted.items()}
    return ModelChoice(chosen_default, {lang: m for lang, m in per_language.items() if m != chosen_default},
                       tuple(notes))
