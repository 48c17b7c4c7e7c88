"""The generic document format of CONTRACT.md: parsing and the indexing seam.

``parse_document`` turns one JSON object into a ``Document`` or raises ``DocumentError``
naming the offending field; the JSONL reader and ``POST /v1/documents`` both use it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from app.model import SOURCE_TYPES, Document, Page
from app.text.language import detect_language
from app.text.validity import InvalidText, check_value

_KNOWN_FIELDS = {"id", "title", "text", "sections", "source_type", "url", "published", "language", "metadata",
                 "pages"}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
MAX_ID_LENGTH = 256


class DocumentError(ValueError):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DocumentError(key, f"must be a string, got {type(value).__name__}")
    return value.strip() or None


def normalise_date(value: str | None, field: str = "published") -> str | None:
    """ISO date (YYYY, YYYY-MM or YYYY-MM-DD) -> YYYY-MM-DD."""
    if value is None:
        return None
    value = value.strip()[:10]
    if not _DATE.match(value):
        raise DocumentError(field, f"must be an ISO date YYYY-MM-DD, got {value!r}")
    parts = value.split("-") + ["01", "01"]
    year, month, day = parts[0], parts[1], parts[2]
    try:
        date(int(year), int(month), int(day))  # a day of the calendar: not 2024-02-31, not month 13
    except ValueError:
        raise DocumentError(field, f"is not a valid date: {value!r}") from None
    return f"{year}-{month}-{day}"


def parse_document(obj: Any) -> Document:
    """One object of the generic format -> Document (raises DocumentError)."""
    if not isinstance(obj, dict):
        raise DocumentError(None, "a document must be a JSON object")
    for key, value in obj.items():  # storable text everywhere, metadata nested a bounded depth
        try:
            check_value(value, str(key))
        except InvalidText as exc:
            raise DocumentError(exc.field, exc.message) from None
    doc_id = obj.get("id")
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise DocumentError("id", "is required and must be a non-empty string")
    if len(doc_id) > MAX_ID_LENGTH:
        raise DocumentError("id", f"is longer than {MAX_ID_LENGTH} characters")
    sections: list[tuple[str, str]] = []
    if obj.get("sections") is not None:
        raw = obj["sections"]
        if not isinstance(raw, list) or not raw:
            raise DocumentError("sections", "must be a non-empty list of {heading, text}")
        for i, section in enumerate(raw):
            if not isinstance(section, dict):
                raise DocumentError(f"sections[{i}]", "must be an object with heading and text")
            heading = section.get("heading", "")
            text = section.get("text")
            if not isinstance(heading, str):
                raise DocumentError(f"sections[{i}].heading", "must be a string")
            if not isinstance(text, str):
                raise DocumentError(f"sections[{i}].text", "is required and must be a string")
            sections.append((heading, text))
    elif obj.get("text") is not None:
        if not isinstance(obj["text"], str):
            raise DocumentError("text", "must be a string")
        sections.append(("", obj["text"]))
    else:
        raise DocumentError("text", "either text or sections is required")
    if not any(text.strip() for _, text in sections):
        raise DocumentError("text", "the document has no text")
    source_type = _optional_str(obj, "source_type") or "other"
    if source_type not in SOURCE_TYPES:
        raise DocumentError("source_type", f"must be one of {', '.join(SOURCE_TYPES)}, got {source_type!r}")
    metadata = obj.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise DocumentError("metadata", "must be an object")
    extra = {k: v for k, v in obj.items() if k not in _KNOWN_FIELDS}
    language = _optional_str(obj, "language")
    if language is not None and language not in ("en", "zh"):
        raise DocumentError("language", f"must be en or zh, got {language!r}")
    title = _optional_str(obj, "title") or doc_id.strip()
    body = "\n".join(text for _, text in sections)
    doc = Document.from_sections(
        id=doc_id.strip(),
        title=title,
        source_type=source_type,
        sections=sections,
        url=_optional_str(obj, "url"),
        published=normalise_date(_optional_str(obj, "published")),
        language=language or detect_language(title + "\n" + body),
        metadata={**metadata, **extra},
    )
    if obj.get("pages") is not None:
        doc = replace(doc, pages=_pages(obj["pages"], len(doc.text)))
    return doc


def _pages(raw: Any, text_length: int) -> tuple[Page, ...]:
    """``pages``: [{page, start, end, ocr?}] in canonical-text offsets, in order, not overlapping."""
    if not isinstance(raw, list):
        raise DocumentError("pages", "must be a list of {page, start, end}")
    pages: list[Page] = []
    for i, item in enumerate(raw):
        field_name = f"pages[{i}]"
        if not isinstance(item, dict):
            raise DocumentError(field_name, "must be an object with page, start and end")
        for key in ("page", "start", "end"):
            if not isinstance(item.get(key), int) or isinstance(item.get(key), bool):
                raise DocumentError(f"{field_name}.{key}", "is required and must be an integer")
        if not isinstance(item.get("ocr", False), bool):
            raise DocumentError(f"{field_name}.ocr", "must be true or false")
        page = Page(item["page"], item["start"], item["end"], item.get("ocr", False))
        if page.number < 1:
            raise DocumentError(f"{field_name}.page", "must be 1 or more")
        if not 0 <= page.start < page.end <= text_length:
            raise DocumentError(field_name, f"start and end must satisfy 0 <= start < end <= {text_length}")
        if pages and (page.start < pages[-1].end or page.number < pages[-1].number):
            raise DocumentError(field_name, "pages must be in order and must not overlap")
        pages.append(page)
    return tuple(pages)


class DocumentIndexer(Protocol):
    """What the API needs from the indexer (wired by the composition root)."""

    def index_documents(self, docs: Sequence[Document], origin: str) -> Any: ...

    def index_upload(self, path: Path, name: str, doc_id: str, source_type: str | None) -> Any:
        """Parse one uploaded file (PDF, Word, HTML, Markdown, text) and index it as ``doc_id``."""
        ...

    def delete(self, doc_ids: Sequence[str]) -> tuple[list[str], list[str]]: ...

    def recover(self) -> int:
        """Replay the batches an interrupted run left pending; the number of documents replayed."""
        ...
