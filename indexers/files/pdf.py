"""PDF files read into blocks with pypdfium2: headings, paragraphs, list items and table rows, each with its page.

A PDF has no paragraphs, only positioned characters, so the structure is read back from layout.  Each page's
characters (pdfium's per-character calls: text, loose box, font size and weight) are grouped into lines by
position; a horizontal gap of more than twice the font size inside a line splits it into table cells.  Then, over
the whole document:

- Running headers and footers go: a line among the two top or two bottom lines of a page that repeats (digits
  ignored) on at least half of the pages (both pages of a 2-page file; never on a 1-page file), and such a line
  that is only a page number ("12", "- 12 -", "Page 12 of 40", "12 / 40", "第 12 页").
- The body size is the most common font size by character count.  A line clearly larger (x1.15) is a heading,
  level by size rank (largest = 1); a whole line in bold at body size that starts a block, is short and does not
  end a sentence is a heading one level below the smallest larger size; so is a line that is a Chinese label
  section marker 【用法用量】 (Chinese PDFs often embed their fonts without weights), whose text after the marker,
  if any, starts a paragraph; the heading keeps its brackets, as printed.  Heading
  lines that follow each other join into one heading; more than 3 lines or 200 characters is no heading.
- A line starting with a bullet or an enumerator ("1.", "1)", "(1)", "a.", "（1）", "1、", "①") starts a list
  item (marker removed; ``ordered`` for enumerators; ``level`` from the marker's indent).  "-", "*", "–" and
  enumerators count only where a new block can start (after a gap, after a line that ends a sentence, or at
  another indent), so a wrapped line that happens to begin with "2." or "– " stays in its paragraph.
- Lines join into a paragraph or list item until a vertical gap larger than the usual line spacing, a heading,
  a table row, a list item start, or the page end: a paragraph running onto the next page is two blocks, one per
  page (a list item whose next-page lines keep its text indent stays a list item).  Lines join through
  ``text_joining.join_lines`` with the document's own hyphenated compounds as evidence: "treat-" + "ment" gives
  "treatment", no space next to CJK.  Spaces pdfium puts between two CJK characters are dropped.

Pages: a page with (almost) no characters but with an image is a scan: with ``options.ocr`` and the OCR extra
installed it is rendered and read by OCR (blocks marked ``ocr=True``, lines grouped into paragraphs by position,
no headings); otherwise it is reported in ``skipped_pages`` as "no text layer".  A page with neither text nor
images is blank and just gives no blocks.  A page pdfium cannot load is reported as "unreadable page".

Errors are ``FileError``: "empty file", "encrypted PDF (password required)", "not a readable PDF: ...".
"""

from __future__ import annotations

import ctypes
import datetime
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdfium2
import pypdfium2.raw as pdfium_c

from indexers.files import ocr
from indexers.files.parsed import Block, BlockKind, FileError, ParsedFile, ParseOptions
from indexers.files.text_joining import collapse_spaces, hyphenated_compounds, is_cjk, join_lines

OCR_DPI = 200  # rendering resolution for OCR (see benchmarks/document_parsing.py)
EDGE = 0.15  # running headers and footers stand in the top or bottom 15% of a page
MIN_TEXT_CHARS = 5  # fewer non-space characters on a page with an image: a scan
CELL_GAP = 2.0  # a gap wider than this many font sizes inside a line separates table cells
HEADING_RATIO = 1.15  # a line this much larger than the body size is a heading
MAX_HEADING_LINES = 3
MAX_HEADING_CHARS = 200
MAX_BOLD_HEADING_CHARS = 80

