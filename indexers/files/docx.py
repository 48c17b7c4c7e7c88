"""Word files (.docx) read into blocks: paragraphs and tables in body order, headings and lists from styles.

Hospital protocols are mostly written in Word.  Their structure lives in paragraph styles (Heading 1, List Bullet,
or a localized style that only carries an outline level) and in numbering definitions, not in the text, so this
parser reads the WordprocessingML body directly (through python-docx's element tree) instead of
``Document.paragraphs``, which would lose where the tables stand and the text of tracked insertions and content
controls.  Files that are not .docx at all (an encrypted or legacy .doc is an OLE2 compound file) are refused with
a reason a user can act on.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import docx
from docx.document import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.exceptions import PackageNotFoundError
from docx.opc.part import XmlPart
from docx.oxml.ns import qn
from lxml.etree import XMLSyntaxError

from indexers.files.decoding import read_bytes
from indexers.files.file_metadata import primary_language
from indexers.files.parsed import Block, FileError, ParsedFile, ParseOptions
from indexers.files.text_joining import collapse_whitespace

_OLE2_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # encrypted .docx and legacy .doc are OLE2 compound files
_UNREADABLE = (PackageNotFoundError, zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, XMLSyntaxError)
_HEADING_STYLE = re.compile(r"^heading ([1-9])$")
_LIST_STYLE = re.compile(r"^list (?:bullet|number)(?: (\d))?$")
_SUPERSCRIPT = "./w:rPr/w:vertAlign[@w:val='superscript']"
_TOC_STYLE = re.compile(r"^toc \d$")  # table-of-contents lines repeat the headings with page numbers
_UNORDERED_FORMATS = frozenset({"bullet", "none"})
_BODY_TEXT_OUTLINE = 9  # w:outlineLvl 9 means "body text"
_RUNS = ".//w:r[not(ancestor::w:del) and not(ancestor::w:moveFrom) and not(ancestor::w:txbxContent)" \
        " and not(ancestor::w:rt)]"  # deleted text, text boxes and ruby pronunciation guides left out


class DocxParser:
    """Word .docx: headings from heading styles or outline levels, list items from numbering, one table row per
    table row, core-properties title, created date and language."""

    suffixes: tuple[str, ...] = (".docx",)

    def parse(self, path: Path, options: ParseOptions) -> ParsedFile:
        data = read_bytes(path)
        if data.startswith(_OLE2_SIGNATURE):
            raise FileError("encrypted or legacy .doc Word file; save it as .docx")
        try:
            parsed = _parse_document(docx.Document(io.BytesIO(data)))
        except _UNREADABLE as exc:
            raise FileError(f"not a readable Word file: {exc}") from exc
        if not parsed.blocks:
            raise FileError("no text found")
        return parsed


def _parse_document(document: Document) -> ParsedFile:
    blocks = _BodyReader(_Styles(document), _Numbering(document)).read(document.element.body)
    title, published, language = _core_metadata(document)
    return ParsedFile(blocks=blocks, title=title, published=published, language=language)


def _core_metadata(document: Document) -> tuple[str | None, str | None, str | None]:
    """Title, created date and language from docProps/core.xml; none when the file has no such part (python-docx
    would otherwise invent a default one titled "Word Document")."""
    try:
        document.part.package.part_related_by(RT.CORE_PROPERTIES)
    except KeyError:
        return None, None, None
    core = document.core_properties
    try:
        created = core.created
    except TypeError:  # an empty <dcterms:created/>
        created = None
    published = created.date().isoformat() if created else None
    return (core.title or "").strip() or None, published, primary_language(core.language)


def _val(element: Any, path: str) -> str | None:
    """The w:val of the first element at ``path`` under ``element`` (None if absent)."""
    found = element.find(path) if element is not None else None
    return found.get(qn("w:val")) if found is not None else None


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


@dataclass(frozen=True)
class _StyleInfo:
    """A paragraph style's name (lower-case) and the outline level and numbering it gives, base styles included."""

    name: str = ""
    outline: int | None = None
    num_id: str | None = None
    ilvl: int | None = None


