"""Redaction of personal data in stored transcript text, in the five kiosk languages."""
import uuid
from typing import Any

import pytest

from conversations import services
from conversations.models import Turn
from conversations.redaction import redact_text

CASES = [
    # Mandarin: mobile number, e-mail, resident ID ending in X; full-width digits.
    ("我的手机号是13812345678，邮箱zhang.wei@example.cn，身份证号11010519491231002X。",
     "我的手机号是[phone]，邮箱[email]，身份证号[id number]。"),
    ("请打１３８－１２３４－５６７８找我", "请打[phone]找我"),
    # Cantonese: Hong Kong phone and HKID.
    ("我電話係 9123 4567，身份證係 A123456(7)。", "我電話係 [phone]，身份證係 [id number]。"),
    ("我嘅身份證係Ｙ６５４３２１（Ａ）", "我嘅身份證係[id number]"),
    # English: North American phone with country code, e-mail, card.
    ("Call me at +1 (555) 123-4567 or mail jo.smith+kiosk@example.co.uk, card 4111 1111 1111 1111.",
     "Call me at [phone] or mail [email], card [card number]."),
    # Japanese: mobile in full-width digits and dashes, My Number, full-width e-mail.
    ("電話は０９０－１２３４－５６７８、マイナンバーは1234 5678 9012です。", "電話は[phone]、マイナンバーは[id number]です。"),
    ("メールはｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐです", "メールは[email]です"),
    # Korean: mobile and resident registration number, directly followed by Hangul particles.
    ("제 번호는 010-1234-5678이고 주민번호는 900101-1234567입니다.", "제 번호는 [phone]이고 주민번호는 [id number]입니다."),
    ("카드번호 5500-0000-0000-0004로 결제했어요", "카드번호 [card number]로 결제했어요"),
]

KEPT = [
    "The shop opens at 10:30 and closes at 21:00.",
    "营业时间是上午10:30至晚上10:00，在3楼。",
    "營業時間係朝早十點半至晚上九點，L7 有洗手間。",
    "2026-11-30 から 2026.12.01 まで、10時30分に開きます。",
    "주차는 B2층, 9:00-17:00, 3,000원입니다.",
    "Gate 12, bus 7A, room 1203, flight CX 880.",
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_times_dates_floors_and_prices_are_kept(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.django_db
def test_turns_are_redacted_when_written_but_keys_and_timings_are_not(settings: Any) -> None:
    settings.TRANSCRIPT_REDACTION = True
    conversation = uuid.uuid4()
    services.conversation_start(public_id=conversation, kiosk_id=None, language="zh")
    customer, avatar = uuid.uuid4(), uuid.uuid4()
    services.transcript_turn_append(conversation_id=conversation, turn_id=customer, role="customer", fields={
        "text": "我的手机号是13812345678", "language": "zh", "timings": {"asr": 13812345678.0}})
    services.transcript_turn_append(conversation_id=conversation, turn_id=avatar, role="avatar", fields={
        "text": "", "language": "zh", "retrieved": [{"key": "lost-property-12345678", "score": 0.5}]})
    services.transcript_turn_update(turn_id=avatar, fields={
        "text": "好的，我们会打13812345678联系您。", "heard_text": "好的，我们会打13812345678…", "interrupted": True})
    stored = {t.role: t for t in Turn.objects.all()}
    assert stored["customer"].text == "我的手机号是[phone]"
    assert stored["customer"].timings == {"asr": 13812345678.0}
    assert stored["avatar"].text == "好的，我们会打[phone]联系您。" and stored["avatar"].heard_text == "好的，我们会打[phone]…"
    assert stored["avatar"].retrieved == [{"key": "lost-property-12345678", "score": 0.5}]


@pytest.mark.django_db
def test_redaction_off_stores_the_words_as_said(settings: Any) -> None:
    settings.TRANSCRIPT_REDACTION = False
    conversation, turn = uuid.uuid4(), uuid.uuid4()
    services.conversation_start(public_id=conversation, kiosk_id=None, language="en")
    services.transcript_turn_append(conversation_id=conversation, turn_id=turn, role="customer",
                                    fields={"text": "Call 555-123-4567", "language": "en"})
    assert Turn.objects.get().text == "Call 555-123-4567"
