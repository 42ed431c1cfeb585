"""The five kiosk languages and the codes each part of the stack uses for them.

Internally a language is SenseVoice's code: ``zh`` Mandarin, ``yue`` Cantonese, ``en``,
``ja``, ``ko``. Django's UI locale and BCP-47 tags differ, so conversions live here once.
"""
from typing import Final

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

KIOSK_LANGUAGES: Final = ("zh", "yue", "en", "ja", "ko")
# English names: the language model's prompts name the answer language with these.
LANGUAGE_NAMES: Final = {
    "zh": "Mandarin",
    "yue": "Cantonese",
    "en": "English",
    "ja": "Japanese",
    "ko": "Korean",
}
# The names people read (console forms, lists, charts), in the reader's UI language.
LANGUAGE_LABELS: Final[dict[str, Promise]] = {
    "zh": _("Mandarin"),
    "yue": _("Cantonese"),
    "en": _("English"),
    "ja": _("Japanese"),
    "ko": _("Korean"),
}
LANGUAGE_CHOICES: Final = [(code, LANGUAGE_LABELS[code]) for code in KIOSK_LANGUAGES]
# How each language names itself: the kiosk's language buttons.
NATIVE_NAMES: Final = {"zh": "普通话", "yue": "廣東話", "en": "English", "ja": "日本語", "ko": "한국어"}
# The console's own languages (settings.LANGUAGES codes), each named in itself for the switch.
UI_LANGUAGE_NATIVE_NAMES: Final = {
    "en": "English", "zh-hans": "中文(简体)", "zh-hant": "中文(繁體)", "ja": "日本語", "ko": "한국어",
}
_UI_LOCALE: Final = {"zh": "zh-hans", "yue": "zh-hant", "en": "en", "ja": "ja", "ko": "ko"}
_BCP47: Final = {"zh": "zh-CN", "yue": "zh-HK", "en": "en-US", "ja": "ja-JP", "ko": "ko-KR"}


def ui_locale(language: str) -> str:
    """The Django locale whose translated strings the kiosk shows for ``language``."""
    return _UI_LOCALE.get(language, "en")


def bcp47(language: str) -> str:
    return _BCP47.get(language, "en-US")


def normalize_language(code: str) -> str | None:
    """Map a loose code (``zh-CN``, ``cmn``, ``zh-HK``, ``EN``) onto a kiosk language, or None."""
    lowered = code.strip().lower().replace("_", "-")
    if lowered in KIOSK_LANGUAGES:
        return lowered
    aliases = {
        "cmn": "zh", "zh-cn": "zh", "zh-hans": "zh", "zh-sg": "zh", "mandarin": "zh", "chinese": "zh",
        "zh-hk": "yue", "zh-hant": "yue", "zh-mo": "yue", "cantonese": "yue", "yue-hk": "yue",
        "en-us": "en", "en-gb": "en", "english": "en",
        "ja-jp": "ja", "japanese": "ja", "jp": "ja",
        "ko-kr": "ko", "korean": "ko", "kr": "ko",
    }
    return aliases.get(lowered)
