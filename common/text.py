"""Text that can be stored and sent: the one check every edge applies to text from outside.

A lone UTF-16 surrogate (valid in JSON, ``"\\ud800"``) cannot be encoded as UTF-8, so echoing it
back over a WebSocket or saving it fails far from where it came in; PostgreSQL refuses NUL in
text; other C0/C1 control characters are never part of what a person typed or a venue wrote.
Tab, line feed and carriage return are ordinary text.
"""
import unicodedata

_ALLOWED_CONTROLS = frozenset("\t\n\r")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as it is (a short English reason), or None when it can."""
    for position, char in enumerate(text):
        if char == "\x00":
            return f"a NUL character at position {position}"
        if "\ud800" <= char <= "\udfff":
            return f"a lone surrogate (U+{ord(char):04X}) at position {position}: not valid Unicode text"
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc":
            return f"a control character (U+{ord(char):04X}) at position {position}"
    return None


def search_fold(text: str) -> str:
    """``text`` as a list search compares it: case-folded, full-width forms made ordinary
    (NFKC), and Latin accents dropped ("Café" and "ｃａｆｅ" both give "cafe"). Only the
    combining diacritics block goes, so Japanese voicing marks and Hangul stay as they are."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not "\u0300" <= char <= "\u036f")
    return unicodedata.normalize("NFKC", stripped).casefold()
