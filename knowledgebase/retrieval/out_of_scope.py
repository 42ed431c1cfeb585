"""What a kiosk is asked that no knowledge base answers: general-assistant requests.

A question that resembles one of these more than it resembles any FAQ is probably out of
scope, whatever the FAQs hold; ``index`` turns that into the ``scope`` feature of the
answerable decision. The examples are generic requests people make to any voice assistant
(chit-chat, trivia, arithmetic, translation, stories, reminders...), written for this
purpose in the five kiosk languages. They are deliberately not the out-of-scope questions of
the calibration set (``bench/data/kb_calibration.jsonl``), so the decision learns how much
to trust this signal from questions it has not seen; nor those of the held-out evaluation
set.
"""
import hashlib

from knowledgebase.retrieval.encoder import Encoder, Vectors

OUT_OF_SCOPE_EXAMPLES: dict[str, tuple[str, ...]] = {
    "en": (
        "How are you today?",
        "What is your name and who made you?",
        "What is 37 times 48?",
        "How do you say thank you in French?",
        "Tell me a bedtime story about a dragon.",
        "What's the capital of Canada?",
        "Set a reminder to call my mother at six.",
        "What time is it in New York right now?",
        "Can you help me with my maths homework?",
        "How do I cook fried rice?",
        "Sing me a song.",
        "What's the latest news today?",
    ),
    "zh": (
        "你今天好吗？",
        "你叫什么名字，是谁做的？",
        "37乘以48等于多少？",
        "法语的谢谢怎么说？",
        "给我讲一个关于龙的睡前故事。",
        "加拿大的首都是哪里？",
        "提醒我六点给妈妈打电话。",
        "现在纽约几点了？",
        "你能帮我做数学作业吗？",
        "炒饭怎么做？",
        "给我唱首歌吧。",
        "今天有什么新闻？",
    ),
    "yue": (
        "你今日好嗎？",
        "你叫咩名，邊個整你出嚟㗎？",
        "37乘48係幾多？",
        "法文嘅多謝點講？",
        "講個關於龍嘅故事俾我聽。",
        "加拿大嘅首都係邊度？",
        "提我六點打電話俾阿媽。",
        "而家紐約幾點？",
        "你可唔可以幫我做數學功課？",
        "炒飯點整？",
        "唱首歌俾我聽吖。",
        "今日有咩新聞？",
    ),
    "ja": (
        "今日の調子はどうですか？",
        "あなたの名前は何ですか？誰が作ったの？",
        "37かける48はいくつですか？",
        "フランス語でありがとうは何と言いますか？",
        "ドラゴンの出てくるお話を聞かせて。",
        "カナダの首都はどこですか？",
        "6時に母に電話するようリマインドして。",
        "今ニューヨークは何時ですか？",
        "数学の宿題を手伝ってくれますか？",
        "チャーハンの作り方を教えて。",
        "歌を歌ってください。",
        "今日のニュースは何ですか？",
    ),
    "ko": (
        "오늘 기분 어때요?",
        "이름이 뭐예요? 누가 만들었어요?",
        "37 곱하기 48은 얼마예요?",
        "프랑스어로 고맙다는 말은 어떻게 해요?",
        "용이 나오는 이야기 하나 들려줘요.",
        "캐나다의 수도는 어디예요?",
        "여섯 시에 엄마한테 전화하라고 알려 줘요.",
        "지금 뉴욕은 몇 시예요?",
        "수학 숙제 좀 도와줄 수 있어요?",
        "볶음밥은 어떻게 만들어요?",
        "노래 한 곡 불러 줘요.",
        "오늘 뉴스 뭐 있어요?",
    ),
}


def examples_digest(model_name: str) -> str:
    """Identifies the embedded examples: the model and the sentences."""
    text = model_name + "".join(s for sentences in OUT_OF_SCOPE_EXAMPLES.values() for s in sentences)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def out_of_scope_vectors(encoder: Encoder) -> tuple[Vectors, list[str]]:
    """The examples embedded as queries (they are questions, compared with questions), with
    the language of each row."""
    languages = [language for language, sentences in OUT_OF_SCOPE_EXAMPLES.items() for _ in sentences]
    sentences = [s for group in OUT_OF_SCOPE_EXAMPLES.values() for s in group]
    return encoder.queries(sentences), languages
