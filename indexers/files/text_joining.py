"""Joining broken lines into readable one-line text, the same way for every file format.

A PDF line, a plain-text line, a Word soft line break and an HTML source newline all break text that is read as one
paragraph.  Joining them needs two rules that a plain ``" ".join`` gets wrong: Chinese and Japanese are written
without spaces between words, so a break next to a CJK character joins with no space; and a hyphen at a line end
is usually the typesetter's ("treat-" + "ment"), not the word's.  The parsers and the PDF reader all join through
here so a paragraph reads the same whichever format it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Scripts written without spaces between words: Han, kana, bopomofo, CJK punctuation, full-width forms.  Hangul is
# left out on purpose: Korean separates words with spaces, so a line break there is a space.
_CJK_RANGES = (
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation (、。【】「」)
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3100, 0x312F),  # bopomofo
    (0x31A0, 0x31FF),  # bopomofo extended, katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFF9F),  # full-width ASCII forms (，：（）) and half-width katakana
    (0xFFE0, 0xFFEF),  # full-width signs
    (0x20000, 0x3134F),  # CJK unified ideographs extensions B-G and compatibility supplement
)
_SPACES = re.compile(r"\s+")
_LINE_BREAKS = re.compile(r"[\n\r\u2028\u2029\x85]")
_COMPOUND = re.compile(r"(?<![^\W\d_])([^\W\d_]+-[^\W\d_]+)(?![^\W\d_])")
_LAST_WORD = re.compile(r"([^\W\d_]+)-$")
_FIRST_WORD = re.compile(r"^([^\W\d_]+)")
_SOFT_HYPHEN = "\u00ad"
_INVISIBLE = re.compile("[\u00ad\u200b\ufeff]")  # soft hyphen, zero-width space, a stray byte-order mark


def is_cjk(ch: str) -> bool:
    """True for a character of a script written without spaces between words (Chinese, Japanese, their
    punctuation and full-width forms).  Hangul is not: Korean puts spaces between words."""
    code = ord(ch)
    return code >= _CJK_RANGES[0][0] and any(low <= code <= high for low, high in _CJK_RANGES)


def collapse_spaces(text: str) -> str:
    """Every run of whitespace made one space, ends trimmed (for text known to be one line)."""
    return _SPACES.sub(" ", text).strip()


def hyphenated_compounds(lines: Iterable[str]) -> set[str]:
    """The hyphenated compounds written whole inside a line, lower-cased ("Long-term" gives "long-term"):
    evidence that a hyphen found at a line end between the same two words belongs to the word."""
    return {match.lower() for line in lines for match in _COMPOUND.findall(line)}


def join_lines(lines: list[str], known_compounds: set[str] | None = None) -> str:
    """Lines of one paragraph as one line of text.

    Each line's whitespace is collapsed and blank lines are skipped.  Two lines join with one space, or with
    none when the character before or after the join is CJK (``is_cjk``): "使用" + "华法林" gives "使用华法林", and
    "使用" + "aspirin 时" gives "使用aspirin 时" (spaces inside a line are the author's and stay).

    A line ending in a hyphen right after a letter joins with no space.  The hyphen is dropped only when both
    sides are lower-case letters ("treat-" + "ment" gives "treatment") and the compound is not in
    ``known_compounds`` ("long-" + "term" stays "long-term" when "long-term" is known); otherwise it is kept
    ("anti-" + "TNF", "COVID-" + "19").  ``known_compounds`` defaults to the compounds written whole in
    ``lines`` themselves (``hyphenated_compounds``); pass a whole document's for more evidence, or an empty set
    to drop every lower-case hyphen.  A soft hyphen (U+00AD) at a line end joins with no space; soft hyphens and
    zero-width spaces are removed everywhere.
    """
    compounds = hyphenated_compounds(lines) if known_compounds is None else known_compounds
    return _join([collapse_spaces(line) for line in lines], compounds)


def collapse_whitespace(text: str) -> str:
    """Markup text (HTML, Markdown, a Word paragraph) as one line: each whitespace run becomes one space, except
    that a run holding a line break next to a CJK character disappears ("华法林\\n钠" gives "华法林钠").  Hyphens
    are never touched (a source line break in markup is not a typeset one); soft hyphens and zero-width spaces
    are removed."""
    return _join([collapse_spaces(line) for line in _LINE_BREAKS.split(text)], None)


def _join(lines: list[str], compounds: set[str] | None) -> str:
    """Non-empty lines joined (``compounds`` None: leave hyphens alone), then invisible characters (soft hyphens,
    zero-width spaces) dropped so the text matches what a reader sees."""
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        if out:
            out[-1], separator = _seam(out[-1], line, compounds)
            out.append(separator)
        out.append(line)
    return _INVISIBLE.sub("", "".join(out))


def _seam(left: str, right: str, compounds: set[str] | None) -> tuple[str, str]:
    """How line ``left`` meets the next line ``right``: ``left`` (its line-end hyphen dropped or not) and the
    separator to put between them."""
    if compounds is not None and left.endswith(_SOFT_HYPHEN):
        return left[:-1], ""
    if compounds is not None and _ends_with_letter_hyphen(left) and right[0].isalnum():
        return (left[:-1] if _drops_hyphen(left, right, compounds) else left), ""
    if is_cjk(left[-1]) or is_cjk(right[0]):
        return left, ""
    return left, " "


def _ends_with_letter_hyphen(text: str) -> bool:
    return len(text) >= 2 and text[-1] == "-" and text[-2].isalpha()


def _drops_hyphen(left: str, right: str, compounds: set[str]) -> bool:
    """``left`` ends "<letter>-": the hyphen goes only between two lower-case letters that are not a known
    compound's."""
    if not (left[-2].islower() and right[0].islower()):
        return False
    before = _LAST_WORD.search(left)
    after = _FIRST_WORD.match(right)
    return not (before and after and f"{before.group(1)}-{after.group(1)}".lower() in compounds)
