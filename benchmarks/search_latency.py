"""Search speed: /v1/search latency over the starter knowledge and over a scaled corpus, single client and
under concurrent clients per query-encoder thread count, and the lexical channel against rank_bm25 (the named
baseline) on that corpus, in one run.

    python -m benchmarks.search_latency [--data-dir data/eval] [--queries 200] [--out benchmarks/results]
        [--threads-grid 1,2,4] [--rounds 2] [--concurrency 1,8,32] [--level-requests 400] [--level-seconds 30]
        [--size 100000 | --starter-only]

- Starter: ``Searcher.search`` in process and ``POST /v1/search`` on a real uvicorn server on
  loopback (k=10, query embedding included), over the indexed starter knowledge.
- Scaled (``--size``, default 100k chunks): the corpus of ``benchmarks.corpus`` (the starter chunks, then
  seeded, perturbed copies under other doc ids) in a fresh embedded store, optimised once (qdrant-edge has
  no background optimiser), searched by the same channels.
- Lexical: our sparse channel vs ``rank_bm25.BM25Okapi.get_scores`` over the same tokens, top-10
  overlap and the time ratio.  ``python -m benchmarks`` runs all of this per corpus size, with baselines.
- Concurrency (issue 21), at both sizes: for each query-encoder thread count of ``--threads-grid`` (the
  configured ``MEDEVIDENCE_QUERY_ENCODER_THREADS`` always included), a fresh app with a fresh embedder (its
  own ONNX session at that count) over the same opened stores, on a fresh uvicorn server on loopback; every
  query sent once to warm it, then 1, 8 and 32 concurrent clients (``--concurrency``; asyncio + httpx in a
  child process, so the clients do not share the server's interpreter lock), each level bounded by
  ``--level-requests`` requests and ``--level-seconds`` seconds, whichever comes first.  Reported per level:
  requests, errors (non-200 or transport failures, by kind), throughput, p50/p95/p99 of the answered
  requests, the 1-minute load average before it (the machine may be shared), and per thread count the query
  embedding alone; then the count with the lowest p95 under load (``choose_threads``).  ``--rounds N`` serves
  the grid N times, ascending then descending, so that a shared machine's drifting load does not favour one
  count.  At the scaled size also the single-client ``POST /v1/search`` of the configured count, measured as
  at the starter size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from app.config import Settings
from app.runtime import Runtime
from app.text.embedding import CachedEmbedder
from benchmarks.retrieval_eval import ensure_index
from benchmarks.search_client import post_search

ROOT = Path(__file__).resolve().parent.parent
LEVELS = (1, 8, 32)  # concurrent clients


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
    from app.compose import open_searcher
    from app.main import create_app
    from testkit.http_server import serving

    own = searcher is None
    searcher = searcher or open_searcher(rt)
    searcher.warm_up()
    first_pass = []  # the store's pages (mmap) and the per-query caches are cold: reported apart
    for query in queries:
        started = time.perf_counter()
        searcher.search(query, 10)
        first_pass.append((time.perf_counter() - started) * 1000)
    encode_ms, in_process = [], []
    for query in queries:
        started = time.perf_counter()
        searcher.embedder.encode_query(query)
        encode_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        searcher.search(query, 10)
        in_process.append((time.perf_counter() - started) * 1000)
    if own:
        searcher.close()
    with rt.reconfigured(dev_mode=True) as served, serving(create_app(served.settings, runtime=served)) as base:
        http_ms = _http_single(base, queries)
    return {"chunks": rt.vectors.count(), "query_embedding": _percentiles(encode_ms),
            "search_in_process_first_pass": _percentiles(first_pass),
            "search_in_process": _percentiles(in_process), "http_v1_search": _percentiles(http_ms)}


# -- concurrent clients (issue 21) ------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What the concurrency part measures: the encoder thread counts, the client counts, each level's bounds."""

    threads: tuple[int, ...]
    levels: tuple[int, ...] = LEVELS
    requests: int = 400
    seconds: float = 30.0
    rounds: int = 1  # the grid again, in the opposite order each round (a shared machine's load drifts)

    def order(self) -> list[tuple[int, int]]:
        """(round, threads) in the order served: ascending, then descending, then ascending..."""
        return [(n, t) for n in range(1, self.rounds + 1)
                for t in (self.threads if n % 2 else tuple(reversed(self.threads)))]


