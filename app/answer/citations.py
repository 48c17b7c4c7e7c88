"""Citations cut from the stored documents, never from generated text.

A citation ``[n]`` quotes the span of passage ``n`` that supports the claims citing it (from the
first to the last supporting sentence).  Before it is returned, the span is re-read from the stored
document of that exact version; a passage whose document is gone or changed (an edit between
retrieval and answer) cannot be cited, and claims that relied on it alone become unsupported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from app.answer.evidence import Evidence
from app.answer.verify import CheckedClaim
from app.model import Document

STALE = "cited evidence changed or was removed since retrieval"


def build_citations(
    claims: Sequence[CheckedClaim], evidence: Sequence[Evidence], document: Callable[[str], Document | None]
) -> list[dict[str, Any]]:
    """The citations of the supported claims, in order of first use; drops what cannot be re-read."""
    by_n = {ev.n: ev for ev in evidence}
    spans: dict[int, list[tuple[int, int]]] = {}
    for claim in claims:
        if claim.supported:
            for s in claim.supporting:
                spans.setdefault(s.n, []).append((s.start, s.end))
    citations: list[dict[str, Any]] = []
    unreadable: set[int] = set()
    docs: dict[str, Document | None] = {}
    for n, ranges in spans.items():
        ev = by_n[n]
        c = ev.chunk
        if c.doc_id not in docs:
            docs[c.doc_id] = document(c.doc_id)
        doc = docs[c.doc_id]
        start, end = min(a for a, _ in ranges), max(b for _, b in ranges)
        if (doc is None or doc.version != c.version or doc.text[c.start : c.end] != c.text
                or not c.start <= start < end <= c.end):
            unreadable.add(n)
            continue
        citations.append({
            "n": n, "doc_id": c.doc_id, "title": c.title, "url": c.url, "section": c.section,
            "start": start, "end": end, "quote": doc.text[start:end], "source_type": c.source_type,
            "evidence_level": ev.evidence_level, "published": c.published, "version": c.version,
            "chunk_id": c.chunk_id, "passage": {"start": c.start, "end": c.end},
        })
    if unreadable:
        for claim in claims:
            if claim.supported and set(claim.citations) & unreadable:
                claim.supporting = [s for s in claim.supporting if s.n not in unreadable]
                claim.citations = [s.n for s in claim.supporting]
                if not claim.citations:
                    claim.supported, claim.reason = False, STALE
    return citations
