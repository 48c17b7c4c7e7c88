"""The PDF parser on real PDFs printed by Chromium (a CDC guideline, an FDA label, a Chinese instruction sheet),
on scans of their pages (OCR), on small PDFs written with pdfium for one layout case each, and on bad files."""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexers.files import ocr
from indexers.files.parsed import Block, FileError, ParsedFile, ParseOptions
from indexers.files.pdf import PdfParser
from indexers.files.text_joining import is_cjk
from testkit.pdf_fixtures import (
    CHINESE_SENTENCES,
    FixturePdf,
    Text,
    chinese_instruction_pdf,
    guideline_pdf,
    label_pdf,
    normalise,
    ocr_recall,
    scanned_pdf,
    text_pdf,
)

PARSER = PdfParser()
NO_OCR = ParseOptions(ocr=False)


@pytest.fixture(scope="session")
def pdf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pdfs")


@pytest.fixture(scope="session")
def guideline(pdf_dir: Path) -> FixturePdf:
    return guideline_pdf(pdf_dir)


@pytest.fixture(scope="session")
def label(pdf_dir: Path) -> FixturePdf:
    return label_pdf(pdf_dir)


@pytest.fixture(scope="session")
def chinese(pdf_dir: Path) -> FixturePdf:
    return chinese_instruction_pdf(pdf_dir)


@pytest.fixture(scope="session")
def parsed(guideline: FixturePdf, label: FixturePdf, chinese: FixturePdf) -> dict[str, ParsedFile]:
    return {"guideline": PARSER.parse(guideline.path, NO_OCR), "label": PARSER.parse(label.path, NO_OCR),
            "chinese": PARSER.parse(chinese.path, NO_OCR)}


def _headings(result: ParsedFile) -> list[tuple[int, str]]:
    return [(b.level, b.text) for b in result.blocks if b.kind == "heading"]


def _running(result: ParsedFile) -> Iterator[Block]:
    return (b for b in result.blocks if b.kind in ("paragraph", "list_item"))


# --- the Chromium-printed fixtures -------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_title_pages_and_date(guideline: FixturePdf, parsed: dict[str, ParsedFile]) -> None:
    result = parsed["guideline"]
    assert result.title == guideline.title
    assert result.page_count == guideline.page_count >= 3
    assert result.skipped_pages == []
    assert result.published is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", result.published)


@pytest.mark.browser
@pytest.mark.slow
def test_guideline_headings_in_order(guideline: FixturePdf, parsed: dict[str, ParsedFile]) -> None:
    assert _headings(parsed["guideline"]) == [(1, guideline.title)] + [(2, s) for s in guideline.sections]


@pytest.mark.browser
@pytest.mark.slow
def test_label_headings_in_order(label: FixturePdf, parsed: dict[str, ParsedFile]) -> None:
    assert label.page_count >= 3
    assert _headings(parsed["label"]) == [(1, label.title)] + [(2, s) for s in label.sections]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("name", ["guideline", "label", "chinese"])
def test_every_block_is_on_its_page(name: str, request: pytest.FixtureRequest,
                                    parsed: dict[str, ParsedFile]) -> None:
    """Page membership against the fixture's independent per-page text (pypdf's; pdfium's plain text for the
    Chinese sheet): at least 95% of the paragraphs and list items are on the page the parser says (a paragraph
    running over a page end is two blocks)."""
    fixture: FixturePdf = request.getfixturevalue(name)
    blocks = list(_running(parsed[name]))
    assert blocks
    right = [b for b in blocks if b.page in fixture.pages_of(b.text)]
    assert len(right) >= 0.95 * len(blocks), [b for b in blocks if b not in right][:5]
    assert {b.page for b in parsed[name].blocks} == set(range(1, fixture.page_count + 1))


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("name", ["guideline", "label", "chinese"])
def test_known_sentences_on_their_pages(name: str, request: pytest.FixtureRequest,
                                        parsed: dict[str, ParsedFile]) -> None:
    fixture: FixturePdf = request.getfixturevalue(name)
    on_one_page = [(s, fixture.page_of(s)) for s in fixture.sentences if fixture.page_of(s) is not None]
    assert len(on_one_page) >= 3
    for sentence, page in on_one_page:
        holders = [b for b in parsed[name].blocks if normalise(sentence) in normalise(b.text)]
        assert [b.page for b in holders] == [page], sentence
        assert sentence in holders[0].text  # whole, with its spaces and hyphens


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("name", ["guideline", "label", "chinese"])
def test_running_headers_and_page_numbers_are_gone(name: str, request: pytest.FixtureRequest,
                                                   parsed: dict[str, ParsedFile]) -> None:
    fixture: FixturePdf = request.getfixturevalue(name)
    assert all(fixture.header in page for page in fixture.page_texts)  # they were there
    for block in parsed[name].blocks:
        assert normalise(fixture.header) not in normalise(block.text)
        assert not re.search(rf"\b\d+ / {fixture.page_count}\b", block.text), block


