"""Incremental indexing on the real embedded stores: add, unchanged, update, delete, bad lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.wiring import open_indexer
from app.config import Settings
from app.consistency import check_consistency
from app.runtime import Runtime

from .conftest import KNOWLEDGE, ROOT, payload_storage_types

pytestmark = pytest.mark.slow

DOCS = [
    {
        "id": "hosp-warfarin-1",
        "title": "Warfarin dosing protocol",
        "source_type": "guideline",
        "published": "2024-05-01",
        "sections": [
            {"heading": "Dosing", "text": "Start warfarin at 5 mg daily. Adjust the dose to reach an INR of 2 to 3."},
            {"heading": "Interactions", "text": "Aspirin with warfarin raises the risk of bleeding. Monitor INR."},
        ],
    },
    {
        "id": "hosp-metformin-1",
        "title": "Metformin in renal impairment",
        "source_type": "guideline",
        "text": "Metformin is contraindicated when eGFR is below 30 mL/min/1.73 m2. Reassess renal function.",
    },
    {
        "id": "hosp-zh-1",
        "title": "阿托伐他汀用药说明",
        "source_type": "label",
        "text": "阿托伐他汀可引起肌病。与克拉霉素合用时应减少剂量。",
    },
]


def _write(path: Path, rows: list[dict[str, object]], extra_lines: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _state(rt: Runtime) -> tuple[dict[str, str], set[str], set[str], dict[str, str]]:
    return rt.manifest.versions(), rt.manifest.chunk_ids(), rt.vectors.chunk_ids(), rt.graph.document_versions()


def test_add_unchanged_update_delete(settings: Settings, tmp_path: Path) -> None:
    source = _write(tmp_path / "docs.jsonl", DOCS)
    with Runtime.open(settings) as rt:
        indexer = open_indexer(rt)
        first = indexer.index_paths([source])
        assert (first.added, first.updated, first.unchanged, first.rejected) == (3, 0, 0, 0)
        assert first.chunks_written >= 4
        versions, manifest_chunks, vector_chunks, graph_versions = _state(rt)
        assert set(versions) == {"hosp-warfarin-1", "hosp-metformin-1", "hosp-zh-1"}
        assert manifest_chunks == vector_chunks
        assert graph_versions == versions
        assert check_consistency(rt.manifest, rt.vectors, rt.graph).ok

        again = indexer.index_paths([source])
        assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
        assert again.chunks_embedded == 0 and again.chunks_written == 0

        edited = [dict(DOCS[0], text="Warfarin: new protocol. Target INR 2.5.", sections=None), *DOCS[1:]]
        old_chunks = rt.manifest.chunk_ids(["hosp-warfarin-1"])
        update = indexer.index_paths([_write(tmp_path / "docs.jsonl", edited)])
        assert (update.added, update.updated, update.unchanged) == (0, 1, 2)
        new_chunks = rt.manifest.chunk_ids(["hosp-warfarin-1"])
        assert new_chunks and not (old_chunks & new_chunks)
        assert not (old_chunks & rt.vectors.chunk_ids()), "stale chunks of the old version remain"
        assert rt.vectors.chunk_ids(["hosp-warfarin-1"]) == new_chunks
        assert rt.graph.document_versions()["hosp-warfarin-1"] == rt.manifest.versions()["hosp-warfarin-1"]
        [chunk] = rt.vectors.get_chunks(sorted(new_chunks))
        assert chunk.text == "Warfarin: new protocol. Target INR 2.5."

        deleted, unknown = indexer.delete(["hosp-metformin-1", "no-such-doc"])
        assert (deleted, unknown) == (["hosp-metformin-1"], ["no-such-doc"])
        assert "hosp-metformin-1" not in rt.manifest.versions()
        assert not rt.vectors.chunk_ids(["hosp-metformin-1"])
        assert "hosp-metformin-1" not in rt.graph.document_versions()
        assert check_consistency(rt.manifest, rt.vectors, rt.graph).ok


def test_bad_lines_are_reported_and_the_rest_indexed(settings: Settings, tmp_path: Path) -> None:
    source = _write(
        tmp_path / "mixed.jsonl",
        DOCS[:1],
        ('{"id": "broken", "text": ', '{"id": "no-text"}', json.dumps(DOCS[1])),
    )
    env = {**os.environ, "MEDEVIDENCE_DATA_DIR": str(settings.data_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "index", str(source), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert f"{source}:2:" in proc.stderr
    assert f"{source}:3:" in proc.stderr and "text" in proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (summary["added"], summary["rejected"]) == (2, 2)
    with Runtime.open(settings) as rt:
        assert set(rt.manifest.versions()) == {"hosp-warfarin-1", "hosp-metformin-1"}
        assert check_consistency(rt.manifest, rt.vectors, rt.graph).ok


def test_index_run_ends_with_an_optimisation(settings: Settings, tmp_path: Path) -> None:
    """``medevidence index`` optimises the embedded index at the end of a run: shown by a payload
    placement change, which the engine applies only when it optimises."""
    source = _write(tmp_path / "docs.jsonl", DOCS)
    env = {**os.environ, "MEDEVIDENCE_DATA_DIR": str(settings.data_dir)}

    def index(in_ram: bool) -> None:
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli", "index", str(source)],
            cwd=ROOT,
            env={**env, "MEDEVIDENCE_EDGE_PAYLOAD_IN_RAM": str(in_ram).lower()},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]

    shard = settings.data_dir / "qdrant-edge" / settings.index_name()
    index(in_ram=False)
    assert payload_storage_types(shard) == {"mmap"}
    index(in_ram=True)  # nothing to index: only the optimisation moves the segments
    assert payload_storage_types(shard) == {"in_ram_mmap"}
    with Runtime.open(settings) as rt:
        assert set(rt.manifest.versions()) == {d["id"] for d in DOCS}
        assert check_consistency(rt.manifest, rt.vectors, rt.graph).ok


def test_data_dir_is_locked_while_open(settings: Settings, tmp_path: Path) -> None:
    source = _write(tmp_path / "one.jsonl", DOCS[:1])
    with Runtime.open(settings):
        env = {**os.environ, "MEDEVIDENCE_DATA_DIR": str(settings.data_dir)}
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli", "index", str(source)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 3
    assert "in use by another medevidence process" in proc.stderr


def test_starter_knowledge_indexes_every_source(tmp_path: Path) -> None:
    """README's main job: `medevidence index` on a fresh data dir, from the shipped vector cache."""
    env = {**os.environ, "MEDEVIDENCE_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "index", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = {p.name.removesuffix(".jsonl.gz") for p in (KNOWLEDGE / "docs").glob("*.jsonl.gz")}
    assert set(summary["sources"]) == expected
    for name, counts in summary["sources"].items():
        assert counts["documents"] > 0 and counts["added"] == counts["documents"], name
    assert summary["rejected"] == 0
    assert summary["chunks_embedded"] == 0, "the shipped cache must cover the starter knowledge"
    check = subprocess.run(
        [sys.executable, "-m", "app.cli", "check", "--json"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    report = json.loads(check.stdout)
    assert report["ok"] and report["chunks"] == summary["chunks_written"]


def test_a_new_embedding_model_or_chunking_rebuilds_the_index(settings: Settings, tmp_path: Path) -> None:
    """The chunk index is named by a hash of what shapes it; changing the chunking must write every stored
    document into the new index (also those of a file not named this run), not report "unchanged" over an
    empty collection."""
    source = _write(tmp_path / "docs.jsonl", DOCS[:2])
    other = _write(tmp_path / "other.jsonl", DOCS[2:])
    with Runtime.open(settings) as rt:
        open_indexer(rt).index_paths([source, other])
    reshaped = settings.model_copy(update={"chunk_max_tokens": 64, "chunk_min_tokens": 32})
    assert reshaped.index_name() != settings.index_name()
    with Runtime.open(reshaped) as rt:
        assert rt.vectors.count() == 0
        summary = open_indexer(rt).index_paths([source])
        assert summary.unchanged == 0 and summary.updated == 3
        versions, manifest_chunks, vector_chunks, _ = _state(rt)
        assert set(versions) == {d["id"] for d in DOCS} and manifest_chunks == vector_chunks
        assert check_consistency(rt.manifest, rt.vectors, rt.graph).ok
        assert open_indexer(rt).index_paths([source]).unchanged == 2  # and then it is current