# pdfium's mark for a hyphen it took for a line-end one (it joins the lines), and the hyphen Chromium and others
# print where they break a word: plain hyphens, for join_lines to judge at line ends.
_HYPHENS = {"\ufffe": "-", "\u2010": "-"}
_STRONG_BULLETS = "•◦▪▫●○■□◆◇‣⁃►▶➢✓✔\uf0b7\uf0a7\uf0d8\uf076\uf0fc"
_LIST_START = re.compile(
    r"^(?:(?P<bullet>[" + _STRONG_BULLETS + r"])\s*|(?P<weak>[-*–·])\s+"
    r"|(?P<number>(?:\d{1,3}|[a-zA-Z]|[ivx]{1,4})[.)]\s+|[(（](?:\d{1,3}|[a-zA-Z]|[ivx]{1,4})[)）]\s*"
    r"|\d{1,3}、\s*|[\u2460-\u2473\u2776-\u277f]\s*))(?P<text>\S.*)$"
)
_LABEL_HEADING = re.compile(r"^(?P<heading>【[^】]{1,30}】)\s*(?P<rest>.*)$")
_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.)\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?$"
    r"|^(?:page\s*)?\d{1,4}\s*(?:/|of)\s*\d{1,4}$"
    r"|^第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?$"
    r"|^[ivxlc]{1,6}$",
    re.IGNORECASE,
)
_SENTENCE_END = tuple(".:;!?。：；！？")
_JUNK_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel) - .*|untitled.*|document\d*|slide \d+|title|\W*)$"
    r"|\.(?:pdf|docx?|rtf|odt|txt|html?|tex|dvi|ps|indd|qxd|pptx?|xlsx?)$",
    re.IGNORECASE,
)
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})(\d{2})")
# Kangxi and supplementary radicals (U+2F00-U+2FDF, U+2E80-U+2EFF) that some PDF fonts map their glyphs to, as the
# ideographs they stand for: "⽚" is read as "片", so the text can be searched.
_RADICALS = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0x2E80, 0x2FE0)
             if unicodedata.normalize("NFKC", chr(code)) != chr(code)}


@dataclass(slots=True)
class _Line:
    """One line of text on a page, as pdfium's characters place it (PDF units, y upwards)."""

    page: int
    cells: list[str]  # more than one: a table row
    x0: float
    x1: float
    bottom: float
    top: float
    size: float  # the most common font size of its characters
    bold: bool  # every character in a bold font
    text_x: float  # where the text after the first space starts (a list item's text indent)
    base: float  # the baseline of its first character

    @property
    def text(self) -> str:
        return " ".join(self.cells)


@dataclass
class _Open:
    """The block being built: its kind and its lines so far."""

    kind: BlockKind
    page: int
    lines: list[str]
    last: _Line
    x0: float  # its first line's left edge (a list item's marker column)
    size: float
    level: int = 0
    ordered: bool = False
    text_x: float = 0.0


@dataclass
class _Layout:
    """What the whole document's lines say about its typography."""

    body: float
    heading_levels: dict[float, int]
    bold_level: int
    pitch: float  # the usual distance between two body lines' baselines in a paragraph

    def gap(self, prev: _Line, line: _Line) -> bool:
        """Whether more space than the usual line spacing (scaled to the line's size) separates the lines."""
        return prev.base - line.base > (self.pitch + max(0.3 * self.body, 1.5)) * line.size / self.body


class PdfParser:
    """The ``FileParser`` of PDF files (text layer via pypdfium2, scanned pages via ``indexers.files.ocr``).

    ``ocr_engine`` None reads scans with the process's rapidocr engine when the OCR extra is installed;
    ``ocr_dpi`` is the resolution a scanned page is rendered at for OCR."""

    suffixes = (".pdf",)

    def __init__(self, ocr_engine: ocr.OcrEngine | None = None, ocr_dpi: int = OCR_DPI) -> None:
        self.ocr_engine = ocr_engine
        self.ocr_dpi = ocr_dpi

    def parse(self, path: Path, options: ParseOptions) -> ParsedFile:
        pdf = _open(path)
        try:
            return _parse(pdf, path, options, self._ocr(options))
        except pypdfium2.PdfiumError as exc:
            raise FileError(f"not a readable PDF: {exc}") from exc
        finally:
            pdf.close()

    def _ocr(self, options: ParseOptions) -> _Ocr | None:
        """How to read scanned pages, or None when they are only reported."""
        if not options.ocr:
            return None
        if self.ocr_engine is not None:
            engine = self.ocr_engine
            return _Ocr(lambda: engine, self.ocr_dpi)
        return _Ocr(ocr.engine, self.ocr_dpi) if ocr.available() else None


