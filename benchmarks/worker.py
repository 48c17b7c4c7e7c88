"""One part of ``python -m benchmarks`` in its own process; writes its result as JSON to ``--result``.

    python -m benchmarks.worker build    --size N|starter --work DIR [--lexical-queries 40]
    python -m benchmarks.worker service  [--store DIR] --queries 200 [--twins 100,50]
                                         [--interactions 5,20,50 --interaction-runs 30 --pairwise-max N]
                                         [--answers 60,36,5]
    python -m benchmarks.worker baseline --stack textbook|llama-index --corpus DIR --queries 100 [--pairs FILE]
    python -m benchmarks.worker indexing --docs-per-source 25 [--max-chunks N] [--changed-fraction 0.01]

Every result carries the process's memory (``benchmarks.memory.snapshot``) at its end and its seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def build(args: argparse.Namespace) -> dict[str, Any]:
    """A corpus of ``--size`` chunks: its store (not for the starter, which is the data dir's own), the files
    the baselines read, and the lexical channel against rank_bm25 on it."""
    from app.config import Settings
    from app.runtime import Runtime
    from benchmarks.corpus import Built, export, load_base, make_corpus, store_corpus
    from benchmarks.search_latency import _queries, lexical_vs_rank_bm25

    settings = Settings(data_dir=args.data_dir)
    work: Path = args.work
    out: dict[str, Any] = {}
    with Runtime.open(settings) as rt:
        started = time.perf_counter()
        base = load_base(rt)
        if args.size == "starter":
            built = Built(base.chunks, base.dense, [], 0.0, None)
        else:
            built = store_corpus(make_corpus(base, rt.analyzer, int(args.size)), rt.analyzer, work / "edge")
            out.update(load_seconds=built.load_seconds, optimize_seconds=built.optimize_seconds,
                       avgdl=built.avgdl, copy_cosine=built.copy_cosine)
        out["chunks"] = len(built.chunks)
        out["documents"] = len({c.doc_id for c in built.chunks})
        export(built, work / "corpus")
        out["build_seconds"] = time.perf_counter() - started
        if args.lexical_queries and built.store is not None:
            queries, n = _queries(200), args.lexical_queries
            out["lexical"] = lexical_vs_rank_bm25(
                built.store, rt.analyzer, built.tokens, [c.chunk_id for c in built.chunks],
                queries[:n], settings.bm25_k1, settings.bm25_b, queries[n: 2 * n])
        if built.store is not None:
            built.store.close()
    return out


def service(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.service import run_service

    twins, lists, answers = _ints(args.twins), _ints(args.interactions), _ints(args.answers)
    return run_service(args.data_dir, args.store, args.queries,
                       twins=(twins[0], twins[1]) if twins else None,
                       interactions=(lists, args.interaction_runs, args.pairwise_max) if lists else None,
                       answers=(answers[0], answers[1], answers[2]) if answers else None)


def _ints(text: str | None) -> list[int]:
    return [int(n) for n in text.split(",")] if text else []


def baseline(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.baselines import llama_index_unavailable, run
    from benchmarks.search_latency import _queries

    if args.stack == "llama-index":
        reason = llama_index_unavailable()
        if reason:
            return {"not_run": reason}
    pairs = json.loads(args.pairs.read_text(encoding="utf-8")) if args.pairs else []
    return run(args.stack, args.corpus, _queries(args.queries), pairs)


def indexing(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.indexing import bench_starter_from_cache, bench_throughput

    out: dict[str, Any] = {}
    if args.changed_fraction:  # first: a child forked after the model and JVM load would inherit their RSS
        out["starter_from_cache"] = bench_starter_from_cache(args.changed_fraction)
    out["throughput"] = bench_throughput(args.docs_per_source, args.max_chunks or None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("part", choices=["build", "service", "baseline", "indexing"])
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--size", default="starter")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--lexical-queries", type=int, default=0)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--twins")
    parser.add_argument("--interactions")
    parser.add_argument("--interaction-runs", type=int, default=3)
    parser.add_argument("--pairwise-max", type=int, default=0, help="0: the pairwise baseline for every list")
    parser.add_argument("--answers")
    parser.add_argument("--stack", choices=["textbook", "llama-index"])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--pairs", type=Path)
    parser.add_argument("--docs-per-source", type=int, default=2)
    parser.add_argument("--max-chunks", type=int, default=0, help="0: every chunk of the sample")
    parser.add_argument("--changed-fraction", type=float, default=0.0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = {"build": build, "service": service, "baseline": baseline, "indexing": indexing}[args.part](args)
    from benchmarks.memory import snapshot

    result["process_memory"] = snapshot()
    result["seconds"] = time.perf_counter() - started
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
