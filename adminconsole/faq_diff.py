"""Differences between two FAQ revisions, field by field, as marked-up segments for the history screen."""
import difflib
import re
from dataclasses import dataclass
from typing import Any

from common.languages import KIOSK_LANGUAGES

# CJK characters compare one by one (no spaces between words); other scripts by word.
_TOKENS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]|\w+|\s+|[^\w\s]")


@dataclass(frozen=True)
class Segment:
    op: str  # "same", "del" or "ins"
    text: str


@dataclass(frozen=True)
class FieldDiff:
    field: str  # "status", "tags", or "<language>.question|answer|alternates"
    segments: list[Segment]


def _flatten(snapshot: dict[str, Any] | None) -> dict[str, str]:
    if not snapshot:
        return {}
    fields = {"status": str(snapshot.get("status", "")), "tags": ", ".join(snapshot.get("tags") or [])}
    translations = snapshot.get("translations") or {}
    for language in sorted(translations, key=lambda code: KIOSK_LANGUAGES.index(code) if code in KIOSK_LANGUAGES else 99):
        t = translations[language]
        fields[f"{language}.question"] = t.get("question", "")
        fields[f"{language}.answer"] = t.get("answer", "")
        fields[f"{language}.alternates"] = "\n".join(t.get("alternates") or [])
    return fields


def text_diff(old: str, new: str) -> list[Segment]:
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    segments: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(Segment("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("del", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("ins", "".join(b[j1:j2])))
    return segments


def snapshot_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[FieldDiff]:
    """The fields that differ between two revision snapshots (``old`` None: everything is new)."""
    before, after = _flatten(old), _flatten(new)
    names = list(dict.fromkeys([*after, *before]))
    return [FieldDiff(name, text_diff(before.get(name, ""), after.get(name, "")))
            for name in names if before.get(name, "") != after.get(name, "")]
