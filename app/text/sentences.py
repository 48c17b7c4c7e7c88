"""Sentences with exact character offsets, shared by chunking (indexers) and answers (app).

A sentence ends at . ! ? ; (and their CJK forms) followed by space and a likely sentence start,
or at a line break.  Spans are absolute offsets into the text they were cut from and trimmed of
surrounding space, so ``text[span.start:span.end]`` is always the sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"'(\[A-Z0-9•\-\u4e00-\u9fff])|(?<=[。！？；])|\n+")
TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[A-Za-z0-9]+|[^\sA-Za-z0-9]")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    tokens: int


def count_tokens(text: str) -> int:
    """Approximate model tokens: words, numbers, punctuation marks and CJK characters."""
    return len(TOKEN.findall(text))


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]`` as absolute spans, trimmed of surrounding space."""
    stop = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for match in SENTENCE_END.finditer(text, start, stop):
        _append_trimmed(text, cursor, match.start(), spans)
        cursor = match.end()
    _append_trimmed(text, cursor, stop, spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, out: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Span(start, end, count_tokens(text[start:end])))


LIST_BULLET = re.compile(r"[•●▪◦■]")


def item_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences as ``sentence_spans`` cuts them, with a bulleted run ("• take 2 caplets • do not take more
    than 6 caplets in 24 hours") cut into its items: labels write lists without sentence ends, so a list
    is one "sentence" until its bullets are honoured.  The text before the first bullet is its own span."""
    out: list[Span] = []
    for span in sentence_spans(text, start, end):
        if not LIST_BULLET.search(text, span.start, span.end):
            out.append(span)
            continue
        cursor = span.start
        for match in LIST_BULLET.finditer(text, span.start, span.end):
            _append_trimmed(text, cursor, match.start(), out)
            cursor = match.end()
        _append_trimmed(text, cursor, span.end, out)
    return out
