"""The Word, HTML, Markdown and plain-text parsers on real guideline and label texts (testkit/office_fixtures.py):
every block in order, headings, lists, tables, verbatim sentences, furniture left out, Chinese without stray
spaces, and a FileError with a usable reason for files they cannot read."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from indexers.files.docx import DocxParser
from indexers.files.file_metadata import iso_date
from indexers.files.html import HtmlParser
from indexers.files.markdown import MarkdownParser
from indexers.files.parsed import Block, FileError, FileParser, ParsedFile, ParseOptions
from indexers.files.plaintext import TextParser
from testkit.office_fixtures import OfficeFixture, chinese_html, guideline_html, guideline_markdown, protocol_docx

OPTIONS = ParseOptions()
CJK_GAP = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]\s+[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
BUILDERS: dict[str, tuple[Callable[[Path], OfficeFixture], FileParser]] = {
    "docx": (protocol_docx, DocxParser()),
    "html": (guideline_html, HtmlParser()),
    "chinese_html": (chinese_html, HtmlParser()),
    "markdown": (guideline_markdown, MarkdownParser()),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[OfficeFixture, ParsedFile]]:
    out = tmp_path_factory.mktemp("office")
    results = {}
    for name, (build, parser) in BUILDERS.items():
        fixture = build(out)
        results[name] = (fixture, parser.parse(fixture.path, OPTIONS))
    return results


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# --- every format on its real-text fixture ---------------------------------------------------------------------

@pytest.mark.parametrize("name", BUILDERS)
def test_every_block_in_order(built: dict[str, tuple[OfficeFixture, ParsedFile]], name: str) -> None:
    fixture, parsed = built[name]
    assert parsed.blocks == list(fixture.blocks)


@pytest.mark.parametrize("name", BUILDERS)
def test_metadata(built: dict[str, tuple[OfficeFixture, ParsedFile]], name: str) -> None:
    fixture, parsed = built[name]
    assert (parsed.title, parsed.published, parsed.language) == (fixture.title, fixture.published, fixture.language)
    assert parsed.page_count is None and parsed.skipped_pages == []
    assert all(block.page is None and not block.ocr for block in parsed.blocks)


@pytest.mark.parametrize("name", BUILDERS)
def test_source_sentences_come_out_verbatim(built: dict[str, tuple[OfficeFixture, ParsedFile]], name: str) -> None:
    fixture, parsed = built[name]
    for sentence in fixture.sentences:
        assert any(sentence in block.text for block in parsed.blocks), sentence


@pytest.mark.parametrize("name", BUILDERS)
def test_blocks_are_single_clean_lines(built: dict[str, tuple[OfficeFixture, ParsedFile]], name: str) -> None:
    _, parsed = built[name]
    for block in parsed.blocks:
        assert block.text and "\n" not in block.text and "  " not in block.text
        assert block.text == block.text.strip() or block.kind == "table_row"


def test_docx_headings_from_title_and_heading_styles(built: dict[str, tuple[OfficeFixture, ParsedFile]]) -> None:
    fixture, parsed = built["docx"]
    headings = [(b.level, b.text) for b in parsed.blocks if b.kind == "heading"]
    assert headings == fixture.headings
    assert headings[:4] == [
        (1, "Conservative care options for occupational carpal tunnel syndrome"),
        (1, "Major Recommendations"),
        (2, "Practical Application Points"),
        (3, "Work-Related Carpal Tunnel Syndrome"),
    ]


def test_docx_lists_and_table(built: dict[str, tuple[OfficeFixture, ParsedFile]]) -> None:
    fixture, parsed = built["docx"]
    items = [(b.level, b.ordered, b.text) for b in parsed.blocks if b.kind == "list_item"]
    assert items == fixture.list_items
    assert (0, False, "Work place exposure to known CTS inducing activities") in items
    assert (0, True, "Use of hand diagrams") in items
    rows = [b.text for b in parsed.blocks if b.kind == "table_row"]
    assert rows == fixture.table_rows
    assert rows[0] == "1 to 2 Weeks | 3 to 6 Weeks | 7 to 8 Weeks"
    assert rows[2].startswith("Consider wrist mobilization, myofascial work, stretching/exercise.; Consider work "
                              "activity, flow, site modification. | Inadequate improvement: continue splint use")


def test_docx_chinese_soft_break_leaves_no_space(built: dict[str, tuple[OfficeFixture, ParsedFile]]) -> None:
    _, parsed = built["docx"]
    assert parsed.blocks[-1] == Block("paragraph", "通用名称：华法林钠片")


def test_html_outline_lists_and_table(built: dict[str, tuple[OfficeFixture, ParsedFile]]) -> None:
    fixture, parsed = built["html"]
    assert [(b.level, b.text) for b in parsed.blocks if b.kind == "heading"][:5] == [
        (1, "CDC guideline for prescribing opioids for chronic pain — United States, 2016"),
        (2, "Major Recommendations"),
        (3, "Determining When to Initiate or Continue Opioids for Chronic Pain"),
        (3, "Definitions"),
        (4, "Recommendation Category"),
    ]
    items = [(b.level, b.ordered, b.text) for b in parsed.blocks if b.kind == "list_item"]
    assert items == fixture.list_items
    first = items.index((0, True, "Determining when to initiate or continue opioids for chronic pain"))
    assert items[first + 1] == (1, False, "Nonpharmacologic therapy")
    assert "Avoiding dosages ≥90 morphine milligram equivalents (MME)/day" in [text for _, _, text in items]
    assert [b.text for b in parsed.blocks if b.kind == "table_row"][0] == \
        "Type 1 evidence | Randomized clinical trials or overwhelming evidence from observational studies."


def test_html_br_and_wrapped_source_lines_become_single_spaces(
        built: dict[str, tuple[OfficeFixture, ParsedFile]]) -> None:
    _, parsed = built["html"]
    assert any("are under cancer surveillance only. The guideline is not intended for patients undergoing active "
               "cancer treatment" in b.text for b in parsed.blocks)


@pytest.mark.parametrize("name", ["html", "chinese_html"])
def test_html_furniture_never_appears(built: dict[str, tuple[OfficeFixture, ParsedFile]], name: str) -> None:
    fixture, parsed = built[name]
    assert fixture.boilerplate
    for block in parsed.blocks:
        for furniture in fixture.boilerplate:
            assert furniture not in block.text, (furniture, block)


def test_html_title_is_the_title_element_as_is(built: dict[str, tuple[OfficeFixture, ParsedFile]]) -> None:
    _, parsed = built["html"]
    assert parsed.title == "CDC guideline for prescribing opioids for chronic pain — United States, 2016 | " \
                           "Example Hospital Intranet"


def test_gbk_page_decodes_from_its_meta_charset(built: dict[str, tuple[OfficeFixture, ParsedFile]]) -> None:
    fixture, parsed = built["chinese_html"]
    with pytest.raises(UnicodeDecodeError):
        fixture.path.read_bytes().decode("utf-8")
    assert parsed.title == "华法林钠片说明书要点"
    assert parsed.blocks[0] == Block("heading", "华法林钠片", level=1)


@pytest.mark.parametrize("name", ["chinese_html", "docx"])
def test_chinese_text_has_no_space_between_cjk_characters(
        built: dict[str, tuple[OfficeFixture, ParsedFile]], name: str) -> None:
    _, parsed = built[name]
    chinese = [b.text for b in parsed.blocks if re.search(r"[\u4e00-\u9fff]", b.text)]
    assert chinese
    assert not [text for text in chinese if CJK_GAP.search(text)]


def test_markdown_front_matter_lists_table_and_code(built: dict[str, tuple[OfficeFixture, ParsedFile]]) -> None:
    fixture, parsed = built["markdown"]
    assert parsed.title == "Work-related carpal tunnel syndrome diagnosis and treatment guideline"
    assert parsed.published == "2014-01"
    items = [(b.level, b.ordered, b.text) for b in parsed.blocks if b.kind == "list_item"]
    assert items == fixture.list_items
    electro = items.index((0, True, "Electrodiagnostic testing"))
    assert items[electro + 1] == (1, False, "Nerve conduction velocity (NCV)")
    assert any("Title 51 Revised Code of Washington (RCW)" in text for _, _, text in items)  # link text only
    rows = [b.text for b in parsed.blocks if b.kind == "table_row"]
    assert rows[0] == "SURGICAL PROCEDURE | CONSERVATIVE CARE | CLINICAL FINDINGS"
    assert Block("paragraph", "ADM, abductor digiti minimi; APB, abductor pollicis brevis; EDS, electrodiagnostic "
                 "studies; NCV, nerve conduction velocity study; WNL, within normal limits.") in parsed.blocks


# --- Word details ----------------------------------------------------------------------------------------------

def _save(document: docx.document.Document, tmp_path: Path, name: str = "made.docx") -> Path:
    path = tmp_path / name
    document.save(str(path))
    return path


def test_docx_outline_level_style_numbering_formats_and_merged_cells(tmp_path: Path) -> None:
    document = docx.Document()
    styles = document.styles.element
    styles.append(parse_xml(  # a localized heading style: only its outline level says it is a heading
        f'<w:style {nsdecls("w")} w:type="paragraph" w:styleId="Kop2"><w:name w:val="Kop 2 eigen"/>'
        '<w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>'))
    numbering = document.part.numbering_part.element  # a two-level list: 1. then bullets
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="40"><w:lvl w:ilvl="0"><w:numFmt w:val="decimal"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:numFmt w:val="bullet"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="40"><w:abstractNumId w:val="40"/></w:num>'))
    document.add_paragraph("Dosering", style="Kop 2 eigen")
    for text, style, ilvl, num_id in [("Numbered without a list style", None, 0, 40),
                                      ("Bullet under it, in a Number style", "List Number", 1, 40),
                                      ("Not a list any more", "List Bullet", 0, 0)]:
        document.add_paragraph(text, style=style)._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>'))
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Merged header"
    table.cell(0, 2).text = "Dose"
    table.cell(1, 1).text = "5 mg"
    parsed = DocxParser().parse(_save(document, tmp_path), OPTIONS)
    assert parsed.blocks == [
        Block("heading", "Dosering", level=2),
        Block("list_item", "Numbered without a list style", ordered=True),
        Block("list_item", "Bullet under it, in a Number style", level=1, ordered=False),
        Block("paragraph", "Not a list any more"),
        Block("table_row", "Merged header | Dose"),
        Block("table_row", " | 5 mg | "),
    ]


def test_docx_tracked_insertions_hyperlinks_and_tabs_read_deleted_text_not(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Take")
    paragraph._p.append(parse_xml(f'<w:ins {nsdecls("w")} w:id="1" w:author="a"><w:r><w:t xml:space="preserve"> '
                                  'two</w:t></w:r></w:ins>'))
    paragraph._p.append(parse_xml(f'<w:del {nsdecls("w")} w:id="2" w:author="a"><w:r><w:delText> three'
                                  '</w:delText></w:r></w:del>'))
    paragraph._p.append(parse_xml(f'<w:hyperlink {nsdecls("w")}><w:r><w:tab/><w:t>tablets</w:t></w:r>'
                                  '</w:hyperlink>'))
    parsed = DocxParser().parse(_save(document, tmp_path), OPTIONS)
    assert parsed.blocks == [Block("paragraph", "Take two tablets")]


def test_docx_superscript_after_a_digit_is_a_power(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Platelets below 50 × 10")
    paragraph.add_run("9").font.superscript = True
    paragraph.add_run("/L; see note")
    paragraph.add_run("1").font.superscript = True
    parsed = DocxParser().parse(_save(document, tmp_path), OPTIONS)
    assert parsed.blocks == [Block("paragraph", "Platelets below 50 × 10^9/L; see note1")]


def _rewritten(source: Path, edit: Callable[[str, bytes], bytes | None]) -> bytes:
    """The .docx at ``source`` with each part passed through ``edit(name, data)`` (None drops the part)."""
    out = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = edit(item.filename, zin.read(item))
            if data is not None:
                zout.writestr(item, data)
    return out.getvalue()


def test_docx_without_core_properties_has_no_invented_title(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Text")

    def drop_core(name: str, data: bytes) -> bytes | None:
        if name == "_rels/.rels":
            return re.sub(rb"<Relationship [^>]*core-properties[^>]*/>", b"", data)
        return None if name == "docProps/core.xml" else data

    stripped = _rewritten(_save(document, tmp_path, "with_core.docx"), drop_core)
    parsed = DocxParser().parse(write(tmp_path, "no_core.docx", stripped), OPTIONS)
    assert (parsed.title, parsed.published, parsed.language) == (None, None, None)
    assert parsed.blocks == [Block("paragraph", "Text")]


def test_docx_empty_created_date_is_no_date(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Text")

    def empty_created(name: str, data: bytes) -> bytes:
        if name != "docProps/core.xml":
            return data
        return re.sub(rb"<dcterms:created([^>]*)>[^<]*</dcterms:created>", rb"<dcterms:created\1/>", data)

    parsed = DocxParser().parse(write(tmp_path, "x.docx", _rewritten(_save(document, tmp_path), empty_created)),
                                OPTIONS)
    assert parsed.published is None and parsed.blocks == [Block("paragraph", "Text")]


# --- HTML details ----------------------------------------------------------------------------------------------

def test_html_reads_only_main_and_keeps_an_articles_own_header(tmp_path: Path) -> None:
    page = """<html lang="en-GB"><body><div class="sidebar"><p>Outside main</p></div>
    <div role="main"><article><header><h1>Warfarin</h1></header><p>Monitor INR.</p>
    <table><tr><td><h2>Layout</h2><p>Inside a layout table</p></td></tr></table></article></div></body></html>"""
    parsed = HtmlParser().parse(write(tmp_path, "main.html", page), OPTIONS)
    assert parsed.blocks == [Block("heading", "Warfarin", level=1), Block("paragraph", "Monitor INR."),
                             Block("heading", "Layout", level=2), Block("paragraph", "Inside a layout table")]
    assert parsed.language == "en" and parsed.title is None


def test_html_superscript_after_a_digit_is_a_power(tmp_path: Path) -> None:
    page = "<p>Platelets below 50 × 10<sup>9</sup>/L; see note<sup>1</sup>.</p>"
    parsed = HtmlParser().parse(write(tmp_path, "sup.html", page), OPTIONS)
    assert parsed.blocks == [Block("paragraph", "Platelets below 50 × 10^9/L; see note1.")]


def test_html_informed_consent_is_content_not_a_cookie_notice(tmp_path: Path) -> None:
    page = """<body><div id="gdpr-banner">Accept cookies</div><section id="informed-consent" class="consent">
    <h2>Informed consent</h2><p>Obtain written consent before the procedure.</p></section></body>"""
    parsed = HtmlParser().parse(write(tmp_path, "consent.html", page), OPTIONS)
    assert parsed.blocks == [Block("heading", "Informed consent", level=2),
                             Block("paragraph", "Obtain written consent before the procedure.")]


def test_html_utf8_bom_and_undeclared_bytes(tmp_path: Path) -> None:
    bom = HtmlParser().parse(write(tmp_path, "bom.html", "<p>华法林</p>".encode("utf-8-sig")), OPTIONS)
    assert bom.blocks == [Block("paragraph", "华法林")]
    broken = HtmlParser().parse(write(tmp_path, "latin.html", b"<p>caf\xe9 au lait</p>"), OPTIONS)
    assert broken.blocks == [Block("paragraph", "caf\ufffd au lait")]


@pytest.mark.parametrize(("value", "expected"), [
    ("2016-03-18T08:00:00Z", "2016-03-18"), ("2016/03/18", "2016-03-18"), ("2014-01", "2014-01"),
    ("2014", "2014"), ("2014-13", None), ("March 2016", None), ("", None), (None, None),
])
def test_iso_date(value: str | None, expected: str | None) -> None:
    assert iso_date(value) == expected


# --- Markdown details ------------------------------------------------------------------------------------------

def test_markdown_soft_breaks_and_no_front_matter(tmp_path: Path) -> None:
    text = "华法林钠可引起\n严重出血。\n\nMonitor the INR\nweekly.\n\n> Quoted *advice*.\n"
    parsed = MarkdownParser().parse(write(tmp_path, "plain.md", text), OPTIONS)
    assert parsed.blocks == [Block("paragraph", "华法林钠可引起严重出血。"),
                             Block("paragraph", "Monitor the INR weekly."), Block("paragraph", "Quoted advice.")]
    assert (parsed.title, parsed.published) == (None, None)


# --- plain text ------------------------------------------------------------------------------------------------

WARFARIN_TXT = """WARNINGS AND PRECAUTIONS
Warfarin sodium can cause major or fatal bleed-
ing. Bleeding is more likely to occur within the first month.

