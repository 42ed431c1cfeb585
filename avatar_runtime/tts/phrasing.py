"""Cutting an answer into the pieces a neural voice speaks one at a time.

Kokoro's pieces are cut as they are needed, each as long as the audio queued ahead allows
(``pacing.paced_pieces``), at a phrase boundary: a clause, a Japanese word and
its particle, a space between Korean words, an English phrase; Mandarin only at clauses.

Piper and Kokoro compute a whole piece before any of it can play, and their time grows with
the piece's length, so an answer is cut at sentence ends and commas, and its first clause once
more after its first phrase: "The restrooms | are on every floor", "トイレは | 各階の…",
"화장실은 | 각 층…". The customer hears the first phrase while the rest is computed.
"""
import re

SENTENCE_GAP_S = 0.15
CLAUSE_GAP_S = 0.08

_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])|(?<=\.)(?=\s)")  # a Latin full stop ends a sentence before a space
_CLAUSE_END = re.compile(r"(?<=[、，,；;])")
_MIN_CLAUSE = 8  # characters: shorter clauses are merged with the next (prosody needs some context)
# Japanese: a word in kanji, katakana or Latin letters and the particle after it ("トイレは",
# "駐車場は"); a particle after hiragana may be inside a word ("ございます").
_JA_LEAD = re.compile(r"[\u3400-\u9fff\u30a0-\u30ffA-Za-z0-9][はがをにでもへ](?=[^、。！？!?\sはもの])")
# Japanese, a weaker cut: after a noun and の, と, から, まで or より ("各階の | 中央…").
_JA_WORD = re.compile(r"[\u3400-\u9fff\u30a0-\u30ffA-Za-z0-9](?:の|と|から|まで|より)(?=[^、。！？!?\s])")
# Korean: after a word that ends in a particle ("화장실은", "쇼핑몰에서"), not inside a noun phrase.
_KO_PARTICLE_END = ("은", "는", "이", "가", "을", "를", "에", "서", "로", "과", "와", "도", "게")
# English: before the verb or preposition that follows the subject ("The restrooms | are on…").
_EN_BREAK_BEFORE = frozenset([
    "is", "are", "was", "opens", "closes", "costs", "has", "have", "can", "will", "on", "in", "at", "near", "next",
    "from", "to", "by", "for", "with", "behind", "opposite", "inside", "outside", "above", "below", "between", "until",
])
_EN_MAX_LEAD_WORDS = 5
_MIN_LEAD = 3  # characters (spaces aside) the lead phrase needs


def lead_phrase(clause: str, language: str) -> tuple[str, str] | None:
    """``clause`` cut after its first phrase, or None when it has no phrase to cut or is too short."""
    cuts: list[int] = []
    if language == "ja":
        cuts = [match.end() for match in _JA_LEAD.finditer(clause)]
    elif language == "ko":
        cuts = [i for i, char in enumerate(clause) if char == " " and clause[:i].endswith(_KO_PARTICLE_END)]
    elif language == "en":
        spaces = [match.start() for match in re.finditer(" ", clause)][:_EN_MAX_LEAD_WORDS]
        cuts = [i for n, i in enumerate(spaces, 1)
                if n >= 2 and clause[i + 1:].split(" ", 1)[0].lower().strip(",.") in _EN_BREAK_BEFORE]
    # A short opening clause ("はい、", "네,", "Yes,") is a phrase of its own.
    cuts = sorted([*cuts, *(match.end() for match in _CLAUSE_END.finditer(clause))])
    for cut in cuts:
        head, rest = clause[:cut].strip(), clause[cut:].strip()
        if len(head.replace(" ", "")) >= _MIN_LEAD:
            return (head, rest) if len(rest) >= _MIN_CLAUSE else None
    return None


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def text_pieces(text: str, language: str = "") -> list[tuple[float, str]]:
    """The text cut at sentence ends and then at commas, each piece with the pause (seconds)
    before it; with ``language``, the first clause is cut once more after its first phrase."""
    pieces: list[tuple[float, str]] = []
    for sentence in sentences(text):
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
    lead = lead_phrase(pieces[0][1], language) if pieces else None
    if lead is not None:
        pieces[0:1] = [(pieces[0][0], lead[0]), (0.0, lead[1])]
    return pieces


# Characters of text per second of speech, roughly (Kokoro and Piper at rate 1.0).
CHARS_PER_S = {"ja": 6.0, "ko": 5.0, "zh": 3.6, "yue": 3.6, "en": 14.0}
_STRONG_CUT = re.compile(r"(?<=[、，,；;：:])")
_MIN_TAIL = 4  # characters: a shorter tail is spoken with the piece before it
CLAUSE, PHRASE, WORD = 2, 1, 0  # kinds of cut, the better first


def phrase_cuts(sentence: str, language: str) -> dict[int, int]:
    """Where ``sentence`` may be cut between pieces: offset -> kind (``CLAUSE`` ends have a pause)."""
    cuts: dict[int, int] = {}
    if language == "ko":
        for match in re.finditer(r"(?<=\S) (?=\S)", sentence):
            cuts[match.start()] = PHRASE if sentence[:match.start()].endswith(_KO_PARTICLE_END) else WORD
    elif language == "ja":
        cuts.update({match.end(): WORD for match in _JA_WORD.finditer(sentence)})
        cuts.update({match.end(): PHRASE for match in _JA_LEAD.finditer(sentence)})
    elif language == "en":
        words = "|".join(sorted(_EN_BREAK_BEFORE))
        cuts.update({m.start(): PHRASE for m in re.finditer(rf"(?<=\w) (?=(?:{words})\b)", sentence, re.IGNORECASE)})
    elif language == "zh":
        cuts.update({end: WORD for end in _mandarin_word_ends(sentence)})
    cuts.update({match.end(): CLAUSE for match in _STRONG_CUT.finditer(sentence)})
    return {cut: kind for cut, kind in cuts.items() if 0 < cut < len(sentence.rstrip())}


def _mandarin_word_ends(sentence: str) -> list[int]:
    import jieba  # only for Mandarin; its dictionary is loaded with the voice (kokoro_phonemes)

    ends, offset = [], 0
    for word in jieba.lcut(sentence, cut_all=False):
        offset += len(word)
        ends.append(offset)
    return ends


def usable_cuts(sentence: str, cuts: dict[int, int], start: int) -> list[int]:
    """The cuts a piece starting at ``start`` may end at, leaving neither it nor the tail too short."""
    end = len(sentence)
    return sorted(c for c in cuts if start < c and end - c >= _MIN_TAIL and len(sentence[start:c].strip()) >= _MIN_LEAD)


def next_cut(sentence: str, cuts: dict[int, int], start: int, target_chars: int) -> int:
    """The end of the piece that starts at ``start``, about ``target_chars`` long: the best cut
    in the second half of that length (a clause end, then a phrase end, the later the better),
    else the last one before it, or the first after it when that is much closer."""
    end = len(sentence)
    if end - start <= target_chars + _MIN_TAIL:
        return end
    usable = usable_cuts(sentence, cuts, start)
    within = [c for c in usable if c - start <= target_chars]
    later = [c for c in usable if c - start > target_chars] + [end]
    second_half = [c for c in within if c - start >= target_chars / 2]
    if second_half:
        return max(second_half, key=lambda c: (cuts[c], c))
    if later[0] - start <= 1.6 * target_chars or not within:
        return later[0]
    return within[-1]
