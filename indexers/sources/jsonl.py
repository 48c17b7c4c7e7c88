"""The generic document format of CONTRACT.md (bring-your-own knowledge), ``.jsonl`` or ``.jsonl.gz``.

One JSON object per line: ``id`` and ``text`` or ``sections`` ([{heading, text}]) are
required; ``title``, ``source_type`` (label | guideline | evidence | interaction | other | local_rule,
default other), ``url``, ``published`` (ISO date), ``language`` (en | zh, detected when
absent) and ``metadata`` are optional; other top-level fields are kept in metadata.  The
object itself is validated by ``app.documents.parse_document`` (the same rules as
``POST /v1/documents``); this module adds the file side: gzip, UTF-8, JSON, line numbers.
Every bad line yields ``Rejected(file, line_number, reason)`` and reading goes on; blank
lines are skipped.  Text may be in any language (Chinese 说明书 and 指南 included).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, cast

from app.documents import DocumentError, parse_document
from app.model import Document
from indexers.sources.base import ReadItem, Rejected


class LineError(ValueError):
    """A reason why one line cannot become a Document."""


def is_jsonl(path: Path) -> bool:
    """True for ``*.jsonl`` and ``*.jsonl.gz`` file names."""
    name = path.name.lower()
    return name.endswith(".jsonl") or name.endswith(".jsonl.gz")


def _open(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


MAX_LINE_BYTES = 20_000_000  # one document: the largest FDA label is under 1 MB; past this, a broken export


def read_jsonl(path: Path, to_document: Callable[[Any], Document] = parse_document) -> Iterator[ReadItem]:
    """Yield a Document or a Rejected for every non-blank line of a generic JSONL file; an id given again in the
    same file is rejected (the first is kept) rather than silently replacing it.  ``to_document``: what one object
    becomes (a hospital rules file's lines are rules: ``app.rules.rule_document``)."""
    file = str(path)
    number = 0
    first_line: dict[str, int] = {}
    try:
        with _open(path) as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                if len(raw) > MAX_LINE_BYTES:
                    yield Rejected(file, number, f"document of {len(raw):,} bytes; at most {MAX_LINE_BYTES:,} per line")
                    continue
                try:
                    doc = parse_line(raw, to_document)
                except LineError as exc:
                    yield Rejected(file, number, str(exc))
                    continue
                if doc.id in first_line:
                    yield Rejected(file, number, f"id: {doc.id!r} is given again (first on line {first_line[doc.id]}, "
                                   "which is kept)")
                    continue
                first_line[doc.id] = number
                yield doc
    except FileNotFoundError:
        yield Rejected(file, 0, "no such file")
    except (OSError, EOFError, zlib.error) as exc:
        yield Rejected(file, number + 1 if number else 0, f"cannot read file: {exc}")


def parse_line(raw: bytes, to_document: Callable[[Any], Document] = parse_document) -> Document:
    """One JSONL line -> Document; raises LineError with a readable reason."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineError(f"not valid UTF-8 (byte {exc.start})") from None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise LineError("invalid JSON: nested too deep") from None
    if not isinstance(obj, dict):
        raise LineError(f"expected a JSON object, got {type(obj).__name__}")
    try:
        return to_document(obj)
    except DocumentError as exc:
        raise LineError(str(exc)) from None