@dataclass(frozen=True)
class _Ocr:
    """Reads a scanned page: ``engine`` gives the engine when the first scan needs it."""

    engine: Callable[[], ocr.OcrEngine]
    dpi: int

    def blocks(self, page: pypdfium2.PdfPage, number: int) -> list[Block]:
        """The page's lines grouped into paragraphs (page numbers at its top and bottom dropped)."""
        image = page.render(scale=self.dpi / 72).to_pil()
        rows = _ocr_rows(self.engine().read(image))
        if rows and _PAGE_NUMBER.match(rows[0][0]):
            rows = rows[1:]
        if rows and _PAGE_NUMBER.match(rows[-1][0]):
            rows = rows[:-1]
        return [Block("paragraph", text, page=number, ocr=True) for text in _ocr_paragraphs(rows)]


def _open(path: Path) -> pypdfium2.PdfDocument:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileError(f"cannot read the file: {exc.strerror or exc}") from exc
    if not path.is_file():
        raise FileError("not a file")
    if size == 0:
        raise FileError("empty file")
    try:
        return pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise FileError("encrypted PDF (password required)") from exc
        if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise FileError("encrypted PDF (unsupported security handler)") from exc
        raise FileError(f"not a readable PDF: {exc}") from exc
    except OSError as exc:
        raise FileError(f"cannot read the file: {exc.strerror or exc}") from exc


def _parse(pdf: pypdfium2.PdfDocument, path: Path, options: ParseOptions, reader: _Ocr | None) -> ParsedFile:
    count = len(pdf)
    pages: list[_Page] = []
    for number in range(1, count + 1):
        pages.append(_read_page(pdf, number, reader))
        if options.on_page is not None:
            options.on_page(number, count)
    lines = _without_furniture([line for page in pages for line in page.lines],
                               {page.number: page.box for page in pages})
    metadata = pdf.get_metadata_dict(skip_empty=True)
    return ParsedFile(blocks=_blocks(lines, {page.number: page.ocr_blocks for page in pages if page.ocr_blocks}),
                      title=_title(metadata, path), page_count=count,
                      skipped_pages=[(page.number, page.skipped) for page in pages if page.skipped],
                      published=_date(metadata.get("CreationDate")))


@dataclass
class _Page:
    """What one page gave: text lines, or OCR blocks, or the reason it gave neither."""

    number: int
    box: tuple[float, float] = (0.0, 0.0)  # the page's bottom and top (PDF units)
    lines: list[_Line] = field(default_factory=list)
    ocr_blocks: list[Block] = field(default_factory=list)
    skipped: str | None = None


def _read_page(pdf: pypdfium2.PdfDocument, number: int, reader: _Ocr | None) -> _Page:
    try:
        page = pdf[number - 1]
    except pypdfium2.PdfiumError:
        return _Page(number, skipped="unreadable page")
    try:
        box = _vertical_extent(page)
        textpage = page.get_textpage()
        try:
            text = _page_text(textpage)
            if sum(not ch.isspace() for ch in text) >= MIN_TEXT_CHARS or not _has_image(page):
                return _Page(number, box, lines=_lines(textpage, text, number))
        finally:
            textpage.close()
        if reader is None:
            return _Page(number, box, skipped="no text layer")
        blocks = reader.blocks(page, number)
        return _Page(number, box, ocr_blocks=blocks, skipped=None if blocks else "no text found by OCR")
    finally:
        page.close()


def _vertical_extent(page: pypdfium2.PdfPage) -> tuple[float, float]:
    _left, bottom, _right, top = page.get_bbox()
    return bottom, top


def _page_text(textpage: pypdfium2.PdfTextPage) -> str:
    """The page's characters, one per pdfium character index."""
    count = textpage.count_chars()
    text = textpage.get_text_range() if count else ""
    if len(text) != count:  # characters outside the BMP, or pdfium's text view differs from its char list
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage, i) or 0xFFFD) for i in range(count))
    return text


def _has_image(page: pypdfium2.PdfPage) -> bool:
    return any(True for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3))


