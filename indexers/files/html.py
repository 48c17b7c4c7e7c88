"""HTML pages (.html, .htm) read into blocks: the page's own text, without its site furniture.

A saved intranet or guideline page carries navigation, banners, cookie notices, scripts and footers around the
text a clinician would read; indexing them would make every page of a site look alike and put "Accept cookies" in
answers.  This parser drops that furniture, reads only the ``<main>`` (or lone ``<article>``) when the page marks
one, and maps the remaining markup onto blocks: h1-h6 headings, paragraphs, nested list items and table rows.
Parsing is selectolax's lexbor engine (a C HTML5 parser); the walk over its tree is ours.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser, LexborNode

from indexers.files.decoding import bom_encoding, read_bytes
from indexers.files.file_metadata import iso_date, primary_language
from indexers.files.parsed import Block, BlockKind, FileError, ParsedFile, ParseOptions
from indexers.files.text_joining import collapse_spaces, collapse_whitespace

_FURNITURE = ", ".join((
    "script, style, noscript, template, svg, nav, aside, form, button, iframe, object, embed, canvas, dialog",
    "[role=navigation], [role=banner], [role=contentinfo], [role=complementary], [role=search]",
    "[hidden], [aria-hidden=true]",
    # cookie notices; "consent" alone is not enough: a clinical page has "informed-consent" sections
    "[class*=cookie], [id*=cookie], [class*=gdpr], [id*=gdpr], [class*=consent-banner], [id*=consent-banner]",
    "[class*=skip-link], [class*=skiplink], [class*=skip-to], [id*=skip-to]",
))
_NEVER_FURNITURE = frozenset({"html", "body", "main", "article"})  # a class like "has-cookie-banner" on <body>
_SECTIONING = frozenset({"article", "section", "main", "aside", "nav"})  # a header/footer inside is the section's
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_LISTS = frozenset({"ul", "ol", "menu"})
_BLOCK_TAGS = frozenset(
    "address article blockquote body caption center dd details div dl dt fieldset figcaption figure footer "
    "header hgroup hr legend main p section summary".split()
)
_DATE_METAS = ("dcterms.date", "citation_publication_date", "article:published_time", "date")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.IGNORECASE)
_CHARSET_ALIASES = {  # the WHATWG encoding standard's readings of labels Python reads more narrowly
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "chinese": "gb18030",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252",
    "utf-16": "utf-8", "utf-16le": "utf-8", "utf-16be": "utf-8",  # declared without a BOM: cannot be true
}


class HtmlParser:
    """HTML pages: the main text as headings, paragraphs, list items and table rows, furniture left out."""

    suffixes: tuple[str, ...] = (".html", ".htm")

    def parse(self, path: Path, options: ParseOptions) -> ParsedFile:
        tree = LexborHTMLParser(decode_html(read_bytes(path)))
        blocks = html_blocks(tree)
        if not blocks:
            raise FileError("no text found")
        return ParsedFile(blocks=blocks, title=_title(tree), published=_published(tree), language=_language(tree))


def decode_html(data: bytes) -> str:
    """Page bytes as str: by byte-order mark, else the ``<meta charset>`` (or http-equiv) in the first 1024
    bytes, else UTF-8; bytes the encoding cannot read become U+FFFD."""
    return data.decode(bom_encoding(data) or _declared_encoding(data[:1024]) or "utf-8", errors="replace")


def _declared_encoding(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    if match is None:
        return None
    label = match.group(1).decode("ascii").lower()
    label = _CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def html_blocks(tree: LexborHTMLParser) -> list[Block]:
    """The blocks of a parsed page's main content, furniture skipped; FileError for pathologically deep markup."""
    skip = _furniture(tree)
    root = _content_root(tree, skip)
    if root is None:
        return []
    reader = _Reader(skip)
    try:
        reader.read_children(root)
    except RecursionError as exc:  # the walk recurses per element: hundreds of nested elements are hostile input
        raise FileError("HTML nested too deeply to read") from exc
    reader.flush()
    return reader.blocks


def _furniture(tree: LexborHTMLParser) -> set[int]:
    """The ``mem_id`` of every element that is site furniture (navigation, banners, scripts, cookie notices)."""
    skip = {node.mem_id for node in tree.css(_FURNITURE) if node.tag not in _NEVER_FURNITURE}
    skip.update(node.mem_id for node in tree.css("header, footer") if not _inside_section(node))
    return skip


