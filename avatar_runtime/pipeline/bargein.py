"""Deciding whether speech heard while the avatar talks is a real interruption.

Output pauses as soon as the VAD confirms speech (that is what makes barge-in fast); this
module then decides, from the candidate's transcript, whether to interrupt for good or to
resume: short backchannels ("ok", "嗯", "はい") and the avatar's own voice leaking through the
echo canceller (a transcript that repeats the sentence being spoken) resume the answer.
"""
import itertools
import re
import unicodedata

BACKCHANNELS = {
    "en": {"ok", "okay", "yes", "yeah", "yep", "uh huh", "uhhuh", "mhm", "mm", "hmm", "right", "sure", "i see", "oh",
           "ah", "cool", "great", "thanks", "thank you", "alright", "all right"},
    "zh": {"嗯", "嗯嗯", "哦", "哦哦", "噢", "好", "好的", "对", "对对", "是", "是的", "明白", "谢谢", "行", "啊"},
    "yue": {"嗯", "哦", "好", "好嘅", "係", "係呀", "系", "啱", "明", "明白", "唔該", "多謝"},
    "ja": {"はい", "うん", "ええ", "そう", "そうです", "なるほど", "へえ", "あ", "ああ", "わかった", "分かりました",
           "ありがとう"},
    "ko": {"네", "예", "응", "아", "아하", "그래", "그렇군요", "알겠어요", "감사합니다", "맞아요"},
}
_ALL_BACKCHANNELS = {word.lower() for words in BACKCHANNELS.values() for word in words}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and symbols, collapse spaces."""
    kept = "".join(ch if unicodedata.category(ch)[0] in "LNZ" else " " for ch in text.lower())
    return " ".join(kept.split())


def _units(text: str) -> list[str]:
    """Words for Latin text, characters for CJK: the units overlap is measured in."""
    units: list[str] = []
    for token in normalize(text).split():
        units.extend(list(token) if _CJK.search(token) else [token])
    return units


def is_backchannel(text: str) -> bool:
    cleaned = normalize(text)
    if not cleaned:
        return True  # nothing intelligible: not worth stopping the answer for
    if cleaned in _ALL_BACKCHANNELS:
        return True
    # Repetitions like "ok ok", "嗯嗯嗯", "はいはい".
    pieces = cleaned.split()
    if len(pieces) > 1 and all(p in _ALL_BACKCHANNELS for p in pieces):
        return True
    return len(set(cleaned.replace(" ", ""))) == 1 and cleaned[0] in _ALL_BACKCHANNELS


def is_echo(candidate: str, spoken: str, threshold: float = 0.6) -> bool:
    """Whether ``candidate`` is mostly the avatar's own sentence heard back through the mic."""
    cand, said = _units(candidate), _units(spoken)
    if not cand or not said:
        return False
    pool: set[tuple[str, ...]] = set(itertools.pairwise(said)) | {(u,) for u in said}
    bigrams: list[tuple[str, ...]] = list(itertools.pairwise(cand)) or [(cand[0],)]
    hits = sum(1 for gram in bigrams if gram in pool)
    return hits / len(bigrams) >= threshold


def should_interrupt(candidate: str, spoken_recently: list[str]) -> bool:
    if is_backchannel(candidate):
        return False
    return not any(is_echo(candidate, sentence) for sentence in spoken_recently)
