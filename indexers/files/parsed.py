"""What a file parser hands on: the file's text as ordered, typed blocks, each with the page it stands on.

Parsers (``pdf``, ``docx``, ``html``, ``markdown``, ``plaintext``) know their format and nothing else; turning the
blocks into a ``Document`` with sections, canonical text and page spans is ``indexers.files.document``'s job, so
every format gets the same sections, list and table rendering and page provenance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

BlockKind = Literal["heading", "paragraph", "list_item", "table_row"]


@dataclass(frozen=True)
class Block:
    """One unit of reading order.

    ``text`` is one line (no newline): a heading, a paragraph with its line breaks joined (hyphenation at line
    ends undone, no space put between two CJK characters), one list item without its bullet or number, or one
    table row with its cells joined by " | ".  ``level`` is a heading's level (1-6) or a list item's nesting
    depth (0 = top).  ``page`` is the 1-based page of a paged file (PDF), else None; ``ocr`` says the text was
    read from the page image.
    """

    kind: BlockKind
    text: str
    level: int = 0
    page: int | None = None
    ocr: bool = False
    ordered: bool = False  # a list item of a numbered list (rendered "1." rather than "-")


@dataclass
class ParsedFile:
    """A parsed file: its blocks in reading order and what its metadata says."""

    blocks: list[Block]
    title: str | None = None  # the file's own metadata title (PDF /Title, DOCX core title, HTML <title>)
    page_count: int | None = None  # paged formats only
    skipped_pages: list[tuple[int, str]] = field(default_factory=list)  # (page, reason): never silently dropped
    published: str | None = None  # an ISO date the metadata gives, if any
    language: str | None = None  # a language the file declares (HTML lang, DOCX core language), if any


@dataclass(frozen=True)
class ParseOptions:
    """How to parse: ``ocr`` runs OCR on pages without a text layer (when the ``ocr`` extra is installed);
    a paged parser calls ``on_page(page, pages)`` after each page (the progress the index command shows)."""

    ocr: bool = True
    on_page: Callable[[int, int], None] | None = field(default=None, compare=False)


class FileError(Exception):
    """A file that cannot be read as its format: encrypted, corrupt, empty.  ``str(exc)`` is the reason."""


class FileParser(Protocol):
    """One format's parser.  ``parse`` raises ``FileError`` for a file it cannot read, never anything else on
    bad input."""

    suffixes: tuple[str, ...]  # lower-case, with the dot: (".pdf",)

    def parse(self, path: Path, options: ParseOptions) -> ParsedFile: ...