@pytest.mark.browser
@pytest.mark.slow
def test_line_end_hyphenation_is_undone(guideline: FixturePdf, label: FixturePdf,
                                        parsed: dict[str, ParsedFile]) -> None:
    text = " ".join(b.text for key in ("guideline", "label") for b in parsed[key].blocks)
    breaks = guideline.soft_hyphen_breaks() + label.soft_hyphen_breaks()
    assert breaks, "Chromium printed no hyphenated line end"
    for before, after in breaks:
        assert re.search(rf"\b{before}{after}", text), (before, after)
        assert f"{before}-{after}" not in text and f"{before}\u2010" not in text
    assert "HIV-1" in text and "FDA-approved" in text and "long-term" in text  # the words' own hyphens stay


@pytest.mark.browser
@pytest.mark.slow
def test_list_items(guideline: FixturePdf, parsed: dict[str, ParsedFile]) -> None:
    """The <ul> and <ol> items are list items without their bullet or number, numbered ones ``ordered``; an item
    running over a page end is two blocks."""
    items = [b for b in parsed["guideline"].blocks if b.kind == "list_item"]
    expected = {normalise(text): ordered for text, ordered in guideline.list_items}
    whole = [b for b in items if normalise(b.text) in expected]
    assert len(whole) >= 0.9 * len(expected)
    assert all(b.ordered == expected[normalise(b.text)] for b in whole)
    assert all(any(normalise(b.text) in text for text in expected) for b in items)
    assert not any(b.text.startswith(("•", "1.", "2.")) for b in items)


@pytest.mark.browser
@pytest.mark.slow
def test_table_rows(guideline: FixturePdf, parsed: dict[str, ParsedFile]) -> None:
    rows = [b.text for b in parsed["guideline"].blocks if b.kind == "table_row"]
    assert rows == list(guideline.table_rows)


@pytest.mark.browser
@pytest.mark.slow
def test_chinese_instruction(chinese: FixturePdf, parsed: dict[str, ParsedFile]) -> None:
    result = parsed["chinese"]
    assert result.title == chinese.title
    assert _headings(result) == [(1, chinese.title)] + [(2, s) for s in chinese.sections]
    assert (2, "【用法用量】") in _headings(result)
    text = "\n".join(b.text for b in result.blocks)
    for sentence in CHINESE_SENTENCES:
        assert sentence in text
    assert not [pair for pair in re.findall(r"(?=(\S) (\S))", text) if is_cjk(pair[0]) and is_cjk(pair[1])]
    items = [(b.text, b.ordered) for b in result.blocks if b.kind == "list_item"]
    assert items == list(chinese.list_items)


# --- scanned pages -------------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_scanned_guideline_page_is_read_by_ocr(guideline: FixturePdf, pdf_dir: Path) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    result = PARSER.parse(scanned_pdf(guideline.path, pdf_dir, page=1), ParseOptions(ocr=True))
    assert result.blocks and all(b.ocr and b.page == 1 and b.kind == "paragraph" for b in result.blocks)
    assert ocr_recall(guideline, 1, " ".join(b.text for b in result.blocks)) >= 0.9


@pytest.mark.browser
@pytest.mark.slow
def test_scanned_chinese_page_is_read_by_ocr(chinese: FixturePdf, pdf_dir: Path) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    result = PARSER.parse(scanned_pdf(chinese.path, pdf_dir, page=1), ParseOptions(ocr=True))
    assert result.blocks and all(b.ocr and b.page == 1 for b in result.blocks)
    text = " ".join(b.text for b in result.blocks)
    assert ocr_recall(chinese, 1, text) >= 0.9
    assert normalise("本品主要成份为华法林钠。") in normalise(text)
    assert any(unicodedata.normalize("NFKC", b.text).startswith("【警示语】") for b in result.blocks)


