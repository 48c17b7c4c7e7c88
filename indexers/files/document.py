"""A parsed file becomes a Document: title, sections from its headings, readable lists and tables, and pages.

Every format's parser hands over the same typed blocks (``indexers.files.parsed``); this module alone decides how
they read as text, so a PDF, a Word file and an HTML page of the same guideline index alike:

- the title is the file's own metadata title, else its first heading (then not repeated as a section), else the
  file name;
- each heading opens a section named by its heading path below the title ("Dosage — Renal impairment");
- paragraphs are separated by a blank line, list items ("- x", "1. x", indented by depth) and table rows
  ("a | b | c") by a line break;
- a paged file's blocks give ``Document.pages``: page ``n`` spans the canonical text its blocks became, so
  ``text[page.start:page.end]`` is that page's text and any citation span maps to the pages it lies on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from app.model import SECTION_SEPARATOR, Document, Page, Section
from app.text.language import detect_language
from indexers.files.parsed import Block, ParsedFile
from indexers.files.text_joining import collapse_spaces

HEADING_PATH_SEPARATOR = " — "
_JUNK_TITLE = re.compile(r"^(untitled|microsoft word - .*|.*\.(docx?|pdf|html?|md|txt))$", re.IGNORECASE)
_SITE_SUFFIX = re.compile(r"\s*[|\-–—:·]\s*\S.{0,80}")  # " | Example Hospital Intranet" after a page's title
MIN_SITE_TITLE = 8
_BRACKETED = re.compile(r"【([^】]+)】")
_LABEL_TITLE = re.compile(r"说明书|prescribing information|package insert|patient (?:information|package) leaflet"
                          r"|product monograph|drug monograph|summary of product characteristics", re.IGNORECASE)
_UNSTORABLE = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # app/text/validity.py refuses some


def clean_text(text: str) -> str:
    """One line of storable text: control characters and lone surrogates a broken file can carry removed."""
    return collapse_spaces(_UNSTORABLE.sub(" ", text))


@dataclass(frozen=True)
class FileIdentity:
    """Who the document is: its stable id, the file's name and its kind, if the caller said it."""

    doc_id: str
    file_name: str
    source_type: str | None  # None: by the title (``source_type_for``)


@dataclass
class _Placed:
    """A block's text placed in the canonical text: ``text[start:end]``."""

    start: int
    end: int
    page: int | None
    ocr: bool


def _norm(text: str) -> str:
    return collapse_spaces(text).casefold()


def _title_from_name(file_name: str) -> str:
    stem = file_name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return collapse_spaces(stem.replace("_", " ").replace("-", " ")) or file_name


def choose_title(parsed: ParsedFile, file_name: str) -> tuple[str, int | None]:
    """(title, index of the block the title was taken from, which is then not a section of its own)."""
    meta = clean_text(parsed.title or "")
    first = next((i for i, b in enumerate(parsed.blocks) if b.kind == "heading"), None)
    leads = first is not None and all(b.kind == "heading" for b in parsed.blocks[:first])
    if meta and not _JUNK_TITLE.match(meta):
        heading = clean_text(parsed.blocks[first].text) if first is not None and leads else ""
        if heading and _norm(heading) == _norm(meta):
            return meta, first
        if len(heading) >= MIN_SITE_TITLE and _SITE_SUFFIX.fullmatch(meta[len(heading):]) \
                and _norm(meta).startswith(_norm(heading)):
            return heading, first  # an intranet page's "<h1 text> | Hospital Intranet": the page's own title
        return meta, None
    if first is not None and first <= 3:  # a heading among the first blocks names the document
        return clean_text(parsed.blocks[first].text), first
    return _title_from_name(file_name), None


def source_type_for(title: str, requested: str | None) -> str:
    """The kind of a file's document: as requested, else "label" when its title says it is a drug's label
    (a 说明书, prescribing information, a package insert, a monograph), else "other".  A label is then linked to
    the drug its title names (``indexers.graph_build.described_drugs``) and answers that drug's questions."""
    if requested:
        return requested
    return "label" if _LABEL_TITLE.search(title) else "other"


