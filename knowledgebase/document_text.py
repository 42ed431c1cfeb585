"""The text of an uploaded document: which kind it is, and its sections (heading + paragraphs).

Three kinds are accepted: PDF (text extracted with ``pypdf``; a scanned PDF has no text and is
refused rather than indexed empty), Markdown and plain text (UTF-8, or UTF-16 with a byte-order
mark). Text that cannot be stored (NUL, lone surrogates, control characters) is refused with
its line number. Markdown markup is removed, because a chunk's text may be spoken by the avatar as it
is. Every failure is an ``ApplicationError`` with a ``code`` the console can show.
"""
import io
import logging
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from django.utils.translation import gettext as _

from common.errors import ApplicationError
from common.text import text_problem

logger = logging.getLogger(__name__)

DocumentKind = Literal["pdf", "markdown", "text"]
EXTENSIONS: dict[str, DocumentKind] = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".txt": "text",
                                       ".text": "text"}


@dataclass(frozen=True)
class Section:
    """A heading (empty before the first one) and the paragraphs under it."""

    heading: str
    paragraphs: tuple[str, ...]


def document_kind(filename: str, content: bytes) -> DocumentKind:
    """The kind of an upload, from its file name, checked against its first bytes."""
    kind = EXTENSIONS.get(PurePath(filename).suffix.lower())
    if kind is None:
        raise ApplicationError("document_unsupported_type",
                               _("%(type)s is not supported; upload a PDF (.pdf), Markdown (.md) or plain text (.txt) file.")
                               % {"type": PurePath(filename).suffix or _("A file without extension")})
    if (kind == "pdf") != content.lstrip()[:5].startswith(b"%PDF-"):
        raise ApplicationError("document_unsupported_type",
                               f"{filename!r} does not look like a {'PDF' if kind == 'pdf' else 'text'} file.")
    return kind


def document_sections(kind: DocumentKind, content: bytes) -> list[Section]:
    """The document's sections; raises ``document_empty`` when it holds no text."""
    text = _pdf_text(content) if kind == "pdf" else _decoded(content)
    _refuse_unstorable(text)
    sections = _markdown_sections(text) if kind == "markdown" else _plain_sections(text)
    if not any(section.paragraphs for section in sections):
        raise ApplicationError("document_empty", _("The document contains no text to search (a scanned PDF needs OCR first)."))
    return sections


def _refuse_unstorable(text: str) -> None:
    # split("\n"), not splitlines(): that also splits at (and so hides) form feeds and other controls.
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        problem = text_problem(line)
        if problem:
            raise ApplicationError("document_invalid_text",
                                   f"Line {number} of the document's text has {problem}; remove it and upload again.")


def _decoded(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError("document_unreadable",
                               _("The file is not UTF-8 text (byte %(byte)d); save it as UTF-8 and upload it again.")
                               % {"byte": exc.start}) from exc


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ApplicationError("document_unreadable", _("The PDF is password-protected; upload an unprotected copy."))
        # A page break ends a paragraph.
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except ApplicationError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # pypdf reports a damaged file through several exception types.
        logger.info("knowledge base: unreadable PDF (%s)", type(exc).__name__)
        raise ApplicationError("document_unreadable", _("The PDF could not be read (damaged or not a PDF).")) from exc


_BLANK = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[ \t\u3000]+")


def _paragraphs(block: str) -> list[str]:
    out = []
    for raw in _BLANK.split(block):
        lines = [_SPACES.sub(" ", line).strip() for line in raw.splitlines()]
        text = _join_lines([line for line in lines if line])
        if any(char.isalnum() for char in text):  # not a rule or stray punctuation
            out.append(text)
    return out


def _join_lines(lines: list[str]) -> str:
    """Lines of one paragraph: joined with a space, except between CJK characters (a line
    break inside a Chinese or Japanese sentence is not a word break)."""
    text = ""
    for line in lines:
        if text and not (_is_cjk(text[-1]) and _is_cjk(line[0])):
            text += " "
        text += line
    return text


def _is_cjk(char: str) -> bool:
    # Korean is not here: it separates words with spaces.
    return "\u3000" <= char <= "\u9fff" or "\uff00" <= char <= "\uffef"


def _plain_sections(text: str) -> list[Section]:
    return [Section("", tuple(_paragraphs(text.replace("\r\n", "\n").replace("\r", "\n"))))]


_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: keep the alt text
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links: keep the words
    (re.compile(r"<[^>\n]+>"), ""),  # inline HTML
    (re.compile(r"(\*\*|__|\*|_|~~|`)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # emphasis, code
    (re.compile(r"^[ \t]{0,3}>[ \t]?", re.M), ""),  # block quotes
    (re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+", re.M), ""),  # list markers
    (re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$", re.M), ""),  # table rules
    (re.compile(r"[ \t]*\|[ \t]*"), " "),  # table cells
]


def _plain_markdown(text: str) -> str:
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text


def _markdown_sections(text: str) -> list[Section]:
    sections: list[Section] = []
    heading, body = "", list[str]()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    in_fence = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        setext = (not in_fence and index + 1 < len(lines) and line.strip() and _SETEXT.match(lines[index + 1])
                  and not _FENCE.match(lines[index + 1]))
        if match or setext:
            sections.append(Section(heading, tuple(_paragraphs(_plain_markdown("\n".join(body))))))
            heading = _plain_markdown(match.group(2) if match else line.strip())
            body = []
        elif not (index > 0 and _SETEXT.match(line) and body == [] and heading):
            body.append(line)
    sections.append(Section(heading, tuple(_paragraphs(_plain_markdown("\n".join(body))))))
    return [section for section in sections if section.paragraphs or section.heading]
