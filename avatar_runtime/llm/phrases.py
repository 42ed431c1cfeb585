"""The avatar's fixed phrases in the five kiosk languages, kept in one table.

Written to be spoken: polite, short, natural for each language (Cantonese in written
Cantonese with traditional characters, Mandarin in simplified characters).
"""
from typing import Final

from common.languages import KIOSK_LANGUAGES

PHRASES: Final[dict[str, dict[str, str]]] = {
    # Nothing in the knowledge base answers the question.
    "dont_know": {
        "zh": "抱歉，这个问题我不太清楚。您可以到客户服务台，工作人员会为您解答。",
        "yue": "唔好意思，呢個問題我唔係好清楚。你可以去客戶服務台，職員會幫到你。",
        "en": "I'm sorry, I don't know that one. A staff member at the customer service desk can help you.",
        "ja": "申し訳ありません、その件はわかりかねます。カスタマーサービスカウンターのスタッフがお手伝いいたします。",
        "ko": "죄송합니다, 그 질문은 제가 잘 모르겠습니다. 고객 서비스 데스크의 직원이 도와드릴 수 있습니다.",
    },
    # A backend failed and nothing could answer.
    "backend_apology": {
        "zh": "抱歉，我这边暂时出了点问题，请稍后再试一次。",
        "yue": "唔好意思，我呢邊暫時有啲問題，請你等陣再試多次。",
        "en": "Sorry, I'm having a little trouble right now. Please try again in a moment.",
        "ja": "申し訳ありません、ただいま不具合が起きております。少し時間をおいて、もう一度お試しください。",
        "ko": "죄송합니다, 지금 잠시 문제가 있습니다. 잠시 후에 다시 말씀해 주세요.",
    },
    # An answer stopped half-way (the answering service failed after speaking began).
    "answer_incomplete": {
        "zh": "抱歉，这个回答没能说完。客户服务台的工作人员可以告诉您更多。",
        "yue": "唔好意思，呢個答案未講得完。客戶服務台嘅職員可以話你知多啲。",
        "en": "Sorry, I couldn't finish that answer. The customer service desk can tell you more.",
        "ja": "申し訳ありません、最後までお答えできませんでした。詳しくはカスタマーサービスカウンターでお尋ねください。",
        "ko": "죄송합니다, 답변을 끝까지 드리지 못했습니다. 자세한 내용은 고객 서비스 데스크에 문의해 주세요.",
    },
    # The microphone picked up speech but nothing intelligible came of it.
    "not_heard": {
        "zh": "抱歉，我没听清楚，请您再说一遍。",
        "yue": "唔好意思，我聽唔清楚，可唔可以再講多次？",
        "en": "Sorry, I didn't catch that. Could you say it again?",
        "ja": "すみません、よく聞き取れませんでした。もう一度お願いできますか？",
        "ko": "죄송합니다, 잘 못 들었어요. 다시 한번 말씀해 주시겠어요?",
    },
    "let_me_check": {
        "zh": "好的，我帮您查一下。",
        "yue": "好，我幫你查一查。",
        "en": "Let me check that for you.",
        "ja": "お調べしますので、少々お待ちください。",
        "ko": "확인해 드릴게요, 잠시만 기다려 주세요.",
    },
    "handoff_offer": {
        "zh": "需要我帮您请一位工作人员过来吗？",
        "yue": "使唔使我幫你叫職員過嚟？",
        "en": "Would you like me to call a staff member for you?",
        "ja": "スタッフをお呼びしましょうか？",
        "ko": "직원을 불러 드릴까요?",
    },
}

FALLBACK_LANGUAGE: Final = "en"


def phrase(key: str, language: str) -> str:
    """The phrase ``key`` in ``language`` (English for a language the kiosk does not speak)."""
    texts = PHRASES[key]
    return texts.get(language) or texts[FALLBACK_LANGUAGE]


def all_phrase_texts() -> list[str]:
    return [texts[language] for texts in PHRASES.values() for language in KIOSK_LANGUAGES]
