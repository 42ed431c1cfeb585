"""What a kiosk is asked that its knowledge base does not answer: general-assistant requests,
and services a venue may not have.

A question that resembles one of these more than it resembles any FAQ is probably out of
scope; ``index`` turns that into the ``scope`` feature of the answerable decision. The
general examples are requests people make to any voice assistant (chit-chat, trivia,
arithmetic, translation, stories, reminders...): no knowledge base answers them. The venue
examples ask for a shop or service in the words customers use for the ones that do exist
("Is there a ...?", "Where can I ...?"), so the sentence frame they share with real FAQs
cancels out in ``scope`` and what is asked for decides; a knowledge base that does answer
one (an FAQ about its sauna) makes ``index`` drop it. All were written for this purpose in
the five kiosk languages. They are deliberately not the out-of-scope questions of the
calibration set (``bench/data/kb_calibration.jsonl``) nor about their topics, so the
decision learns how much to trust this signal from questions it has not seen; nor those of
the held-out evaluation set.
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

VENUE_EXAMPLES: dict[str, tuple[str, ...]] = {
    "en": (
        "Is there a bowling alley here?",
        "Where can I get my watch repaired?",
        "Is there a shop that fixes cracked phone screens?",
        "Can I get my shoes shined somewhere?",
        "Is there a dry cleaner in the mall?",
        "Where can I get a spare key cut?",
        "Is there a booth for passport photos?",
        "Is there an optician who can test my eyes?",
        "Where can I buy lottery tickets?",
        "Is there a tailor who can shorten my trousers?",
        "Is there a playground for children?",
        "Where can I get a tattoo?",
        "Where can I recycle old batteries?",
        "Are there piano lessons for kids here?",
        "Is there a nail salon?",
        "Where can I buy a newspaper?",
        "Are there any cooking classes?",
        "Where can I rent a wedding dress?",
        "Is there an escape room?",
        "Is there a co-working space I can use for the day?",
        "Is there a trampoline park?",
        "Is there a mahjong parlour around here?",
        "Is there a language school in the building?",
        "Is there a sauna?",
    ),
    "zh": (
        "这里有保龄球馆吗？",
        "哪里可以修手表？",
        "有修手机屏幕的店吗？",
        "哪里可以擦皮鞋？",
        "商场里有干洗店吗？",
        "哪里可以配钥匙？",
        "有拍证件照的自助照相机吗？",
        "有可以验光的眼镜店吗？",
        "哪里可以买彩票？",
        "有裁缝可以帮我改短裤子吗？",
        "有儿童游乐场吗？",
        "哪里可以纹身？",
        "旧电池在哪里回收？",
        "这里有儿童钢琴课吗？",
        "有美甲店吗？",
        "哪里可以买报纸？",
        "有烹饪课吗？",
        "哪里可以租婚纱？",
        "有密室逃脱吗？",
        "有可以按天使用的共享办公空间吗？",
        "有蹦床公园吗？",
        "附近有麻将馆吗？",
        "楼里有语言学校吗？",
        "有桑拿吗？",
    ),
    "yue": (
        "呢度有冇保齡球場？",
        "邊度可以整手錶？",
        "有冇舖頭整爆咗嘅手機芒？",
        "邊度可以擦鞋？",
        "商場有冇乾洗舖？",
        "邊度可以配鎖匙？",
        "有冇即影即有證件相機？",
        "有冇眼鏡舖可以驗眼？",
        "邊度可以買六合彩？",
        "有冇裁縫可以幫我改短條褲？",
        "有冇兒童遊樂場？",
        "邊度可以紋身？",
        "舊電池可以喺邊度回收？",
        "呢度有冇細路學琴嘅堂？",
        "有冇美甲舖？",
        "邊度可以買報紙？",
        "有冇煮飯班？",
        "邊度可以租婚紗？",
        "有冇密室逃脫？",
        "有冇共享辦公室可以用一日？",
        "有冇彈床樂園？",
        "附近有冇麻雀館？",
        "大廈入面有冇語言學校？",
        "有冇桑拿？",
    ),
    "ja": (
        "ボウリング場はありますか？",
        "時計の修理はどこでできますか？",
        "スマホの割れた画面を直せる店はありますか？",
        "靴磨きはどこでできますか？",
        "モールにクリーニング店はありますか？",
        "合鍵はどこで作れますか？",
        "証明写真機はありますか？",
        "視力検査ができる眼鏡店はありますか？",
        "宝くじはどこで買えますか？",
        "ズボンの裾上げをしてくれる店はありますか？",
        "子供の遊び場はありますか？",
        "タトゥーを入れられる店はありますか？",
        "古い電池はどこでリサイクルできますか？",
        "子供向けのピアノ教室はありますか？",
        "ネイルサロンはありますか？",
        "新聞はどこで買えますか？",
        "料理教室はありますか？",
        "ウェディングドレスはどこで借りられますか？",
        "脱出ゲームはありますか？",
        "一日使えるコワーキングスペースはありますか？",
        "トランポリンパークはありますか？",
        "近くに雀荘はありますか？",
        "建物の中に語学学校はありますか？",
        "サウナはありますか？",
    ),
    "ko": (
        "여기 볼링장 있어요?",
        "시계 수리는 어디서 하나요?",
        "깨진 휴대폰 액정 고치는 가게 있어요?",
        "구두 닦는 곳 있나요?",
        "몰 안에 세탁소 있어요?",
        "열쇠 복사는 어디서 해요?",
        "증명사진 찍는 기계 있어요?",
        "시력 검사 되는 안경점 있어요?",
        "복권은 어디서 사요?",
        "바지 길이 줄여 주는 수선집 있어요?",
        "어린이 놀이터 있어요?",
        "타투 하는 곳 있어요?",
        "다 쓴 건전지는 어디서 재활용해요?",
        "아이들 피아노 레슨 있어요?",
        "네일숍 있어요?",
        "신문은 어디서 사요?",
        "요리 교실 있어요?",
        "웨딩드레스는 어디서 빌려요?",
        "방탈출 카페 있어요?",
        "하루 쓸 수 있는 공유 오피스 있어요?",
        "트램펄린 파크 있어요?",
        "근처에 마작방 있어요?",
        "건물 안에 어학원 있어요?",
        "사우나 있어요?",
    ),
}


def _examples() -> list[tuple[str, str]]:
    """(language, sentence) of every example, general ones first."""
    return [(language, sentence) for examples in (OUT_OF_SCOPE_EXAMPLES, VENUE_EXAMPLES)
            for language, sentences in examples.items() for sentence in sentences]


def examples_digest(model_name: str) -> str:
    """Identifies the embedded examples: the model and the sentences."""
    text = model_name + "".join(sentence for _, sentence in _examples())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def out_of_scope_vectors(encoder: Encoder) -> tuple[Vectors, list[str]]:
    """The examples embedded as queries (they are questions, compared with questions), with
    the language of each row."""
    examples = _examples()
    return encoder.queries([sentence for _, sentence in examples]), [language for language, _ in examples]
