"""No input crashes a command or answers a 5xx: lone surrogates, NUL characters, bytes that are no UTF-8,
JSON nested thousands deep, impossible dates, wrong JSON types and ids given twice are each reported with their
file and line (command line, exit 2, the rest indexed) or as a 4xx naming the field (REST).

Property-based (Hypothesis): arbitrary bytes and arbitrary JSON values through the JSONL reader, the document
parser and the batch-query reader: no exception escapes, every rejection names a line and a reason."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli.wiring import serving_indexer
from app.config import Settings
from app.documents import DocumentError, normalise_date, parse_document
from app.main import create_app
from app.model import Document
from app.runtime import Runtime
from app.text.validity import MAX_DEPTH, check_value, text_problem
from indexers.sources.base import Rejected
from indexers.sources.jsonl import LineError, parse_line, read_jsonl

from .conftest import KNOWLEDGE

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"id": "ward-good-1", "title": "Warfarin ward protocol", "source_type": "guideline",
        "sections": [{"heading": "Dosing", "text": "Warfarin dosing on the ward follows the INR."}]}
DEEP = b"[" * 100_000 + b"]" * 100_000


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode("utf-8")  # ensure_ascii: a lone surrogate travels as its \ud800 escape


# -- the document parser and the line reader (fast) -------------------------------------------------------------
@pytest.mark.parametrize(("obj", "field"), [
    ({**GOOD, "title": "x \ud800"}, "title"),
    ({**GOOD, "sections": [{"heading": "Dosing", "text": "dose \udfff here"}]}, "sections[0].text"),
    ({**GOOD, "id": "nul\x00id"}, "id"),
    ({**GOOD, "metadata": {"ward": {"bed": "a\ud83d"}}}, "metadata.ward.bed"),
    ({**GOOD, "published": "2024-02-31"}, "published"),
    ({**GOOD, "published": "2023-13"}, "published"),
    ({**GOOD, "published": 2024}, "published"),
    ({**GOOD, "sections": "text"}, "sections"),
    ({**GOOD, "source_type": ["label"]}, "source_type"),
])
def test_what_cannot_be_stored_is_rejected_naming_its_field(obj: dict[str, Any], field: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_document(obj)
    assert caught.value.field == field


def test_metadata_nesting_is_bounded_and_dates_are_days_of_the_calendar() -> None:
    nested: dict[str, Any] = {}
    cursor = nested
    for _ in range(MAX_DEPTH + 5):
        cursor["x"] = {}
        cursor = cursor["x"]
    with pytest.raises(DocumentError, match="nested deeper than"):
        parse_document({**GOOD, "metadata": nested})
    assert normalise_date("2024-02-29") == "2024-02-29" and normalise_date("2024") == "2024-01-01"
    assert text_problem("华法林 warfarin") is None and "surrogate" in str(text_problem("\ud800"))
    check_value({"a": [1, "b", {"c": None}]}, "metadata")


def test_deep_json_and_bad_bytes_are_line_errors() -> None:
    for raw, reason in ((DEEP, "nested too deep"), (b"caf\xe9", "not valid UTF-8"), (b"\xff\xfe{\x00", "UTF-8")):
        with pytest.raises(LineError, match=reason):
            parse_line(raw)


def test_an_id_given_twice_in_one_file_is_reported_and_the_first_kept(tmp_path: Path) -> None:
    path = tmp_path / "twice.jsonl"
    path.write_bytes(b"\n".join([_line(GOOD), _line({**GOOD, "title": "Second"}), _line({**GOOD, "id": "other"})]))
    items = list(read_jsonl(path))
    assert isinstance(items[0], Document) and items[0].title == "Warfarin ward protocol"
    assert isinstance(items[1], Rejected) and items[1].line == 2 and "first on line 1" in items[1].reason
    assert isinstance(items[2], Document)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(st.binary(max_size=400))
def test_any_bytes_make_a_document_or_a_line_error(raw: bytes) -> None:
    try:
        doc = parse_line(raw)
    except LineError as exc:
        assert str(exc)
    else:
        assert isinstance(doc, Document) and doc.version  # hashable as UTF-8: storable


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
DOCUMENTISH = st.fixed_dictionaries({}, optional={
    "id": st.text(max_size=20) | JSON, "title": st.text() | JSON, "text": st.text() | JSON,
    "sections": st.lists(st.fixed_dictionaries({}, optional={"heading": st.text() | JSON, "text": st.text() | JSON}),
                         max_size=3) | JSON,
    "source_type": st.sampled_from(["label", "guideline", "bogus"]) | JSON,
    "published": st.text(max_size=12) | JSON, "language": st.sampled_from(["en", "zh", "fr"]) | JSON,
    "metadata": JSON, "url": st.text() | JSON})


@settings(max_examples=400, deadline=None, database=None)
@given(DOCUMENTISH)
def test_any_json_object_makes_a_document_or_names_a_field(obj: dict[str, Any]) -> None:
    try:
        doc = parse_document(obj)
    except DocumentError as exc:
        assert exc.message and (exc.field is None or exc.field)
    else:
        assert doc.version and doc.text.encode("utf-8")


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.binary(max_size=120) | DOCUMENTISH.map(lambda o: json.dumps(o).encode()), max_size=8))
def test_any_file_reads_to_documents_and_located_rejections(tmp_path_factory: pytest.TempPathFactory,
                                                            lines: list[bytes]) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.jsonl"
    path.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines))
    for item in read_jsonl(path):
        assert isinstance(item, Document | Rejected)
        if isinstance(item, Rejected):
            assert item.file == str(path) and item.line >= 1 and item.reason


# -- whole commands on hostile files (slow: real indexing and search) ---------------------------------------------
@pytest.mark.slow
def test_index_reports_every_bad_line_and_indexes_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "hostile.jsonl"
    source.write_bytes(b"\n".join([
        _line(GOOD),
        _line({**GOOD, "id": "surrogate", "title": "x \ud800"}),
        _line({**GOOD, "id": "nul", "sections": [{"heading": "h", "text": "a\x00b"}]}),
        _line({**GOOD, "id": "feb31", "published": "2024-02-31"}),
        DEEP,
        b'{"id": "latin1", "text": "caf\xe9"}',
        _line({**GOOD, "title": "again"}),
        _line({**GOOD, "id": "ward-good-2"}),
    ]) + b"\n")
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes('{"id": "l1", "text": "café"}\n'.encode("latin-1"))
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_bytes(json.dumps({"id": "u16", "text": "x"}).encode("utf-16"))
    data_dir = tmp_path / "data"
    run = subprocess.run([sys.executable, "-m", "app.cli", "index", str(source), str(latin1), str(utf16),
                          "--data-dir", str(data_dir)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    for line, field in ((2, "title"), (3, "sections[0].text"), (4, "published"), (5, "nested too deep"),
                        (6, "not valid UTF-8"), (7, "given again")):
        assert f"{source}:{line}: {field}" in run.stderr or (
            f"{source}:{line}:" in run.stderr and field in run.stderr), (line, run.stderr)
    assert f"{latin1}:1: not valid UTF-8" in run.stderr and f"{utf16}:1:" in run.stderr
    with Runtime.open(Settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE)) as rt:
        assert set(rt.manifest.versions()) == {"ward-good-1", "ward-good-2"}


@pytest.mark.slow
def test_batch_search_reports_hostile_lines_and_searches_the_rest(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    good = tmp_path / "good.jsonl"
    good.write_bytes(_line(GOOD) + b"\n")
    assert subprocess.run([sys.executable, "-m", "app.cli", "index", str(good), "--data-dir", str(data_dir)],
                          cwd=ROOT, capture_output=True, timeout=900).returncode == 0
    queries = tmp_path / "q.jsonl"
    queries.write_bytes(b"\n".join([
        b'{"id": 1, "query": "warfarin INR"}', DEEP, b'{"id": 2, "query": "caf\xe9"}',
        _line({"id": 3, "query": "x \ud800"}), b'{"id": 4, "query": "dosing", "k": true}',
        b'{"id": 5, "query": "warfarin"}']) + b"\n")
    out = tmp_path / "out.jsonl"
    run = subprocess.run([sys.executable, "-m", "app.cli", "search", "--queries", str(queries), "--output", str(out),
                          "--data-dir", str(data_dir)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"{queries}:2: line: not JSON: nested too deep" in run.stderr
    assert f"{queries}:3: line: not valid UTF-8" in run.stderr
    assert f"{queries}:4: query: contains a lone surrogate" in run.stderr
    assert f"{queries}:5: k:" in run.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [1, 5]


# -- the REST side: 4xx naming the field, never a 5xx -------------------------------------------------------------
@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("hostile") / "data", knowledge_dir=KNOWLEDGE,
                        dev_mode=True)
    with TestClient(create_app(settings, indexer_factory=serving_indexer)) as client:
        assert client.post("/v1/documents", json=GOOD).status_code in (200, 201)
        yield client


@pytest.mark.slow
@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/search", {"query": "warfarin", "k": "5"}, "k"),
    ("/v1/search", {"query": "warfarin", "k": True}, "k"),
    ("/v1/search", {"query": "x \ud800"}, "query"),
    ("/v1/ask", {"question": "dose?", "k": "3"}, "k"),
    ("/v1/ask", {"question": "nul \x00 here"}, "question"),
    ("/v1/interactions", {"medications": ["warfarin", "x \udfff"]}, "medications.1"),
    ("/v1/documents", {**GOOD, "id": "bad-date", "published": "2024-02-31"}, "published"),
    ("/v1/documents", {**GOOD, "id": "bad-text", "title": "a \ud800"}, "title"),
])
def test_hostile_bodies_are_4xx_naming_the_field(api: TestClient, path: str, body: dict[str, Any],
                                                 field: str) -> None:
    response = api.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["field"] == field


@pytest.mark.slow
@pytest.mark.parametrize("raw", [b'{"id": "x", "text": ', DEEP, b'{"id": "x", "text": "caf\xe9"}'])
def test_unparsable_bodies_name_the_body(api: TestClient, raw: bytes) -> None:
    response = api.post("/v1/documents", content=raw, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500 and response.json()["error"]["field"] == "body", response.text
    assert api.get("/v1/documents/ward-good-1").status_code == 200  # what was indexed before is still there
