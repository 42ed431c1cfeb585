"""Scoring what was heard: one spoken English word written two ways is no error; a wrong word still is."""
import pytest

from bench.speech_scoring import edit_distance, error_rate, units


@pytest.mark.parametrize(("said", "heard"), [
    ("It's open from 10:30 am to 9 pm.", "It's open from 1030 AM to 9 p.m."),
    ("from 10:30 am to 9:30 pm", "from 10.30am to 9.30 p.m."),
    ("It costs HK$25 per hour.", "It costs 25 Hong Kong dollars per hour."),
    ("values of HK$100 and HK$1,000", "values of $HK$100 and HK$1000"),
    ("values of HK$100 and HK$1,000", "values of $100 Hong Kong dollars and $1,000 Hong Kong dollars"),
    ("on the 3rd floor with eight houses", "on the third floor with 8 houses"),
    ("call our hotline on 2888 6000", "call our hotline on 28886000"),
    ("Harbour Medical Centre on B1", "Harbor Medical Center on B 1"),
    ("the kids' play area", "the kid's play area"),
])
def test_english_written_forms_of_the_same_spoken_words_are_no_error(said: str, heard: str) -> None:
    assert error_rate(said, heard, "en") == 0


@pytest.mark.parametrize(("said", "heard", "errors"), [
    ("Restaurants on the 5th floor", "Restaurants on the 5th 4th", 1),
    ("costs HK$25 per hour", "cost hg $25 per hour", 4),  # cost, hg, and "$25" is not Hong Kong dollars
    ("at 10 am", "at 10 pm", 1),
])
def test_english_wrong_words_still_count(said: str, heard: str, errors: int) -> None:
    assert edit_distance(units(said, "en"), units(heard, "en")) == errors


def test_chinese_scoring_is_unchanged() -> None:
    assert error_rate("洗手间在二楼", "洗手間在2樓", "zh") == pytest.approx(1 / 6)
