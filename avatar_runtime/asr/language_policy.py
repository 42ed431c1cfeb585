"""Which language the kiosk answers in: the detected language smoothed over the session, unless the
customer tapped one.

Scores start as a prior leaning to the kiosk's default language. Each recognised turn moves
them towards its language probabilities by ``step * confidence``, an exponential moving average
where unsure turns weigh little: one confident turn in another language switches (a visitor
walks up and speaks Japanese), a single mumbled or misheard turn does not. A tap overrides
detection until another tap or the end of the session (a new policy per session).

Cantonese and Mandarin: a recogniser without Cantonese of its own (Whisper base) says ``zh`` for
both (``Recognition.cantonese_as_zh``). Such a turn says "Chinese", not which one: in a session that
is in Cantonese (the kiosk's default, the customer's tap or earlier turns) it counts as Cantonese,
so a Cantonese kiosk keeps answering in Cantonese; elsewhere as Mandarin. A transcript in written
Cantonese (嘅 喺 咗 ...) is Cantonese wherever it is heard (the recogniser reports ``yue`` then).
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from avatar_runtime.asr.base import Recognition
from common.languages import KIOSK_LANGUAGES


@dataclass
class LanguagePolicy:
    default: str
    languages: Sequence[str] = KIOSK_LANGUAGES
    prior: float = 0.6  # share of the initial score held by the default language
    step: float = 0.7  # weight of a fully certain turn in the moving average
    first_step: float = 0.9  # a new customer's first words decide almost alone
    scores: dict[str, float] = field(init=False)
    override: str | None = field(init=False, default=None)
    observed: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.default not in self.languages:
            raise ValueError(f"default language {self.default!r} is not one of {list(self.languages)}")
        others = (1.0 - self.prior) / max(1, len(self.languages) - 1)
        self.scores = {code: self.prior if code == self.default else others for code in self.languages}

    @property
    def detected(self) -> str:
        """The language the smoothed detection favours."""
        return max(self.scores, key=self.scores.__getitem__)

    @property
    def current(self) -> str:
        return self.override or self.detected

    def tap(self, language: str) -> str:
        """The customer chose ``language`` on screen: it holds until the next tap."""
        if language not in self.languages:
            raise ValueError(f"language {language!r} is not one of {list(self.languages)}")
        self.override = language
        return self.current

    def reset(self) -> None:
        """A new customer: back to the kiosk's default language, no tap."""
        self.__post_init__()
        self.override = None
        self.observed = 0

    def observe(self, recognition: Recognition) -> str:
        """Take one recognised turn into account; returns the language to answer in.

        Turns without text (noise) or without language probabilities (the language was forced)
        tell nothing about the customer's language and are ignored.
        """
        if recognition.text.strip() and recognition.language_probabilities:
            probabilities = recognition.language_probabilities
            if recognition.cantonese_as_zh and self.current == "yue":
                probabilities = chinese_as_cantonese(probabilities)
            self._update(probabilities, recognition.confidence)
            self.observed += 1
        return self.current

    def _update(self, probabilities: Mapping[str, float], confidence: float) -> None:
        known = {code: max(0.0, probabilities.get(code, 0.0)) for code in self.languages}
        total = sum(known.values())
        if total <= 0.0:
            return
        # How sure the turn is of its language: the detector's own probability, raised by a
        # confident transcript (garbled text from a noisy room weighs little).
        certainty = max(known.values()) / total
        sure = max(0.0, min(1.0, 0.5 * certainty + 0.5 * confidence))
        weight = (self.first_step if self.observed == 0 else self.step) * sure
        for code in self.languages:
            self.scores[code] = (1.0 - weight) * self.scores[code] + weight * known[code] / total


def chinese_as_cantonese(probabilities: Mapping[str, float]) -> dict[str, float]:
    """What a recogniser without Cantonese gave Mandarin ("Chinese") counted as Cantonese."""
    moved = dict(probabilities)
    moved["yue"] = moved.get("yue", 0.0) + moved.get("zh", 0.0)
    moved["zh"] = 0.0
    return moved
