"""Redaction of personal data in stored transcript text (``TRANSCRIPT_REDACTION=on``).

Customers read out phone numbers, e-mail addresses and ID numbers to the kiosk ("my number is
090-1234-5678"); with redaction on they are replaced by a label before the text is saved, in any
of the five kiosk languages and in ASCII or full-width digits. What is recognised:

- e-mail addresses;
- Chinese resident ID (18 characters, last may be X), Hong Kong ID (``A123456(7)``), Korean
  resident registration number (``900101-1234567``);
- runs of digits (with spaces, dashes, dots or brackets between groups): 13–19 digits are
  card-like numbers, 12 digits a Japanese My Number, 8–11 digits a phone number when the last
  group has at least three digits or the run starts with ``+`` (so a date like ``2026-11-30``
  or a time like ``10:30`` stays).

Only free text is redacted: FAQ keys, timings and scores are never touched.
"""
import re
import unicodedata
from typing import Final

_D: Final = "[0-9０-９]"
_EDGE_BEFORE: Final = r"(?<![0-9０-９A-Za-zＡ-Ｚａ-ｚ])"
_EDGE_AFTER: Final = r"(?![0-9０-９A-Za-zＡ-Ｚａ-ｚ])"
# Between digit groups: a space, a dash of any width, a dot, or a bracket with an optional space.
_SEP: Final = r"(?:[ \u3000]?[(（]|[)）][ \u3000]?|[ \u3000\-‐‑–－.．])"

LABEL_EMAIL: Final = "[email]"
LABEL_PHONE: Final = "[phone]"
LABEL_ID: Final = "[id number]"
LABEL_CARD: Final = "[card number]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-Ａ-Ｚａ-ｚ０-９]+[@＠][A-Za-z0-9\-Ａ-Ｚａ-ｚ０-９]+(?:[.．][A-Za-z0-9\-Ａ-Ｚａ-ｚ０-９]+)+")
_HK_ID = re.compile(_EDGE_BEFORE + r"[A-ZＡ-Ｚ]{1,2}" + _D + r"{6}[(（]?[0-9０-９AＡ][)）]?" + _EDGE_AFTER)
_CN_ID = re.compile(_EDGE_BEFORE + _D + r"{17}[0-9０-９XxＸｘ]" + _EDGE_AFTER)
_KR_RRN = re.compile(_EDGE_BEFORE + _D + r"{6}[-‐－]" + _D + r"{7}" + _EDGE_AFTER)
_DIGIT_RUN = re.compile(_EDGE_BEFORE + r"[+＋]?[(（]?" + _D + r"+(?:" + _SEP + _D + r"+)*" + _EDGE_AFTER)


def _digit_groups(run: str) -> list[str]:
    return re.findall(r"\d+", unicodedata.normalize("NFKC", run))


def _classify_run(match: re.Match[str]) -> str:
    run = match.group(0)
    groups = _digit_groups(run)
    digits = sum(len(group) for group in groups)
    if 13 <= digits <= 19:
        return LABEL_CARD
    if digits == 12:
        return LABEL_ID  # Japanese My Number (an international phone number is redacted as well)
    if 8 <= digits <= 11 and (len(groups[-1]) >= 3 or run.startswith(("+", "＋"))):
        return LABEL_PHONE
    return run


def redact_text(text: str) -> str:
    """``text`` with e-mail addresses, ID, card and phone numbers replaced by labels."""
    if not text:
        return text
    text = _EMAIL.sub(LABEL_EMAIL, text)
    text = _HK_ID.sub(LABEL_ID, text)
    text = _CN_ID.sub(LABEL_ID, text)
    text = _KR_RRN.sub(LABEL_ID, text)
    return _DIGIT_RUN.sub(_classify_run, text)
