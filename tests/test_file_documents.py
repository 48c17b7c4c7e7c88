"""Parsed blocks -> Document (indexers/files/document.py): title, sections, lists, tables and exact page spans."""

from __future__ import annotations

import pytest

from app.documents import parse_document
from app.model import Page, page_label, pages_within
from app.stores.manifest import decode_document, encode_document
from indexers.chunking import ChunkingConfig, chunk_document
from indexers.files.document import FileIdentity, choose_title, clean_text, to_document
from indexers.files.parsed import Block, ParsedFile

ID = FileIdentity("hospital/guideline.pdf", "guideline.pdf", "guideline")


def _paged() -> ParsedFile:
    return ParsedFile(
        blocks=[
            Block("heading", "Perioperative Anticoagulation", level=1, page=1),
            Block("paragraph", "Warfarin is stopped five days before surgery.", page=1),
            Block("heading", "Bridging", level=2, page=1),
            Block("paragraph", "Bridging is reserved for high thromboembolic risk.", page=1),
            Block("list_item", "mechanical mitral valve", page=2),
            Block("list_item", "recent stroke", level=1, page=2),
            Block("heading", "Doses", level=2, page=2),
            Block("table_row", "Drug | Dose", page=2),
            Block("table_row", "Enoxaparin | 1 mg/kg twice daily", page=3),
            Block("paragraph", "Resume warfarin 12 to 24 hours after surgery.", page=3, ocr=True),
        ],
        title=None, page_count=3,
    )


def test_title_from_the_first_heading_which_is_then_no_section() -> None:
    doc = to_document(_paged(), ID)
    assert doc.title == "Perioperative Anticoagulation"
    assert [s.heading for s in doc.sections] == ["", "Bridging", "Doses"]
    assert doc.section_text(doc.sections[0]) == "Warfarin is stopped five days before surgery."


def test_heading_path_lists_and_tables_read_as_text() -> None:
    parsed = _paged()
    parsed.blocks.insert(4, Block("heading", "Who", level=3, page=1))
    doc = to_document(parsed, ID)
    assert [s.heading for s in doc.sections] == ["", "Bridging", "Bridging — Who", "Doses"]
    assert doc.section_text(doc.sections[1]) == "Bridging is reserved for high thromboembolic risk."
    assert doc.section_text(doc.sections[2]) == "- mechanical mitral valve\n  - recent stroke"
    assert doc.section_text(doc.sections[3]) == (
        "Drug | Dose\nEnoxaparin | 1 mg/kg twice daily\n\nResume warfarin 12 to 24 hours after surgery.")


def test_numbered_lists_count_per_list_and_level() -> None:
    blocks = [Block("paragraph", "Steps:"), Block("list_item", "a", ordered=True),
              Block("list_item", "b", ordered=True), Block("list_item", "b1", level=1, ordered=True),
              Block("paragraph", "Then:"), Block("list_item", "c", ordered=True)]
    doc = to_document(ParsedFile(blocks, title="Protocol"), ID)
    assert doc.text == "Steps:\n\n1. a\n2. b\n  1. b1\n\nThen:\n\n1. c"


def test_page_spans_are_exact_and_survive_storage() -> None:
    doc = to_document(_paged(), ID)
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert doc.text[doc.pages[0].start:doc.pages[0].end].startswith("Warfarin is stopped")
    assert doc.text[doc.pages[1].start:doc.pages[1].end].endswith("Drug | Dose")
    assert doc.text[doc.pages[2].start:doc.pages[2].end] == (
        "Enoxaparin | 1 mg/kg twice daily\n\nResume warfarin 12 to 24 hours after surgery.")
    assert doc.pages[2].ocr and not doc.pages[0].ocr
    start = doc.text.index("recent stroke")
    assert page_label(pages_within(doc.pages, start, start + 5)) == "p. 2"
    assert page_label(pages_within(doc.pages, start, doc.text.index("Enoxaparin") + 3)) == "pp. 2-3"
    assert decode_document(encode_document(doc)) == doc
    again = parse_document(doc.to_json() | {"id": doc.id})
    assert again.pages == doc.pages and again.version == doc.version


def test_chunks_carry_the_pages_they_lie_on() -> None:
    doc = to_document(_paged(), ID)
    for chunk in chunk_document(doc, ChunkingConfig(max_tokens=12, min_tokens=4, overlap_tokens=0)):
        assert chunk.pages == pages_within(doc.pages, chunk.start, chunk.end)
        assert chunk.pages, chunk.text
        for page in chunk.pages:
            assert page.start < chunk.end and chunk.start < page.end


def test_unpaged_documents_keep_their_version() -> None:
    plain = parse_document({"id": "x", "text": "Aspirin 81 mg daily."})
    assert plain.pages == () and "pages" not in plain.to_json()
    assert plain.version == parse_document({"id": "x", "text": "Aspirin 81 mg daily."}).version


def test_title_choice() -> None:
    blocks = [Block("heading", "Warfarin Sodium Tablets", level=1), Block("paragraph", "Text.")]
    assert choose_title(ParsedFile(blocks, title="Microsoft Word - wf.doc"), "x.docx") == ("Warfarin Sodium Tablets", 0)
    assert choose_title(ParsedFile(blocks, title="Warfarin sodium tablets"), "x.docx") == ("Warfarin sodium tablets", 0)
    assert choose_title(ParsedFile(blocks, title="Coumadin label"), "x.docx") == ("Coumadin label", None)
    intranet = ParsedFile(blocks, title="Warfarin Sodium Tablets | Example Hospital Intranet")
    assert choose_title(intranet, "x.html") == ("Warfarin Sodium Tablets", 0)
    assert choose_title(ParsedFile([Block("paragraph", "Text.")]), "dir/renal_dosing-2024.pdf") == (
        "renal dosing 2024", None)


def test_unstorable_characters_are_cleaned_and_empty_files_refused() -> None:
    assert clean_text("a\x00b\ud800c\x07 d") == "a b c d"
    with pytest.raises(ValueError, match="no text"):
        to_document(ParsedFile([Block("paragraph", " \x00 ")]), ID)


@pytest.mark.parametrize("pages, field", [
    ([{"page": 1, "start": 0, "end": 99}], "pages[0]"),
    ([{"page": 2, "start": 0, "end": 5}, {"page": 1, "start": 6, "end": 9}], "pages[1]"),
    ([{"page": "1", "start": 0, "end": 5}], "pages[0].page"),
    ({"page": 1}, "pages"),
])
def test_generic_format_pages_are_checked(pages: object, field: str) -> None:
    from app.documents import DocumentError

    with pytest.raises(DocumentError) as caught:
        parse_document({"id": "x", "text": "Aspirin 81 mg daily.", "pages": pages})
    assert caught.value.field == field


def test_page_json_forms() -> None:
    assert Page.from_json({"page": 3, "start": 1, "end": 9, "ocr": True}) == Page(3, 1, 9, True)
    assert Page.from_json([3, 1, 9, False]) == Page(3, 1, 9, False)
