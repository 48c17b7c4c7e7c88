"""The benchmark suite's smoke mode (``python -m benchmarks --smoke``) runs end to end, so the suite never rots.

It writes REPORT.md into a temporary folder (never over the committed report); the report must have its
Targets table, and every figure in its tables must be a number, pass/fail, or "not run: <reason>".
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")

pytestmark = pytest.mark.slow


def tables(markdown: str) -> dict[str, list[list[list[str]]]]:
    """The tables under each ``## `` heading: each a list of rows of stripped cells, header first."""
    out: dict[str, list[list[list[str]]]] = {}
    section, current = "", None
    for line in markdown.splitlines():
        if line.startswith("## "):
            section, current = line[3:].strip(), None
        elif not line.startswith("|"):
            current = None
        elif not re.fullmatch(r"\|[\s:|-]+\|?", line.strip()):
            if current is None:
                current = []
                out.setdefault(section, []).append(current)
            current.append([c.strip() for c in line.strip().strip("|").split("|")])
    return out


def is_figure(cell: str) -> bool:
    return bool(NUMBER.match(cell)) or cell in ("pass", "fail") or cell.startswith("not run: ")


def test_corpus_builder_is_deterministic_and_sized() -> None:
    from app.model import Chunk
    from benchmarks.corpus import BaseCorpus, copy_block, plan

    text = "alpha beta gamma delta epsilon zeta eta theta"
    chunks = [Chunk(f"d{i}", "v1", 0, "s", 0, 30, f"word{i} {text}", "t", "label") for i in range(7)]
    dense = np.eye(7, 8, dtype=np.float32)
    base = BaseCorpus(chunks, dense)
    for size in (3, 7, 16):
        blocks = plan(7, size)
        assert sum(len(rows) for _, rows in blocks) == size
        assert [(c, r.tolist()) for c, r in blocks] == [(c, r.tolist()) for c, r in plan(7, size)]
    copy, rows = plan(7, 16)[1]
    first, again = copy_block(base, copy, rows), copy_block(base, copy, rows)
    assert [c.text for c in first[0]] == [c.text for c in again[0]] and np.array_equal(first[1], again[1])
    assert all(c.doc_id.endswith("~1") for c in first[0])
    assert np.allclose(np.linalg.norm(first[1], axis=1), 1.0, atol=1e-5)


def test_smoke_run_writes_a_report_with_targets_and_numbers(tmp_path: Path) -> None:
    from app.stores.lock import DataDirInUse, DataDirLock

    data_dir = ROOT / "data" / "eval"  # the starter index the benchmarks share (indexed by the run if missing)
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirInUse as exc:  # another developer's benchmark holds it on this machine; CI has it alone
        pytest.skip(str(exc))
    lock.release()
    out = tmp_path / "bench"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--data-dir", str(data_dir), "--out",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = (out / "REPORT.md").read_text(encoding="utf-8")
    found = tables(report)
    targets = found["Targets"][0]
    assert targets[0] == ["target (threshold)", "measured", "result"]
    assert len(targets) == 1 + 9
    assert all(row[2] in ("pass", "fail") or row[2].startswith("not run: ") for row in targets[1:])
    for section, section_tables in found.items():
        if section == "Machine":
            continue
        for rows in section_tables:
            for row in rows[1:]:
                bad = [c for c in row[1:] if not is_figure(c)]
                assert not bad, f"{section}: {row}"
    # The parts smoke mode runs must have produced numbers, not "not run".
    latency = {row[0]: row for row in found["1. Search latency vs corpus size"][0][1:]}
    assert all(NUMBER.match(c) for c in latency["starter"][1:7])
    assert all(NUMBER.match(c) for c in latency["5k"][1:9])
    lexical = found["2. Lexical channel vs rank_bm25"][0]
    assert NUMBER.match(lexical[1][4]) and NUMBER.match(lexical[1][5])
    interactions = {row[0]: row for row in found["7. Interaction check"][0][1:]}
    assert all(NUMBER.match(interactions[n][3]) for n in ("5 drugs", "20 drugs", "50 drugs"))
    assert (out / "REPORT.json").exists()
