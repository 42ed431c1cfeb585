"""Uploaded documents: text extraction, chunking, the services' errors, and search over chunks."""
from collections.abc import Callable
from contextlib import AbstractContextManager
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from common.errors import ApplicationError
from knowledgebase.chunking import document_chunks
from knowledgebase.document_services import document_create, document_delete
from knowledgebase.document_text import document_sections
from knowledgebase.models import Document, DocumentChunk
from knowledgebase.selectors import document_get, document_list, faq_search
from tests.knowledgebase.pdf_files import pdf_bytes

Capture = Callable[..., AbstractContextManager[Any]]
GUIDE_MD = """# Harbour Point visitor guide

Welcome! This guide covers **services** that are not in the FAQ.

## Bicycle repair station
A free [bicycle repair station](https://example.org) with a track pump, tyre levers and an
allen-key set is next to the west entrance on the ground floor. It is open from 8 am to 10 pm.

## 自行车维修站
免费的自行车维修站在地面层西门旁边，有打气筒和工具，每天早上8点至晚上10点开放。

## ATMs
Bank machines of HSBC and Hang Seng are near the north entrance on the ground floor.
"""


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT  # type: ignore[no-any-return]


# --- extraction and chunking (no database) -------------------------------------------------

def test_markdown_becomes_headed_sections_without_markup() -> None:
    sections = document_sections("markdown", GUIDE_MD.encode())
    assert [s.heading for s in sections] == ["Harbour Point visitor guide", "Bicycle repair station", "自行车维修站", "ATMs"]
    repair = sections[1].paragraphs[0]
    assert "[" not in repair and "https" not in repair and "**" not in sections[0].paragraphs[0]
    assert repair.startswith("A free bicycle repair station with a track pump") and "an allen-key" in repair


def test_long_sections_are_cut_at_sentences_with_overlap_and_each_chunk_has_its_language() -> None:
    english = " ".join(f"Rule {n}: bicycles must be locked to rack number {n} at night." for n in range(12))
    chinese = "".join(f"第{n}条：夜间自行车必须锁在{n}号车架上。" for n in range(12))
    text = f"Rules\n=====\n\n{english}\n\n# 规则\n\n{chinese}\n\n# 규칙\n\n자전거는 밤에 거치대에 잠가 두어야 합니다."
    chunks = document_chunks(document_sections("markdown", text.encode()), size=200, overlap=80)
    assert {c.language for c in chunks if c.heading == "Rules"} == {"en"}
    assert {c.language for c in chunks if c.heading == "规则"} == {"zh"}
    assert [c.language for c in chunks if c.heading == "규칙"] == ["ko"]
    assert all(len(c.text) <= 200 for c in chunks)
    rules = [c.text for c in chunks if c.heading == "Rules"]
    assert len(rules) >= 3
    for previous, following in pairwise(rules):
        last_sentence = previous.rsplit(". ", 1)[-1]
        assert following.startswith(last_sentence)  # the overlap
    assert "".join(rules).count("Rule 11:") >= 1 and "第11条" in "".join(c.text for c in chunks)


def test_a_declared_chinese_language_decides_between_mandarin_and_cantonese() -> None:
    sections = document_sections("text", "停車場位於B2至B4層。\n\nParking is on B2 to B4.".encode())
    chunks = document_chunks(sections, declared_language="yue")
    assert [c.language for c in chunks] == ["yue"]  # one chunk: both paragraphs fit
    assert document_chunks(document_sections("text", "停车场在B2层。".encode()), declared_language="en")[0].language == "zh"