def _lines(textpage: pypdfium2.PdfTextPage, text: str, number: int) -> list[_Line]:
    """The page's characters grouped into lines by position (one pass, pdfium's order; kept lean: it runs for
    every character of every page)."""
    raw = textpage.raw
    rect = pdfium_c.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    get_box = pdfium_c.FPDFText_GetLooseCharBox
    origin_x, origin_y = ctypes.c_double(), ctypes.c_double()
    origin = (ctypes.byref(origin_x), ctypes.byref(origin_y))
    address = ctypes.cast(raw, ctypes.c_void_p).value
    fonts = _Fonts(raw)
    lines: list[_Line] = []
    builder: _LineBuilder | None = None
    space = False
    text_object: int | None = -1
    size, bold = 0.0, False
    for i, ch in enumerate(text):
        if ch in "\r\n":
            if builder is not None:
                lines.append(builder.line())
                builder, space = None, False
            continue
        if ch.isspace():
            space = builder is not None
            continue
        get_box(raw, i, rect_ref)
        if (obj := _text_object(address, i)) != text_object or not obj:
            text_object = obj
            size, bold = fonts.style(i)
        bottom, top = rect.bottom, rect.top
        if builder is not None and not builder.bottom <= (bottom + top) / 2 <= builder.top:
            lines.append(builder.line())
            builder, space = None, False
        if builder is None:
            pdfium_c.FPDFText_GetCharOrigin(raw, i, *origin)
            builder = _LineBuilder(number, rect.left, bottom, top, origin_y.value)
        builder.add(_HYPHENS.get(ch, ch), rect.left, rect.right, bottom, top, size, bold, space)
        space = False
    if builder is not None:
        lines.append(builder.line())
    return lines


# FPDFText_GetTextObject returning the object's address as an int (the binding's pointer result is slower to
# make and compare): which text object a character belongs to tells when its font may change.
_text_object = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)(
    ctypes.cast(pdfium_c.FPDFText_GetTextObject, ctypes.c_void_p).value or 0)


class _Fonts:
    """A character's font size and whether its font is bold (asked once per text object)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.bold_by_font: dict[tuple[bytes, int, int], bool] = {}
        self.buffer = ctypes.create_string_buffer(256)
        self.flags = ctypes.c_int()

    def style(self, index: int) -> tuple[float, bool]:
        size = pdfium_c.FPDFText_GetFontSize(self.raw, index)
        weight = pdfium_c.FPDFText_GetFontWeight(self.raw, index)
        pdfium_c.FPDFText_GetFontInfo(self.raw, index, self.buffer, 256, ctypes.byref(self.flags))
        font = (self.buffer.value, self.flags.value, weight)
        bold = self.bold_by_font.get(font)
        if bold is None:
            bold = self.bold_by_font[font] = _is_bold(*font)
        return size, bold


def _is_bold(name: bytes, flags: int, weight: int) -> bool:
    lowered = name.lower()
    return (weight >= 600 or bool(flags & 0x40000)  # FXFONT_FORCE_BOLD
            or any(word in lowered for word in (b"bold", b"black", b"heavy", b"semibold", b"demi")))


class _LineBuilder:
    """A line being read: its cells' characters and its extent."""

    __slots__ = ("number", "cells", "chars", "x0", "x1", "bottom", "top", "sizes", "bold", "text_x", "last", "base")

    def __init__(self, number: int, x0: float, bottom: float, top: float, base: float) -> None:
        self.number = number
        self.cells: list[str] = []
        self.chars: list[str] = []
        self.x0 = self.x1 = x0
        self.bottom, self.top = bottom, top
        self.sizes: dict[float, int] = {}
        self.bold = True
        self.text_x = x0
        self.last = ""
        self.base = base

    def add(self, ch: str, left: float, right: float, bottom: float, top: float, size: float, bold: bool,
            space: bool) -> None:
        if self.chars:
            if left - self.x1 > CELL_GAP * size:
                self.cells.append("".join(self.chars))
                self.chars = []
            elif space and not (is_cjk(self.last) and is_cjk(ch)):
                self.chars.append(" ")
        if space and self.text_x == self.x0:
            self.text_x = left
        self.chars.append(ch)
        self.last = ch
        if right > self.x1:
            self.x1 = right
        if bottom < self.bottom:
            self.bottom = bottom
        if top > self.top:
            self.top = top
        self.sizes[size] = self.sizes.get(size, 0) + 1
        self.bold = self.bold and bold

    def line(self) -> _Line:
        cells = [cell for cell in (collapse_spaces(c).translate(_RADICALS) for c in [*self.cells, "".join(self.chars)])
                 if cell]
        size = max(self.sizes, key=self.sizes.__getitem__)
        return _Line(self.number, cells, self.x0, self.x1, self.bottom, self.top, round(size * 2) / 2, self.bold,
                     self.text_x, self.base)


