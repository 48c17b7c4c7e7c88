"""Search speed: /v1/search latency over the starter knowledge and over a 100k-chunk corpus, and the
lexical channel against rank_bm25 (the named baseline) at 100k chunks, in one run.

    python -m benchmarks.search_latency [--data-dir data/eval] [--queries 200] [--out benchmarks/results]

- Starter: ``Searcher.search`` in process and ``POST /v1/search`` on a real uvicorn server on
  loopback (k=10, query embedding included), over the indexed starter knowledge.
- 100k: the starter chunks written three times (other doc ids) into a fresh embedded store,
  optimised once (qdrant-edge has no background optimiser), searched by the same channels.
- Lexical: our sparse channel vs ``rank_bm25.BM25Okapi.get_scores`` over the same tokens, top-10
  overlap and the time ratio.
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
COPIES = 3


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


def bench_starter(settings: Settings, queries: list[str]) -> dict[str, Any]:
    import uvicorn

    from app.main import create_app
    from app.retrieval.search import Searcher

    with Runtime.open(settings) as rt:
        optimized = rt.vectors.optimize()  # once after a bulk load (no background optimiser embedded)
        searcher = Searcher(rt)
        searcher.warm_up()
        encode_ms, in_process = [], []
        for query in queries:
            started = time.perf_counter()
            searcher.rt.embedder.encode_query(query)
            encode_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            searcher.search(query, 10)
            in_process.append((time.perf_counter() - started) * 1000)
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
        chunks = rt.vectors.count()
    return {"chunks": chunks, "optimized_now": optimized, "query_embedding": _percentiles(encode_ms),
            "search_in_process": _percentiles(in_process), "http_v1_search": _percentiles(http_ms)}


def bench_100k(settings: Settings, queries: list[str]) -> dict[str, Any]:
    from rank_bm25 import BM25Okapi

    from app.retrieval.search import Searcher
    from app.stores.vectors_edge import EdgeVectorStore

    with Runtime.open(settings) as rt:
        ids = sorted(rt.vectors.chunk_ids())
        base_chunks = rt.vectors.get_chunks(ids)
        hashes = [c.text_hash for c in base_chunks]
        dense = rt.embedder.encode_keyed(hashes, [c.embed_text for c in base_chunks])
        avgdl = float(rt.manifest.get_meta("bm25_avgdl") or 1.0)
        tokens = [rt.analyzer.tokens(c.embed_text) for c in base_chunks]
        sparse = [rt.analyzer.document_vector_from_tokens(t, avgdl) for t in tokens]
        with tempfile.TemporaryDirectory() as tmp:
            store = EdgeVectorStore(Path(tmp) / "edge", "bench100k")
            store.ensure(dense.shape[1])
            started = time.perf_counter()
            for copy in range(COPIES):
                copies = [replace(c, doc_id=f"{c.doc_id}~{copy}") for c in base_chunks]
                store.upsert(copies, dense, sparse)
            load_s = time.perf_counter() - started
            started = time.perf_counter()
            store.optimize()
            optimize_s = time.perf_counter() - started
            searcher = Searcher(replace(rt, vectors=store))  # same model, graph and analyzer; the 100k store
            searcher.warm_up()
            latencies = []
            for query in queries:
                started = time.perf_counter()
                searcher.search(query, 10)
                latencies.append((time.perf_counter() - started) * 1000)
            # Lexical channel vs rank_bm25 on the same 100k token lists.
            corpus = tokens * COPIES
            chunk_ids = [f"{c.doc_id}~{n}#{c.ordinal}" for n in range(COPIES) for c in base_chunks]
            reference = BM25Okapi(corpus, k1=settings.bm25_k1, b=settings.bm25_b)
            ours_ms, ref_ms, overlaps = [], [], []
            lexical_queries = queries[:40]
            for query in lexical_queries:
                vector = rt.analyzer.query_vector(query)
                started = time.perf_counter()
                hits = store.search_sparse(vector, 10)
                ours_ms.append((time.perf_counter() - started) * 1000)
                terms = list(dict.fromkeys(rt.analyzer.tokens(query)))
                started = time.perf_counter()
                scores = reference.get_scores(terms)
                top = np.argsort(-scores, kind="stable")[:10]
                ref_ms.append((time.perf_counter() - started) * 1000)
                ours = {f"{h.chunk.doc_id}#{h.chunk.ordinal}" for h in hits}
                overlaps.append(len(ours & {chunk_ids[i] for i in top}) / 10)
            searcher.close()
            store.close()
    return {
        "chunks": len(base_chunks) * COPIES,
        "load_seconds": load_s,
        "optimize_seconds": optimize_s,
        "search_in_process": _percentiles(latencies),
        "lexical": {"ours_p50_ms": statistics.median(ours_ms), "rank_bm25_p50_ms": statistics.median(ref_ms),
                    "speedup": statistics.median(ref_ms) / statistics.median(ours_ms),
                    "top10_overlap": sum(overlaps) / len(overlaps), "queries": len(lexical_queries)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    settings = Settings(data_dir=args.data_dir)
    ensure_index(args.data_dir, _starter_documents(settings.knowledge_dir), "app.cli")  # the harness's own check
    queries = _queries(args.queries)
    starter = bench_starter(settings, queries)
    big = bench_100k(settings, queries)
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
        "", "| lexical at 100k chunks | value |", "| --- | ---: |",
        f"| ours (sparse, qdrant-edge) p50 | {b['lexical']['ours_p50_ms']:.2f} ms |",
        f"| rank_bm25 get_scores + top-10 p50 (baseline) | {b['lexical']['rank_bm25_p50_ms']:.1f} ms |",
        f"| speed-up | {b['lexical']['speedup']:.0f}x |",
        f"| top-10 overlap with rank_bm25 | {b['lexical']['top10_overlap']:.3f} |",
        "", f"100k load {b['load_seconds']:.0f} s, optimize {b['optimize_seconds']:.0f} s.",
    ]
    (args.out / "search_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
