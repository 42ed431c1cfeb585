"""Which voices each backend has for a language: Edge's from the committed snapshot of its list, the
offline backends' from what this host has installed (Piper and Kokoro files in MODELS_DIR,
espeak-ng's own ``--voices`` listing). Real parts: the snapshot file, espeak-ng, the provisioned models.
"""
import json

import pytest

from avatar_runtime.tts.edge_catalogue import CATALOGUE_PATH, edge_catalogue
from avatars.voices import voice_check, voice_names
from common.errors import ApplicationError
from common.languages import KIOSK_LANGUAGES


def test_the_edge_snapshot_names_its_source_and_holds_every_voice_once() -> None:
    data = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    assert data["source"].startswith("https://github.com/") and data["source_commit"] in data["source"]
    assert data["snapshot_date"] and data["source_date"]
    names = [row["ShortName"] for row in data["voices"]]
    assert len(names) == len(set(names)) > 300
    assert all(row["ShortName"].startswith(row["Locale"] + "-") for row in data["voices"])


@pytest.mark.parametrize(("language", "locales"), [
    ("zh", {"zh-CN", "zh-TW", "zh-CN-liaoning", "zh-CN-shaanxi"}),
    ("yue", {"zh-HK"}),
    ("ja", {"ja-JP"}),
    ("ko", {"ko-KR"}),
])
def test_edge_suggestions_are_the_voices_of_the_languages_locales(language: str, locales: set[str]) -> None:
    voices = edge_catalogue().for_language(language)
    assert {voice.locale for voice in voices} == locales
    assert voice_names("edge", language) == [voice.name for voice in voices]


def test_edge_english_is_every_english_locale_and_nothing_else() -> None:
    names = voice_names("edge", "en")
    assert "en-US-AvaMultilingualNeural" in names and "en-GB-SoniaNeural" in names and "en-HK-YanNeural" in names
    assert all(name.startswith("en-") for name in names)


def test_espeak_suggestions_are_the_voices_that_speak_the_language() -> None:
    assert set(voice_names("espeak", "zh")) == {"cmn", "cmn-latn-pinyin"}
    assert set(voice_names("espeak", "yue")) >= {"yue"} and "cmn" not in voice_names("espeak", "yue")
    assert voice_names("espeak", "ja") == ["ja"] and voice_names("espeak", "ko") == ["ko"]
    english = voice_names("espeak", "en")
    assert "en-us" in english and all(name.startswith("en") for name in english)
    for language in KIOSK_LANGUAGES:  # the variants (+f3) are not voices of their own
        assert not any(name.startswith("+") for name in voice_names("espeak", language))


def test_kokoro_lists_the_installed_styles_with_the_languages_own_first() -> None:
    zh = voice_names("kokoro", "zh")
    assert "zf_xiaobei" in zh and "jf_alpha" in zh and zh.index("zf_xiaobei") < zh.index("jf_alpha")
    assert voice_names("kokoro", "ja")[0].startswith("j")
    assert voice_names("kokoro", "en") == []  # this host's Kokoro does not speak English


@pytest.mark.parametrize(("backend", "name", "language"), [
    ("edge", "zh-CN-XiaoxiaoNeural", "zh"),
    ("edge", "zh-TW-HsiaoChenNeural", "zh"),
    ("edge", "zh-HK-HiuMaanNeural", "yue"),
    ("edge", "en-AU-NatashaNeural", "en"),
    ("edge", "ko-KR-SunHiNeural", "ko"),
    ("espeak", "cmn-latn-pinyin+f3", "zh"),
    ("espeak", "yue+m1", "yue"),
    ("espeak", "EN-US", "en"),
    ("kokoro", "zf_xiaobei", "yue"),
    ("piper", "en_US-joe-medium", "en"),
])
def test_known_voices_pass(backend: str, name: str, language: str) -> None:
    voice_check(backend=backend, name=name, language=language)


@pytest.mark.parametrize(("backend", "name", "language", "says"), [
    ("edge", "zh-CN-MadeUpNeural", "zh", "is not in Edge's voice list"),
    ("edge", "en-US-JennyNeural ", "en", "is not in Edge's voice list"),  # the form strips; the check does not
    ("edge", "ja-JP-NanamiNeural", "zh", "is an Edge voice for ja-JP, not for Mandarin"),
    ("edge", "zh-CN-XiaoxiaoNeural", "yue", "is an Edge voice for zh-CN, not for Cantonese"),
    ("espeak", "en-us", "zh", "has no voice"),  # installed, but it would read Chinese as English
    ("espeak", "yue+nobody", "yue", "has no voice"),
    ("espeak", "klingon", "en", "has no voice"),
    ("kokoro", "zf_nobody", "zh", "has no voice"),
    ("piper", "en_US-joe-medium", "ja", "has no voice"),
    ("piper", "en_US-nobody", "en", "has no voice"),
])
def test_unknown_voices_are_refused_with_a_clear_message(backend: str, name: str, language: str, says: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        voice_check(backend=backend, name=name, language=language)
    assert refused.value.code == "voice_unknown" and says in refused.value.message
