"""What every source reader yields: a Document, or a Rejected record saying what was skipped.

Readers never raise on bad input: each bad record becomes ``Rejected(file, line, reason)``
(printed as ``FILE:LINE: reason``, CONTRACT.md) and reading goes on.  Line 0 means the
problem concerns the whole file or folder.  Shared text helpers live here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model import Document


@dataclass(frozen=True)
class Rejected:
    """A record that could not become a Document: where it was and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


ReadItem = Document | Rejected
ReadResult = Iterator[ReadItem]

DAILYMED_SETID_URL = "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={set_id}"
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"

_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_RUN = re.compile(r"\n{3,}")


def normalize_lines(text: str) -> str:
    """Collapse runs of spaces inside lines, drop blank-line runs to one paragraph break."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def compact_date(value: str | None) -> str | None:
    """"20260831" -> "2026-08-31"; anything else -> None."""
    if value and len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return None


def read_text(path: Path) -> str:
    """A text file as UTF-8 (BOM dropped, undecodable bytes replaced), newlines normalised."""
    raw = path.read_bytes().decode("utf-8-sig", errors="replace")
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def json_object_lines(file: Path) -> Iterator[tuple[int, dict[str, Any]] | Rejected]:
    """(line number, object) for each non-blank line of a JSON-lines file; a line that is not a JSON object
    is ``Rejected`` with its number and reading goes on (the file is read as ``read_text`` reads it)."""
    for number, line in enumerate(read_text(file).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Rejected(str(file), number, f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(record, dict):
            yield Rejected(str(file), number, "expected a JSON object")
            continue
        yield number, record


def title_case(name: str) -> str:
    """"WARNINGS AND PRECAUTIONS" -> "Warnings and Precautions" (small words kept lower)."""
    small = {"and", "or", "of", "in", "for", "the", "to", "a", "an", "with", "on", "by"}
    words = name.lower().split()
    out = [w if (i and w in small) else w[:1].upper() + w[1:] for i, w in enumerate(words)]
    return " ".join(out)
