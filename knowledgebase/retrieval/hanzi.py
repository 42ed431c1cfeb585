"""Fold Traditional Chinese characters onto Simplified ones for lexical matching.

Cantonese FAQs are written in Traditional characters and Mandarin ones in Simplified, so
停車場 and 停车场 would otherwise share no term. A one-to-one character table (from the
``hanziconv`` package) is enough here: terms are character bigrams, not words.
"""
from hanziconv.charmap import simplified_charmap, traditional_charmap

_TO_SIMPLIFIED = str.maketrans(traditional_charmap, simplified_charmap)


def fold_traditional(text: str) -> str:
    return text.translate(_TO_SIMPLIFIED)
