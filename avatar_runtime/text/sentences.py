"""Streaming sentence splitting for CJK and Latin text, so TTS can start on the first sentence.

Text arrives in arbitrary chunks (LLM deltas). A sentence is released as soon as its end is
certain: a CJK terminator (。！？；) once the next character shows no closing quote or bracket
follows; a Latin terminator (. ! ?) once the following whitespace and, where it matters, the
next word are known. Decimals (3.5), times (10 a.m. to 9 p.m.), titles (Mr.), numbered
abbreviations (No. 5), floors (B1/F), ellipses and closing quotes do not end a sentence
wrongly. A sentence that grows past ``max_width`` without ending is cut at its last comma
(，、, ; :), so speech can begin before a long sentence is complete.
"""
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterable

from avatar_runtime.text.scripts import is_cjk

CJK_TERMINATORS = frozenset("。！？；｡")
LATIN_TERMINATORS = frozenset(".!?")
ELLIPSIS = frozenset("…⋯")
CLOSERS = frozenset("\"'”’」』）)】》〉]}〕")
SOFT_BREAKS_CJK = frozenset("，、：；")
SOFT_BREAKS_LATIN = frozenset(",;:")  # only when followed by whitespace: 1,000 and 10:30 stay whole
OPENERS = frozenset("\"'“‘「『（(【《〈[{〔")

# Abbreviations, lower-case without their final dot.
_NEVER_FINAL = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "mt", "jr", "sr", "rev", "vs", "capt", "lt", "col", "sgt", "e.g", "i.e", "cf"}
)
_BEFORE_NUMBER = frozenset({"no", "nos", "tel", "ext", "fig", "approx", "p", "pp", "vol", "rm", "ch", "ref"})
_MAYBE_FINAL = frozenset({"am", "pm", "etc", "inc", "ltd", "co", "corp", "min", "hr", "hrs", "sec", "approx"})

DEFAULT_MAX_WIDTH = 90  # display columns (a CJK character is two): about 45 Chinese characters or 15 English words
DEFAULT_MIN_WIDTH = 16


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _speakable(text: str) -> bool:
    return any(c.isalnum() for c in text)


def _skip_closers(text: str, j: int) -> int:
    while j < len(text) and text[j] in CLOSERS:
        j += 1
    return j


def _next_visible(text: str, j: int) -> int:
    while j < len(text) and text[j].isspace():
        j += 1
    return j


def _continues_lowercase(text: str, j: int, final: bool) -> bool | None:
    """After whitespace at ``j``: does the next word start lower-case or with a digit? None: not yet known."""
    k = _next_visible(text, j)
    if k == len(text):
        return False if final else None
    return text[k].islower() or text[k].isdigit()


def _word_before(text: str, start: int, i: int) -> tuple[str, int]:
    k = i
    while k > start and not text[k - 1].isspace() and text[k - 1] not in OPENERS:
        k -= 1
    return text[k:i], k


def _period_ends(text: str, start: int, i: int, j: int, final: bool) -> bool | None:
    """A single '.' at ``i`` followed by whitespace at ``j``: sentence end, not one, or unknown yet."""
    word, word_start = _word_before(text, start, i)
    lowered = word.lower().strip("\"'“‘")
    if lowered in _NEVER_FINAL:
        return False
    if lowered.isdigit() and not text[start:word_start].strip():
        return False  # "1. " opening a numbered item
    if lowered in _BEFORE_NUMBER:
        k = _next_visible(text, j)
        if k == len(text):
            return True if final else None
        if text[k].isdigit():
            return False
    if lowered in _MAYBE_FINAL or "." in lowered:  # a.m., p.m., e.g., U.S.
        following = _continues_lowercase(text, j, final)
        return None if following is None else not following
    return True


def _cjk_end(text: str, i: int, final: bool) -> int | bool | None:
    j = i + 1
    while j < len(text) and (text[j] in CJK_TERMINATORS or text[j] in LATIN_TERMINATORS or text[j] in ELLIPSIS):
        j += 1
    closers_start = j
    j = _skip_closers(text, j)
    if j == len(text):
        return j if final else None  # a closing bracket may still follow
    if any(c in "」』" for c in text[closers_start:j]) and "\u3041" <= text[j] <= "\u309f":
        return False  # 「…。」と言いました: a quotation inside the sentence
    return j


def _ellipsis_end(text: str, j: int, final: bool) -> int | bool | None:
    """After an ellipsis ending at ``j``: the sentence end, False (it goes on) or None (unknown)."""
    j = _skip_closers(text, j)
    if j == len(text):
        return j if final else None
    if is_cjk(text[j]):
        return j
    if not text[j].isspace():
        return False
    following = _continues_lowercase(text, j, final)
    if following is None:
        return None
    return False if following else j


