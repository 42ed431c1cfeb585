"""Edge's voice list, from a snapshot committed in ``data/edge_voices.json`` (the service's own
list needs the internet, which a kiosk host may not have).

Each kiosk language speaks with the voices of its locales: Mandarin with mainland and Taiwan
voices (``zh-CN``, ``zh-TW`` and their regional ``zh-CN-liaoning`` kin), Cantonese with Hong
Kong's (``zh-HK``), English with any ``en-*``, Japanese ``ja-JP``, Korean ``ko-KR``. The file
names where and when the snapshot was taken; refresh it when Edge adds voices.
"""
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOGUE_PATH = Path(__file__).with_name("data") / "edge_voices.json"
LOCALES: dict[str, tuple[str, ...]] = {
    "zh": ("zh-CN", "zh-TW"),
    "yue": ("zh-HK", "yue-CN"),
    "en": ("en",),
    "ja": ("ja-JP",),
    "ko": ("ko-KR",),
}


@dataclass(frozen=True)
class EdgeVoice:
    name: str  # the ShortName edge-tts is given, e.g. "zh-HK-HiuMaanNeural"
    locale: str
    gender: str
    friendly_name: str


@dataclass(frozen=True)
class EdgeCatalogue:
    voices: dict[str, EdgeVoice]
    source: str
    snapshot_date: str

    def get(self, name: str) -> EdgeVoice | None:
        return self.voices.get(name)

    def for_language(self, language: str) -> list[EdgeVoice]:
        """The voices of ``language``'s locales, by name."""
        return sorted((v for v in self.voices.values() if speaks(v.locale, language)), key=lambda v: v.name)


def speaks(locale: str, language: str) -> bool:
    """Whether a voice of ``locale`` speaks the kiosk ``language`` (``zh-CN-liaoning`` speaks zh)."""
    return any(locale == prefix or locale.startswith(prefix + "-") for prefix in LOCALES.get(language, ()))


@cache
def edge_catalogue() -> EdgeCatalogue:
    data = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    voices = {row["ShortName"]: EdgeVoice(row["ShortName"], row["Locale"], row["Gender"], row["FriendlyName"])
              for row in data["voices"]}
    return EdgeCatalogue(voices, data["source"], data["snapshot_date"])
