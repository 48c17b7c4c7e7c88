"""Citations: the verbatim spans of the evidence that the supported claims rest on, built once, by a pure function.

A citation ``[n]`` quotes the span of passage ``n`` that supports the claims citing it (from the first to the last
supporting sentence).  The quote is cut from the passage the search returned — ``chunk.text`` is, by construction
of the index, ``document.text[chunk.start:chunk.end]`` of the version the chunk names — so it is verbatim for that
version, which the citation names.  The search gives the answer only passages of documents that are indexed at
that version (``Searcher.ground``); a later replay re-checks them against the documents of the day
(``stale_passages``), and a claim that relied only on a changed or removed passage is no longer supported.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from app.answer.evidence import Evidence
from app.answer.verify import CheckedClaim
from app.model import Citation

STALE = "cited evidence changed or was removed since retrieval"


def build_citations(claims: Sequence[CheckedClaim], evidence: Sequence[Evidence]) -> list[Citation]:
    """The citations of the supported claims, in order of first use."""
    by_n = {ev.n: ev for ev in evidence}
    spans: dict[int, list[tuple[int, int]]] = {}
    for claim in claims:
        if claim.supported:
            for s in claim.supporting:
                spans.setdefault(s.n, []).append((s.start, s.end))
    citations: list[Citation] = []
    for n, ranges in spans.items():
        ev = by_n[n]
        c = ev.chunk
        start, end = min(a for a, _ in ranges), max(b for _, b in ranges)
        if not c.start <= start < end <= c.end:
            raise ValueError(f"supporting span [{start}:{end}) lies outside passage {c.chunk_id}")
        citations.append(Citation(
            n=n, doc_id=c.doc_id, title=c.title, url=c.url, section=c.section, start=start, end=end,
            quote=c.text[start - c.start : end - c.start], source_type=c.source_type,
            evidence_level=ev.evidence_level, published=c.published, version=c.version, chunk_id=c.chunk_id,
            passage_start=c.start, passage_end=c.end, guideline=ev.guideline,
            pages=c.pages_of(start, end), original=c.original,
        ))
    return citations


def stale_passages(evidence: Sequence[Evidence], versions: Mapping[str, str]) -> set[int]:
    """The evidence numbers whose document is no longer indexed at the passage's version (``versions``: doc id →
    the version indexed today)."""
    return {ev.n for ev in evidence if versions.get(ev.chunk.doc_id) != ev.chunk.version}


def drop_stale(claims: Sequence[CheckedClaim], stale: Collection[int]) -> None:
    """Claims lose their support in stale passages; a claim left with none is no longer supported."""
    if not stale:
        return
    for claim in claims:
        if claim.supported and set(claim.citations) & set(stale):
            claim.supporting = [s for s in claim.supporting if s.n not in stale]
            claim.citations = [s.n for s in claim.supporting]
            if not claim.citations:
                claim.supported, claim.reason = False, STALE
