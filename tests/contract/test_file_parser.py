"""One contract for every ``FileParser`` (PDF, Word, HTML, Markdown, text), each on a real file of its format.

What the rest of the indexer relies on: one-line, non-empty, storable blocks of known kinds; pages only from a
paged format, in order and in range; a result that crosses a process boundary (the parse workers); and, on any
bad input, a ``FileError`` with a reason, never another exception.
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from app.stores.files import MEDIA_TYPES
from indexers.files.formats import SUFFIXES, all_parsers, parser_for
from indexers.files.parsed import FileError, FileParser, ParsedFile, ParseOptions
from testkit.office_fixtures import guideline_html, guideline_markdown, protocol_docx
from testkit.pdf_fixtures import Text, text_pdf

KINDS = {"heading", "paragraph", "list_item", "table_row"}
OPTIONS = ParseOptions(ocr=False)


def _pdf(folder: Path) -> Path:
    pages = [[Text(72, 720, "Heparin Infusion Protocol", size=18),
              Text(72, 690, "Start heparin at 18 units/kg/h after an 80 units/kg bolus.")],
             [Text(72, 720, "Monitoring", size=14), Text(72, 690, "Check the aPTT six hours after each change.")]]
    return text_pdf(folder / "protocol.pdf", pages, title="Heparin Infusion Protocol")


def _txt(folder: Path) -> Path:
    path = folder / "notes.txt"
    path.write_text("DOSING\n\nWarfarin is started at 5 mg daily.\n\n- check the INR weekly\n", encoding="utf-8")
    return path


MAKERS: dict[str, Callable[[Path], Path]] = {
    ".pdf": _pdf,
    ".docx": lambda folder: protocol_docx(folder).path,
    ".html": lambda folder: guideline_html(folder).path,
    ".md": lambda folder: guideline_markdown(folder).path,
    ".txt": _txt,
}
PARSERS = {type(p).__name__: p for p in all_parsers()}


def _sample(parser: FileParser, folder: Path) -> Path:
    suffix = next(s for s in parser.suffixes if s in MAKERS)
    return MAKERS[suffix](folder)


@pytest.fixture(params=sorted(PARSERS))
def parser(request: pytest.FixtureRequest) -> FileParser:
    return PARSERS[request.param]


def test_every_suffix_has_its_parser() -> None:
    assert set(SUFFIXES) == set(MEDIA_TYPES)  # what the upload API takes (app/ may not import the parsers)
    for suffix in SUFFIXES:
        assert suffix in parser_for(Path(f"x{suffix.upper()}")).suffixes
    with pytest.raises(FileError, match="unsupported file type .xlsx"):
        parser_for(Path("budget.xlsx"))


def test_blocks_are_one_line_storable_and_typed(parser: FileParser, tmp_path: Path) -> None:
    parsed = parser.parse(_sample(parser, tmp_path), OPTIONS)
    assert isinstance(parsed, ParsedFile) and parsed.blocks
    for block in parsed.blocks:
        assert block.kind in KINDS
        assert block.text and block.text == block.text.strip() and "\n" not in block.text and "\x00" not in block.text
        assert block.level >= (1 if block.kind == "heading" else 0)
    assert any(b.kind == "heading" for b in parsed.blocks)
    assert pickle.loads(pickle.dumps(parsed)) == parsed  # it crosses the parse workers' pipe


def test_pages_come_only_from_a_paged_format(parser: FileParser, tmp_path: Path) -> None:
    parsed = parser.parse(_sample(parser, tmp_path), OPTIONS)
    pages = [b.page for b in parsed.blocks]
    if parsed.page_count is None:
        assert pages == [None] * len(pages)
    else:
        assert all(p is not None and 1 <= p <= parsed.page_count for p in pages)
        assert pages == sorted(pages, key=lambda p: p or 0)


def test_an_empty_file_is_a_file_error(parser: FileParser, tmp_path: Path) -> None:
    path = tmp_path / f"empty{parser.suffixes[0]}"
    path.write_bytes(b"")
    with pytest.raises(FileError, match="empty file"):
        parser.parse(path, OPTIONS)


def test_damaged_input_gives_a_result_or_a_file_error(parser: FileParser, tmp_path: Path) -> None:
    good = _sample(parser, tmp_path).read_bytes()
    rng = random.Random(23)
    damaged = [good[: len(good) // 3], bytes(rng.randrange(256) for _ in range(4096))]
    for _ in range(6):
        data = bytearray(good)
        for _ in range(20):
            data[rng.randrange(len(data))] = rng.randrange(256)
        damaged.append(bytes(data))
    for i, data in enumerate(damaged):
        path = tmp_path / f"damaged{i}{parser.suffixes[0]}"
        path.write_bytes(data)
        try:
            parsed = parser.parse(path, OPTIONS)
        except FileError as exc:
            assert str(exc)
        else:
            assert all(b.text and "\n" not in b.text for b in parsed.blocks)
