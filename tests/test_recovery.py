"""Recovery before serving: an index run killed between its intent record and its commit leaves chunks the
manifest does not know; a server started on that data dir answers nothing until it has recovered, then serves
exactly the manifest's documents.  Commands recover before they read."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.cli.wiring import serving_indexer
from app.config import Settings
from app.main import create_app
from app.recovery import Recovery
from app.runtime import Runtime

from .conftest import KNOWLEDGE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DRUGS = ["warfarin", "amiodarone", "metformin", "lisinopril", "atorvastatin", "clopidogrel"]
# Dies where a power cut would: after the batch's intent and its writes to the vector and graph stores, before
# the manifest records it as done.
KILLED_RUN = textwrap.dedent("""
    import os, sys
    from app.stores.manifest import Manifest
    commit, calls = Manifest.commit, [0]
    def dying_commit(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] >= int(sys.argv[3]):
            os._exit(3)
        return commit(self, *args, **kwargs)
    Manifest.commit = dying_commit
    from app.cli import main
    sys.exit(main(["index", sys.argv[1], "--data-dir", sys.argv[2]]))
""")
# The durability run: MEDEVIDENCE_KILL_SERVE_RUNS=10 kills at drawn batch commits, then serves, ten times.
KILL_SERVE_RUNS = int(os.environ.get("MEDEVIDENCE_KILL_SERVE_RUNS", "1"))


def _documents(path: Path, prefix: str, count: int) -> Path:
    lines = [json.dumps({"id": f"{prefix}-{i}", "title": f"{DRUGS[i % len(DRUGS)].title()} ward note {i}",
                         "source_type": "guideline",
                         "sections": [{"heading": "Dosing", "text": f"Ward note {i}: {DRUGS[i % len(DRUGS)]} dosing "
                                       "is adjusted to renal function and reviewed weekly by the pharmacist."}]})
             for i in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def killed_data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, set[str]]:
    """A data dir with one committed batch and one batch killed between intent and commit."""
    root = tmp_path_factory.mktemp("killed")
    settings = Settings(data_dir=root / "data", knowledge_dir=KNOWLEDGE)
    committed = subprocess.run([sys.executable, "-m", "app.cli", "index", str(_documents(root / "a.jsonl", "kept", 5)),
                                "--data-dir", str(settings.data_dir)], cwd=ROOT, capture_output=True, text=True,
                               timeout=600)
    assert committed.returncode == 0, committed.stderr
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(_documents(root / "b.jsonl", "torn", 8)),
                             str(settings.data_dir), "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert killed.returncode == 3, killed.stderr
    with Runtime.open(settings) as rt:  # the torn state the test is about
        known = set(rt.manifest.versions())
        assert rt.manifest.counts()["pending"] > 0
        stored = {chunk_id.split("#")[0] for chunk_id in rt.vectors.chunk_ids()}
        assert stored - known, "the killed run wrote no chunks: nothing to recover"
    return settings, known


def test_a_server_recovers_before_it_answers_then_serves_exactly_the_manifest(
        killed_data_dir: tuple[Settings, set[str]]) -> None:
    base, _ = killed_data_dir
    settings = base.model_copy(update={"dev_mode": True})
    with TestClient(create_app(settings, indexer_factory=serving_indexer)) as client:
        deadline = time.time() + 300
        while client.get("/readyz").json()["checks"]["recovery"]["ok"] is False and time.time() < deadline:
            time.sleep(0.5)
        ready = client.get("/readyz").json()
        assert ready["checks"]["recovery"]["ok"], ready
        rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        manifest = set(rt.manifest.versions())
        assert rt.manifest.counts()["pending"] == 0
        assert {f"torn-{i}" for i in range(8)} <= manifest  # replayed to the state of an uninterrupted run
        hits = client.post("/v1/search", json={"query": "warfarin dosing renal function ward note", "k": 20}).json()
        found = {h["doc_id"] for h in hits["hits"]}
        assert found and found <= manifest
        for doc_id in found:
            assert client.get(f"/v1/documents/{doc_id}").status_code == 200
        assert {chunk.split("#")[0] for chunk in rt.vectors.chunk_ids()} <= manifest


def test_until_recovered_every_request_answers_503_and_readyz_says_why(
        killed_data_dir: tuple[Settings, set[str]]) -> None:
    base, _ = killed_data_dir
    settings = base.model_copy(update={"dev_mode": True})
    with TestClient(create_app(settings, indexer_factory=serving_indexer)) as client:
        client.app.state.recovery = Recovery(pending=4)  # type: ignore[attr-defined]  # still running
        search = client.post("/v1/search", json={"query": "warfarin"})
        assert search.status_code == 503 and search.json()["error"]["code"] == "recovering"
        assert search.headers["retry-after"] == "5"
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "recovering 4 pending index operation(s)" in ready.json()["checks"]["recovery"]["detail"]
        failed = Recovery(pending=4, error="GraphStoreError: down")
        failed.done.set()
        client.app.state.recovery = failed  # type: ignore[attr-defined]
        assert client.post("/v1/search", json={"query": "warfarin"}).status_code == 503
        assert "run `medevidence index`" in client.get("/readyz").json()["checks"]["recovery"]["detail"]


def test_commands_recover_before_they_read(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=KNOWLEDGE)
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(_documents(tmp_path / "c.jsonl", "cut", 4)),
                             str(settings.data_dir), "1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert killed.returncode == 3, killed.stderr
    search = subprocess.run([sys.executable, "-m", "app.cli", "search", "metformin dosing", "--json",
                             "--data-dir", str(settings.data_dir)], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert search.returncode == 0, search.stderr
    assert "recovered 4 document(s)" in search.stderr
    hits = json.loads(search.stdout)["hits"]
    with Runtime.open(settings) as rt:
        assert rt.manifest.counts()["pending"] == 0
        assert {h["doc_id"] for h in hits} <= set(rt.manifest.versions())


@pytest.mark.parametrize("run", range(KILL_SERVE_RUNS))
def test_kill_at_a_drawn_batch_then_serve(run: int, tmp_path: Path) -> None:
    """Index 12 documents in batches of 2, killed at a drawn batch's commit; the server then holds exactly the
    manifest's documents, and every document of the file once recovered."""
    kill_at = random.Random(20261206 + run).randint(1, 6)
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=KNOWLEDGE, dev_mode=True)
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(_documents(tmp_path / "d.jsonl", "drawn", 12)),
                             str(settings.data_dir), str(kill_at)], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, env={**os.environ, "MEDEVIDENCE_INDEX_BATCH_DOCUMENTS": "2"})
    assert killed.returncode == 3, (kill_at, killed.stderr)
    with TestClient(create_app(settings, indexer_factory=serving_indexer)) as client:
        deadline = time.time() + 300
        while not client.get("/readyz").json()["checks"]["recovery"]["ok"] and time.time() < deadline:
            time.sleep(0.5)
        rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        manifest = set(rt.manifest.versions())
        assert rt.manifest.counts()["pending"] == 0
        assert {f"drawn-{i}" for i in range(2 * kill_at)} <= manifest  # what was committed, and the torn batch
        hits = client.post("/v1/search", json={"query": "ward note dosing renal function", "k": 30}).json()["hits"]
        assert {h["doc_id"] for h in hits} <= manifest
        assert {chunk.split("#")[0] for chunk in rt.vectors.chunk_ids()} <= manifest
