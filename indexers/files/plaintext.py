"""Plain-text files (.txt) read into blocks.

A .txt file has no markup, so its structure is read from layout: blank lines end paragraphs, a bullet or number
starts a list item, and a short line alone in capitals ("WARNINGS AND PRECAUTIONS") or a Chinese label section
marker (【用法用量】) is a heading.  Hospital text exports come in UTF-8 or in the Chinese national encoding
(GB18030 and its GBK/GB2312 subsets); both are decoded without being told which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from indexers.files.decoding import decode_text, read_bytes
from indexers.files.parsed import Block, BlockKind, FileError, ParsedFile, ParseOptions
from indexers.files.text_joining import collapse_spaces, hyphenated_compounds, join_lines

_LIST_MARKER = re.compile(
    r"^(?P<indent>[ \t]*)"
    r"(?:(?P<number>\d{1,3}[.)][ \t]+|[(（]\d{1,3}[)）][ \t]*|\d{1,3}、[ \t]*)|[-*•·▪◦●‣][ \t]+)"
    r"(?P<text>\S.*)$"
)
_LABEL_HEADING = re.compile(r"^【(?P<heading>[^】]{1,30})】[ \t]*(?P<rest>.*)$")
_SENTENCE_END = ("。", ".", "!", "?", "！", "？", ":", "：", ";", "；")
_CAPS_HEADING_MAX = 80  # characters: longer capital lines are shouted prose


class TextParser:
    """Plain text: paragraphs, list items and headings read from the layout of the lines."""

    suffixes: tuple[str, ...] = (".txt",)

    def parse(self, path: Path, options: ParseOptions) -> ParsedFile:
        blocks = text_blocks(decode_text(read_bytes(path)))
        if not blocks:
            raise FileError("no text found")
        return ParsedFile(blocks=blocks)


def text_blocks(text: str) -> list[Block]:
    """The blocks of a plain text, in order."""
    lines = text.splitlines()
    reader = _LineReader(compounds=hyphenated_compounds(lines))
    for group in _paragraph_groups(lines):
        reader.read_group(group)
    return reader.blocks


def _paragraph_groups(lines: list[str]) -> list[list[str]]:
    """Runs of non-blank lines (a blank line ends a paragraph)."""
    groups: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            groups[-1].append(line.expandtabs(4).rstrip())
        elif groups[-1]:
            groups.append([])
    return [group for group in groups if group]


@dataclass
class _Pending:
    """The block being gathered: its kind, list level and lines so far."""

    kind: BlockKind
    lines: list[str]
    level: int = 0
    ordered: bool = False
    indent: int = 0


@dataclass
class _LineReader:
    """Turns groups of lines into blocks, keeping list nesting (by indentation) across groups."""

    compounds: set[str]
    blocks: list[Block] = field(default_factory=list)
    list_indents: list[int] = field(default_factory=list)
    pending: _Pending | None = None

    def read_group(self, lines: list[str]) -> None:
        caps = [_is_caps_heading(line) for line in lines]
        for i, line in enumerate(lines):
            alone = not (i > 0 and caps[i - 1]) and not (i + 1 < len(lines) and caps[i + 1])
            self._read_line(line, caps[i] and alone)
        self._flush()

    def _read_line(self, line: str, caps_heading: bool) -> None:
        label = _LABEL_HEADING.match(line.strip())
        item = _LIST_MARKER.match(line)
        if label:
            self._heading(label.group("heading"))
            if label.group("rest"):
                self.pending = _Pending("paragraph", [label.group("rest")])
        elif caps_heading:
            self._heading(line)
        elif item:
            self._start_item(item)
        elif self.pending is not None and (self.pending.kind == "paragraph" or _continues_item(self.pending, line)):
            self.pending.lines.append(line)
        else:
            self._flush()
            self.list_indents.clear()
            self.pending = _Pending("paragraph", [line])

    def _heading(self, text: str) -> None:
        self._flush()
        self.list_indents.clear()
        self.blocks.append(Block("heading", collapse_spaces(text), level=2))

    def _start_item(self, item: re.Match[str]) -> None:
        self._flush()
        indent = len(item.group("indent"))
        while self.list_indents and self.list_indents[-1] > indent:
            self.list_indents.pop()
        if not self.list_indents or self.list_indents[-1] < indent:
            self.list_indents.append(indent)
        ordered = item.group("number") is not None
        self.pending = _Pending("list_item", [item.group("text")], len(self.list_indents) - 1, ordered, indent)

    def _flush(self) -> None:
        if self.pending is None:
            return
        text = join_lines(self.pending.lines, self.compounds)
        if text:
            self.blocks.append(Block(self.pending.kind, text, level=self.pending.level, ordered=self.pending.ordered))
        self.pending = None


def _continues_item(item: _Pending, line: str) -> bool:
    """A line without a marker carries on a list item when it is indented past the marker or the item's last
    line did not end a sentence (a list wrapped without hanging indent)."""
    indent = len(line) - len(line.lstrip())
    return indent > item.indent or not item.lines[-1].endswith(_SENTENCE_END)


def _is_caps_heading(line: str) -> bool:
    """A short line in capitals, mostly letters, not ending like a sentence: "WARNINGS AND PRECAUTIONS",
    "5 WARNINGS AND PRECAUTIONS", but not "NDC 65162-761-10" or "USP."."""
    text = line.strip()
    if len(text) > _CAPS_HEADING_MAX or text != text.upper() or text.endswith((".", ",", ";", "。", "，", "；")):
        return False
    letters = [ch for ch in text if ch.isalpha()]
    return (
        len(letters) >= 4
        and all(ch.isupper() for ch in letters)
        and 2 * len(letters) >= len(text.replace(" ", ""))
        and not _LIST_MARKER.match(line)
    )