async def _client(client: Any, url: str, queries: Sequence[str], offset: int, budget: list[int], stop_at: float,
                  latencies: list[float], errors: Counter[str]) -> None:

    i = offset
    while budget[0] > 0 and time.perf_counter() < stop_at:
        budget[0] -= 1  # one event loop: no lock needed
        query = queries[i % len(queries)]
        i += 1
        started = time.perf_counter()
        kind, _ = await post_search(client, url, query)
        if kind:
            errors[kind] += 1
        else:
            latencies.append((time.perf_counter() - started) * 1000)


async def _drive(base: str, clients: int, requests: int, seconds: float, queries: Sequence[str]) -> dict[str, Any]:
    """``clients`` clients, each posting its next query as soon as its previous answer arrived (each starts at
    its own offset in ``queries``), until ``requests`` were sent in all or ``seconds`` passed."""
    import httpx

    latencies: list[float] = []
    errors: Counter[str] = Counter()
    budget = [requests]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        step = max(1, len(queries) // clients)
        await asyncio.gather(*(_client(client, f"{base}/v1/search", queries, n * step, budget, started + seconds,
                                       latencies, errors) for n in range(clients)))
        wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"clients": clients, "requests": len(ordered) + sum(errors.values()), "ok": len(ordered),
            "errors": sum(errors.values()), "error_kinds": dict(errors), "wall_seconds": round(wall, 3),
            "throughput_rps": len(ordered) / wall if wall else 0.0,
            "p50_ms": statistics.median(ordered) if ordered else float("nan"),
            "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan"),
            "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] if ordered else float("nan")}


