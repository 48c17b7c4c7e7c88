"""Section-aware, sentence-bounded chunks with exact character offsets.

A chunk never crosses a section boundary, starts and ends on sentence boundaries (a
sentence longer than the budget is cut between words), and carries the (doc, version,
section, start, end) it came from.  The invariant ``doc.text[chunk.start:chunk.end] ==
chunk.text`` holds for every chunk by construction: spans are computed, then sliced.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.model import Chunk, Document, Section, pages_within
from app.text.sentences import TOKEN as _TOKEN
from app.text.sentences import Span as _Span
from app.text.sentences import count_tokens, sentence_spans

__all__ = ["ChunkingConfig", "chunk_document", "chunk_section", "count_tokens", "sentence_spans"]


@dataclass(frozen=True)
class ChunkingConfig:
    max_tokens: int = 300
    min_tokens: int = 200
    overlap_tokens: int = 40


def _split_long(text: str, span: _Span, max_tokens: int) -> list[_Span]:
    """Cut an over-long sentence at token starts into pieces of at most ``max_tokens``."""
    if span.tokens <= max_tokens:
        return [span]
    tokens = list(_TOKEN.finditer(text, span.start, span.end))
    starts = [tokens[i].start() for i in range(0, len(tokens), max_tokens)]
    starts[0] = span.start
    pieces: list[_Span] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else span.end
        while end > start and text[end - 1].isspace():
            end -= 1
        pieces.append(_Span(start, end, count_tokens(text[start:end])))
    return pieces


def _pack(spans: list[_Span], cfg: ChunkingConfig) -> list[tuple[int, int]]:
    """Greedy packing of sentences into windows (as index ranges into ``spans``)."""
    windows: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        j = i
        total = 0
        while j < len(spans) and (total + spans[j].tokens <= cfg.max_tokens or j == i):
            total += spans[j].tokens
            j += 1
        windows.append((i, j))
        if j >= len(spans):
            break
        # Overlap: restart at the trailing sentences that fit the overlap budget.
        k = j
        carried = 0
        while k - 1 > i and carried + spans[k - 1].tokens <= cfg.overlap_tokens:
            carried += spans[k - 1].tokens
            k -= 1
        i = k
    # Fold a small tail window into its predecessor when the result stays near the budget.
    if len(windows) >= 2:
        tail_start, tail_end = windows[-1]
        prev_start, prev_end = windows[-2]
        tail_tokens = sum(s.tokens for s in spans[prev_end:tail_end])
        prev_tokens = sum(s.tokens for s in spans[prev_start:prev_end])
        if tail_tokens < cfg.min_tokens // 4 and prev_tokens + tail_tokens <= cfg.max_tokens * 1.15:
            windows[-2:] = [(prev_start, tail_end)]
    return windows


def chunk_section(doc: Document, section: Section, cfg: ChunkingConfig) -> list[tuple[int, int]]:
    """(start, end) spans of the chunks of one section."""
    spans: list[_Span] = []
    for sentence in sentence_spans(doc.text, section.start, section.end):
        spans.extend(_split_long(doc.text, sentence, cfg.max_tokens))
    return [(spans[a].start, spans[b - 1].end) for a, b in _pack(spans, cfg)]


def chunk_document(doc: Document, cfg: ChunkingConfig) -> list[Chunk]:
    """All chunks of a document, in reading order."""
    version = doc.version
    chunks: list[Chunk] = []
    for section in doc.sections:
        for start, end in chunk_section(doc, section, cfg):
            chunks.append(
                Chunk(
                    doc_id=doc.id,
                    version=version,
                    ordinal=len(chunks),
                    section=section.heading,
                    start=start,
                    end=end,
                    text=doc.text[start:end],
                    title=doc.title,
                    source_type=doc.source_type,
                    url=doc.url,
                    published=doc.published,
                    language=doc.language,
                    pages=pages_within(doc.pages, start, end),
                    original=doc.original,
                )
            )
    return chunks