def _render(block: Block, counters: dict[int, int]) -> str:
    if block.kind == "list_item":
        marker = "-"
        if block.ordered:
            counters[block.level] = counters.get(block.level, 0) + 1
            marker = f"{counters[block.level]}."
        return "  " * max(block.level, 0) + f"{marker} {block.text}"
    return block.text


def _joiner(previous: Block, block: Block) -> str:
    together = previous.kind == block.kind and block.kind in ("list_item", "table_row")
    return "\n" if together else "\n\n"


def _heading_text(text: str) -> str:
    """A Chinese label's section marker "【用法用量】" names its section "用法用量", as a .txt file's does."""
    marker = _BRACKETED.fullmatch(text)
    return marker.group(1).strip() if marker else text


def _sections(blocks: list[Block], skip: int | None) -> list[tuple[str, list[Block]]]:
    """(heading path, body blocks) in order; the body before any heading has the heading ""."""
    sections: list[tuple[str, list[Block]]] = [("", [])]
    path: list[tuple[int, str]] = []
    for i, block in enumerate(blocks):
        if i == skip:
            continue
        text = clean_text(block.text)
        if not text:
            continue
        if block.kind == "heading":
            text = _heading_text(text)
            level = max(block.level, 1)
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, text)]
            sections.append((HEADING_PATH_SEPARATOR.join(t for _, t in path), []))
            continue
        sections[-1][1].append(replace(block, text=text))
    return [(heading, body) for heading, body in sections if body]


def _pages(placed: list[_Placed]) -> tuple[Page, ...]:
    pages: list[Page] = []
    for p in placed:
        if p.page is None:
            continue
        if pages and pages[-1].number == p.page:
            last = pages[-1]
            pages[-1] = Page(last.number, last.start, p.end, last.ocr or p.ocr)
        elif not pages or p.page > pages[-1].number:
            pages.append(Page(p.page, p.start, p.end, p.ocr))
        else:  # a block of an earlier page after a later one: reading order broke; keep pages disjoint
            last = pages[-1]
            pages[-1] = Page(last.number, last.start, p.end, last.ocr or p.ocr)
    return tuple(pages)


def to_document(parsed: ParsedFile, identity: FileIdentity) -> Document:
    """The Document of a parsed file (raises ValueError when it holds no text)."""
    title, title_block = choose_title(parsed, identity.file_name)
    parts: list[str] = []
    spans: list[Section] = []
    placed: list[_Placed] = []
    cursor = 0
    for heading, body in _sections(parsed.blocks, title_block):
        if spans:
            parts.append(SECTION_SEPARATOR)
            cursor += len(SECTION_SEPARATOR)
        section_start = cursor
        counters: dict[int, int] = {}
        previous: Block | None = None
        for block in body:
            if previous is not None:
                gap = _joiner(previous, block)
                parts.append(gap)
                cursor += len(gap)
            if previous is None or previous.kind != "list_item":
                counters = {}
            text = _render(block, counters)
            placed.append(_Placed(cursor, cursor + len(text), block.page, block.ocr))
            parts.append(text)
            cursor += len(text)
            previous = block
        spans.append(Section(heading=heading, start=section_start, end=cursor))
    if not spans:
        raise ValueError("no text found")
    text = "".join(parts)
    metadata: dict[str, Any] = {}
    if parsed.page_count is not None:
        metadata["page_count"] = parsed.page_count
    if parsed.skipped_pages:
        metadata["skipped_pages"] = [{"page": page, "reason": reason} for page, reason in parsed.skipped_pages]
    language = parsed.language if parsed.language in ("en", "zh") else detect_language(title + "\n" + text[:20000])
    return Document(
        id=identity.doc_id, title=title, source_type=source_type_for(title, identity.source_type), text=text,
        sections=tuple(spans), published=parsed.published, language=language, metadata=metadata,
        pages=_pages(placed) if any(p.page is not None for p in placed) else (),
    )