@pytest.mark.browser
@pytest.mark.slow
def test_scanned_page_without_ocr_is_reported(guideline: FixturePdf, pdf_dir: Path) -> None:
    result = PARSER.parse(scanned_pdf(guideline.path, pdf_dir, page=2), NO_OCR)
    assert result.blocks == []
    assert result.skipped_pages == [(1, "no text layer")]


def _image_pdf(path: Path) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (850, 1100), "white")
    ImageDraw.Draw(image).rectangle((100, 100, 700, 160), fill="black")
    image.save(path, "PDF", resolution=100)
    return path


def test_image_page_is_reported_when_ocr_is_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    result = PARSER.parse(_image_pdf(tmp_path / "scan.pdf"), ParseOptions(ocr=True))
    assert result.blocks == [] and result.skipped_pages == [(1, "no text layer")]


def test_blank_page_gives_nothing_and_is_not_reported(tmp_path: Path) -> None:
    result = PARSER.parse(text_pdf(tmp_path / "blank.pdf", [[], [Text(72, 700, "Second page text.")]]), NO_OCR)
    assert result.page_count == 2 and result.skipped_pages == []
    assert [(b.page, b.text) for b in result.blocks] == [(2, "Second page text.")]


# --- layout cases, on PDFs written with pdfium -------------------------------------------------------------------


def _blocks(tmp_path: Path, *pages: list[Text]) -> list[tuple[str, str]]:
    result = PARSER.parse(text_pdf(tmp_path / "case.pdf", pages), NO_OCR)
    return [(b.kind, b.text) for b in result.blocks]


def test_lines_join_undoing_line_end_hyphens_only(tmp_path: Path) -> None:
    assert _blocks(tmp_path, [
        Text(72, 700, "Long-term use of the treat-"),
        Text(72, 687, "ment is advised for COVID-"),
        Text(72, 674, "19 and for long-"),
        Text(72, 661, "term care."),
    ]) == [("paragraph", "Long-term use of the treatment is advised for COVID-19 and for long-term care.")]


def test_a_line_ending_in_a_space_joins_the_next(tmp_path: Path) -> None:
    assert _blocks(tmp_path, [Text(72, 700, "The line ends with a space "), Text(72, 687, "and goes on.")]) == [
        ("paragraph", "The line ends with a space and goes on.")]


def test_bold_line_is_a_heading_but_a_bold_word_is_not(tmp_path: Path) -> None:
    assert _blocks(tmp_path, [
        Text(72, 700, "Dosage and Administration", font="Helvetica-Bold"),
        Text(72, 680, "Take one tablet daily. A "),
        Text(184, 680, "bold", font="Helvetica-Bold"),
        Text(210, 680, "word stays in its paragraph."),
    ]) == [("heading", "Dosage and Administration"),
           ("paragraph", "Take one tablet daily. A bold word stays in its paragraph.")]


def test_heading_levels_by_size(tmp_path: Path) -> None:
    result = PARSER.parse(text_pdf(tmp_path / "sizes.pdf", [[
        Text(72, 720, "Guideline", size=24), Text(72, 690, "Treatment", size=16),
        Text(72, 670, "Body text of the section, long enough to be the body size of this page."),
        Text(72, 640, "Adults", font="Helvetica-Bold"), Text(72, 625, "More body text in the subsection."),
    ]]), NO_OCR)
    assert _headings(result) == [(1, "Guideline"), (2, "Treatment"), (3, "Adults")]


def test_list_items_and_a_wrapped_number(tmp_path: Path) -> None:
    assert _blocks(tmp_path, [
        Text(72, 700, "Patients should:"),
        Text(80, 684, "\u2022 take the tablet with"), Text(90, 671, "water"),
        Text(80, 658, "1. check the INR weekly"),
        Text(80, 645, "2) report bleeding"),
        Text(72, 620, "The dose is listed in Table"),
        Text(72, 607, "2. The table gives the doses."),
    ]) == [("paragraph", "Patients should:"), ("list_item", "take the tablet with water"),
           ("list_item", "check the INR weekly"), ("list_item", "report bleeding"),
           ("paragraph", "The dose is listed in Table 2. The table gives the doses.")]


