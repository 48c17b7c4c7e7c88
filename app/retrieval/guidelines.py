"""Guideline passages read as guidelines: developer, year, the grades of the recommendations a passage
holds, and a caveat when the guideline is superseded or old.

The NGC reader (``indexers/sources/ngc_guidelines.py``) keeps, in each guideline document's metadata, its
developer(s), year, status (``superseded``) and every graded recommendation as a character span with its
grade as the guideline states it ("recommendation category: A, evidence type: 3", "Strong for").  A passage
(chunk) holds the recommendations whose span overlaps it.  The note travels with the hit (``Hit.guideline``):
the evidence prior reads its grades, the page and the answer's citations show it.  Guidelines are never
re-graded here: a grade is quoted, and a passage without one has none.

Documents without that metadata (consumer health pages, a hospital's own protocols) get no note.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from app.model import Chunk, Document, GuidelineNote, Hit
from app.retrieval.fusion import year_of
from app.stores.manifest import Manifest

CACHE_DOCUMENTS = 20_000  # small entries (None for a consumer page): the whole starter knowledge fits


@dataclass(frozen=True)
class _GuidelineFacts:
    developer: str
    year: int | None
    superseded: bool
    recommendations: tuple[tuple[int, int, str], ...]  # (start, end, grade), by start


def facts_of(doc: Document) -> _GuidelineFacts | None:
    """A guideline document's developer, year, status and graded recommendations; None for other documents."""
    meta = doc.metadata
    developer = meta.get("developer")
    if doc.source_type != "guideline" or not developer:
        return None
    names = [str(d) for d in developer] if isinstance(developer, list) else [str(developer)]
    year = meta.get("year")
    if not isinstance(year, int):
        year = year_of(doc.published)
    recommendations = []
    for item in meta.get("recommendations") or []:
        try:
            start, end, grade = int(item["start"]), int(item["end"]), str(item["grade"]).strip()
        except (KeyError, TypeError, ValueError):
            continue
        if 0 <= start < end <= len(doc.text) and grade:
            recommendations.append((start, end, grade))
    return _GuidelineFacts("; ".join(names), year,
                           bool(meta.get("superseded")), tuple(sorted(recommendations)))


def note_for(facts: _GuidelineFacts, start: int, end: int, today: date, max_age_years: int) -> GuidelineNote:
    """The note of the passage ``[start, end)`` of a guideline."""
    grades = tuple(dict.fromkeys(g for a, b, g in facts.recommendations if a < end and start < b))
    caveat = None
    if facts.superseded:
        caveat = "superseded by a newer version of this guideline: check the developer's current recommendation"
    elif facts.year is not None and today.year - facts.year > max_age_years:
        caveat = (f"older than {max_age_years} years ({facts.year}): check whether the developer has issued a "
                  "newer version")
    return GuidelineNote(facts.developer, facts.year, grades, caveat)


class GuidelineNotes:
    """Notes for the guideline passages of search hits; guideline facts cached per document version."""

    def __init__(self, manifest: Manifest, max_age_years: int, today: date | None = None) -> None:
        self.manifest = manifest
        self.max_age_years = max_age_years
        self.today = today or date.today()
        self._facts: dict[tuple[str, str], _GuidelineFacts | None] = {}
        self._lock = threading.Lock()

    def _facts_of(self, chunk: Chunk) -> _GuidelineFacts | None:
        key = (chunk.doc_id, chunk.version)
        with self._lock:
            if key in self._facts:
                return self._facts[key]
        doc = self.manifest.document(chunk.doc_id)
        facts = facts_of(doc) if doc is not None and doc.version == chunk.version else None
        with self._lock:
            if len(self._facts) >= CACHE_DOCUMENTS:
                self._facts.clear()
            self._facts[key] = facts
        return facts

    def note(self, chunk: Chunk) -> GuidelineNote | None:
        if chunk.source_type != "guideline":
            return None
        facts = self._facts_of(chunk)
        return None if facts is None else note_for(facts, chunk.start, chunk.end, self.today, self.max_age_years)

    def annotate(self, hits: Iterable[Hit]) -> None:
        """Set ``hit.guideline`` on every guideline hit that lacks one."""
        for hit in hits:
            if hit.guideline is None and hit.chunk.source_type == "guideline":
                hit.guideline = self.note(hit.chunk)
