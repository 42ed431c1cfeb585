"""Each language's direction in the embedding space, and a guess at a text's language.

Multilingual-e5 places sentences of one language near each other whatever they say, so a
Korean question is closer to an unrelated Korean FAQ than to the English FAQ that answers it.
Subtracting each language's mean vector (estimated from the same everyday sentences written
in all five languages, so that only the language differs) and re-normalising removes most of
that pull: on the calibration set it lifted dense hit@1 from 0.75 to 0.92.
"""
import hashlib
import re
from dataclasses import dataclass

import numpy as np

from knowledgebase.retrieval.encoder import Encoder, Vectors

# The same 24 everyday sentences in each language (none about a venue's services, so the
# means carry language, not topic).
REFERENCE_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        'What time does the train leave tomorrow morning?',
        'I would like to order a coffee with milk.',
        'My brother plays football every weekend.',
        'How do I reset my password?',
        'The museum is closed on Mondays.',
        'Can you tell me more about this product?',
        'It is very hot and humid today.',
        'We are planning a trip to the mountains next month.',
        'How much does this jacket cost?',
        'I forgot my keys at home.',
        'Is this seat taken?',
        'Please speak a little more slowly.',
        'The meeting has been moved to Thursday afternoon.',
        'Where did you buy that book?',
        'My daughter starts school in September.',
        "I don't eat meat or fish.",
        'Could you help me carry this box?',
        'The concert was wonderful last night.',
        'How long will the repair take?',
        'I am looking for a birthday present for my father.',
        'Our office is on the twelfth floor.',
        'Do you accept credit cards?',
        'The children are playing in the park.',
        'What do you recommend for dinner?',
    ),
    "zh": (
        '明天早上火车几点出发？',
        '我想要一杯加牛奶的咖啡。',
        '我哥哥每个周末都踢足球。',
        '怎么重置我的密码？',
        '博物馆星期一闭馆。',
        '能再给我介绍一下这个产品吗？',
        '今天又热又潮湿。',
        '我们打算下个月去山里旅行。',
        '这件夹克多少钱？',
        '我把钥匙忘在家里了。',
        '这个座位有人吗？',
        '请说得慢一点。',
        '会议改到星期四下午了。',
        '那本书你是在哪里买的？',
        '我女儿九月开始上学。',
        '我不吃肉也不吃鱼。',
        '你能帮我搬一下这个箱子吗？',
        '昨晚的音乐会很精彩。',
        '修理需要多长时间？',
        '我在给父亲找生日礼物。',
        '我们的办公室在十二楼。',
        '可以刷信用卡吗？',
        '孩子们在公园里玩。',
        '晚饭你推荐吃什么？',
    ),
    "yue": (
        '聽朝火車幾點開？',
        '我想要一杯加奶嘅咖啡。',
        '我阿哥個個週末都踢波。',
        '點樣重設我個密碼？',
        '博物館逢星期一休館。',
        '可唔可以再介紹下呢件產品？',
        '今日又熱又焗。',
        '我哋打算下個月去行山旅行。',
        '呢件褸幾多錢？',
        '我唔記得帶鎖匙出門。',
        '呢個位有冇人坐？',
        '唔該講慢少少。',
        '個會改咗去星期四下晝。',
        '你本書喺邊度買㗎？',
        '我個女九月開始返學。',
        '我唔食肉，魚都唔食。',
        '你可唔可以幫我搬呢個箱？',
        '琴晚個音樂會好正。',
        '整要整幾耐？',
        '我想搵份生日禮物俾我老豆。',
        '我哋公司喺十二樓。',
        '收唔收信用卡？',
        '班細路喺公園度玩緊。',
        '晚餐你有咩推介？',
    ),
    "ja": (
        '明日の朝、電車は何時に出発しますか？',
        'ミルク入りのコーヒーをお願いします。',
        '兄は毎週末サッカーをしています。',
        'パスワードをリセットするにはどうすればいいですか？',
        '博物館は月曜日が休館です。',
        'この製品についてもう少し教えてください。',
        '今日はとても蒸し暑いです。',
        '来月、山へ旅行する予定です。',
        'このジャケットはいくらですか？',
        '家に鍵を忘れてしまいました。',
        'この席は空いていますか？',
        'もう少しゆっくり話してください。',
        '会議は木曜日の午後に変更になりました。',
        'その本はどこで買いましたか？',
        '娘は九月から学校に通い始めます。',
        '肉も魚も食べません。',
        'この箱を運ぶのを手伝ってもらえますか？',
        '昨夜のコンサートは素晴らしかったです。',
        '修理にはどのくらいかかりますか？',
        '父への誕生日プレゼントを探しています。',
        '私たちのオフィスは12階にあります。',
        'クレジットカードは使えますか？',
        '子どもたちが公園で遊んでいます。',
        '夕食は何がおすすめですか？',
    ),
    "ko": (
        '내일 아침 기차는 몇 시에 출발해요?',
        '우유 넣은 커피 한 잔 주세요.',
        '형은 주말마다 축구를 해요.',
        '비밀번호를 어떻게 재설정하나요?',
        '박물관은 월요일에 휴관합니다.',
        '이 제품에 대해 좀 더 알려 주시겠어요?',
        '오늘은 아주 덥고 습해요.',
        '다음 달에 산으로 여행 갈 계획이에요.',
        '이 재킷은 얼마예요?',
        '집에 열쇠를 두고 왔어요.',
        '이 자리 비어 있나요?',
        '조금 더 천천히 말씀해 주세요.',
        '회의가 목요일 오후로 옮겨졌어요.',
        '그 책은 어디서 샀어요?',
        '딸이 9월에 학교에 입학해요.',
        '저는 고기도 생선도 안 먹어요.',
        '이 상자 옮기는 것 좀 도와주시겠어요?',
        '어젯밤 콘서트는 정말 좋았어요.',
        '수리는 얼마나 걸려요?',
        '아버지 생신 선물을 찾고 있어요.',
        '저희 사무실은 12층에 있어요.',
        '신용카드 되나요?',
        '아이들이 공원에서 놀고 있어요.',
        '저녁으로 뭘 추천하세요?',
    ),
}


