"""Importing and exporting FAQ files: validation, all-or-nothing, idempotence, round trips."""
import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from common.errors import ApplicationError
from knowledgebase.exporting import faq_export
from knowledgebase.models import FaqEntry, FaqRevision, FaqTranslation
from knowledgebase.services import faq_import_file

pytestmark = pytest.mark.django_db

GOOD_JSONL = "\n".join(json.dumps(row, ensure_ascii=False) for row in [
    {"key": "wifi", "language": "en", "question": "Is there Wi-Fi?", "answer": "Yes, free.", "tags": ["services"],
     "alternates": ["Wi-Fi password?"]},
    {"key": "wifi", "language": "zh", "question": "有WiFi吗？", "answer": "有，免费。", "tags": ["services"]},
    {"key": "toilets", "language": "ko", "question": "화장실은 어디예요?", "answer": "각 층에 있습니다."},
]).encode()


def _import(content: bytes, name: str, **kwargs: object) -> dict[str, object]:
    return faq_import_file(content=content, filename=name, **kwargs).as_dict()  # type: ignore[arg-type]


def test_good_jsonl_creates_entries_with_their_translations_tags_and_a_revision() -> None:
    report = _import(GOOD_JSONL, "faqs.jsonl")
    assert report == {"created": 2, "updated": 0, "unchanged": 0, "translations": 3, "skipped": []}
    wifi = FaqEntry.objects.get(key="wifi")
    assert sorted(wifi.translations.values_list("language", flat=True)) == ["en", "zh"]
    assert wifi.translations.get(language="en").alternates == ["Wi-Fi password?"]
    assert list(wifi.tags.values_list("name", flat=True)) == ["services"]
    assert FaqRevision.objects.filter(key="wifi", action="import").count() == 1


def test_good_csv_with_separators_and_a_bom() -> None:
    content = ("\ufeffkey,language,question,answer,tags,alternates\n"
               'parking,en,"Where do I park?","B2, B3.",transport;cars,Car park?|Parking rates?\n').encode()
    _import(content, "faqs.csv")
    translation = FaqTranslation.objects.get(entry__key="parking")
    assert translation.answer == "B2, B3."
    assert translation.alternates == ["Car park?", "Parking rates?"]
    assert sorted(translation.entry.tags.values_list("name", flat=True)) == ["cars", "transport"]


def test_bad_rows_are_reported_by_line_and_nothing_is_imported() -> None:
    content = GOOD_JSONL + b'\n{"key": "Bad Key!", "language": "en", "question": "q", "answer": "a"}' \
        b'\n{"key": "ok", "language": "xx", "question": "q", "answer": "a"}\nnot json\n'
    with pytest.raises(ApplicationError) as caught:
        _import(content, "faqs.jsonl")
    assert caught.value.code == "import_invalid"
    lines = [e["line"] for e in caught.value.extra["errors"]]  # type: ignore[attr-defined]
    assert lines == [4, 5, 6]
    assert "slug" in caught.value.extra["errors"][0]["message"]  # type: ignore[index]
    assert FaqEntry.objects.count() == 0


def test_skip_bad_imports_the_good_rows_and_reports_the_rest() -> None:
    content = GOOD_JSONL + b'\n{"key": "ok", "language": "en", "question": "", "answer": "a"}\n'
    report = _import(content, "faqs.jsonl", skip_bad=True)
    assert report["created"] == 2
    assert report["skipped"] == [{"line": 4, "message": "missing question"}]


def test_command_reports_line_numbers_and_skip_bad(tmp_path: Path) -> None:
    path = tmp_path / "faqs.csv"
    path.write_text("key,language,question,answer\nok,en,Q?,A.\nok,en,Again?,B.\n")
    with pytest.raises(CommandError, match="line 3: duplicate ok/en"):
        call_command("import_faqs", str(path), stdout=io.StringIO())
    assert not FaqEntry.objects.exists()
    out = io.StringIO()
    call_command("import_faqs", str(path), "--skip-bad", stdout=out)
    assert json.loads(out.getvalue())["created"] == 1