def test_table_row_cells_are_separated(tmp_path: Path) -> None:
    assert _blocks(tmp_path, [
        Text(72, 700, "Drug"), Text(250, 700, "Dose"),
        Text(72, 686, "warfarin"), Text(250, 686, "5 mg"),
    ]) == [("table_row", "Drug | Dose"), ("table_row", "warfarin | 5 mg")]


def test_repeated_headers_and_page_numbers_are_removed(tmp_path: Path) -> None:
    body = ("Warfarin is an anticoagulant.", "Monitor the INR every week.", "Report any bleeding.")
    pages = [[Text(72, 760, "Clinical Guideline 2024", size=8), Text(72, 700, text),
              Text(300, 30, f"Page {n} of 3", size=8)] for n, text in enumerate(body, 1)]
    result = PARSER.parse(text_pdf(tmp_path / "headers.pdf", pages), NO_OCR)
    assert [(b.page, b.text) for b in result.blocks] == list(enumerate(body, 1))


def test_paragraph_running_over_a_page_end_is_one_block_per_page(tmp_path: Path) -> None:
    result = PARSER.parse(text_pdf(tmp_path / "run.pdf", [
        [Text(72, 100, "The paragraph begins on the first"), Text(72, 87, "page and goes on")],
        [Text(72, 700, "on the second page."), Text(72, 670, "A new paragraph.")],
    ]), NO_OCR)
    assert [(b.page, b.text) for b in result.blocks] == [
        (1, "The paragraph begins on the first page and goes on"), (2, "on the second page."),
        (2, "A new paragraph.")]


@pytest.mark.parametrize(("title", "expected"), [
    ("Warfarin: prescribing information", "Warfarin: prescribing information"),
    ("Microsoft Word - label_v3.doc", None), ("label_v3.pdf", None), ("", None),
])
def test_title_from_metadata(tmp_path: Path, title: str, expected: str | None) -> None:
    path = text_pdf(tmp_path / "titled.pdf", [[Text(72, 700, "Text.")]], title=title)
    assert PARSER.parse(path, NO_OCR).title == expected


# --- files that are no readable PDF ---------------------------------------------------------------------------


def _error(path: Path) -> str:
    with pytest.raises(FileError) as caught:
        PARSER.parse(path, NO_OCR)
    return str(caught.value)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.pdf").write_bytes(b"")
    assert _error(tmp_path / "empty.pdf") == "empty file"


def test_random_bytes(tmp_path: Path) -> None:
    (tmp_path / "random.pdf").write_bytes(bytes(range(256)) * 40)
    assert _error(tmp_path / "random.pdf").startswith("not a readable PDF")


def test_truncated_pdf(tmp_path: Path) -> None:
    whole = text_pdf(tmp_path / "whole.pdf", [[Text(72, 700, "Some text.")]]).read_bytes()
    (tmp_path / "cut.pdf").write_bytes(whole[: len(whole) // 3])
    assert _error(tmp_path / "cut.pdf").startswith("not a readable PDF")


def test_encrypted_pdf(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(text_pdf(tmp_path / "plain.pdf", [[Text(72, 700, "Secret.")]])))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    writer.write(tmp_path / "locked.pdf")
    assert _error(tmp_path / "locked.pdf") == "encrypted PDF (password required)"


def test_damaged_pdfs_give_a_parse_or_a_file_error(tmp_path: Path) -> None:
    """Bytes overwritten at random (seeded) in a PDF with text on two pages: never any other exception."""
    whole = text_pdf(tmp_path / "whole.pdf", [[Text(72, 700, "First page."), Text(72, 680, "\u2022 An item")],
                                             [Text(72, 700, "Second page.")]]).read_bytes()
    rng = random.Random(20)
    outcomes: Counter[str] = Counter()
    for n in range(60):
        data = bytearray(whole)
        for _ in range(rng.randint(1, 30)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        (tmp_path / f"damaged{n}.pdf").write_bytes(bytes(data))
        try:
            PARSER.parse(tmp_path / f"damaged{n}.pdf", NO_OCR)
            outcomes["parsed"] += 1
        except FileError:
            outcomes["file error"] += 1
    assert outcomes["parsed"] and outcomes["file error"], outcomes


def test_missing_file(tmp_path: Path) -> None:
    assert _error(tmp_path / "absent.pdf").startswith("cannot read the file")
