"""Indexing benchmark: end-to-end chunks/s against the raw encoder, starter knowledge from cache, peak RSS.

    python -m benchmarks.indexing [--docs 120] [--out benchmarks/results]

Baseline, measured in the same run on the same texts: the bare sentence-transformers
encoder (``SentenceTransformerEmbedder.encode``) over exactly the chunks the indexer
produces.  End to end = ``Indexer.index_paths`` on a fresh data dir with no vector cache
(chunking, BM25, encoding, Qdrant-edge upserts, graph links, manifest), model already loaded.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.cli.wiring import open_indexer
from app.config import Settings
from app.documents import parse_document
from app.runtime import Runtime
from indexers.chunking import ChunkingConfig, chunk_document

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"


def _sample_documents(per_source: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for path in sorted((KNOWLEDGE / "docs").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh):
                if n >= per_source:
                    break
                rows.append(json.loads(line))
    return rows


def _knowledge_without_vectors(tmp: Path) -> Path:
    """A knowledge dir with the graph and vocabulary but no shipped vectors."""
    target = tmp / "knowledge"
    target.mkdir()
    for name in ("graph", "vocab"):
        (target / name).symlink_to(KNOWLEDGE / name)
    return target


def bench_throughput(per_source: int, max_chunks: int | None = None) -> dict[str, float]:
    """``max_chunks``: keep only the documents of the sample that fit, in order, in that many chunks."""
    rows = _sample_documents(per_source)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        settings = Settings(data_dir=tmp / "data", knowledge_dir=_knowledge_without_vectors(tmp))
        cfg = ChunkingConfig(settings.chunk_max_tokens, settings.chunk_min_tokens, settings.chunk_overlap_tokens)
        chunked = [[c.embed_text for c in chunk_document(parse_document(r), cfg)] for r in rows]
        if max_chunks is not None:
            keep, total = [], 0
            for i, doc in enumerate(chunked):
                if total + len(doc) <= max_chunks:
                    keep.append(i)
                    total += len(doc)
            rows, chunked = [rows[i] for i in keep], [chunked[i] for i in keep]
        texts = [t for doc in chunked for t in doc]
        input_file = tmp / "sample.jsonl"
        input_file.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
        with Runtime.open(settings) as rt:
            model = rt.embedder.model  # load once; both measurements use the same warm model
            model.encode(texts[:64])
            started = time.perf_counter()
            model.encode(texts)
            raw_seconds = time.perf_counter() - started
            indexer = open_indexer(rt)
            indexer.index_documents([], "warm-up")  # loads the graph's entities: a one-off, measured below
            summary = indexer.index_paths([input_file])
    return {
        "documents": len(rows),
        "chunks": len(texts),
        "raw_encoder_chunks_per_s": len(texts) / raw_seconds,
        "end_to_end_chunks_per_s": summary.chunks_written / summary.seconds,
        "ratio": (summary.chunks_written / summary.seconds) / (len(texts) / raw_seconds),
    }


def knowledge_with_changes(tmp: Path, fraction: float) -> tuple[Path, int]:
    """A copy of the knowledge dir in which every ``round(1 / fraction)``-th document (a fixed choice) is
    edited: a sentence is put before its first section's text.  Everything but ``docs/`` is linked."""
    target = tmp / "knowledge-changed"
    (target / "docs").mkdir(parents=True)
    for item in KNOWLEDGE.iterdir():
        if item.name != "docs":
            (target / item.name).symlink_to(item)
    step, seen, changed = max(1, round(1 / fraction)), 0, 0
    for path in sorted((KNOWLEDGE / "docs").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as src, \
                gzip.open(target / "docs" / path.name, "wt", encoding="utf-8") as dst:
            for line in src:
                if not line.strip():
                    continue
                if seen % step == step // 2:
                    obj = json.loads(line)
                    first = obj["sections"][0]
                    first["text"] = "Reviewed and revised in this benchmark run. " + first["text"]
                    line = json.dumps(obj, ensure_ascii=False)
                    changed += 1
                dst.write(line.rstrip("\n") + "\n")
                seen += 1
    return target, changed


def bench_starter_from_cache(changed_fraction: float | None = None) -> dict[str, float]:
    """``medevidence index`` of the starter knowledge into a fresh data dir (vectors from the shipped cache),
    an unchanged re-run and, with ``changed_fraction``, a re-run after that share of documents changed."""
    with tempfile.TemporaryDirectory() as tmp_name:
        env = {**os.environ, "MEDEVIDENCE_DATA_DIR": str(Path(tmp_name) / "data")}
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "app.cli", "index", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        wall = time.perf_counter() - started
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        again = subprocess.run(
            [sys.executable, "-m", "app.cli", "index", "--json"], env=env, capture_output=True, text=True, check=True
        )
        rerun_wall = time.perf_counter() - started
        rerun = json.loads(again.stdout.strip().splitlines()[-1])
        incremental: dict[str, float] = {}
        if changed_fraction:
            knowledge, changed = knowledge_with_changes(Path(tmp_name), changed_fraction)
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "app.cli", "index", "--json"], capture_output=True, text=True,
                                  env={**env, "MEDEVIDENCE_KNOWLEDGE_DIR": str(knowledge)}, check=True, cwd=ROOT)
            inc = json.loads(proc.stdout.strip().splitlines()[-1])
            incremental = {"incremental_changed_documents": changed,
                           "incremental_wall_seconds": time.perf_counter() - started,
                           "incremental_index_seconds": inc["seconds"], "incremental_updated": inc["updated"],
                           "incremental_unchanged": inc["unchanged"],
                           "incremental_chunks_embedded": inc["chunks_embedded"],
                           "incremental_chunks_from_cache": inc["chunks_from_cache"]}
    return {**incremental,
        "wall_seconds": wall,
        "index_seconds": summary["seconds"],
        "documents": summary["added"],
        "chunks": summary["chunks_written"],
        "chunks_from_cache": summary["chunks_from_cache"],
        "chunks_embedded": summary["chunks_embedded"],
        "peak_rss_mib": peak_kib / 1024,
        "unchanged_rerun_wall_seconds": rerun_wall,
        "unchanged_rerun_unchanged": rerun["unchanged"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs-per-source", type=int, default=25)
    parser.add_argument("--changed-fraction", type=float, default=0.01, help="documents changed before a re-run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    # The starter run goes first: a child forked after this process loaded the model and the JVM
    # would report their memory as its own peak RSS.
    starter = bench_starter_from_cache(args.changed_fraction)
    throughput = bench_throughput(args.docs_per_source)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "throughput": throughput,
        "starter_from_cache": starter,
        "targets": {
            "end_to_end >= 85% of raw encoder": throughput["ratio"] >= 0.85,
            "starter knowledge from cache <= 60 s": starter["wall_seconds"] <= 60,
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "indexing.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Indexing benchmark",
        "",
        f"{result['machine']}, {result['date']}",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| raw encoder (baseline) | {throughput['raw_encoder_chunks_per_s']:.1f} chunks/s |",
        f"| end to end (index_paths, no cache) | {throughput['end_to_end_chunks_per_s']:.1f} chunks/s |",
        f"| ratio (target ≥ 0.85) | {throughput['ratio']:.2f} |",
        f"| starter knowledge from cache, wall (target ≤ 60 s) | {starter['wall_seconds']:.1f} s "
        f"({starter['documents']} docs, {starter['chunks']} chunks, {starter['chunks_embedded']} embedded) |",
        f"| unchanged re-run, wall | {starter['unchanged_rerun_wall_seconds']:.1f} s |",
        f"| re-run after {starter['incremental_changed_documents']} documents changed, wall | "
        f"{starter['incremental_wall_seconds']:.1f} s ({starter['incremental_chunks_embedded']} chunks embedded) |",
        f"| peak RSS of `medevidence index` (incl. graph JVM) | {starter['peak_rss_mib']:.0f} MiB |",
    ]
    (args.out / "indexing.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(ROOT / "benchmarks" / "__pycache__", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
