"""The session's language: smoothed detection with a prior to the default, overridden by a tap."""
import pytest

from avatar_runtime.asr.base import Recognition
from avatar_runtime.asr.language_policy import LanguagePolicy


def turn(language: str, probability: float, confidence: float, text: str = "words") -> Recognition:
    others = (1.0 - probability) / 4
    probabilities = {code: (probability if code == language else others) for code in ("zh", "yue", "en", "ja", "ko")}
    return Recognition(text=text, language=language, confidence=confidence, language_probabilities=probabilities)


def test_starts_in_the_kiosk_default() -> None:
    assert LanguagePolicy(default="yue").current == "yue"


def test_one_confident_turn_switches_language() -> None:
    policy = LanguagePolicy(default="en")
    assert policy.observe(turn("ja", 0.95, 0.9)) == "ja"


def test_a_single_unsure_turn_does_not_flip_the_language() -> None:
    policy = LanguagePolicy(default="en")
    assert policy.observe(turn("ko", 0.5, 0.3)) == "en"
    assert policy.observe(turn("ko", 0.6, 0.9)) == "ko"  # but a second, clearer one does


def test_a_new_customers_first_words_decide_even_when_the_transcript_is_shaky() -> None:
    # Whisper on a Mandarin question: sure of the language (0.98), unsure of the words (0.44).
    policy = LanguagePolicy(default="en")
    assert policy.observe(turn("zh", 0.98, 0.44)) == "zh"


def test_settled_language_survives_an_outlier() -> None:
    policy = LanguagePolicy(default="en")
    for _ in range(3):
        policy.observe(turn("zh", 0.9, 0.8))
    assert policy.observe(turn("ja", 0.7, 0.5)) == "zh"


def test_mandarin_cantonese_ambiguity_is_smoothed() -> None:
    policy = LanguagePolicy(default="yue")
    ambiguous = Recognition("text", "zh", 0.6, {"zh": 0.55, "yue": 0.45})
    assert policy.observe(ambiguous) == "yue"


def test_turns_without_words_or_probabilities_are_ignored() -> None:
    policy = LanguagePolicy(default="en")
    before = dict(policy.scores)
    policy.observe(turn("ja", 1.0, 1.0, text="  "))
    policy.observe(Recognition(text="hello", language="ja", confidence=1.0))  # forced language: no probabilities
    assert policy.scores == before


def test_tap_overrides_detection_until_the_next_tap() -> None:
    policy = LanguagePolicy(default="en")
    policy.tap("ko")
    for _ in range(5):
        assert policy.observe(turn("ja", 0.99, 1.0)) == "ko"
    assert policy.detected == "ja"  # detection keeps learning underneath
    assert policy.tap("zh") == "zh"


def test_unknown_languages_are_refused() -> None:
    with pytest.raises(ValueError, match="default language"):
        LanguagePolicy(default="fr")
    policy = LanguagePolicy(default="en", languages=("en", "ja"))
    with pytest.raises(ValueError, match="not one of"):
        policy.tap("zh")
    assert policy.observe(turn("zh", 0.5, 1.0)) == "en"  # probabilities outside the kiosk's languages weigh nothing


def chinese(confidence: float = 0.8) -> Recognition:
    """Whisper base on Chinese speech: "zh", sure of it, and no way to say which Chinese."""
    probabilities = {"zh": 0.96, "yue": 0.0, "en": 0.02, "ja": 0.01, "ko": 0.01}
    return Recognition("洗手間在哪裏", "zh", confidence, probabilities, cantonese_as_zh=True)


def test_a_cantonese_kiosk_stays_cantonese_when_the_recogniser_cannot_tell_cantonese_from_mandarin() -> None:
    policy = LanguagePolicy(default="yue")
    for _ in range(5):
        assert policy.observe(chinese()) == "yue"


def test_a_session_that_turned_cantonese_stays_cantonese_for_chinese_turns() -> None:
    policy = LanguagePolicy(default="en")
    written_cantonese = Recognition("洗手間喺邊度", "yue", 0.8, {"zh": 0.0, "yue": 0.96, "en": 0.04, "ja": 0.0, "ko": 0.0})
    assert policy.observe(written_cantonese) == "yue"
    assert policy.observe(chinese()) == "yue"


def test_chinese_on_a_mandarin_or_english_kiosk_is_mandarin() -> None:
    assert LanguagePolicy(default="zh").observe(chinese()) == "zh"
    assert LanguagePolicy(default="en").observe(chinese()) == "zh"


def test_a_recogniser_that_knows_cantonese_is_believed_when_it_says_mandarin() -> None:
    # SenseVoice reports yue itself: its "zh" is Mandarin, even on a Cantonese kiosk.
    sensevoice = Recognition("洗手间在哪里", "zh", 0.9, {"zh": 0.97, "yue": 0.01, "en": 0.01, "ja": 0.005, "ko": 0.005})
    assert LanguagePolicy(default="yue").observe(sensevoice) == "zh"


def test_a_cantonese_kiosk_still_switches_for_another_language() -> None:
    assert LanguagePolicy(default="yue").observe(turn("en", 0.97, 0.9)) == "en"


def test_a_tap_on_cantonese_holds_against_confident_mandarin() -> None:
    policy = LanguagePolicy(default="zh")
    policy.tap("yue")
    mandarin = Recognition("洗手间在哪里", "zh", 0.95, {"zh": 0.99, "yue": 0.0, "en": 0.01, "ja": 0.0, "ko": 0.0})
    for _ in range(5):
        assert policy.observe(mandarin) == "yue"
