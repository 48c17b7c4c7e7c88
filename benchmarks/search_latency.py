"""Search speed: /v1/search latency over the starter knowledge and over a scaled corpus, and the
lexical channel against rank_bm25 (the named baseline) on that corpus, in one run.

    python -m benchmarks.search_latency [--data-dir data/eval] [--queries 200] [--out benchmarks/results]

- Starter: ``Searcher.search`` in process and ``POST /v1/search`` on a real uvicorn server on
  loopback (k=10, query embedding included), over the indexed starter knowledge.
- Scaled (``--size``, default 100k chunks): the corpus of ``benchmarks.corpus`` (the starter chunks, then
  seeded, perturbed copies under other doc ids) in a fresh embedded store, optimised once (qdrant-edge has
  no background optimiser), searched by the same channels.
- Lexical: our sparse channel vs ``rank_bm25.BM25Okapi.get_scores`` over the same tokens, top-10
  overlap and the time ratio.  ``python -m benchmarks`` runs all of this per corpus size, with baselines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from app.config import Settings
from app.runtime import Runtime
from benchmarks.retrieval_eval import ensure_index

ROOT = Path(__file__).resolve().parent.parent


def _queries(count: int) -> list[str]:
    rows: list[str] = []
    for name in ("medquad_heldout", "pubmedqa_dev"):
        with (ROOT / "benchmarks" / "data" / f"{name}.jsonl").open(encoding="utf-8") as fh:
            rows += [json.loads(line)["query"] for line in fh][: count // 2]
    zh = ["华法林和阿司匹林合用的出血风险", "阿托伐他汀 不良反应", "二甲双胍 禁忌", "克拉霉素 相互作用",
          "2型糖尿病 治疗"]
    return rows[: count - len(zh)] + zh


def _percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50_ms": statistics.median(ordered), "p95_ms": ordered[int(0.95 * (len(ordered) - 1))],
            "n": len(ordered)}


def _starter_documents(knowledge_dir: Path) -> int:
    from indexers.sources.base import Rejected
    from indexers.sources.jsonl import read_jsonl

    return sum(1 for path in sorted((knowledge_dir / "docs").glob("*.jsonl.gz"))
               for item in read_jsonl(path) if not isinstance(item, Rejected))


def measure_search(rt: Runtime, settings: Settings, queries: list[str], searcher: Any = None) -> dict[str, Any]:
    """Over whatever store ``rt.vectors`` is (k=10): a first, cold pass of ``Searcher.search`` over the
    queries (reported apart), then the query embedding alone, ``Searcher.search`` in process and
    ``POST /v1/search`` on a real uvicorn server on loopback, each over the same queries, warm.
    ``searcher``: one already made on ``rt`` (left open)."""
    import uvicorn

    from app.main import create_app
    from app.retrieval.search import Searcher

    own = searcher is None
    searcher = searcher or Searcher(rt)
    searcher.warm_up()
    first_pass = []  # the store's pages (mmap) and the per-query caches are cold: reported apart
    for query in queries:
        started = time.perf_counter()
        searcher.search(query, 10)
        first_pass.append((time.perf_counter() - started) * 1000)
    encode_ms, in_process = [], []
    for query in queries:
        started = time.perf_counter()
        searcher.rt.embedder.encode_query(query)
        encode_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        searcher.search(query, 10)
        in_process.append((time.perf_counter() - started) * 1000)
    if own:
        searcher.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(settings.model_copy(update={"dev_mode": True}), runtime=rt)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    http_ms = []
    with httpx.Client(timeout=30) as client:
        client.post(f"{base}/v1/search", json={"query": "warmup", "k": 10})
        for query in queries:
            started = time.perf_counter()
            response = client.post(f"{base}/v1/search", json={"query": query, "k": 10})
            http_ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    server.should_exit = True
    thread.join(timeout=30)
    return {"chunks": rt.vectors.count(), "query_embedding": _percentiles(encode_ms),
            "search_in_process_first_pass": _percentiles(first_pass),
            "search_in_process": _percentiles(in_process), "http_v1_search": _percentiles(http_ms)}


def bench_starter(settings: Settings, queries: list[str]) -> dict[str, Any]:
    with Runtime.open(settings) as rt:
        optimized = rt.vectors.optimize()  # once after a bulk load (no background optimiser embedded)
        return {"optimized_now": optimized, **measure_search(rt, settings, queries)}


def lexical_vs_rank_bm25(store: Any, analyzer: Any, tokens: list[list[str]], chunk_ids: list[str],
                         queries: list[str], k1: float, b: float,
                         interleaved_queries: list[str] | None = None) -> dict[str, Any]:
    """Our sparse channel (``store.search_sparse``, k=10, payloads included) against
    ``rank_bm25.BM25Okapi.get_scores`` + top 10 over the same token lists.

    Each system answers every query once, in its own block: ours over ``queries``, then rank_bm25 over
    the same ``queries`` (p50 of each, the speed-up, the mean top-10 overlap).  Before that, both answer
    ``interleaved_queries`` (other queries) alternately, one query each in turn; that pass warms both
    sides up and is reported as well (``interleaved``): there each of our calls runs right after a
    rank_bm25 call that sweeps its 100k-document structures, so it starts with the CPU caches emptied,
    which no search in the service meets."""
    from rank_bm25 import BM25Okapi

    started = time.perf_counter()
    reference = BM25Okapi(tokens, k1=k1, b=b)
    build_s = time.perf_counter() - started

    def ours(query: str) -> tuple[float, list[str]]:
        vector = analyzer.query_vector(query)
        started = time.perf_counter()
        hits = store.search_sparse(vector, 10)
        return (time.perf_counter() - started) * 1000, [h.chunk.chunk_id for h in hits]

    def theirs(query: str) -> tuple[float, list[str]]:
        terms = list(dict.fromkeys(analyzer.tokens(query)))
        started = time.perf_counter()
        scores = reference.get_scores(terms)
        top = np.argsort(-scores, kind="stable")[:10]
        return (time.perf_counter() - started) * 1000, [chunk_ids[i] for i in top]

    mixed_ours, mixed_ref = [], []
    for query in interleaved_queries or []:
        mixed_ours.append(ours(query)[0])
        mixed_ref.append(theirs(query)[0])
    our_runs = [ours(q) for q in queries]
    ref_runs = [theirs(q) for q in queries]
    ours_ms, ref_ms = [r[0] for r in our_runs], [r[0] for r in ref_runs]
    overlaps = [len(set(a[1]) & set(r[1])) / 10 for a, r in zip(our_runs, ref_runs, strict=True)]
    out: dict[str, Any] = {
        "ours_p50_ms": statistics.median(ours_ms), "rank_bm25_p50_ms": statistics.median(ref_ms),
        "speedup": statistics.median(ref_ms) / statistics.median(ours_ms),
        "top10_overlap": sum(overlaps) / len(overlaps), "queries": len(queries),
        "rank_bm25_build_seconds": build_s, "method": "blocks: each system over the queries once, in turn"}
    if mixed_ours:
        out["interleaved"] = {"ours_p50_ms": statistics.median(mixed_ours),
                              "rank_bm25_p50_ms": statistics.median(mixed_ref),
                              "speedup": statistics.median(mixed_ref) / statistics.median(mixed_ours),
                              "queries": len(mixed_ours)}
    return out


def bench_scaled(settings: Settings, queries: list[str], size: int = 100_000) -> dict[str, Any]:
    """A ``size``-chunk corpus from the starter chunks (``benchmarks.corpus``), searched in process by the
    same channels (same model, graph and analyzer), and its lexical channel against rank_bm25."""
    from app.retrieval.search import Searcher
    from benchmarks.corpus import load_base, make_corpus, store_corpus

    with Runtime.open(settings) as rt, tempfile.TemporaryDirectory() as tmp:
        built = store_corpus(make_corpus(load_base(rt), rt.analyzer, size), rt.analyzer, Path(tmp) / "edge")
        searcher = Searcher(replace(rt, vectors=built.store))
        searcher.warm_up()
        latencies = []
        for query in queries:
            started = time.perf_counter()
            searcher.search(query, 10)
            latencies.append((time.perf_counter() - started) * 1000)
        searcher.close()
        lexical = lexical_vs_rank_bm25(built.store, rt.analyzer, built.tokens, [c.chunk_id for c in built.chunks],
                                       queries[:40], settings.bm25_k1, settings.bm25_b, queries[40:80])
        built.store.close()
    return {"chunks": len(built.chunks), "load_seconds": built.load_seconds,
            "optimize_seconds": built.optimize_seconds, "search_in_process": _percentiles(latencies),
            "lexical": lexical}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--size", type=int, default=100_000, help="chunks of the scaled corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    settings = Settings(data_dir=args.data_dir)
    ensure_index(args.data_dir, _starter_documents(settings.knowledge_dir), "app.cli")  # the harness's own check
    queries = _queries(args.queries)
    starter = bench_starter(settings, queries)
    big = bench_scaled(settings, queries, args.size)
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d"),
              "starter": starter, "corpus_100k": big,
              "targets": {"p50 <= 25 ms": starter["http_v1_search"]["p50_ms"] <= 25,
                          "p95 <= 60 ms": starter["http_v1_search"]["p95_ms"] <= 60,
                          "lexical >= 100x rank_bm25": big["lexical"]["speedup"] >= 100,
                          "lexical top-10 overlap >= 0.9": big["lexical"]["top10_overlap"] >= 0.9}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    s, b = starter, big
    lines = [
        "# Search speed", "", f"{result['machine']}, {result['date']}; k=10, query embedding included", "",
        "| measure | p50 ms | p95 ms |", "| --- | ---: | ---: |",
        f"| query embedding alone (all-MiniLM-L6-v2, ONNX Runtime, CPU) | {s['query_embedding']['p50_ms']:.1f} | "
        f"{s['query_embedding']['p95_ms']:.1f} |",
        f"| search in process, starter ({s['chunks']} chunks) | {s['search_in_process']['p50_ms']:.1f} | "
        f"{s['search_in_process']['p95_ms']:.1f} |",
        f"| POST /v1/search, starter | {s['http_v1_search']['p50_ms']:.1f} | {s['http_v1_search']['p95_ms']:.1f} |",
        f"| search in process, {b['chunks']} chunks | {b['search_in_process']['p50_ms']:.1f} | "
        f"{b['search_in_process']['p95_ms']:.1f} |",
        "", f"| lexical at {b['chunks']} chunks | value |", "| --- | ---: |",
        f"| ours (sparse, qdrant-edge) p50 | {b['lexical']['ours_p50_ms']:.2f} ms |",
        f"| rank_bm25 get_scores + top-10 p50 (baseline) | {b['lexical']['rank_bm25_p50_ms']:.1f} ms |",
        f"| speed-up | {b['lexical']['speedup']:.0f}x |",
        f"| top-10 overlap with rank_bm25 | {b['lexical']['top10_overlap']:.3f} |",
        f"| interleaved pass (other queries, one each in turn): ours p50 | "
        f"{b['lexical']['interleaved']['ours_p50_ms']:.2f} ms |",
        f"| interleaved pass: speed-up | {b['lexical']['interleaved']['speedup']:.0f}x |",
        "", f"{b['chunks']}-chunk corpus load {b['load_seconds']:.0f} s, optimize {b['optimize_seconds']:.0f} s.",
    ]
    (args.out / "search_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
