"""The load bench's customers: which questions each kiosk asks and when, side by side."""
from collections import Counter

import numpy as np

from bench.load_client import LOCKSTEP_PAUSE, kiosk_questions, think_times

LANGUAGES = ["en", "zh", "ja", "ko", "yue"] * 2
RECORDED = [(language, np.full(4, index, np.float32)) for index, language in enumerate(LANGUAGES)]


def _asked(kiosks: int, count: int, *, lockstep: bool) -> list[list[int]]:
    return [[int(audio[0]) for _, audio in kiosk_questions(RECORDED, k, count, lockstep=lockstep)]
            for k in range(kiosks)]


def test_three_kiosks_ask_in_all_what_the_lone_reference_kiosk_asks() -> None:
    for lockstep in (False, True):
        together = Counter(q for kiosk in _asked(3, 5, lockstep=lockstep) for q in kiosk)
        assert together == Counter(_asked(1, 15, lockstep=lockstep)[0])


def test_side_by_side_kiosks_ask_in_different_languages_unless_in_lockstep() -> None:
    own = _asked(3, 5, lockstep=False)
    for step in range(5):
        assert len({LANGUAGES[kiosk[step]] for kiosk in own}) == 3
    lockstep = _asked(3, 5, lockstep=True)
    for step in range(5):
        assert len({LANGUAGES[kiosk[step]] for kiosk in lockstep}) == 1


def test_each_customer_thinks_for_their_own_seeded_time_between_questions() -> None:
    first, again, other = think_times(0, 5, lockstep=False), think_times(0, 5, lockstep=False), think_times(1, 5, lockstep=False)
    assert first == again != other
    assert all(0.5 <= pause <= 2.5 for pause in first + other)
    assert think_times(2, 5, lockstep=True) == [LOCKSTEP_PAUSE] * 5 == [0.5] * 5