class _Styles:
    """Paragraph styles by style id, with what each inherits from its ``w:basedOn`` chain resolved."""

    def __init__(self, document: Document) -> None:
        styles = document.styles.element.findall(qn("w:style"))
        self._raw: dict[str, Any] = {s.get(qn("w:styleId")): s for s in styles if s.get(qn("w:type")) == "paragraph"}
        self._resolved: dict[str, _StyleInfo] = {}
        self.default = _StyleInfo()  # the style of a paragraph that names none (or an unknown one)
        defaults = [sid for sid, style in self._raw.items() if style.get(qn("w:default")) in ("1", "true")]
        if defaults:
            self.default = self.get(defaults[0])

    def get(self, style_id: str | None, depth: int = 0) -> _StyleInfo:
        if style_id is None or style_id not in self._raw:
            return self.default
        if depth > 20:  # a w:basedOn cycle
            return _StyleInfo()
        if style_id not in self._resolved:
            self._resolved[style_id] = self._resolve(self._raw[style_id], depth)
        return self._resolved[style_id]

    def _resolve(self, style: Any, depth: int) -> _StyleInfo:
        based_on = _val(style, qn("w:basedOn"))
        base = self.get(based_on, depth + 1) if based_on else _StyleInfo()
        ppr = style.find(qn("w:pPr"))
        outline = _int(_val(ppr, qn("w:outlineLvl")))
        num_id = _val(ppr, f"{qn('w:numPr')}/{qn('w:numId')}")
        ilvl = _int(_val(ppr, f"{qn('w:numPr')}/{qn('w:ilvl')}"))
        return _StyleInfo(
            name=(_val(style, qn("w:name")) or "").lower(),
            outline=base.outline if outline is None else outline,
            num_id=base.num_id if num_id is None else num_id,
            ilvl=base.ilvl if ilvl is None else ilvl,
        )


class _Numbering:
    """The number format (decimal, bullet, lowerRoman, ...) of each list level, from numbering.xml."""

    def __init__(self, document: Document) -> None:
        self._formats: dict[tuple[str, int], str] = {}
        try:
            numbering = cast(XmlPart, document.part.part_related_by(RT.NUMBERING)).element
        except KeyError:
            return
        abstract = {a.get(qn("w:abstractNumId")): self._levels(a) for a in numbering.findall(qn("w:abstractNum"))}
        for num in numbering.findall(qn("w:num")):
            levels = dict(abstract.get(_val(num, qn("w:abstractNumId")), {}))
            for override in num.findall(qn("w:lvlOverride")):
                levels.update(self._levels(override))
            self._formats.update({(num.get(qn("w:numId")), ilvl): fmt for ilvl, fmt in levels.items()})

    @staticmethod
    def _levels(element: Any) -> dict[int, str]:
        levels = {}
        for lvl in element.findall(qn("w:lvl")):
            ilvl, fmt = _int(lvl.get(qn("w:ilvl"))), _val(lvl, qn("w:numFmt"))
            if ilvl is not None and fmt is not None:
                levels[ilvl] = fmt
        return levels

    def format(self, num_id: str, ilvl: int) -> str | None:
        return self._formats.get((num_id, ilvl))


