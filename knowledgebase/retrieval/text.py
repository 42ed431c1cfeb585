"""Lexical terms for the five kiosk languages, without a word segmenter.

Chinese, Cantonese and Japanese are written without spaces, so their terms are character
bigrams plus single Han characters (often words on their own: 药, 遮, 伞). Korean separates
words but glues particles and endings onto them (화장실은, 있나요), so a Hangul word loses its
ending and becomes its stem's syllable bigrams. Hiragana is mostly grammar (particles, verb
endings) and is skipped; Japanese content words are kanji or katakana. Latin text becomes lowercased words with
plurals folded. Terms are chosen by script, not by the declared language, so "ATM" inside a
Chinese question matches "ATM" in an English one; Traditional characters are folded onto
Simplified ones so Cantonese and Mandarin share terms.

Question frames ("where is", 哪里, どこですか, 어디에 있나요) occur in almost every FAQ and
would make unrelated questions look alike, so they are stop terms.
"""
import re
import unicodedata

from knowledgebase.retrieval.hanzi import fold_traditional

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUNS = re.compile(
    rf"(?P<han>[{_HAN}]+)"
    r"|(?P<kana>[\u30a0-\u30ff\u31f0-\u31ff]+)"  # katakana: loanwords (トイレ, タクシー)
    r"|(?P<hira>[\u3040-\u309f]+)"  # hiragana: particles and endings, skipped
    r"|(?P<hangul>[\uac00-\ud7af]+)"
    r"|(?P<word>[a-z0-9]+(?:[-'’][a-z0-9]+)*)"
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CONTRACTION = re.compile(r"['’](?:s|re|ll|d|ve|m|t)$")
_EN_STOP = _words(
    """
    a an the and or but if of to in on at by for from with about into over after before is are was were be
    been being am do does did doing have has had i me my we our you your he she it its they them their this
    that these those there here what which who whom when where why how can could would should will shall may
    might must please hi hello thanks thank any some so too very just not no yes get got im id ive dont cant
    need want like find go know tell help anything something somewhere anywhere place way one also
    """
)
# Function characters of Mandarin and Cantonese (after folding to Simplified): a bigram made
# only of these ("哪里", "可以", "边度", "有冇") says nothing about the topic.
_HAN_STOP = frozenset(
    "的了吗呢吧啊呀是在有我你他她它们这那哪里儿么什怎可以能要想去到和与及就都也还请问个一下些点没不会给让把被从对为很太多少"
    "嘅啲咗喺冇唔系咩嘢佢哋嗰度边样啦㗎啰喎乜几"
)
# Korean particles and verb endings, longest first; what is left is the word's stem.
_KO_ENDINGS = tuple(sorted(_words(
    """
    은 는 이 가 을 를 에 에서 으로 로 도 만 의 와 과 랑 이랑 하고 이나 나 요 나요 어요 아요 해요 예요 이에요
    세요 으세요 습니다 ㅂ니다 니다 니까 까요 을까요 ㄹ까요 있나요 있어요 있습니까 없나요 없어요 되나요 돼요 할까요
    하나요 한가요 인가요 가요 고 면 으면 는데 은데 인데 까지 부터 서 어 아 해 지 죠 네요 군요 려면 으려면 고싶어요
    싶어요 주세요 줘요
    """
), key=len, reverse=True))
_KO_STOP = _words("할 해 어디 어떻 어떤 무엇 뭐 뭘 여기 거기 저기 있 없 수 곳 것 좀")
_KO_STOP |= _words("제 저 이 그 하 되 주 싶 가 오 몇 언제 왜 누구")


def _fold_plural(word: str) -> str:
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _han_terms(run: str) -> list[str]:
    terms = [char for char in run if char not in _HAN_STOP]
    terms += [pair for pair in _bigrams(run) if not (pair[0] in _HAN_STOP and pair[1] in _HAN_STOP)]
    return terms


def _korean_terms(word: str) -> list[str]:
    if word in _KO_ENDINGS:
        return []
    for ending in _KO_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending):
            word = word[: -len(ending)]
            break
    if word in _KO_STOP:
        return []
    return [word] if len(word) <= 2 else _bigrams(word)


def lexical_terms(text: str) -> list[str]:
    """The terms BM25 indexes for ``text`` (query and documents alike)."""
    normalized = fold_traditional(unicodedata.normalize("NFKC", text).lower())
    terms: list[str] = []
    previous_word, previous_end = "", -1
    for match in _RUNS.finditer(normalized):
        run, kind = match.group(), match.lastgroup
        if kind == "word":
            word = re.sub(r"[-'’]", "", _CONTRACTION.sub("", run))
            if word in _EN_STOP:
                previous_word = ""
                continue
            word = _fold_plural(word)
            terms.append(word)
            if previous_word and not normalized[previous_end : match.start()].strip():
                terms.append(f"{previous_word} {word}")  # names: "sf express", "harbour point"
            previous_word, previous_end = word, match.end()
        elif kind == "han":
            terms.extend(_han_terms(run))
        elif kind == "kana":
            terms.extend(_bigrams(run) if len(run) > 1 else [run])
        elif kind == "hangul":
            terms.extend(_korean_terms(run))
    return terms