def _furniture_key(line: _Line) -> tuple[str, float]:
    """A line as a running header or footer repeats it: its text with any number, and its size."""
    return re.sub(r"\d+", "#", line.text.lower()), line.size


def _without_furniture(lines: list[_Line], boxes: dict[int, tuple[float, float]]) -> list[_Line]:
    """The lines less running headers, footers and page numbers (see the module docstring)."""
    by_page: dict[int, list[_Line]] = {}
    for line in lines:
        by_page.setdefault(line.page, []).append(line)
    edges = {number: _edge_lines(page_lines, *boxes[number]) for number, page_lines in by_page.items()}
    pages = len(by_page)  # pages with a text layer
    counts = Counter(key for edge in edges.values() for key in {_furniture_key(line) for line in edge})
    needed = 2 if pages == 2 else max(2, math.ceil(pages / 2)) if pages >= 3 else math.inf
    drop = {id(line) for edge in edges.values() for line in edge
            if counts[_furniture_key(line)] >= needed or _PAGE_NUMBER.match(line.text)}
    return [line for line in lines if id(line) not in drop]


def _edge_lines(page_lines: list[_Line], bottom: float, top: float) -> list[_Line]:
    """A page's two top and two bottom lines, those of them in the page's top or bottom ``EDGE`` band."""
    ordered = sorted(page_lines, key=lambda line: -line.top)
    band = EDGE * (top - bottom)
    return [line for line in ordered[:2] + ordered[2:][-2:] if line.bottom > top - band or line.top < bottom + band]


