"""Cutting a document's sections into retrieval chunks.

A chunk is a few hundred characters of one section: whole paragraphs while they fit, a long
paragraph cut at sentence ends (Latin and CJK punctuation), a sentence longer than a chunk
cut hard. Consecutive chunks of a section overlap by the last sentence of the previous one
(at most ``OVERLAP_CHARS``), so a fact that straddles a cut is still found whole in one of
them. Each chunk's language is detected from its own text: a document may switch language,
and the avatar must answer from the chunk in the customer's language when there is one.
"""
import re
from dataclasses import dataclass

from knowledgebase.document_text import Section
from knowledgebase.retrieval.languages import guess_language

CHUNK_CHARS = 500
OVERLAP_CHARS = 120
# Mandarin and Cantonese share a script; a chunk without Cantonese particles could be either,
# so a Chinese chunk takes the document's declared language when that is one of the two.
_CHINESE = frozenset({"zh", "yue"})
_SENTENCE = re.compile(r"(?<=[.!?;。！？；])\s+|(?<=[。！？；])")


@dataclass(frozen=True)
class Chunk:
    heading: str
    text: str
    language: str


def chunk_language(text: str, declared: str | None) -> str:
    detected = guess_language(text)
    if declared in _CHINESE and detected in _CHINESE:
        return declared
    return detected


def document_chunks(sections: list[Section], *, declared_language: str | None = None,
                    size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    """The chunks of ``sections``, in reading order."""
    chunks: list[Chunk] = []
    for section in sections:
        for text in _section_texts(section.paragraphs, size, overlap):
            chunks.append(Chunk(section.heading, text, chunk_language(f"{section.heading}\n{text}", declared_language)))
    return chunks


def _sentences(paragraph: str, size: int) -> list[str]:
    pieces: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE.split(paragraph)):
        while len(sentence) > size:
            cut = sentence.rfind(" ", 0, size)
            cut = cut if cut > size // 2 else size
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    return pieces


def _section_texts(paragraphs: tuple[str, ...], size: int, overlap: int) -> list[str]:
    """Pack the section's sentences into chunks of at most ``size`` characters; a paragraph
    break is kept as a newline."""
    texts: list[str] = []
    current: list[str] = []  # pieces of the chunk being filled; "\n" marks a paragraph break
    last_sentence = ""
    for paragraph in paragraphs:
        if current:
            current.append("\n")
        for sentence in _sentences(paragraph, size):
            if current and len(_joined([*current, sentence])) > size and any(p != "\n" for p in current):
                texts.append(_joined(current))
                current = [last_sentence] if last_sentence and len(last_sentence) <= overlap else []
                if current and len(_joined([*current, sentence])) > size:
                    current = []
            current.append(sentence)
            last_sentence = sentence
    if any(p != "\n" for p in current):
        texts.append(_joined(current))
    return texts


def _joined(pieces: list[str]) -> str:
    text = ""
    for piece in pieces:
        if piece == "\n":
            text = text.rstrip() + "\n"
        elif text and not text.endswith("\n") and not (_cjk_end(text) and _cjk_end(piece[:1])):
            text += " " + piece
        else:
            text += piece
    return text.strip()


def _cjk_end(text: str) -> bool:
    return bool(text) and ("\u3000" <= text[-1] <= "\u9fff" or text[-1] in "。！？；，")
