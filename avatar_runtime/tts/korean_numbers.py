"""Numbers in Korean text as a Korean speaker reads them, before espeak-ng sees them.

espeak-ng reads every number with Sino-Korean numerals (10 → 십), which is right for floors, money
and minutes (3층 삼 층, 25홍콩달러) but wrong before the counters that take native numerals: hours
and counted things (10시 is 열 시, 30개 서른 개, 24시간 스물네 시간). A phone number is read digit by
digit (2888 6000 → 이팔팔팔 육공공공), not as two thousands.
"""
import re

_NATIVE_ONES = ("", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉")
_NATIVE_TENS = ("", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔")
_SINO_DIGITS = ("공", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
# Counters read with native numerals (the commonest in venue answers); 시간 before 시.
# 개월 (months) takes Sino-Korean numerals although 개 alone does not.
_NATIVE_COUNTERS = ("시간", "시", "개(?!월)", "대", "명", "살", "번째", "가지", "곳", "군데", "잔", "마리", "권", "달")
_COUNTED = re.compile(rf"(?<![\d.,])(\d{{1,2}})\s?(?=({'|'.join(_NATIVE_COUNTERS)}))")
_NATIVE_COUNTER_START = re.compile(f"(?:{'|'.join(_NATIVE_COUNTERS)})")
_PHONE = re.compile(r"(?<![\d.,])(\d{4})[ -](\d{4})(?![\d.,])")


def takes_native_numerals(word: str) -> bool:
    """Whether ``word`` opens with a counter read with native numerals (a number before it is read by it)."""
    return _NATIVE_COUNTER_START.match(word) is not None


def native_number(n: int) -> str:
    """1-99 in native Korean numerals, in the form used before a counter (20 → 스무, 24 → 스물네)."""
    if not 1 <= n <= 99:
        raise ValueError(f"native numerals here go from 1 to 99, not {n}")
    tens, ones = divmod(n, 10)
    if n == 20:
        return "스무"
    return _NATIVE_TENS[tens] + _NATIVE_ONES[ones]


def korean_numbers_read(text: str) -> str:
    text = _PHONE.sub(lambda m: " ".join("".join(_SINO_DIGITS[int(d)] for d in group) for group in m.groups()), text)

    def counted(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"{native_number(n)} " if 1 <= n <= 99 else match.group(0)

    return _COUNTED.sub(counted, text)