def test_reimporting_the_same_file_changes_nothing() -> None:
    _import(GOOD_JSONL, "faqs.jsonl")
    report = _import(GOOD_JSONL, "faqs.jsonl")
    assert report == {"created": 0, "updated": 0, "unchanged": 2, "translations": 3, "skipped": []}
    assert FaqRevision.objects.count() == 2


def test_translations_of_one_key_merge_across_files_and_edits_clear_the_embedding() -> None:
    _import(b'{"key": "atm", "language": "en", "question": "ATM?", "answer": "G/F."}', "en.jsonl")
    FaqTranslation.objects.update(embeddings=b"\0" * 8, embedding_model="m")
    report = _import(b'{"key": "atm", "language": "ja", "question": "ATM\xe3\x81\xaf?", "answer": "1F"}\n'
                     b'{"key": "atm", "language": "en", "question": "Where is an ATM?", "answer": "G/F."}', "more.jsonl")
    assert report["updated"] == 1
    entry = FaqEntry.objects.get(key="atm")
    assert sorted(entry.translations.values_list("language", flat=True)) == ["en", "ja"]
    assert entry.translations.get(language="en").embeddings is None  # re-embedded by the refresh


def test_a_file_that_is_not_utf8_is_refused_with_a_hint() -> None:
    content = "key,language,question,answer\ncafe,en,Café?,Oui\n".encode("latin-1")
    with pytest.raises(ApplicationError) as caught:
        _import(content, "faqs.csv")
    assert "not UTF-8" in caught.value.extra["errors"][0]["message"]  # type: ignore[index]
    assert not FaqEntry.objects.exists()


def test_unsupported_extension() -> None:
    with pytest.raises(ApplicationError) as caught:
        _import(b"x", "faqs.xlsx")
    assert "unsupported" in caught.value.extra["errors"][0]["message"]  # type: ignore[index]


def test_csv_export_escapes_formulas_and_the_import_restores_them(tmp_path: Path) -> None:
    rows = [
        {"key": "sums", "language": "en", "question": "=SUM(A1:A9)", "answer": "+1 for you", "alternates": ["@cmd"]},
        {"key": "sums", "language": "zh", "question": "-5折吗？", "answer": "普通答案", "tags": ["promo"]},
    ]
    _import("\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode(), "in.jsonl")
    exported = tmp_path / "out.csv"
    call_command("export_faqs", str(exported), stdout=io.StringIO())
    cells = list(csv.reader(io.StringIO(exported.read_bytes().decode("utf-8-sig"))))
    assert cells[0] == ["key", "language", "question", "answer", "tags", "alternates"]
    assert cells[1][2:] == ["'=SUM(A1:A9)", "'+1 for you", "promo", "'@cmd"]
    assert cells[2][2] == "'-5折吗？"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in cells for cell in row)

    FaqEntry.objects.all().delete()
    _import(exported.read_bytes(), "out.csv")
    en = FaqTranslation.objects.get(entry__key="sums", language="en")
    assert (en.question, en.answer, en.alternates) == ("=SUM(A1:A9)", "+1 for you", ["@cmd"])
    assert FaqTranslation.objects.get(entry__key="sums", language="zh").question == "-5折吗？"


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_export_then_import_round_trips_the_demo(suffix: str, tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parents[2] / "knowledgebase" / "demo" / "faqs.jsonl"
    call_command("import_faqs", str(demo), stdout=io.StringIO())
    before = faq_export(fmt="jsonl")
    path = tmp_path / f"faqs.{suffix}"
    call_command("export_faqs", str(path), stdout=io.StringIO())
    FaqEntry.objects.all().delete()
    call_command("import_faqs", str(path), stdout=io.StringIO())
    assert faq_export(fmt="jsonl") == before
    assert FaqTranslation.objects.count() == len(before.splitlines()) > 100
