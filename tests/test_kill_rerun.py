"""A run SIGKILLed at random points and rerun converges to the state of an uninterrupted run.

The kill points are drawn in units of progress, not wall-clock time: each victim run is
killed once the manifest records a drawn number of committed documents, plus a drawn
delay of up to half a batch's time, so the kill lands before, inside or after a batch's
commit, whatever the speed of the machine.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

import pytest

from app.config import Settings
from app.consistency import check_consistency
from app.runtime import Runtime

from .conftest import KNOWLEDGE, ROOT

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("MEDEVIDENCE_KILL_POINTS", "4"))  # CI: 4; the full figure: 10


def _sample(path: Path) -> Path:
    """~200 real starter documents (their vectors are in the shipped cache)."""
    rows = []
    for source in sorted((KNOWLEDGE / "docs").glob("*.jsonl.gz")):
        with gzip.open(source, "rt", encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in islice(fh, 40))
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


BATCH = 8


def _env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "MEDEVIDENCE_DATA_DIR": str(data_dir), "MEDEVIDENCE_INDEX_BATCH_DOCUMENTS": str(BATCH)}


def _committed(data_dir: Path) -> int:
    """Documents the manifest records as indexed (read-only; 0 before the run made it)."""
    path = data_dir / "manifest.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0) as db:
            return int(db.execute("SELECT count(*) FROM documents").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not made yet, or the file is being created
        return 0


def _wait_for_committed(data_dir: Path, target: int, proc: subprocess.Popen[bytes]) -> bool:
    """Poll until ``target`` documents are committed; False if the run ended first."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if _committed(data_dir) >= target:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    raise AssertionError(f"indexing made no progress to {target} documents in 300 s")


def _index(data_dir: Path, source: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "index", str(source), "--json"],
        cwd=ROOT,
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _snapshot(data_dir: Path) -> dict[str, object]:
    with Runtime.open(Settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE)) as rt:
        report = check_consistency(rt.manifest, rt.vectors, rt.graph)
        assert report.ok, report.describe()
        chunks = rt.vectors.chunk_ids()
        return {
            "versions": rt.manifest.versions(),
            "chunks": chunks,
            "vector_count": rt.vectors.count(),
            "graph": rt.graph.document_versions(),
            "texts": sorted(c.text for c in rt.vectors.get_chunks(sorted(chunks))),
        }


def test_sigkill_at_random_points_then_rerun_converges(tmp_path: Path) -> None:
    source = _sample(tmp_path / "sample.jsonl")
    reference_dir = tmp_path / "reference"
    done = _index(reference_dir, source)
    assert done.returncode == 0, done.stderr[-2000:]
    reference = _snapshot(reference_dir)
    assert reference["vector_count"] == len(reference["chunks"]), "duplicate points"

    victim = tmp_path / "victim"
    versions = reference["versions"]
    assert isinstance(versions, dict)
    total = len(versions)
    rng = random.Random(20261122)
    # increasing targets: each rerun resumes past the previous kill
    targets = sorted(rng.sample(range(BATCH, total - BATCH), KILLS))
    killed_mid_run = 0
    for target in targets:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "index", str(source)],
            cwd=ROOT,
            env=_env(victim),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if _wait_for_committed(victim, target, proc):
            time.sleep(rng.uniform(0.0, 0.15))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                killed_mid_run += 1
        proc.wait(timeout=60)
    assert killed_mid_run >= min(2, KILLS), "the kills should land while indexing runs"
    print(f"SIGKILLed {killed_mid_run} of {KILLS} runs mid-indexing")
    final = _index(victim, source)
    assert final.returncode == 0, final.stderr[-2000:]
    assert _snapshot(victim) == reference
