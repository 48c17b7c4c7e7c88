"""The citation marks real models write, found in an answer: where each group of marks is and which numbers it names.

Models cite evidence block ``n`` as ``[1]``, ``[1, 2]``, ``[1][2]``, ``[1-3]``, ``【1】``, ``［1］``, ``(1)``,
``（1）``, ``[Source 1]``, ``[Sources 1 and 2]``, ``[证据1]``, ``^1`` or ``^[1]``.  Marks side by side (``[1][2]``,
``[1], [2]``, ``[1] and [2]``) form one group.  What is *not* a mark: ``(1)`` opening a line of text (a list's
enumerator), ``(ref 12)`` (how the prompt shows a passage's own reference marks), ``m^2`` and ``10^9`` (units),
numbers of more than three digits.  Which claim a group belongs to is ``claims.py``'s business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LABEL = (r"(?:(?:evidence\s+)?(?:sources?|blocks?|evidence|references?|refs?|citations?|docs?|documents?"
          r"|passages?)|证据块?|来源|文献|资料|参考)")
_PAREN_LABEL = r"(?:(?:evidence\s+)?(?:sources?|blocks?|evidence)|证据块?|来源)"  # never "ref": "(ref 12)"
_NUMBER = r"\d{1,3}"
_SMALL_NUMBER = r"\d{1,2}"
_LIST_SEP = r"\s*(?:[,，、;；&]|and|和|及|与)\s*"
_RANGE_SEP = r"\s*[-–—~～]\s*"


def _number_list(label: str, number: str) -> str:
    item = rf"(?:{label}\s*[:：#]?\s*)?{number}(?:{_RANGE_SEP}{number})?"
    return rf"{item}(?:{_LIST_SEP}{item})*"


_BRACKETED = rf"[\[【［]\s*{_number_list(_LABEL, _NUMBER)}\s*[\]】］]"
_PARENTHESISED = rf"[(（]\s*{_number_list(_PAREN_LABEL, _SMALL_NUMBER)}\s*[)）]"
_CARET = rf"(?<![\d^])(?<!\bm)\^\s*(?:\[\s*{_number_list(_LABEL, _NUMBER)}\s*\]|{_NUMBER}(?:\s*,\s*{_NUMBER})*)"
_MARK = rf"(?:{_BRACKETED}|{_PARENTHESISED}|{_CARET})"
MARK_GROUP = re.compile(rf"{_MARK}(?:[ \t]*(?:[,，、;&]|and|和|及)?[ \t]*{_MARK})*", re.IGNORECASE)  # within a line
_ITEM = re.compile(rf"{_NUMBER}(?:{_RANGE_SEP}{_NUMBER})?")
_LINE_PREFIX = re.compile(r"[ \t]*(?:[-*•·][ \t]*)?")
MAX_RANGE = 20  # "[1-3]" is 1, 2, 3; a wider "range" is read as its two ends


@dataclass(frozen=True)
class MarkGroup:
    """One group of citation marks: ``text[start:end]`` of the answer, citing ``numbers`` in the order written."""

    start: int
    end: int
    numbers: tuple[int, ...]


def numbers_of(mark_text: str) -> tuple[int, ...]:
    """The evidence numbers a group names, ranges expanded, without repeats."""
    numbers: list[int] = []
    for item in _ITEM.finditer(mark_text):
        ends = [int(n) for n in re.findall(r"\d+", item.group(0))]
        values = list(range(ends[0], ends[-1] + 1)) if len(ends) == 2 and 0 < ends[1] - ends[0] <= MAX_RANGE else ends
        numbers.extend(v for v in values if v not in numbers)
    return tuple(numbers)


def find_groups(text: str) -> list[MarkGroup]:
    """The citation mark groups of ``text``, in order."""
    groups: list[MarkGroup] = []
    for match in MARK_GROUP.finditer(text):
        start = match.start()
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", match.end())
        rest = text[match.end() : len(text) if line_end == -1 else line_end]
        if text[start] in "(（" and _LINE_PREFIX.fullmatch(text, line_start, start) and rest.strip():
            continue  # "(1) First item": an enumerator
        groups.append(MarkGroup(start, match.end(), numbers_of(match.group(0))))
    return groups


def without_marks(text: str) -> str:
    """``text`` with its citation marks removed and the spaces they leave before punctuation closed."""
    out, cursor = [], 0
    for group in find_groups(text):
        out.append(text[cursor : group.start])
        cursor = group.end
    out.append(text[cursor:])
    joined = re.sub(r"[ \t]{2,}", " ", "".join(out))
    return re.sub(r"\s+([.,;:!?。，；：！？])", r"\1", joined).strip()
