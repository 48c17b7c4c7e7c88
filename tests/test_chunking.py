"""Chunking: exact offsets on every source, section and sentence boundaries, size bounds."""

from __future__ import annotations

import gzip
import json
from itertools import islice
from pathlib import Path

import pytest

from app.documents import parse_document
from app.model import Document
from indexers.chunking import ChunkingConfig, chunk_document, count_tokens, sentence_spans

from .conftest import KNOWLEDGE

CFG = ChunkingConfig(max_tokens=300, min_tokens=200, overlap_tokens=40)
SOURCES = sorted((KNOWLEDGE / "docs").glob("*.jsonl.gz"))


def _docs(path: Path, n: int) -> list[Document]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [parse_document(json.loads(line)) for line in islice(fh, n)]


def test_every_starter_source_is_present() -> None:
    names = {p.name.split(".")[0] for p in SOURCES}
    assert {"openfda", "nlm180", "pubmedqa", "medquad", "interactions"} <= names


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name.split(".")[0])
def test_offsets_are_exact_on_every_source(source: Path) -> None:
    docs = _docs(source, 60)
    assert docs
    for doc in docs:
        chunks = chunk_document(doc, CFG)
        assert chunks, doc.id
        for chunk in chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text
            assert chunk.version == doc.version
            section = next(s for s in doc.sections if s.heading == chunk.section and s.start <= chunk.start)
            assert chunk.end <= max(s.end for s in doc.sections if s.heading == chunk.section)
            assert section.start <= chunk.start
            assert chunk.text == chunk.text.strip()
            assert count_tokens(chunk.text) <= CFG.max_tokens * 1.15 + 1
        assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_every_section_is_covered() -> None:
    doc = _docs(SOURCES[0], 1)[0]
    chunks = chunk_document(doc, CFG)
    for section in doc.sections:
        inside = [c for c in chunks if section.start <= c.start and c.end <= section.end]
        assert inside, section.heading
        assert inside[0].start == section.start
        assert inside[-1].end == section.end


def test_chunks_respect_budget_and_overlap() -> None:
    sentence = "Warfarin increases the risk of bleeding when combined with aspirin in older adults."
    text = " ".join(f"{sentence[:-1]} number {i}." for i in range(120))
    doc = Document.from_sections(id="d", title="t", source_type="other", sections=[("Warnings", text)])
    chunks = chunk_document(doc, CFG)
    assert len(chunks) >= 4
    for chunk in chunks:
        assert count_tokens(chunk.text) <= CFG.max_tokens
        assert chunk.text.endswith(".")
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start < a.end, "consecutive chunks overlap by trailing sentences"
        assert a.end - b.start < len(a.text) / 2


def test_overlong_sentence_is_cut_between_words() -> None:
    text = " ".join(f"word{i}" for i in range(1000))
    doc = Document.from_sections(id="d", title="t", source_type="other", sections=[("S", text)])
    chunks = chunk_document(doc, CFG)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.startswith("word") and chunk.text[-1].isdigit()


def test_chinese_sentences() -> None:
    text = "华法林与阿司匹林合用会增加出血风险。" * 40 + "请监测国际标准化比值！"
    doc = Document.from_sections(
        id="zh", title="华法林说明书", source_type="label", sections=[("药物相互作用", text)], language="zh"
    )
    spans = sentence_spans(doc.text, 0, len(doc.text))
    assert len(spans) == 41
    chunks = chunk_document(doc, CFG)
    assert len(chunks) >= 2
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
    assert chunks[-1].text.endswith("！")


def test_sections_never_merge() -> None:
    doc = Document.from_sections(
        id="x", title="t", source_type="label", sections=[("A", "Short one."), ("B", "Short two.")]
    )
    chunks = chunk_document(doc, CFG)
    assert [(c.section, c.text) for c in chunks] == [("A", "Short one."), ("B", "Short two.")]
    assert doc.text == "Short one.\n\nShort two."
