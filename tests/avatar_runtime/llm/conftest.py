"""Realistic retrieved entries for a shopping mall: opening hours, parking, restrooms; and what
the tests against the real local Qwen share (the model's path, their marks, patient deadlines)."""
import importlib.util
from pathlib import Path

import pytest
from django.conf import settings

from avatar_runtime.llm.base import Passage
from avatar_runtime.llm.local_server import default_model_path
from avatar_runtime.llm.qwen_client import Deadlines

MODEL = default_model_path(Path(settings.MODELS_DIR))
LOCAL_QWEN_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(not MODEL.is_file(), reason=f"{MODEL} not provisioned (provision_models qwen2.5-0.5b-gguf)"),
    pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None, reason="xllamacpp is not installed"),
]
PATIENT = Deadlines(first_token=60.0, total=120.0)  # two shared CPU cores: slow, but it must not time out

HOURS = Passage(
    key="opening-hours",
    score=0.92,
    question="What are the mall's opening hours?",
    answer="The mall is open every day from 10 a.m. to 10 p.m. Restaurants on Level 5 stay open until midnight.",
    language="en",
    translations={
        "zh": ("商场的营业时间是几点？", "商场每天上午10点至晚上10点营业。5楼的餐厅营业至午夜12点。"),
        "yue": ("商場幾點開門？", "商場每日朝早10點至夜晚10點營業。5樓嘅餐廳營業到凌晨12點。"),
        "ja": (
            "営業時間を教えてください。",
            "モールは毎日午前10時から午後10時まで営業しています。5階のレストランは深夜0時まで営業しています。",
        ),
        "ko": (
            "영업시간이 어떻게 되나요?",
            "쇼핑몰은 매일 오전 10시부터 오후 10시까지 영업합니다. 5층 레스토랑은 자정까지 영업합니다.",
        ),
    },
)
PARKING = Passage(
    key="parking-fees",
    score=0.55,
    question="How much does parking cost?",
    answer=(
        "Parking is on B1 and B2. The first 2 hours are free with a receipt over 300 dollars; "
        "after that it is 20 dollars per hour."
    ),
    language="en",
    translations={
        "zh": ("停车怎么收费？", "停车场位于B1和B2层。消费满300元可免费停车2小时，之后每小时20元。"),
        "ja": (
            "駐車料金はいくらですか？",
            "駐車場はB1階とB2階です。300ドル以上のお買い上げで2時間無料、その後は1時間20ドルです。",
        ),
    },
)
RESTROOMS = Passage(
    key="restrooms",
    score=0.41,
    question="Where are the restrooms?",
    answer="Restrooms are on every floor next to the lifts. A baby care room is on Level 3.",
    language="en",
    translations={
        "zh": ("洗手间在哪里？", "每层电梯旁边都有洗手间。3楼设有育婴室。"),
        "yue": ("洗手間喺邊度？", "每層𨋢側都有洗手間。3樓有育嬰室。"),
    },
)


@pytest.fixture
def mall_passages() -> list[Passage]:
    return [HOURS, PARKING, RESTROOMS]