Instruct patients to:
1. Strictly adhere to the prescribed
   dosage schedule.
2. Obtain prothrombin time tests
   - every 1 to 4 weeks
3. Avoid any activity or sport that may result in traumatic injury.

【用法用量】
口服。所有接受治疗的患者均应
定期监测INR。
• 出血
"""


def test_text_headings_lists_and_joined_lines(tmp_path: Path) -> None:
    parsed = TextParser().parse(write(tmp_path, "warfarin.txt", WARFARIN_TXT), OPTIONS)
    assert parsed.blocks == [
        Block("heading", "WARNINGS AND PRECAUTIONS", level=2),
        Block("paragraph", "Warfarin sodium can cause major or fatal bleeding. Bleeding is more likely to occur "
                           "within the first month."),
        Block("paragraph", "Instruct patients to:"),
        Block("list_item", "Strictly adhere to the prescribed dosage schedule.", ordered=True),
        Block("list_item", "Obtain prothrombin time tests", ordered=True),
        Block("list_item", "every 1 to 4 weeks", level=1),
        Block("list_item", "Avoid any activity or sport that may result in traumatic injury.", ordered=True),
        Block("heading", "用法用量", level=2),
        Block("paragraph", "口服。所有接受治疗的患者均应定期监测INR。"),
        Block("list_item", "出血"),
    ]
    assert parsed.title is None and parsed.page_count is None


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-16", "utf-8-sig"])
def test_text_decodes_chinese_encodings(tmp_path: Path, encoding: str) -> None:
    text = "华法林钠可引起严重或致命的出血。\r\n"
    parsed = TextParser().parse(write(tmp_path, "zh.txt", text.encode(encoding)), OPTIONS)
    assert parsed.blocks == [Block("paragraph", "华法林钠可引起严重或致命的出血。")]


def test_text_neither_utf8_nor_gb18030_is_read_with_replacement(tmp_path: Path) -> None:
    parsed = TextParser().parse(write(tmp_path, "latin.txt", b"caf\xe9 \xff"), OPTIONS)
    assert parsed.blocks == [Block("paragraph", "caf\ufffd \ufffd")]


def test_caps_prose_over_several_lines_is_not_a_heading(tmp_path: Path) -> None:
    parsed = TextParser().parse(write(tmp_path, "caps.txt", "KEEP OUT OF REACH\nOF CHILDREN\n\nNDC 65162-761-10\n"),
                                OPTIONS)
    assert parsed.blocks == [Block("paragraph", "KEEP OUT OF REACH OF CHILDREN"),
                             Block("paragraph", "NDC 65162-761-10")]


# --- files they cannot read ------------------------------------------------------------------------------------

PARSERS = [(DocxParser(), ".docx"), (HtmlParser(), ".html"), (MarkdownParser(), ".md"), (TextParser(), ".txt")]


@pytest.mark.parametrize(("parser", "suffix"), PARSERS)
def test_zero_byte_file(tmp_path: Path, parser: FileParser, suffix: str) -> None:
    with pytest.raises(FileError, match="^empty file$"):
        parser.parse(write(tmp_path, f"empty{suffix}", b""), OPTIONS)


@pytest.mark.parametrize(("parser", "suffix"), PARSERS)
def test_missing_file(tmp_path: Path, parser: FileParser, suffix: str) -> None:
    with pytest.raises(FileError, match="cannot read the file"):
        parser.parse(tmp_path / f"missing{suffix}", OPTIONS)


@pytest.mark.parametrize(("parser", "suffix"), PARSERS)
def test_whitespace_only_file_has_no_text(tmp_path: Path, parser: FileParser, suffix: str) -> None:
    data = b" \n\t\n" if suffix != ".docx" else _blank_docx()
    with pytest.raises(FileError, match="^no text found$"):
        parser.parse(write(tmp_path, f"blank{suffix}", data), OPTIONS)


def _blank_docx() -> bytes:
    out = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("   ")
    document.save(out)
    return out.getvalue()


def test_random_bytes_named_docx(tmp_path: Path) -> None:
    noise = bytes((i * 7919 + 13) % 256 for i in range(4096))
    with pytest.raises(FileError, match="^not a readable Word file: "):
        DocxParser().parse(write(tmp_path, "noise.docx", noise), OPTIONS)


def test_truncated_docx(tmp_path: Path) -> None:
    whole = _blank_docx()
    with pytest.raises(FileError, match="^not a readable Word file: "):
        DocxParser().parse(write(tmp_path, "cut.docx", whole[: len(whole) // 2]), OPTIONS)


def test_zip_that_is_not_a_word_file(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "not a document")
    with pytest.raises(FileError, match="^not a readable Word file: "):
        DocxParser().parse(write(tmp_path, "notes.docx", out.getvalue()), OPTIONS)


def test_ole2_file_is_encrypted_or_legacy_doc(tmp_path: Path) -> None:
    ole2 = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)
    with pytest.raises(FileError, match=r"^encrypted or legacy \.doc Word file; save it as \.docx$"):
        DocxParser().parse(write(tmp_path, "locked.docx", ole2), OPTIONS)


def test_html_nested_hundreds_deep_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="^HTML nested too deeply to read$"):
        HtmlParser().parse(write(tmp_path, "deep.html", "<div>" * 2000 + "text"), OPTIONS)


def test_html_with_only_script_and_furniture_has_no_text(tmp_path: Path) -> None:
    page = "<html><head><title>Portal</title><script>var a = 1;</script></head><body><nav>Home</nav></body></html>"
    with pytest.raises(FileError, match="^no text found$"):
        HtmlParser().parse(write(tmp_path, "script.html", page), OPTIONS)
