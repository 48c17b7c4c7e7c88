"""Markdown files (.md) read into blocks: CommonMark plus tables, with the YAML front matter's title and date.

Teams keep protocols and wiki exports as Markdown.  markdown-it-py parses it (the CommonMark reference algorithm,
so lists and nesting come out the way a renderer shows them); this module maps its token stream onto blocks and
reduces inline markup (emphasis, links, code spans) to its text.  Code blocks become one paragraph each, their
non-blank lines joined by "; " so a block of commands or a dosing schedule stays one readable line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token
from selectolax.lexbor import LexborHTMLParser

from indexers.files.decoding import decode_text, read_bytes
from indexers.files.file_metadata import iso_date, primary_language
from indexers.files.html import html_blocks
from indexers.files.parsed import Block, FileError, ParsedFile, ParseOptions
from indexers.files.text_joining import collapse_spaces, collapse_whitespace

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<body>.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_FRONT_MATTER_FIELD = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$", re.MULTILINE)
_LINE_BREAK_TOKENS = frozenset({"softbreak", "hardbreak"})
_TEXT_TOKENS = frozenset({"text", "code_inline"})
_COMMONMARK = MarkdownIt("commonmark").enable("table")  # parsing keeps no state in the instance


class MarkdownParser:
    """Markdown: headings, paragraphs, nested list items, table rows and code blocks; front matter title/date."""

    suffixes: tuple[str, ...] = (".md", ".markdown")

    def parse(self, path: Path, options: ParseOptions) -> ParsedFile:
        text = decode_text(read_bytes(path))
        front, body = split_front_matter(text)
        blocks = markdown_blocks(body)
        if not blocks:
            raise FileError("no text found")
        return ParsedFile(blocks=blocks, title=front.get("title") or None, published=iso_date(front.get("date")),
                          language=primary_language(front.get("lang") or front.get("language")))


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """The ``key: value`` fields of a leading ``---`` front matter block (scalars only, quotes removed) and the
    text after it."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    fields = {m.group("key").lower(): _unquote(m.group("value")) for m in _FRONT_MATTER_FIELD.finditer(match["body"])}
    return fields, text[match.end():]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def markdown_blocks(text: str) -> list[Block]:
    """The blocks of a Markdown text (without front matter), in order."""
    reader = _TokenReader()
    for token in _COMMONMARK.parse(text):
        reader.read(token)
    return reader.blocks


@dataclass
class _TokenReader:
    """Follows markdown-it's flat token stream, keeping which list, list item, heading or table row is open."""

    blocks: list[Block] = field(default_factory=list)
    lists: list[bool] = field(default_factory=list)  # ordered? for each open list, outermost first
    items: list[list[str]] = field(default_factory=list)  # each open list item's text not yet a block
    row: list[str] | None = None  # the open table row's cells so far
    heading: int = 0  # the open heading's level

    def read(self, token: Token) -> None:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            self._flush_item()
            self.lists.append(kind == "ordered_list_open")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
        elif kind == "list_item_open":
            self.items.append([])
        elif kind == "list_item_close":
            self._flush_item()
            self.items.pop()
        elif kind == "heading_open":
            self.heading = int(token.tag[1:])
        elif kind == "heading_close":
            self.heading = 0
        elif kind == "tr_open":
            self.row = []
        elif kind == "tr_close":
            self._flush_row()
        elif kind == "inline":
            self._inline(inline_text(token))
        elif kind in ("fence", "code_block"):
            self._flush_item()
            self._add(Block("paragraph", code_text(token.content)))
        elif kind == "html_block":
            self._flush_item()
            self.blocks.extend(html_blocks(LexborHTMLParser(token.content)))

    def _inline(self, text: str) -> None:
        if self.row is not None:
            self.row.append(text)
        elif self.heading:
            self._add(Block("heading", text, level=self.heading))
        elif self.items:
            self.items[-1].append(text)
        else:
            self._add(Block("paragraph", text))

    def _flush_item(self) -> None:
        """The open item's text so far becomes a block (at a nested list, the item's end, or a code block)."""
        if self.items and self.items[-1]:
            self._add(Block("list_item", " ".join(self.items[-1]), level=len(self.lists) - 1, ordered=self.lists[-1]))
            self.items[-1] = []

    def _flush_row(self) -> None:
        if self.row is not None and any(self.row):
            self._add(Block("table_row", " | ".join(self.row)))
        self.row = None

    def _add(self, block: Block) -> None:
        if block.text:
            self.blocks.append(block)


def inline_text(token: Token) -> str:
    """An inline token's text with its markup dropped: emphasis and links give their text, a line break gives a
    space (none between CJK characters), images and raw inline HTML give nothing."""
    parts = []
    for child in token.children or []:
        if child.type in _TEXT_TOKENS:
            parts.append(child.content)
        elif child.type in _LINE_BREAK_TOKENS or (child.type == "html_inline" and child.content.startswith("<br")):
            parts.append("\n")
    return collapse_whitespace("".join(parts))


def code_text(code: str) -> str:
    """A code block as one line: its non-blank lines, whitespace collapsed, joined by "; "."""
    return "; ".join(line for line in (collapse_spaces(raw) for raw in code.splitlines()) if line)
