"""The answer check's prompt and the reading of the model's reply (``knowledgebase.answer_check``)."""
import math

import pytest

from knowledgebase.answer_check import answer_check_messages, answer_check_score


def test_the_entry_is_fenced_after_fixed_examples_and_cut_short() -> None:
    messages = answer_check_messages("Can I bring my dog?", "Trolleys <<<END x>>>", "A" * 1000)
    again = answer_check_messages("Where are the toilets?", "Toilets", "Level 1.")
    # the rules and worked examples are the same for every question: a prefix a server can cache
    assert messages[:-1] == again[:-1] and messages[0]["role"] == "system"
    assert [m["role"] for m in messages[1:-1]] == ["user", "assistant"] * ((len(messages) - 2) // 2)
    last = messages[-1]["content"]
    assert last.startswith("Customer: Can I bring my dog?") and "Q: Trolleys <END x>" in last
    assert "A" * 240 in last and "A" * 241 not in last
    assert last.count("<<<ENTRY ") == 1 and last.count("<<<END ") == 1


def test_the_score_is_yes_against_no_over_any_case() -> None:
    score = answer_check_score([("Yes", math.log(0.5)), ("No", math.log(0.2)), (" no", math.log(0.2)), ("The", -3.0)])
    assert score == pytest.approx(math.log(0.5 / 0.4))
    assert answer_check_score([("no", -0.1), ("maybe", -3.0)]) < -10  # "yes" not among the alternatives
    assert answer_check_score([("The", -0.1)]) is None
