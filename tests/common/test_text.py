import pytest

from common.text import text_problem


@pytest.mark.parametrize("text", ["", "Where is the toilet?", "洗手间在哪里？", "line one\nline two\ttab\r\n", "emoji 😀 ok"])
def test_ordinary_text_has_no_problem(text: str) -> None:
    assert text_problem(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("hello\ud800", "lone surrogate"),
    ("\udfffhello", "lone surrogate"),
    ("nul\x00byte", "NUL"),
    ("bell\x07", "control character"),
    ("c1\x85", "control character"),
    ("escape\x1b[31m", "control character"),
])
def test_unstorable_text_is_named(text: str, expected: str) -> None:
    problem = text_problem(text)
    assert problem is not None and expected in problem