def reference_digest(model_name: str) -> str:
    """Identifies a set of centroids: the model and the reference sentences they came from."""
    text = model_name + "".join(s for sentences in REFERENCE_SENTENCES.values() for s in sentences)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LanguageCentroids:
    """Mean query and passage vectors per language; ``center`` removes them."""

    queries: dict[str, Vectors]
    passages: dict[str, Vectors]

    @classmethod
    def compute(cls, encoder: Encoder) -> "LanguageCentroids":
        queries, passages = {}, {}
        for language, sentences in REFERENCE_SENTENCES.items():
            queries[language] = encoder.queries(list(sentences)).mean(axis=0)
            passages[language] = encoder.passages(list(sentences)).mean(axis=0)
        return cls(queries, passages)

    def center_passages(self, vectors: Vectors, languages: list[str]) -> Vectors:
        """``vectors[i]`` (a passage in ``languages[i]``) with its language's mean removed."""
        if not len(vectors):
            return vectors
        means = np.stack([self.passages[language] for language in languages])
        return _normalize(vectors - means)

    def center_query(self, vector: Vectors, language: str) -> Vectors:
        return _normalize(vector - self.queries[language])


def _normalize(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-6)).astype(np.float32)


_HANGUL = re.compile(r"[\uac00-\ud7af]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u3400-\u9fff]")
# Characters that only written Cantonese uses (particles and pronouns).
_CANTONESE = re.compile(r"[嘅咗喺冇唔係哋啲嚟咩嘢佢俾畀睇噉嗰咁㗎]")


def guess_language(text: str) -> str:
    """The kiosk language ``text`` is most likely in, from its script (for queries that come
    without one). Mandarin and Cantonese share a script; Cantonese particles decide."""
    if _HANGUL.search(text):
        return "ko"
    if _KANA.search(text):
        return "ja"
    if _HAN.search(text):
        return "yue" if _CANTONESE.search(text) else "zh"
    return "en"
