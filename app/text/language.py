"""Language detection for indexed documents and queries: Chinese ("zh") or English ("en").

A pure heuristic on the share of Han characters among letters.  Chinese hospital text
mixes in Latin drug names, units and abbreviations ("华法林 5 mg qd"), so each Han
character is weighed against Latin *letters*, and a modest share is enough for "zh".
"""

from __future__ import annotations

from typing import Literal

Language = Literal["zh", "en"]

#: Share of Han characters among (Han + Latin letters) from which text counts as Chinese.
ZH_THRESHOLD = 0.2

_HAN_RANGES: tuple[tuple[int, int], ...] = (
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x20000, 0x2EBEF),  # Extensions B-F
    (0x30000, 0x3134F),  # Extension G
)


def is_han(char: str) -> bool:
    """True for a Han (Chinese) ideograph."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _HAN_RANGES)


def han_ratio(text: str) -> float:
    """Han characters / (Han characters + Latin letters); 0.0 when there are neither."""
    han = latin = 0
    for char in text:
        if char.isascii():
            if char.isalpha():
                latin += 1
        elif is_han(char):
            han += 1
        elif ord(char) < 0x0250 and char.isalpha():
            latin += 1  # accented Latin letters (é, ü, ...)
    total = han + latin
    return han / total if total else 0.0


def detect_language(text: str) -> Language:
    """Return "zh" when Han characters make up enough of the letters, else "en"."""
    return "zh" if han_ratio(text) >= ZH_THRESHOLD else "en"
