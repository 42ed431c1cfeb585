"""The grounding guard: is a generated sentence supported by the retrieved entries?

A sentence is judged on its own, as it streams:

- written in another language's script → ``wrong_language``;
- a number (price, time, floor) that the entry it draws on does not contain → ``ungrounded``;
- too few of its words (Latin), character bigrams (CJK) and numbers found in that entry,
  counting the avatar's own polite vocabulary as found → ``ungrounded``;
- otherwise ``decline`` when it says it doesn't know, ``grounded`` when it uses the entries'
  words, and ``filler`` ("Sure!", "好的。") when it says nothing of substance.

The entries are compared in every language they have, so a faithful translation of a
Mandarin-only entry into English still fails: an English answer must overlap English text.
That is deliberate; the extractive answer then speaks the closest language the entry has.
Thresholds were tuned on ``bench/llm_local.py``'s evaluation set.
"""
from dataclasses import dataclass
from enum import StrEnum

from avatar_runtime.llm.base import Passage
from avatar_runtime.llm.passages import source_texts
from avatar_runtime.llm.phrases import all_phrase_texts
from avatar_runtime.text.scripts import fits_language
from avatar_runtime.text.units import content_units, normalize, number_vocabulary, numbers

MIN_COVERAGE = 0.5  # share of a sentence's units that must come from its entry (or the polite vocabulary)
MAX_FOREIGN_SHARE = 0.2  # share of its units that may come from other entries instead

# Words a grounded answer may add around the facts: greetings, hedges, hand-offs.
POLITE_TEXTS = (
    "sure certainly of course happy glad help assist welcome thank thanks hope hello hi great okay ok yes "
    "sorry apologies unfortunately afraid know information question ask staff member customer service desk counter "
    "information centre center concierge contact find located location",
    "当然 可以 好的 没问题 很高兴 为您 帮您 您好 谢谢 不客气 欢迎 希望 对您 有帮助 请问 还有 其他 需要 抱歉 对不起 不知道 不清楚 "
    "没有 相关 信息 资料 工作人员 服务台 客服 咨询 询问 您可以 无法 提供 回答 问题 您的 所要求",
    "當然 可以 好嘅 冇問題 好高興 幫你 你好 多謝 唔使客氣 歡迎 希望 請問 仲有 其他 需要 唔好意思 對唔住 唔知道 唔清楚 "
    "冇 相關 資料 資訊 信息 職員 工作人員 服務台 客服 查詢 你可以 無法 提供 回答 問題 您的 所要求",
    "はい もちろん かしこまりました ありがとう ございます どういたしまして いらっしゃいませ お手伝い ご案内 "
    "申し訳 すみません わかりかね わかりません 分かりません スタッフ 係員 カウンター お尋ね ください",
    "네 물론 감사합니다 도와드리 안내 드리겠습니다 죄송합니다 모르겠습니다 잘 모르 직원 데스크 문의 고객 서비스 해주세요",
)

# Markers of "I don't know" in any of the five languages (matched on normalised text).
DECLINE_MARKERS = (
    "sorry", "don't know", "do not know", "not sure", "no information", "unable to", "can't help",
    "抱歉", "对不起", "不知道", "不清楚", "没有相关", "無法", "无法",
    "唔好意思", "對唔住", "唔知", "唔清楚", "冇相關",
    "申し訳", "すみません", "わかりかね", "わかりません", "分かりません",
    "죄송", "모르", "알 수 없",
)


class Verdict(StrEnum):
    GROUNDED = "grounded"
    DECLINE = "decline"
    FILLER = "filler"
    UNGROUNDED = "ungrounded"
    WRONG_LANGUAGE = "wrong_language"

    @property
    def acceptable(self) -> bool:
        return self in (Verdict.GROUNDED, Verdict.DECLINE, Verdict.FILLER)


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    coverage: float  # share of the sentence's units found in the entries or the polite vocabulary
    unsupported_numbers: tuple[str, ...] = ()


def is_decline(sentence: str) -> bool:
    text = normalize(sentence).replace("’", "'")
    return any(marker in text for marker in DECLINE_MARKERS)


@dataclass(frozen=True)
class _Entry:
    units: frozenset[str]
    numbers: frozenset[str]


def _entry(texts: list[str]) -> _Entry:
    return _Entry(frozenset(u for text in texts for u in content_units(text)), frozenset(number_vocabulary(texts)))


class GroundingGuard:
    """Judges sentences against one turn's retrieved entries (built once per answer).

    A sentence is compared with each entry on its own and judged by the one it overlaps most:
    its numbers must all come from that entry, and few of its words from the others, which
    stops a small model from stitching the Wi-Fi name of one entry to the hours of another.
    """

    def __init__(self, passages: list[Passage], language: str, *, min_coverage: float = MIN_COVERAGE) -> None:
        self.language = language
        self.min_coverage = min_coverage
        self._entries = [_entry(source_texts([passage])) for passage in passages] or [_entry([])]
        polite = [*POLITE_TEXTS, *all_phrase_texts()]
        self._polite_units = frozenset(unit for text in polite for unit in content_units(text))

    def judge(self, sentence: str) -> Judgement:
        if not fits_language(sentence, self.language):
            return Judgement(Verdict.WRONG_LANGUAGE, 0.0)
        units = content_units(sentence)
        values = [n for n in numbers(sentence) if n != "0"]
        counted = len(units) + len(values)
        if counted == 0:
            return Judgement(Verdict.FILLER, 1.0)

        def score(entry: _Entry) -> tuple[float, int, int]:
            from_entry = sum(u in entry.units for u in units) + sum(v in entry.numbers for v in values)
            polite = sum(u in self._polite_units and u not in entry.units for u in units)
            return (from_entry + polite) / counted, from_entry, -sum(v not in entry.numbers for v in values)

        best = max(self._entries, key=score)
        coverage, from_entry, _ = score(best)
        missing = tuple(v for v in values if v not in best.numbers)
        foreign = sum(u not in best.units and any(u in e.units for e in self._entries) for u in units)
        if missing or coverage < self.min_coverage or (foreign >= 2 and foreign / counted >= MAX_FOREIGN_SHARE):
            return Judgement(Verdict.UNGROUNDED, coverage, missing)
        if is_decline(sentence):
            return Judgement(Verdict.DECLINE, coverage)
        if from_entry == 0:
            return Judgement(Verdict.FILLER, coverage)
        return Judgement(Verdict.GROUNDED, coverage)