def _inside_section(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in _SECTIONING:
            return True
        parent = parent.parent
    return False


def _content_root(tree: LexborHTMLParser, skip: set[int]) -> LexborNode | None:
    """The page's ``<main>`` (or role=main), else its only ``<article>``, else ``<body>``."""
    main = [node for node in tree.css("main, [role=main]") if node.mem_id not in skip]
    if main:
        return main[0]
    articles = [node for node in tree.css("article") if node.mem_id not in skip]
    return articles[0] if len(articles) == 1 else tree.body


@dataclass
class _Context:
    """What pending inline text becomes when flushed; ``merge`` keeps nested paragraphs inside one block (a
    heading's or a list item's text)."""

    kind: BlockKind = "paragraph"
    level: int = 0
    ordered: bool = False
    merge: bool = False


@dataclass
class _Reader:
    """A depth-first walk that gathers inline text and flushes it as a block at each block boundary."""

    skip: set[int]
    blocks: list[Block] = field(default_factory=list)
    pieces: list[str] = field(default_factory=list)
    context: _Context = field(default_factory=_Context)
    list_depth: int = -1
    ordered: bool = False

    def read_children(self, node: LexborNode) -> None:
        for child in node.iter(include_text=True):
            self.read(child)

    def read(self, node: LexborNode) -> None:
        tag = node.tag
        if tag == "-text":
            self.pieces.append(node.text_content or "")
        elif tag is None or tag.startswith("-") or node.mem_id in self.skip:
            return
        elif tag == "br":
            self.pieces.append("\n")
        elif tag == "sup" and self.pieces and self.pieces[-1][-1:].isdigit():  # 10<sup>9</sup>/L is 10^9/L
            self.pieces.append("^")
            self.read_children(node)
        elif tag in _HEADINGS:
            self._in_context(node, _Context("heading", _HEADINGS[tag], merge=True))
        elif tag == "li":
            self._in_context(node, _Context("list_item", max(self.list_depth, 0), self.ordered, merge=True))
        elif tag in _LISTS:
            self._list(node, ordered=tag == "ol")
        elif tag == "table":
            self._table(node)
        elif tag == "pre":
            self.flush()
            self._add("paragraph", _preformatted(node))
        elif tag in _BLOCK_TAGS:
            self._block(node)
        else:
            self.read_children(node)

    def flush(self) -> None:
        text = collapse_whitespace("".join(self.pieces))
        self.pieces.clear()
        self._add(self.context.kind, text)

    def _add(self, kind: BlockKind, text: str) -> None:
        if text:
            self.blocks.append(Block(kind, text, level=self.context.level if kind == self.context.kind else 0,
                                     ordered=self.context.ordered and kind == "list_item"))

    def _block(self, node: LexborNode) -> None:
        if self.context.merge:  # a <p> inside an <li>: part of the item's text
            self.pieces.append("\n")
            self.read_children(node)
            self.pieces.append("\n")
        else:
            self.flush()
            self.read_children(node)
            self.flush()

    def _in_context(self, node: LexborNode, context: _Context) -> None:
        self.flush()
        outer, self.context = self.context, context
        self.read_children(node)
        self.flush()
        self.context = outer

    def _list(self, node: LexborNode, ordered: bool) -> None:
        self.flush()
        outer = (self.list_depth, self.ordered)
        self.list_depth, self.ordered = self.list_depth + 1, ordered
        self.read_children(node)
        self.flush()
        self.list_depth, self.ordered = outer

    def _table(self, table: LexborNode) -> None:
        self.flush()
        if _is_layout_table(table):  # a page laid out in a table: its cells are the page's text
            self.read_children(table)
            self.flush()
            return
        for part in table.iter():
            if part.tag == "caption":
                self._block(part)
            elif part.tag == "tr":
                self._row(part)
            elif part.tag in ("thead", "tbody", "tfoot"):
                for row in part.iter():
                    if row.tag == "tr":
                        self._row(row)

    def _row(self, row: LexborNode) -> None:
        cells = [self._cell_text(cell) for cell in row.iter() if cell.tag in ("td", "th")]
        if any(cells):
            self._add("table_row", " | ".join(cells))

    def _cell_text(self, cell: LexborNode) -> str:
        """A cell's text on one line; its paragraphs and list items joined by "; "."""
        reader = _Reader(self.skip)
        reader.read_children(cell)
        reader.flush()
        return "; ".join(block.text for block in reader.blocks)


def _is_layout_table(table: LexborNode) -> bool:
    """A table holding tables or headings lays out a page; it does not tabulate data."""
    return any(node.mem_id != table.mem_id for node in table.css("table, h1, h2, h3, h4, h5, h6"))


def _preformatted(node: LexborNode) -> str:
    """Preformatted text as one line: its non-blank lines joined by "; "."""
    lines = (collapse_spaces(line) for line in node.text(deep=True).splitlines())
    return "; ".join(line for line in lines if line)


def _title(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("title")
    return (collapse_whitespace(node.text()) or None) if node is not None else None


def _language(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("html")
    return primary_language(node.attributes.get("lang")) if node is not None else None


def _published(tree: LexborHTMLParser) -> str | None:
    """The first ISO date among the publication-date metas, in ``_DATE_METAS`` order."""
    dates: dict[str, str] = {}
    for meta in tree.css("meta"):
        attributes = meta.attributes
        key = (attributes.get("name") or attributes.get("property") or "").strip().lower()
        date = iso_date(attributes.get("content"))
        if key in _DATE_METAS and date and key not in dates:
            dates[key] = date
    return next((dates[key] for key in _DATE_METAS if key in dates), None)