@dataclass
class _BodyReader:
    """Reads the body's paragraphs and tables (and those inside content controls) in document order."""

    styles: _Styles
    numbering: _Numbering

    def read(self, container: Any) -> list[Block]:
        blocks: list[Block] = []
        for child in container.iterchildren():
            if child.tag == qn("w:p"):
                block = self._paragraph(child)
                if block is not None:
                    blocks.append(block)
            elif child.tag == qn("w:tbl"):
                blocks.extend(_table_rows(child))
            elif child.tag == qn("w:sdt"):  # a content control: its content is body content
                for content in child.findall(qn("w:sdtContent")):
                    blocks.extend(self.read(content))
        return blocks

    def _paragraph(self, p: Any) -> Block | None:
        text = _paragraph_text(p)
        ppr = p.find(qn("w:pPr"))
        style = self.styles.get(_val(ppr, qn("w:pStyle")))
        if not text or _TOC_STYLE.match(style.name):
            return None
        heading = _heading_level(style, _int(_val(ppr, qn("w:outlineLvl"))))
        if heading:
            return Block("heading", text, level=heading)
        num_id = _val(ppr, f"{qn('w:numPr')}/{qn('w:numId')}") or style.num_id
        list_style = _LIST_STYLE.match(style.name)
        if num_id != "0" and (num_id or list_style):  # numId 0 takes a style's numbering away
            return self._list_item(text, ppr, style, num_id, list_style)
        return Block("paragraph", text)

    def _list_item(self, text: str, ppr: Any, style: _StyleInfo, num_id: str | None,
                   list_style: re.Match[str] | None) -> Block:
        """Level from w:ilvl (else "List Bullet 2" is level 1); ordered from the level's number format, else
        from a "Number" style name."""
        ilvl = _int(_val(ppr, f"{qn('w:numPr')}/{qn('w:ilvl')}"))
        if ilvl is None:
            ilvl = style.ilvl
        if ilvl is None:
            ilvl = int(list_style.group(1)) - 1 if list_style and list_style.group(1) else 0
        fmt = self.numbering.format(num_id, ilvl) if num_id else None
        ordered = fmt not in _UNORDERED_FORMATS if fmt else "number" in style.name
        return Block("list_item", text, level=ilvl, ordered=ordered)


def _heading_level(style: _StyleInfo, direct_outline: int | None) -> int | None:
    """1-6 for a heading: a direct outline level, else a Heading n / Title style, else the style's outline level."""
    if direct_outline is not None:
        return min(direct_outline + 1, 6) if direct_outline < _BODY_TEXT_OUTLINE else None
    named = _HEADING_STYLE.match(style.name)
    if named:
        return min(int(named.group(1)), 6)
    if style.name == "title":
        return 1
    if style.outline is not None and style.outline < _BODY_TEXT_OUTLINE:
        return min(style.outline + 1, 6)
    return None


def _paragraph_text(p: Any) -> str:
    """A ``w:p``'s visible text on one line: tabs as spaces, soft line breaks as a space (none next to a CJK
    character)."""
    return collapse_whitespace(_raw_text(p))


def _raw_text(p: Any) -> str:
    """A ``w:p``'s runs (in hyperlinks, insertions, fields, content controls) joined, a soft line break as a
    newline; a superscript after a digit is written with "^" (10^9/L, not 109/L)."""
    parts: list[str] = []
    for run in p.xpath(_RUNS):
        text = run.text
        if text and parts and parts[-1][-1].isdigit() and run.xpath(_SUPERSCRIPT):
            parts.append("^")
        if text:
            parts.append(text)
    return "".join(parts)


def _table_rows(tbl: Any) -> list[Block]:
    """One table_row block per row with text: cells joined " | ", a merged cell once, empty cells kept empty."""
    rows = []
    for tr in tbl.xpath("./w:tr | ./w:sdt/w:sdtContent/w:tr"):
        cells = [_cell_text(tc) for tc in tr.xpath("./w:tc | ./w:sdt/w:sdtContent/w:tc")]
        if any(cells):
            rows.append(Block("table_row", " | ".join(cells)))
    return rows


def _cell_text(tc: Any) -> str:
    """A cell's lines (its paragraphs and their soft line breaks, nested tables' included) joined by "; "."""
    paragraphs = tc.xpath(".//w:p[not(ancestor::w:txbxContent)]")
    lines = (collapse_whitespace(line) for p in paragraphs for line in _raw_text(p).split("\n"))
    return "; ".join(line for line in lines if line)
