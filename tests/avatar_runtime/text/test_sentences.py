"""Sentence splitting over the five kiosk languages, whole and streamed chunk by chunk."""
import pytest

from avatar_runtime.text.sentences import SentenceSplitter, display_width, split_stream, split_text

CASES = {
    "en": (
        "The mall opens at 10 a.m. and closes at 9 p.m. Parking is free for the first 3.5 hours! "
        "Ask Mr. Chan at counter No. 5 on B1/F. Is there anything else?",
        [
            "The mall opens at 10 a.m. and closes at 9 p.m.",
            "Parking is free for the first 3.5 hours!",
            "Ask Mr. Chan at counter No. 5 on B1/F.",
            "Is there anything else?",
        ],
    ),
    "zh": (
        "商场每天上午10点开门，晚上10点关门。停车场在B1层！洗手间在哪里？就在3.5号门旁边；请往左走……谢谢。",
        ["商场每天上午10点开门，晚上10点关门。", "停车场在B1层！", "洗手间在哪里？", "就在3.5号门旁边；", "请往左走……", "谢谢。"],
    ),
    "yue": (
        "商場朝早10點開門，夜晚10點閂門。「洗手間喺邊度？」佢問。停車場喺B1樓！",
        ["商場朝早10點開門，夜晚10點閂門。", "「洗手間喺邊度？」", "佢問。", "停車場喺B1樓！"],
    ),
    "ja": (
        "営業時間は午前10時から午後9時までです。駐車場は地下1階にございます！「トイレはどこですか。」と聞かれました。",
        ["営業時間は午前10時から午後9時までです。", "駐車場は地下1階にございます！", "「トイレはどこですか。」と聞かれました。"],
    ),
    "ko": (
        "영업시간은 오전 10시부터 오후 9시까지입니다. 주차는 3.5시간까지 무료예요! 화장실은 어디에 있나요?",
        ["영업시간은 오전 10시부터 오후 9시까지입니다.", "주차는 3.5시간까지 무료예요!", "화장실은 어디에 있나요?"],
    ),
}


@pytest.mark.parametrize("language", sorted(CASES))
def test_whole_text_splits_into_sentences(language: str) -> None:
    text, expected = CASES[language]
    assert split_text(text) == expected


@pytest.mark.parametrize("language", sorted(CASES))
@pytest.mark.parametrize("size", [1, 3, 7])
def test_streamed_chunks_give_the_same_sentences(language: str, size: int) -> None:
    text, expected = CASES[language]
    splitter = SentenceSplitter()
    sentences = []
    for start in range(0, len(text), size):
        sentences.extend(splitter.push(text[start : start + size]))
    assert sentences + splitter.flush() == expected


@pytest.mark.parametrize("language", sorted(CASES))
def test_a_sentence_is_released_before_the_text_ends(language: str) -> None:
    """The first sentence comes out within a few characters of its end, long before the stream finishes."""
    text, expected = CASES[language]
    splitter = SentenceSplitter()
    first_end = text.index(expected[0]) + len(expected[0])
    for position, char in enumerate(text):
        if splitter.push(char):
            assert position - first_end < 4, (position, first_end)
            return
    pytest.fail("no sentence before the end of the stream")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It costs 3.5 dollars. Thanks.", ["It costs 3.5 dollars.", "Thanks."]),
        ("Dr. Lee and Mrs. Wong are on 3/F. See you.", ["Dr. Lee and Mrs. Wong are on 3/F.", "See you."]),
        ("Open 10 a.m. to 10 p.m. daily.", ["Open 10 a.m. to 10 p.m. daily."]),
        ("We close at 10 p.m. Please come again.", ["We close at 10 p.m.", "Please come again."]),
        ("Well... let me check. Sure.", ["Well... let me check.", "Sure."]),
        ("Wait… Go left.", ["Wait…", "Go left."]),
        ('He said "Turn left." Then go up.', ['He said "Turn left."', "Then go up."]),
        ("Really?! Yes (really.) OK.", ["Really?!", "Yes (really.)", "OK."]),
        ("Visit www.mall.com.hk for 1,000 deals. Bye.", ["Visit www.mall.com.hk for 1,000 deals.", "Bye."]),
        ("1. Take the lift. 2. Press B1.", ["1. Take the lift.", "2. Press B1."]),
        ("e.g. Gate 3 is open. Fine.", ["e.g. Gate 3 is open.", "Fine."]),
        ("First line\nSecond line", ["First line", "Second line"]),
        ("ありがとう!また来てね", ["ありがとう!", "また来てね"]),
        ("。。。", []),
    ],
)
def test_tricky_punctuation(text: str, expected: list[str]) -> None:
    assert split_text(text) == expected


def test_terminator_at_chunk_end_waits_for_what_follows() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("It opens at 10 a.m.") == []  # "a.m." might go on: "a.m. and ..."
    assert splitter.push(" and closes at 9 p.m.") == []
    assert splitter.push(" ") == []
    assert splitter.push("Parking") == ["It opens at 10 a.m. and closes at 9 p.m."]
    assert splitter.push("。") == []
    assert splitter.flush() == ["Parking。"]


def test_cjk_terminator_waits_one_character_for_a_closing_bracket() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("「请往左走。") == []
    assert splitter.push("」好") == ["「请往左走。」"]


def test_long_latin_sentence_is_cut_at_a_comma() -> None:
    text = (
        "When you arrive at the north entrance of the shopping centre, take the escalator up to level three, "
        "then walk past the food court and the cinema until you see the blue sign"
    )
    pieces = split_text(text, max_width=90)
    assert pieces[0].endswith("level three,")
    assert " ".join(pieces) == text
    assert all(display_width(p) <= 2 * 90 for p in pieces)


def test_long_cjk_sentence_is_cut_at_a_comma_while_streaming() -> None:
    text = "从地铁站B出口出来以后，沿着大路一直往前走大约五百米，经过两个红绿灯和一家便利店之后，您就会看到商场的正门就在右手边"
    splitter = SentenceSplitter(max_width=60)
    released = []
    for char in text:
        released.extend(splitter.push(char))
    assert released, "a long sentence starts speaking before it ends"
    assert all(piece.endswith("，") for piece in released)
    assert "".join(released + splitter.flush()) == text


def test_long_text_without_any_comma_is_still_cut() -> None:
    text = "停" * 200
    pieces = split_text(text, max_width=60)
    assert len(pieces) > 1 and "".join(pieces) == text


def test_thousands_and_clock_colons_are_not_soft_breaks() -> None:
    text = "The car park has 1,000 spaces and opens at 06:30 every single day of the week including public holidays"
    assert split_text(text, max_width=60) == [text]


async def test_split_stream_yields_sentences_from_async_chunks() -> None:
    async def chunks() -> object:
        for chunk in ["営業時間は10時", "からです。駐車", "場は地下です", "。"]:
            yield chunk

    assert [s async for s in split_stream(chunks())] == ["営業時間は10時からです。", "駐車場は地下です。"]  # type: ignore[arg-type]