def drive(base: str, clients: int, requests: int, seconds: float, query_count: int) -> dict[str, Any]:
    """One level, its clients in a child process (``--drive``) so that they do not share the server's GIL."""
    cmd = [sys.executable, "-m", "benchmarks.search_latency", "--drive", base, "--clients", str(clients),
           "--level-requests", str(requests), "--level-seconds", str(seconds), "--queries", str(query_count)]
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 300)
    if proc.returncode != 0:
        raise RuntimeError(f"the client driver exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "load_1min_before": round(load, 2)}


def _http_single(base: str, queries: list[str]) -> list[float]:
    """``POST /v1/search`` for each query in turn, one client in this process (as ``measure_search``)."""
    ms = []
    with httpx.Client(timeout=30) as client:
        client.post(f"{base}/v1/search", json={"query": "warmup", "k": 10})
        for query in queries:
            started = time.perf_counter()
            response = client.post(f"{base}/v1/search", json={"query": query, "k": 10})
            ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return ms


def _encode_alone(embedder: CachedEmbedder, queries: list[str]) -> dict[str, float]:
    for query in queries[:5]:
        embedder.encode_query(query)
    ms = []
    for query in queries:
        started = time.perf_counter()
        embedder.encode_query(query)
        ms.append((time.perf_counter() - started) * 1000)
    return _percentiles(ms)


def measure_concurrency(rt: Runtime, settings: Settings, queries: list[str], plan: Plan,
                        single_http: bool = False) -> dict[str, Any]:
    """Per round and thread count of ``plan`` (``Plan.order``): a fresh embedder (its own ONNX session with that
    many intra-op threads) and a fresh app and uvicorn server over ``rt``'s stores; every query once to warm it
    up, then each level of concurrent clients.  ``single_http``: also ``POST /v1/search`` one query at a time
    (over ``queries``), for the configured thread count in the first round."""
    from app.main import create_app
    from testkit.http_server import serving

    runs = []
    for round_, threads in plan.order():
        configured = settings.model_copy(update={"query_encoder_threads": threads})
        embedder = CachedEmbedder(configured)
        try:
            used = replace(rt.reconfigured(query_encoder_threads=threads, dev_mode=True), embedder=embedder)
            run: dict[str, Any] = {"round": round_, "threads": threads,
                                   "query_embedding": _encode_alone(embedder, queries[:100])}
            app = create_app(used.settings, runtime=used)
            with used, serving(app, start_timeout=300) as base:
                with httpx.Client(timeout=120) as client:  # warm: the per-query caches of this app's searcher
                    for query in queries:
                        client.post(f"{base}/v1/search", json={"query": query, "k": 10}).raise_for_status()
                if single_http and threads == settings.query_encoder_threads and round_ == 1:
                    run["http_v1_search"] = _percentiles(_http_single(base, queries))
                run["levels"] = [drive(base, clients, plan.requests, plan.seconds, len(queries))
                                 for clients in plan.levels]
        finally:
            embedder.close()
        runs.append(run)
        print(f"  {rt.vectors.count()} chunks, round {round_}, {threads} encoder thread(s): " + ", ".join(
            f"{r['clients']} clients p50 {r['p50_ms']:.1f} p95 {r['p95_ms']:.1f} ms ({r['errors']} errors)"
            for r in run["levels"]), file=sys.stderr, flush=True)
    return {"configured_threads": settings.query_encoder_threads, "levels": list(plan.levels),
            "level_requests": plan.requests, "level_seconds": plan.seconds, "rounds": plan.rounds, "runs": runs}


def bench_starter(settings: Settings, queries: list[str], plan: Plan | None = None) -> dict[str, Any]:
    with Runtime.open(settings) as rt:
        optimized = rt.vectors.optimize()  # once after a bulk load (no background optimiser embedded)
        out = {"optimized_now": optimized, **measure_search(rt, settings, queries)}
        if plan is not None:
            out["concurrency"] = measure_concurrency(rt, settings, queries, plan)
        return out


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


def bench_scaled(settings: Settings, queries: list[str], size: int = 100_000,
                 plan: Plan | None = None) -> dict[str, Any]:
    """A ``size``-chunk corpus from the starter chunks (``benchmarks.corpus``), searched in process by the
    same channels (same model, graph and analyzer), and its lexical channel against rank_bm25; with ``plan``,
    also over HTTP: one client, and concurrent clients per encoder thread count."""
    from app.compose import open_searcher
    from benchmarks.corpus import load_base, make_corpus, store_corpus

    with Runtime.open(settings) as rt, tempfile.TemporaryDirectory() as tmp:
        built = store_corpus(make_corpus(load_base(rt), rt.analyzer, size), rt.analyzer, Path(tmp) / "edge")
        searcher = open_searcher(replace(rt.reconfigured(), vectors=built.store))
        searcher.warm_up()
        latencies = []
        for query in queries:
            started = time.perf_counter()
            searcher.search(query, 10)
            latencies.append((time.perf_counter() - started) * 1000)
        searcher.close()
        lexical = lexical_vs_rank_bm25(built.store, rt.analyzer, built.tokens, [c.chunk_id for c in built.chunks],
                                       queries[:40], settings.bm25_k1, settings.bm25_b, queries[40:80])
        concurrency = (measure_concurrency(replace(rt.reconfigured(), vectors=built.store), settings, queries, plan,
                                           single_http=True) if plan is not None else None)
        built.store.close()
    out = {"chunks": len(built.chunks), "load_seconds": built.load_seconds,
           "optimize_seconds": built.optimize_seconds, "search_in_process": _percentiles(latencies),
           "lexical": lexical}
    if concurrency is not None:
        configured = next(r for r in concurrency["runs"] if "http_v1_search" in r)
        out["http_v1_search"] = configured["http_v1_search"]
        out["concurrency"] = concurrency
    return out


TIE = 0.05  # p95 sums within 5% of the lowest count as a tie, won by the fewest threads (the leaner setting)


def choose_threads(sections: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The encoder thread count with the lowest p95 under load: the sum, over the corpora and rounds, of the p95
    at every level of more than one client; within ``TIE`` of the lowest, the fewest threads (0, ONNX Runtime's
    default, counts as the most)."""
    loaded: dict[int, float] = {}
    for section in sections:
        for run in section["runs"]:
            p95s = [r["p95_ms"] for r in run["levels"] if r["clients"] > 1]
            loaded[run["threads"]] = loaded.get(run["threads"], 0.0) + sum(p95s)
    if not loaded:
        return {"summed_loaded_p95_ms": {}, "lowest": None, "chosen": None}
    lowest = min(loaded.values())
    lean = sorted(loaded, key=lambda t: (t == 0, t))
    chosen = next(t for t in lean if loaded[t] <= lowest * (1 + TIE))
    return {"summed_loaded_p95_ms": {str(t): round(v, 1) for t, v in sorted(loaded.items())},
            "lowest": min(lean, key=lambda t: loaded[t]), "chosen": chosen}


def _concurrency_lines(result: dict[str, Any]) -> list[str]:
    sections = [(name, result[key]) for name, key in (("starter", "starter"), ("scaled", "corpus_100k"))
                if key in result and "concurrency" in result[key]]
    if not sections:
        return []
    first = sections[0][1]["concurrency"]
    lines = [
        "", "## Concurrent clients", "",
        f"POST /v1/search (k=10) on a fresh uvicorn server per query-encoder thread count "
        f"(`MEDEVIDENCE_QUERY_ENCODER_THREADS`, configured: {first['configured_threads']}); clients (asyncio + "
        f"httpx) in a separate process, each level up to {first['level_requests']} requests or "
        f"{first['level_seconds']:g} s after every query was sent once; {first['rounds']} round(s) over the thread "
        "counts, ascending then descending. Load avg: the machine's 1-minute load average before the level.", "",
        "| corpus | round | encoder threads | clients | requests | errors | req/s | p50 ms | p95 ms | p99 ms "
        "| load avg |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, section in sections:
        for run in section["concurrency"]["runs"]:
            for r in run["levels"]:
                lines.append(f"| {name} ({section['chunks']} chunks) | {run['round']} | {run['threads']} | "
                             f"{r['clients']} | "
                             f"{r['requests']} | {r['errors']} | {r['throughput_rps']:.1f} | {r['p50_ms']:.1f} | "
                             f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['load_1min_before']:.2f} |")
    lines += ["", "| round | encoder threads | query embedding alone p50 ms | p95 ms |",
              "| ---: | ---: | ---: | ---: |"]
    for run in sections[0][1]["concurrency"]["runs"]:
        lines.append(f"| {run['round']} | {run['threads']} | {run['query_embedding']['p50_ms']:.1f} | "
                     f"{run['query_embedding']['p95_ms']:.1f} |")
    choice = result["threads_choice"]
    sums = ", ".join(f"{t}: {v:.0f} ms" for t, v in choice["summed_loaded_p95_ms"].items())
    lines += ["", f"p95 under load, summed over the corpora, rounds and levels of more than one client, per encoder "
              f"thread count: {sums}. Lowest: {choice['lowest']}; chosen (within {TIE:.0%} of the lowest, the fewest "
              f"threads): {choice['chosen']}."]
    return lines


def markdown(result: dict[str, Any]) -> str:
    s = result["starter"]
    lines = [
        "# Search speed", "", f"{result['machine']}, {result['date']}; k=10, query embedding included", "",
        "| measure | p50 ms | p95 ms |", "| --- | ---: | ---: |",
        f"| query embedding alone (all-MiniLM-L6-v2, ONNX Runtime, CPU) | {s['query_embedding']['p50_ms']:.1f} | "
        f"{s['query_embedding']['p95_ms']:.1f} |",
        f"| search in process, starter ({s['chunks']} chunks) | {s['search_in_process']['p50_ms']:.1f} | "
        f"{s['search_in_process']['p95_ms']:.1f} |",
        f"| POST /v1/search, starter | {s['http_v1_search']['p50_ms']:.1f} | {s['http_v1_search']['p95_ms']:.1f} |",
    ]
    b = result.get("corpus_100k")
    if b is not None:
        lines.append(f"| search in process, {b['chunks']} chunks | {b['search_in_process']['p50_ms']:.1f} | "
                     f"{b['search_in_process']['p95_ms']:.1f} |")
        if "http_v1_search" in b:
            lines.append(f"| POST /v1/search, {b['chunks']} chunks | {b['http_v1_search']['p50_ms']:.1f} | "
                         f"{b['http_v1_search']['p95_ms']:.1f} |")
        lines += [
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
    lines += _concurrency_lines(result)
    return "\n".join(lines) + "\n"


def targets(starter: dict[str, Any], big: dict[str, Any] | None) -> dict[str, bool]:
    out = {"p50 <= 25 ms": starter["http_v1_search"]["p50_ms"] <= 25,
           "p95 <= 60 ms": starter["http_v1_search"]["p95_ms"] <= 60}
    if big is not None:
        if "http_v1_search" in big:
            out[f"{big['chunks']} chunks: p50 <= 25 ms"] = big["http_v1_search"]["p50_ms"] <= 25
            out[f"{big['chunks']} chunks: p95 <= 60 ms"] = big["http_v1_search"]["p95_ms"] <= 60
        out["lexical >= 100x rank_bm25"] = big["lexical"]["speedup"] >= 100
        out["lexical top-10 overlap >= 0.9"] = big["lexical"]["top10_overlap"] >= 0.9
    configured = [run for section in (starter, big or {}) if "concurrency" in section
                  for run in section["concurrency"]["runs"]
                  if run["threads"] == section["concurrency"]["configured_threads"]]
    if configured:
        out["concurrent clients: zero errors (configured encoder threads)"] = all(
            r["errors"] == 0 for run in configured for r in run["levels"])
    return out


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--size", type=int, default=100_000, help="chunks of the scaled corpus")
    parser.add_argument("--starter-only", action="store_true", help="skip the scaled corpus")
    parser.add_argument("--threads-grid", type=_ints, default=(),
                        help="query-encoder thread counts to serve with, comma-separated (0: ONNX Runtime's default); "
                        "the configured MEDEVIDENCE_QUERY_ENCODER_THREADS is always included")
    parser.add_argument("--concurrency", type=_ints, default=LEVELS,
                        help="concurrent client counts, comma-separated (empty: skip the concurrency part)")
    parser.add_argument("--level-requests", type=int, default=400, help="requests of one concurrency level, at most")
    parser.add_argument("--level-seconds", type=float, default=30.0, help="seconds of one concurrency level, at most")
    parser.add_argument("--rounds", type=int, default=1,
                        help="serve the thread counts this many times, ascending then descending (a shared machine)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--drive", metavar="URL", help=argparse.SUPPRESS)  # the child process: clients only
    parser.add_argument("--clients", type=int, default=1, help=argparse.SUPPRESS)  # the driver's client count
    args = parser.parse_args(argv)
    if args.drive:
        print(json.dumps(asyncio.run(_drive(args.drive, args.clients, args.level_requests, args.level_seconds,
                                            _queries(args.queries)))))
        return 0
    settings = Settings(data_dir=args.data_dir)
    ensure_index(args.data_dir, _starter_documents(settings.knowledge_dir), "app.cli")  # the harness's own check
    queries = _queries(args.queries)
    threads = tuple(sorted({*args.threads_grid, settings.query_encoder_threads}))
    plan = (Plan(threads, args.concurrency, args.level_requests, args.level_seconds, max(1, args.rounds))
            if args.concurrency else None)
    starter = bench_starter(settings, queries, plan)
    big = None if args.starter_only else bench_scaled(settings, queries, args.size, plan)
    result: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
                              "date": time.strftime("%Y-%m-%d"), "starter": starter}
    if big is not None:
        result["corpus_100k"] = big
    if plan is not None:
        result["threads_choice"] = choose_threads([section["concurrency"] for section in (starter, big)
                                                   if section is not None])
    result["targets"] = targets(starter, big)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (args.out / "search_latency.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
