"""Cutting an answer into the pieces a neural voice speaks one at a time.

Piper and Kokoro compute a whole piece before any of it can play, and their time grows with
the piece's length, so an answer is cut at sentence ends and commas, and its first clause once
more after its first phrase: "The restrooms | are on every floor", "トイレは | 各階の…",
"화장실은 | 각 층…". The customer hears the first phrase while the rest is computed. A Mandarin
clause is not cut after its first phrase: Kokoro's Mandarin said a lone "洗手间" so that Whisper
heard "洗手件" (``test_spoken_sentence_is_heard_back_with_its_key_words[zh]``).
``phrase_cuts`` and ``word_cuts`` say where a clause may be cut; ``pacing`` uses them to size a
slow voice's pieces to the speech queued ahead of the listener.
"""
import re

from avatar_runtime.tts.korean_numbers import takes_native_numerals

SENTENCE_GAP_S = 0.15
CLAUSE_GAP_S = 0.08

_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])|(?<=\.)(?=\s)")  # a Latin full stop ends a sentence before a space
_CLAUSE_END = re.compile(r"(?<=[、，；;])|(?<=,)(?!\d)")  # "1,000" is one number
_MIN_CLAUSE = 8  # characters: shorter clauses are merged with the next (prosody needs some context)
# Japanese: a word in kanji, katakana or Latin letters and the particle after it ("トイレは",
# "駐車場は"); a particle after hiragana may be inside a word ("ございます").
_JA_LEAD = re.compile(r"[\u3400-\u9fff\u30a0-\u30ffA-Za-z0-9][はがをにでもへ](?=[^、。！？!?\sはもの])")
_JA_WORD_END = re.compile(r"[\u3400-\u9fff\u30a0-\u30ffA-Za-z0-9](?:の|と|から|まで)(?=[^、。！？!?\s])")
_HANZI_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")
# Korean: after a word that ends in a particle ("화장실은", "쇼핑몰에서"), not inside a noun phrase.
_KO_PARTICLE_END = ("은", "는", "이", "가", "을", "를", "에", "서", "로", "과", "와", "도", "게")
# Korean: a number written onto a long word may be spaced from it ("25홍콩달러입니다" is "25 홍콩달러입니다").
# Only before 6 or more syllables (a shorter word, "12개월입니다", stays one piece with its number), and
# not before a counter that takes native numerals: the number's reading depends on it (24시간).
_KO_NUMBER_BEFORE_WORD = re.compile(r"(?<![\d.,])\d(?:[\d,.]*\d)?(?=[\uac00-\ud7a3]{6})")
# English: before the verb or preposition that follows the subject ("The restrooms | are on…").
_EN_BREAK_BEFORE = frozenset([
    "is", "are", "was", "opens", "closes", "costs", "has", "have", "can", "will", "on", "in", "at", "near", "next",
    "from", "to", "by", "for", "with", "behind", "opposite", "inside", "outside", "above", "below", "between", "until",
])
_EN_MAX_LEAD_WORDS = 5
# Mandarin: before the verb, preposition or adverb that follows the subject (jieba's words).
_ZH_BREAK_BEFORE = frozenset(["在", "位于", "有", "设有", "都", "也", "是", "为", "从", "可", "可以", "请", "由", "于",
                              "提供", "开放", "营业", "收费", "需要", "会"])
_MIN_LEAD = 3  # characters (spaces aside) the lead phrase needs


def phrase_cuts(clause: str, language: str) -> list[int]:
    """Where ``clause`` may be cut between two phrases: after a comma, after a Japanese word and its
    particle, a Korean word ending in a particle, before a Mandarin verb or preposition that follows
    its subject (``洗手间 | 在二楼``), before an English verb or preposition after the subject.
    Never inside a word or a number."""
    cuts: list[int] = []
    if language == "ja":
        cuts = [match.end() for match in _JA_LEAD.finditer(clause)]
    elif language == "ko":
        cuts = [i for i, char in enumerate(clause) if char == " " and clause[:i].endswith(_KO_PARTICLE_END)]
    elif language == "zh":
        cuts = _mandarin_cuts(clause)
    elif language == "en":
        spaces = [match.start() for match in re.finditer(" ", clause)][:_EN_MAX_LEAD_WORDS]
        cuts = [i for n, i in enumerate(spaces, 1)
                if n >= 2 and clause[i + 1:].split(" ", 1)[0].lower().strip(",.") in _EN_BREAK_BEFORE]
    return sorted({*cuts, *(match.end() for match in _CLAUSE_END.finditer(clause))} - {0, len(clause)})


