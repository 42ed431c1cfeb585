"""Script detection (is this answer in the customer's language?) and overlap units."""
import pytest

from avatar_runtime.text.scripts import Script, fits_language, script_counts
from avatar_runtime.text.units import content_units, hours, number_vocabulary, numbers, unsupported_numbers


@pytest.mark.parametrize(
    ("text", "language", "fits"),
    [
        ("The mall opens at 10 a.m.", "en", True),
        ("商场上午10点开门。", "en", False),
        ("商场上午10点开门。", "zh", True),
        ("商場朝早10點開門。", "yue", True),
        ("モールは10時に開きます。", "ja", True),
        ("モールは10時に開きます。", "zh", False),
        ("商场上午10点开门。", "ja", False),  # Han only and long: Chinese, not Japanese
        ("午前十時", "ja", True),  # short kanji-only Japanese is tolerated
        ("쇼핑몰은 오전 10시에 문을 엽니다.", "ko", True),
        ("쇼핑몰은 오전 10시에 문을 엽니다.", "ja", False),
        ("The IFC mall 商场 opens at 10.", "en", True),
        ("10:00", "ko", True),  # nothing to judge
    ],
)
def test_fits_language(text: str, language: str, fits: bool) -> None:
    assert fits_language(text, language) is fits


def test_script_counts_ignore_digits_and_punctuation() -> None:
    counts = script_counts("B1停车场、パーキング 주차 Parking! 123")
    assert counts[Script.HAN] == 3 and counts[Script.KANA] == 5 and counts[Script.HANGUL] == 2
    assert counts[Script.LATIN] == 8  # "B" and "Parking"


def test_content_units_are_words_for_latin_and_bigrams_for_cjk() -> None:
    assert content_units("The restrooms are on Level 2, next to the lifts.") == ["restroom", "level", "next", "lift"]
    assert content_units("停车场在B1") == ["停车", "车场", "场在"]
    assert content_units("トイレ") == ["トイ", "イレ"]
    assert content_units("ＰＡＲＫＩＮＧ") == ["parking"]  # full-width letters normalised


def test_numbers_are_canonical() -> None:
    assert numbers("Open 10:00–22:00, 1,000 spaces, 3.50 per hour, gate ０５") == ["10", "0", "22", "0", "1000", "3.5", "5"]


def test_hours_understand_both_clocks_and_cjk_words() -> None:
    assert hours("10 a.m. to 9 p.m.") == {"10", "21"}
    assert hours("晚上9点") == {"21"} and hours("午後9時") == {"21"} and hours("오후 9시") == {"21"}
    assert hours("21:30") == {"21"}


def test_number_vocabulary_matches_a_time_on_either_clock() -> None:
    vocabulary = number_vocabulary(["Open daily 10:00-22:00"])
    assert unsupported_numbers("We close at 10 p.m.", vocabulary) == []
    assert unsupported_numbers("商场晚上10点关门", vocabulary) == []
    assert unsupported_numbers("We close at 11 p.m.", vocabulary) == ["11"]
    assert unsupported_numbers("Parking costs 30 dollars", vocabulary) == ["30"]
