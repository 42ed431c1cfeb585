"""English answer text written out as Piper should say it."""
from avatar_runtime.tts.english_text import english_spoken


def test_hong_kong_dollar_amounts_are_said_as_words() -> None:
    assert english_spoken("It costs HK$25 per hour; cards of HK$1,000.") == \
        "It costs 25 Hong Kong dollars per hour; cards of 1,000 Hong Kong dollars."


def test_names_said_letter_by_letter_are_respelt_only_as_whole_words() -> None:
    assert english_spoken("one IMAX screen") == "one I-MAX screen"
    assert english_spoken("IMAXIMUM and $25") == "IMAXIMUM and $25"
