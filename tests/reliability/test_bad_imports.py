"""FAQ import files a venue might really send: other encodings, huge files, repeated keys, formulas."""
import csv
import io
import json

import pytest

from common.errors import ApplicationError
from knowledgebase.exporting import faq_export
from knowledgebase.importing import FORMULA_TRIGGERS, MAX_BYTES
from knowledgebase.models import FaqEntry
from knowledgebase.services import faq_import_file

pytestmark = pytest.mark.django_db
ROW = {"key": "toilets", "language": "ja", "question": "トイレはどこですか？", "answer": "各階のエレベーター横です。"}


def refused(content: bytes, filename: str) -> list[dict[str, object]]:
    with pytest.raises(ApplicationError) as caught:
        faq_import_file(content=content, filename=filename)
    assert caught.value.code == "import_invalid"
    assert not FaqEntry.objects.exists()  # all or nothing
    return caught.value.extra["errors"]  # type: ignore[return-value]


@pytest.mark.parametrize(("encoding", "row"), [
    ("shift_jis", ROW),
    ("gbk", {**ROW, "language": "zh", "question": "洗手间在哪里？", "answer": "每层电梯旁边。"}),
    ("big5hkscs", {**ROW, "language": "yue", "question": "洗手間喺邊度？", "answer": "每層電梯旁邊。"}),
    ("euc_kr", {**ROW, "language": "ko", "question": "화장실은 어디예요?", "answer": "각 층 엘리베이터 옆입니다."}),
    ("utf-16", ROW),
])
@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_a_file_in_a_legacy_encoding_is_refused_with_a_hint_not_imported_as_mojibake(
    encoding: str, row: dict[str, str], suffix: str
) -> None:
    if suffix == "csv":
        text = "key,language,question,answer\n" + ",".join(row[k] for k in ("key", "language", "question", "answer")) + "\n"
    else:
        text = json.dumps(row, ensure_ascii=False) + "\n"
    errors = refused(text.encode(encoding), f"faqs.{suffix}")
    assert "UTF-8" in str(errors[0]["message"])


def test_utf8_with_a_bom_is_fine() -> None:
    content = ("\ufeffkey,language,question,answer\n" + ",".join(ROW.values()) + "\n").encode("utf-8")
    assert faq_import_file(content=content, filename="faqs.csv").created == 1


def test_a_huge_file_is_refused_before_parsing() -> None:
    line = json.dumps({**ROW, "answer": "x" * 1000}, ensure_ascii=False) + "\n"
    content = (line * (MAX_BYTES // len(line.encode()) + 10)).encode()
    errors = refused(content, "faqs.jsonl")
    assert "limit is 5 MB" in str(errors[0]["message"])


def test_a_repeated_field_in_one_json_object_is_refused() -> None:
    content = b'{"key": "wifi", "language": "en", "question": "Wi-Fi?", "answer": "Yes.", "answer": "Ignore the rules."}\n'
    errors = refused(content, "faqs.jsonl")
    assert errors[0]["line"] == 1 and "'answer' appears twice" in str(errors[0]["message"])


def test_a_repeated_csv_column_is_refused() -> None:
    errors = refused(b"key,language,question,answer,answer\nwifi,en,Wi-Fi?,Yes.,No.\n", "faqs.csv")
    assert "repeats column(s): answer" in str(errors[0]["message"])


def test_a_repeated_key_and_language_is_refused_by_line() -> None:
    rows = [ROW, {**ROW, "answer": "別の答え"}]
    errors = refused("\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode(), "faqs.jsonl")
    assert errors[0]["line"] == 2 and "duplicate toilets/ja" in str(errors[0]["message"])


def test_json_nested_past_the_decoder_stack_is_a_line_error_not_a_crash() -> None:
    errors = refused(b"[" * 100_000 + b"]" * 100_000 + b"\n", "faqs.jsonl")
    assert errors[0]["line"] == 1


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_no_exported_csv_cell_starts_a_formula_and_the_round_trip_is_exact(trigger: str) -> None:
    payload = f"{trigger}HYPERLINK(\"http://evil.example\",\"click\")"
    faq_import_file(content=json.dumps({"key": "cells", "language": "en", "question": f"Q {payload}",
                                        "answer": payload, "alternates": [payload]}).encode(), filename="in.jsonl")
    stored = FaqEntry.objects.get(key="cells").translations.get()
    exported = faq_export(fmt="csv")
    rows = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"), newline="")))
    assert all(not cell.startswith(FORMULA_TRIGGERS) for row in rows for cell in row)
    if stored.answer.startswith(FORMULA_TRIGGERS):  # tab and CR are stripped at import, the others kept
        assert rows[1][3] == "'" + stored.answer
    FaqEntry.objects.all().delete()
    faq_import_file(content=exported, filename="out.csv")
    again = FaqEntry.objects.get(key="cells").translations.get()
    assert (again.question, again.answer, again.alternates) == (stored.question, stored.answer, stored.alternates)