def _layout(lines: list[_Line]) -> _Layout:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    larger = sorted({line.size for line in lines if line.size >= body * HEADING_RATIO
                     and _is_heading_text(line.text, MAX_HEADING_CHARS)}, reverse=True)
    levels = {size: min(rank + 1, 6) for rank, size in enumerate(larger)}
    pitches: list[float] = []
    for prev, line in zip(lines, lines[1:], strict=False):
        if (line.size == prev.size == body and prev.page == line.page and len(line.cells) == 1
                and 0 < prev.base - line.base < 3 * body):
            pitches.append(prev.base - line.base)
    pitches.sort()
    return _Layout(body=body, heading_levels=levels, bold_level=min(len(levels) + 1, 6),
                   pitch=pitches[len(pitches) // 4] if pitches else 1.2 * body)


def _is_heading_text(text: str, limit: int) -> bool:
    return 0 < len(text) <= limit and any(ch.isalpha() for ch in text)


class _BlockWriter:
    """Turns the document's lines into blocks, one line at a time, in order."""

    def __init__(self, layout: _Layout, compounds: set[str]) -> None:
        self.layout = layout
        self.compounds = compounds
        self.blocks: list[Block] = []
        self.open: _Open | None = None
        self.prev: _Line | None = None
        self.list_indents: list[float] = []

    def add(self, line: _Line) -> None:
        if self.prev is not None and self.prev.page != line.page:
            self._page_break(line)
        if self.open is not None and not self.open.lines:  # a list item going on from the page before
            self._extend(line, line.text)
        else:
            self._place(line)
        self.prev = line

    def add_ocr(self, block: Block) -> None:
        """A block of a scanned page: it ends whatever was open."""
        self._close()
        self.prev = None
        self.blocks.append(block)

    def finish(self) -> list[Block]:
        self._close()
        return self.blocks

    def _place(self, line: _Line) -> None:
        continues = self._continues(line)
        may_start = not continues or self._may_start_inside(line)
        label = _LABEL_HEADING.match(line.text)
        item = _LIST_START.match(line.text)
        if len(line.cells) > 1:
            self._emit("table_row", " | ".join(line.cells), line.page)
        elif line.size in self.layout.heading_levels and _is_heading_text(line.text, MAX_HEADING_CHARS):
            self._heading(line, self.layout.heading_levels[line.size])
        elif label and may_start:
            self._label(line, label)
        elif may_start and self._bold_heading(line):
            self._heading(line, self.layout.bold_level)
        elif item and (item.group("bullet") or may_start):
            self._list_item(line, item)
        elif continues:
            self._extend(line, line.text)
        else:
            self._start("paragraph", line, line.text)

    def _continues(self, line: _Line) -> bool:
        """Whether the line can go on the open paragraph or list item: same page, no gap, not dedented out of
        a list item, not a new paragraph's first-line indent."""
        open_, prev = self.open, self.prev
        if open_ is None or prev is None or open_.kind == "heading" or open_.page != line.page:
            return False
        if self.layout.gap(prev, line):
            return False
        if open_.kind == "list_item":
            return line.x0 >= open_.x0 - 0.5 * line.size
        return not (line.x0 - prev.x0 > 0.8 * line.size and prev.text.endswith(_SENTENCE_END))

    def _may_start_inside(self, line: _Line) -> bool:
        """Whether a list item or heading may start at a line that could go on the open block: after a line
        ending a sentence, at another indent, or at the open list item's marker column."""
        open_, prev = self.open, self.prev
        assert open_ is not None and prev is not None
        if prev.text.endswith(_SENTENCE_END) or abs(line.x0 - prev.x0) > 0.5 * line.size:
            return True
        return open_.kind == "list_item" and abs(line.x0 - open_.x0) < 0.5 * line.size

    def _bold_heading(self, line: _Line) -> bool:
        text = line.text
        return (line.bold and _is_heading_text(text, MAX_BOLD_HEADING_CHARS) and not text.endswith(tuple(".;。；,，"))
                and line.size >= self.layout.body * 0.95)

    def _page_break(self, line: _Line) -> None:
        """Close the open block at a page end, unless a list item goes on at its text indent."""
        open_ = self.open
        self._close()
        if (open_ is not None and open_.kind == "list_item" and len(line.cells) == 1 and line.size == open_.size
                and _LIST_START.match(line.text) is None and abs(line.x0 - open_.text_x) < 0.5 * line.size
                and line.x0 > open_.x0 + 0.25 * line.size):
            self.open = _Open("list_item", line.page, [], line, open_.x0, open_.size, open_.level, open_.ordered,
                              open_.text_x)

    def _heading(self, line: _Line, level: int) -> None:
        open_ = self.open
        if (open_ is not None and open_.kind == "heading" and open_.level == level and open_.page == line.page
                and open_.last.base - line.base <= 1.6 * line.size):
            self._extend(line, line.text)
        else:
            self._start("heading", line, line.text, level=level)
        self.list_indents = []

    def _label(self, line: _Line, label: re.Match[str]) -> None:
        self._close()
        self._emit("heading", label.group("heading"), line.page, level=self.layout.bold_level)
        self.list_indents = []
        if label.group("rest"):
            self._start("paragraph", line, label.group("rest"))

    def _list_item(self, line: _Line, item: re.Match[str]) -> None:
        indents = self.list_indents
        while indents and indents[-1] > line.x0 + 0.5 * line.size:
            indents.pop()
        if not indents or line.x0 > indents[-1] + 0.5 * line.size:
            indents.append(line.x0)
        self._start("list_item", line, item.group("text"), level=min(len(indents) - 1, 5),
                    ordered=item.group("number") is not None)

    def _start(self, kind: BlockKind, line: _Line, text: str, level: int = 0, ordered: bool = False) -> None:
        self._close()
        if kind == "paragraph" and self.list_indents and line.x0 <= self.list_indents[0] + 0.5 * line.size:
            self.list_indents = []
        self.open = _Open(kind, line.page, [text], line, line.x0, line.size, level, ordered, line.text_x)

    def _extend(self, line: _Line, text: str) -> None:
        assert self.open is not None
        self.open.lines.append(text)
        self.open.last = line

    def _close(self) -> None:
        open_, self.open = self.open, None
        if open_ is None or not open_.lines:
            return
        text = join_lines(open_.lines, self.compounds)
        kind = open_.kind
        if kind == "heading" and (len(open_.lines) > MAX_HEADING_LINES or len(text) > MAX_HEADING_CHARS):
            kind = "paragraph"
        self._emit(kind, text, open_.page, level=open_.level if kind != "paragraph" else 0, ordered=open_.ordered)

    def _emit(self, kind: BlockKind, text: str, page: int, level: int = 0, ordered: bool = False) -> None:
        if kind == "table_row":
            self._close()
        if text:
            self.blocks.append(Block(kind, text, level=level, page=page, ordered=ordered))


def _blocks(lines: list[_Line], ocr_blocks: dict[int, list[Block]]) -> list[Block]:
    """All blocks in page order: the text pages' from their lines, the scanned pages' from OCR."""
    compounds = hyphenated_compounds(line.text for line in lines)
    writer = _BlockWriter(_layout(lines), compounds)
    for line in _with_ocr_pages(lines, ocr_blocks):
        if isinstance(line, _Line):
            writer.add(line)
        else:
            writer.add_ocr(line)
    return writer.finish()


def _with_ocr_pages(lines: list[_Line], ocr_blocks: dict[int, list[Block]]) -> Iterator[_Line | Block]:
    """The text lines with each OCR page's blocks put in at its page."""
    pending = sorted(ocr_blocks)
    for line in lines:
        while pending and pending[0] < line.page:
            yield from ocr_blocks[pending.pop(0)]
        yield line
    for number in pending:
        yield from ocr_blocks[number]


def _ocr_rows(lines: list[ocr.OcrLine]) -> list[tuple[str, float, float]]:
    """OCR lines as rows of text (text, top, bottom), top to bottom; boxes side by side make one row."""
    rows: list[list[ocr.OcrLine]] = []
    for line in sorted(lines, key=lambda item: (item.box[1] + item.box[3]) / 2):
        middle = (line.box[1] + line.box[3]) / 2
        if rows and rows[-1][0].box[1] <= middle <= rows[-1][0].box[3]:
            rows[-1].append(line)
        else:
            rows.append([line])
    out = []
    for row in rows:
        cells = [item.text.strip() for item in sorted(row, key=lambda item: item.box[0]) if item.text.strip()]
        if cells:
            out.append((join_lines(cells, set()), min(i.box[1] for i in row), max(i.box[3] for i in row)))
    return out


def _ocr_paragraphs(rows: list[tuple[str, float, float]]) -> list[str]:
    """Rows joined into paragraphs where the gap between them is no more than the usual one, and a label marker
    【...】 or a bullet or number does not start the row."""
    if not rows:
        return []
    heights = sorted(bottom - top for _, top, bottom in rows)
    gaps = sorted(top - prev[2] for prev, (_, top, _) in zip(rows, rows[1:], strict=False))
    usual = gaps[len(gaps) // 3] if gaps else 0.0
    limit = usual + 0.35 * heights[len(heights) // 2]
    paragraphs: list[list[str]] = [[rows[0][0]]]
    for prev, row in zip(rows, rows[1:], strict=False):
        if row[1] - prev[2] > limit or _LABEL_HEADING.match(row[0]) or _LIST_START.match(row[0]):
            paragraphs.append([])
        paragraphs[-1].append(row[0])
    return [join_lines(lines) for lines in paragraphs]


def _title(metadata: dict[str, str], path: Path) -> str | None:
    title = collapse_spaces(metadata.get("Title", ""))
    if not title or _JUNK_TITLE.search(title) or title.lower() in (path.name.lower(), path.stem.lower()):
        return None
    return title


def _date(value: str | None) -> str | None:
    """A PDF date ("D:20140627120000+05'00'") as YYYY-MM-DD, None if it is not one."""
    match = _PDF_DATE.match(value or "")
    if not match:
        return None
    try:
        return datetime.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return None
