"""A cited span of a stored document version, as every drug-assistant answer carries it.

The drug card, the interaction check and the hospital rules all cite the same way: the document id, its title,
the section, the character span, the verbatim quote (``quote == text[start:end]``) and the version it was cut from.
"""

from __future__ import annotations

from typing import Any

from app.model import Document, Section


def cited_span(doc: Document, section: Section, start: int | None = None, end: int | None = None) -> dict[str, Any]:
    """A cited span of ``doc``: a whole section, or ``start:end`` within it."""
    a = section.start if start is None else start
    b = section.end if end is None else end
    return {
        "doc_id": doc.id, "title": doc.title, "section": section.heading, "start": a, "end": b,
        "quote": doc.text[a:b], "version": doc.version, "url": doc.url, "source_type": doc.source_type,
        "set_id": doc.metadata.get("set_id"),
        "effective_date": doc.metadata.get("effective_date") or doc.published,
    }