# --- services --------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("filename", "content", "kind", "needle"), [
    ("guide.md", GUIDE_MD.encode(), "markdown", "track pump"),
    ("notes.txt", "Lost property is kept for 90 days.\n\nAsk at the desk on L1.".encode("utf-16"), "text", "90 days"),
    ("Lost property.pdf", pdf_bytes([["Lost property", "Items found are kept for 90 days."], ["Ask at L1."]]), "pdf",
     "kept for 90 days"),
])
def test_each_kind_of_upload_is_stored_with_its_chunks(
    media: Path, filename: str, content: bytes, kind: str, needle: str, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        document = document_create(content=content, filename=f"C:\\uploads\\{filename}")
    assert callbacks  # the index refresh waits for the commit
    assert (document.kind, document.filename, document.size) == (kind, filename, len(content))
    assert document.title == Path(filename).stem
    chunks = list(document.chunks.order_by("position"))
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert any(needle in c.text for c in chunks)
    assert (media / document.file.name).read_bytes() == content
    assert document_get(document_id=document.pk).chunk_count == len(chunks)  # type: ignore[attr-defined]


@pytest.mark.django_db
@pytest.mark.parametrize(("filename", "content", "code"), [
    ("guide.docx", b"PK\x03\x04 not supported", "document_unsupported_type"),
    ("guide", b"plain words", "document_unsupported_type"),
    ("report.pdf", b"just text, not a PDF", "document_unsupported_type"),
    ("notes.txt", b"%PDF-1.4 a PDF pretending to be text", "document_unsupported_type"),
    ("broken.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "document_unreadable"),
    ("scanned.pdf", pdf_bytes([[], []]), "document_empty"),
    ("latin1.txt", "Caf\xe9 on L2".encode("latin-1"), "document_unreadable"),
    ("blank.md", b"  \n\n ", "document_empty"),
    ("only-markup.md", b"---\n\n[](http://x)\n", "document_empty"),
])
def test_bad_files_are_refused_with_a_code_and_nothing_is_stored(
    media: Path, filename: str, content: bytes, code: str
) -> None:
    with pytest.raises(ApplicationError) as refused:
        document_create(content=content, filename=filename)
    assert refused.value.code == code and refused.value.message
    assert not Document.objects.exists() and not DocumentChunk.objects.exists()
    assert not media.exists() or not any(media.rglob("*.*"))


@pytest.mark.django_db
def test_the_size_limit_is_a_setting(media: Path, settings: Any) -> None:
    settings.KB_DOCUMENT_MAX_BYTES = 1000
    with pytest.raises(ApplicationError) as refused:
        document_create(content=b"x" * 1001, filename="big.txt")
    assert (refused.value.code, refused.value.status) == ("document_too_large", 413)
    assert document_create(content=b"y" * 1000, filename="fits.txt").size == 1000
    with pytest.raises(ApplicationError) as language:
        document_create(content=b"fine", filename="a.txt", language="fr")
    assert language.value.code == "invalid_language"


@pytest.mark.django_db
def test_delete_removes_chunks_and_the_file_after_commit(media: Path, django_capture_on_commit_callbacks: Capture) -> None:
    document = document_create(content=GUIDE_MD.encode(), filename="guide.md", language="en")
    path = media / document.file.name
    with django_capture_on_commit_callbacks(execute=True):
        document_delete(document=document)
    assert not path.exists() and not DocumentChunk.objects.exists()
    assert not document_list().exists()
    assert not default_storage.exists(document.file.name)


# --- search (real e5 model) ----------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.django_db
def test_search_answers_from_a_document_and_prefers_the_faq_when_both_match(
    demo_faqs: None, media: Path, django_capture_on_commit_callbacks: Capture
) -> None:
    assert "track pump" not in str(faq_search("Is there a pump to inflate my bicycle tyres?", "en").results)
    with django_capture_on_commit_callbacks(execute=True):
        guide = document_create(content=GUIDE_MD.encode(), filename="guide.md", title="Visitor guide")
    keys = {c.heading: f"doc:{guide.pk}#{c.position}" for c in guide.chunks.all()}

    pump = faq_search("Is there a pump to inflate my bicycle tyres?", "en")
    assert pump.answerable and pump.results[0].key == keys["Bicycle repair station"]
    assert "track pump" in pump.results[0].answer and pump.results[0].question == "Bicycle repair station"
    chinese = faq_search("哪里可以给自行车打气？", "zh").results[0]
    assert (chinese.key, chinese.language) == (keys["自行车维修站"], "zh")

    atm = faq_search("Where can I find an ATM?", "en").results
    assert atm[0].key == "atms" and keys["ATMs"] in [hit.key for hit in atm[1:3]]

    with django_capture_on_commit_callbacks(execute=True):
        document_delete(document=guide)
    assert not any(hit.key.startswith("doc:") for hit in faq_search("Is there a pump for my bicycle?", "en").results)