def _latin_end(text: str, start: int, i: int, final: bool) -> int | bool | None:
    """The end of a sentence whose terminator run starts at ``i``; False: no end here; None: unknown yet."""
    j = i
    while j < len(text) and (text[j] in LATIN_TERMINATORS or text[j] in ELLIPSIS):
        j += 1
    run = text[i:j]
    if "..." in run or any(c in ELLIPSIS for c in run):
        return _ellipsis_end(text, j, final)
    j = _skip_closers(text, j)
    if j == len(text):
        return j if final else None
    nxt = text[j]
    if not nxt.isspace():
        # "3.5", "a.m", "www.mall.com" stay whole; "ありがとう!また" ends at the '!'.
        return j if ("!" in run or "?" in run) and is_cjk(nxt) else False
    if "!" in run or "?" in run:
        return j
    ends = _period_ends(text, start, i, j, final)
    if ends is None:
        return None
    return j if ends else False


def find_sentence_end(text: str, start: int = 0, *, final: bool = False) -> int | None:
    """Index just past the first complete sentence in ``text[start:]``, or None if none is certain yet."""
    i = start
    while i < len(text):
        char = text[i]
        end: int | bool | None = False
        if char == "\n":
            end = i + 1 if _speakable(text[start:i]) else False
        elif char in CJK_TERMINATORS:
            end = _cjk_end(text, i, final)
        elif char in LATIN_TERMINATORS:
            end = _latin_end(text, start, i, final)
        elif char in ELLIPSIS:
            run_end = i
            while run_end < len(text) and text[run_end] in ELLIPSIS:
                run_end += 1
            end = _ellipsis_end(text, run_end, final)
        if end is None:
            return None
        if end is not False:
            return int(end)
        i += 1
        while i < len(text) and char in LATIN_TERMINATORS and text[i] in LATIN_TERMINATORS:
            i += 1  # a run such as "..." was judged as a whole
    return None


def _soft_cut(text: str, max_width: int, min_width: int) -> int | None:
    """Where to cut an over-long unfinished sentence: after its last comma, else a space, else anywhere."""
    if display_width(text) <= max_width:
        return None
    best = None
    for i, char in enumerate(text):
        after = i + 1
        is_break = char in SOFT_BREAKS_CJK or (char in SOFT_BREAKS_LATIN and after < len(text) and text[after].isspace())
        if is_break and display_width(text[:after]) >= min_width:
            best = after
    if best is not None:
        return best
    if display_width(text) <= 2 * max_width:
        return None
    spaces = [i for i, c in enumerate(text) if c.isspace() and display_width(text[:i]) >= min_width]
    if spaces:
        return spaces[-1]
    width = 0
    for i, char in enumerate(text):
        width += display_width(char)
        if width >= max_width:
            return i + 1
    return None


class SentenceSplitter:
    """Feed text chunks with :meth:`push`; each call returns the sentences completed so far."""

    def __init__(self, *, max_width: int = DEFAULT_MAX_WIDTH, min_width: int = DEFAULT_MIN_WIDTH) -> None:
        self.max_width = max_width
        self.min_width = min_width
        self._buffer = ""

    def push(self, chunk: str) -> list[str]:
        self._buffer += chunk
        return self._drain(final=False)

    def flush(self) -> list[str]:
        """The end of the text: release everything left, complete or not."""
        sentences = self._drain(final=True)
        rest = self._buffer.strip()
        self._buffer = ""
        if _speakable(rest):
            sentences.append(rest)
        return sentences

    def _drain(self, *, final: bool) -> list[str]:
        sentences = []
        while self._buffer:
            end = find_sentence_end(self._buffer, final=final)
            if end is None:
                end = _soft_cut(self._buffer, self.max_width, self.min_width)
            if end is None:
                break
            piece, self._buffer = self._buffer[:end].strip(), self._buffer[end:]
            if _speakable(piece):
                sentences.append(piece)
        return sentences


def split_text(text: str, *, max_width: int = DEFAULT_MAX_WIDTH) -> list[str]:
    """All the sentences of a complete text."""
    splitter = SentenceSplitter(max_width=max_width)
    return splitter.push(text) + splitter.flush()


async def split_stream(chunks: AsyncIterable[str], *, max_width: int = DEFAULT_MAX_WIDTH) -> AsyncGenerator[str, None]:
    """Sentences from a stream of text chunks, each yielded as soon as it is complete."""
    splitter = SentenceSplitter(max_width=max_width)
    async for chunk in chunks:
        for sentence in splitter.push(chunk):
            yield sentence
    for sentence in splitter.flush():
        yield sentence