def word_cuts(clause: str, language: str) -> list[int]:
    """Finer cuts than ``phrase_cuts``, for when a phrase is too long to wait for: Japanese also
    after の, と, から and まで, Korean between any two words (not inside a number such as
    "2888 6000") and between a number and a long word written onto it, Mandarin between two words
    of two or more Hanzi (jieba's)."""
    cuts: list[int] = []
    if language == "ja":
        cuts = [match.end() for match in _JA_WORD_END.finditer(clause)]
    elif language == "ko":
        cuts = [i for i, char in enumerate(clause) if char == " " and not (clause[i - 1:i].isdigit()
                                                                           and clause[i + 1:i + 2].isdigit())]
        cuts += [match.end() for match in _KO_NUMBER_BEFORE_WORD.finditer(clause)
                 if not takes_native_numerals(clause[match.end():])]
    elif language == "zh":
        from avatar_runtime.tts.kokoro_phonemes import mandarin_words

        position, previous = 0, ""
        for word in mandarin_words(clause):
            if position and _HANZI_WORD.fullmatch(previous) and _HANZI_WORD.fullmatch(word):
                cuts.append(position)
            position, previous = position + len(word), word
    return sorted(set(cuts) - {0, len(clause)})


def _mandarin_cuts(clause: str) -> list[int]:
    from avatar_runtime.tts.kokoro_phonemes import mandarin_words  # jieba: only for Mandarin

    cuts, position, previous = [], 0, ""
    for word in mandarin_words(clause):
        if position and word in _ZH_BREAK_BEFORE and previous not in _ZH_BREAK_BEFORE:  # 都|有: one phrase
            cuts.append(position)
        position, previous = position + len(word), word
    return cuts


def lead_phrase(clause: str, language: str) -> tuple[str, str] | None:
    """``clause`` cut after its first phrase, or None when it has no phrase to cut or is too short
    (or is Mandarin: see the module's docstring)."""
    if language == "zh":
        return None
    # A short opening clause ("はい、", "네,", "Yes,") is a phrase of its own.
    for cut in phrase_cuts(clause, language):
        head, rest = clause[:cut].strip(), clause[cut:].strip()
        if len(head.replace(" ", "")) >= _MIN_LEAD:
            return (head, rest) if len(rest) >= _MIN_CLAUSE else None
    return None


def clauses(text: str) -> list[tuple[float, str]]:
    """The text cut at sentence ends and then at commas, each piece with the pause (seconds) before it."""
    pieces: list[tuple[float, str]] = []
    for sentence in (s.strip() for s in _SENTENCE_END.split(text) if s.strip()):
        pause = SENTENCE_GAP_S if pieces else 0.0
        clause = ""
        for part in _CLAUSE_END.split(sentence):
            clause += part
            if len(clause) >= _MIN_CLAUSE:
                pieces.append((pause, clause))
                clause, pause = "", CLAUSE_GAP_S
        if clause.strip():
            if pieces and pause == CLAUSE_GAP_S:  # a short tail joins the clause before it
                pieces[-1] = (pieces[-1][0], pieces[-1][1] + clause)
            else:
                pieces.append((pause, clause))
    return pieces


def text_pieces(text: str, language: str = "") -> list[tuple[float, str]]:
    """``clauses``; with ``language``, the first clause is cut once more after its first phrase."""
    pieces = clauses(text)
    lead = lead_phrase(pieces[0][1], language) if pieces else None
    if lead is not None:
        pieces[0:1] = [(pieces[0][0], lead[0]), (0.0, lead[1])]
    return pieces
