"""Which parser reads which file: the one place that maps a file suffix to its ``FileParser``.

Parsers are imported when a file of theirs is parsed (in the worker processes), so a command that never reads a
PDF never loads pdfium.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import cast

from indexers.files.parsed import FileError, FileParser

#: suffix -> (module, class) of its parser
_PARSERS: dict[str, tuple[str, str]] = {
    ".pdf": ("indexers.files.pdf", "PdfParser"),
    ".docx": ("indexers.files.docx", "DocxParser"),
    ".html": ("indexers.files.html", "HtmlParser"),
    ".htm": ("indexers.files.html", "HtmlParser"),
    ".md": ("indexers.files.markdown", "MarkdownParser"),
    ".markdown": ("indexers.files.markdown", "MarkdownParser"),
    ".txt": ("indexers.files.plaintext", "TextParser"),
}
SUFFIXES: tuple[str, ...] = tuple(_PARSERS)


def is_document_file(path: Path) -> bool:
    """A file one of the parsers reads (by its suffix, case-insensitive)."""
    return path.suffix.lower() in _PARSERS


@cache
def _parser(module: str, name: str) -> FileParser:
    return cast(FileParser, getattr(importlib.import_module(module), name)())


def unsupported(path: Path, also: tuple[str, ...] = ()) -> str:
    """Why a file no parser reads is skipped (``also``: the other kinds the caller reads, e.g. ".jsonl")."""
    others = f", {', '.join(also[:-1])} or {also[-1]}" if also else ""
    return f"unsupported file type {path.suffix.lower() or '(no suffix)'}: expected {', '.join(SUFFIXES)}{others}"


def parser_for(path: Path) -> FileParser:
    """The parser of a file's suffix (FileError for any other file)."""
    suffix = path.suffix.lower()
    if suffix not in _PARSERS:
        raise FileError(unsupported(path))
    return _parser(*_PARSERS[suffix])


def all_parsers() -> list[FileParser]:
    """One of each parser (for their contract suite)."""
    return [_parser(*spec) for spec in dict.fromkeys(_PARSERS.values())]
