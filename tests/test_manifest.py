"""The manifest: versions, chunk ids, the intent log, atomic commits."""

from __future__ import annotations

from pathlib import Path

from app.model import Document
from app.stores.manifest import Manifest, decode_document, encode_document
from indexers.chunking import ChunkingConfig, chunk_document


def _doc(doc_id: str, text: str) -> Document:
    return Document.from_sections(
        id=doc_id,
        title=f"Title {doc_id}",
        source_type="guideline",
        sections=[("Summary", text), ("详情", "中文内容。")],
        published="2024-05-01",
        metadata={"k": [1, 2]},
    )


def test_document_round_trip() -> None:
    doc = _doc("a", "Some text.")
    again = decode_document(encode_document(doc))
    assert again == doc
    assert again.version == doc.version


def test_commit_replaces_chunks_and_clears_intent(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "m.sqlite")
    v1 = _doc("a", "First version. " * 10)
    seqs = manifest.begin_upserts([(v1, "test")])
    assert [op.doc_id for op in manifest.pending()] == ["a"]
    assert manifest.pending()[0].document == v1
    chunks = chunk_document(v1, ChunkingConfig())
    manifest.commit([(v1, "test", chunks)], [], done_seqs=seqs)
    assert manifest.pending() == []
    assert manifest.versions() == {"a": v1.version}
    assert manifest.chunk_ids() == {c.chunk_id for c in chunks}
    first_index_version = manifest.index_version()

    v2 = _doc("a", "Second version, edited. " * 10)
    seqs = manifest.begin_upserts([(v2, "test")])
    chunks2 = chunk_document(v2, ChunkingConfig())
    manifest.commit([(v2, "test", chunks2)], [], done_seqs=seqs)
    assert manifest.versions() == {"a": v2.version}
    assert manifest.chunk_ids(["a"]) == {c.chunk_id for c in chunks2}
    assert manifest.index_version() != first_index_version
    assert manifest.document("a") == v2

    manifest.begin_deletes(["a"])
    manifest.commit([], ["a"])
    assert manifest.versions() == {}
    assert manifest.chunk_ids() == set()
    assert manifest.pending() == []
    manifest.close()


def test_intent_survives_reopen(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "m.sqlite")
    manifest.begin_upserts([(_doc("x", "Text."), "origin-1")])
    manifest.close()
    reopened = Manifest(tmp_path / "m.sqlite")
    [op] = reopened.pending()
    assert (op.doc_id, op.op, op.origin) == ("x", "upsert", "origin-1")
    assert op.document is not None and op.document.text.startswith("Text.")
    reopened.close()


def test_origin_tracking(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "m.sqlite")
    a, b = _doc("a", "A."), _doc("b", "B.")
    manifest.commit([(a, "knowledge:x", []), (b, "user", [])], [])
    assert manifest.doc_ids_from("knowledge:x") == {"a"}
    assert manifest.counts_by_source_type() == {"guideline": 2}
    manifest.close()
