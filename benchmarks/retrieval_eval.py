"""Retrieval evaluation: the system's batch search against textbook baselines on the same corpus, per set.

    python -m benchmarks.retrieval_eval [--sets bioasq_dev,pubmedqa_dev,medquad_heldout,zh_instructions_dev]
                                        [--data-dir data/eval] [--own-data-root data/eval_sets]
                                        [--shared-dir ../shared/data] [--reference RUNS_DIR] [--save-runs DIR]

The four development sets and their roles are in ``benchmarks/eval_sets.py``: BioASQ dev (its own corpus of
gold snippets) and MedQuAD tune are tuned on; PubMedQA dev, MedQuAD held-out (starter knowledge) and the Chinese
instructions (their own corpus) check that a gain carries over.  It prints one line per set: the system's
nDCG@10 against the best baseline's on that corpus with a paired bootstrap 95% interval, R@1 of both, and, with
``--reference`` (an earlier run's ``--save-runs`` folder), the change against that run.  A retrieval change lands
only if no set gets worse beyond its interval.

System under test: exactly the batch path users have, ``python -m app.cli search --queries IN.jsonl
--output OUT.jsonl --k K --data-dir DIR`` in a subprocess, over a data dir indexed by ``app.cli index`` (the
starter knowledge, or a set's own documents written as generic JSONL into its own data dir).

Baselines, in the same run, on the same queries and on the same corpus (every chunk, produced exactly as the
indexer does: ``read_jsonl``, ``chunk_document`` with the chunking settings of ``Settings()``; a chunk is seen
as ``chunk.embed_text``):

- BM25: ``rank_bm25.BM25Okapi(k1=1.5, b=0.75)`` over our analyzer's tokens, over plain lower-case ``\\w+``
  tokens and, for a Chinese corpus, over plain jieba words.  Scores are rank_bm25's (its IDF table, document
  lengths and Okapi formula), summed from per-term postings instead of its per-document Python loop; a
  self-check compares them with ``get_scores`` on the first queries of each set.  The best variant (nDCG@k)
  is "the BM25 baseline".
- dense: all-MiniLM-L6-v2, brute-force cosine over the chunk vectors (the caches the system reads, keyed by
  ``chunk.text_hash``), queries encoded by the same model.
- RRF(k=60) of the BM25 baseline's and the dense baseline's top 100 chunks.

Every system gives a ranked list of chunks; the first ``k`` chunks become documents (``benchmarks.metrics``:
a document counts at its first chunk's rank) and are scored R@1, P@1, R@5, R@10, MRR@k, nDCG@k.  Throughput
is queries/s of a whole batch: the system's subprocess wall time (also without its start-up, measured
with a one-query batch), and each baseline's query-side work (index building excluded, reported apart).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.eval_sets import (
    DEFAULT_SETS,
    DEFAULT_SHARED,
    SETS,
    STARTER,
    SetSpec,
    load_questions,
    read_jsonl_rows,
    write_corpus,
)
from benchmarks.metrics import dedupe_docs, mean_metrics, query_metrics

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "benchmarks" / "data"
DEFAULT_EVAL_DIR = Path("data") / "eval"
DEFAULT_OWN_ROOT = Path("data") / "eval_sets"
RRF_K = 60
FUSION_DEPTH = 100
BM25_K1 = 1.5
BM25_B = 0.75
SYSTEM = "system (app.cli search)"
_PLAIN_TOKEN = re.compile(r"\w+")

Ranking = list[str]  # chunk ids in rank order


@dataclass
class EvalSet:
    name: str
    rows: list[dict[str, Any]]

    @property
    def gold(self) -> dict[str, list[str]]:
        return {str(r["id"]): list(r["gold"]) for r in self.rows}

    @property
    def queries(self) -> list[str]:
        return [str(r["query"]) for r in self.rows]

    @property
    def ids(self) -> list[str]:
        return [str(r["id"]) for r in self.rows]


@dataclass
class RunResult:
    """One system on one set: chunk rankings (doc ids of the hits) and timing."""

    name: str
    docs: dict[str, list[str]]  # query id -> doc ids of the ranked hits (top k chunks)
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    hits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # the system's raw hits, by query id


# -- the corpus -------------------------------------------------------------------------------


@dataclass
class Corpus:
    chunk_ids: list[str]
    doc_ids: list[str]
    texts: list[str]  # chunk.embed_text
    text_hashes: list[str]
    documents: int
    seconds: float


def build_corpus(paths: Sequence[Path], max_tokens: int, min_tokens: int, overlap_tokens: int) -> Corpus:
    """Every chunk of the given generic JSONL files (the starter knowledge's ``docs/*.jsonl.gz``, or a set's own
    ``documents.jsonl``), exactly as the indexer produces them."""
    from indexers.chunking import ChunkingConfig, chunk_document
    from indexers.sources.base import Rejected
    from indexers.sources.jsonl import read_jsonl

    started = time.perf_counter()
    cfg = ChunkingConfig(max_tokens=max_tokens, min_tokens=min_tokens, overlap_tokens=overlap_tokens)
    corpus = Corpus([], [], [], [], 0, 0.0)
    for path in paths:
        for item in read_jsonl(path):
            if isinstance(item, Rejected):
                continue
            corpus.documents += 1
            for chunk in chunk_document(item, cfg):
                corpus.chunk_ids.append(chunk.chunk_id)
                corpus.doc_ids.append(chunk.doc_id)
                corpus.texts.append(chunk.embed_text)
                corpus.text_hashes.append(chunk.text_hash)
    corpus.seconds = time.perf_counter() - started
    return corpus


def starter_paths(knowledge_dir: Path) -> list[Path]:
    return sorted((knowledge_dir / "docs").glob("*.jsonl.gz"))


def mostly_chinese(texts: Sequence[str], sample: int = 200) -> bool:
    """Whether Han characters are at least a third of the letters of the first ``sample`` texts."""
    from app.text.language import is_han

    joined = "".join(texts[:sample])
    han = sum(1 for c in joined if is_han(c))
    letters = sum(1 for c in joined if c.isalpha())
    return letters > 0 and han / letters >= 1 / 3


# -- baselines --------------------------------------------------------------------------------


def plain_tokens(text: str) -> list[str]:
    """Lower-case ``\\w+`` runs: no stop words, no stemming."""
    return _PLAIN_TOKEN.findall(text.lower())


def jieba_tokens(text: str) -> list[str]:
    """Plain jieba (its default dictionary, precise mode) words of the lower-cased text, punctuation and
    spaces dropped: what a Chinese search baseline starts from."""
    import jieba

    return [w for w in jieba.lcut(text.lower()) if _PLAIN_TOKEN.search(w)]


class Bm25Baseline:
    """rank_bm25's BM25Okapi, scored from per-term postings (same numbers as ``get_scores``)."""

    def __init__(self, name: str, texts: Sequence[str], tokenize: Callable[[str], list[str]]) -> None:
        from rank_bm25 import BM25Okapi

        started = time.perf_counter()
        self.name = name
        self.tokenize = tokenize
        corpus = [tokenize(t) for t in texts]
        self.bm25 = BM25Okapi(corpus, k1=BM25_K1, b=BM25_B)
        doc_len = np.asarray(self.bm25.doc_len, dtype=np.float64)
        norm = BM25_K1 * (1.0 - BM25_B + BM25_B * doc_len / self.bm25.avgdl)
        rows: dict[str, list[int]] = {}
        tfs: dict[str, list[int]] = {}
        for i, freqs in enumerate(self.bm25.doc_freqs):
            for term, tf in freqs.items():
                rows.setdefault(term, []).append(i)
                tfs.setdefault(term, []).append(tf)
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, idx in rows.items():
            index = np.asarray(idx, dtype=np.int64)
            tf = np.asarray(tfs[term], dtype=np.float64)
            self.postings[term] = (index, tf * (BM25_K1 + 1) / (tf + norm[index]))
        self.size = len(corpus)
        self.build_seconds = time.perf_counter() - started

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """rank_bm25 ``get_scores(tokens)``: every query token counts (repeats included)."""
        out = np.zeros(self.size, dtype=np.float64)
        for term in tokens:
            posting = self.postings.get(term)
            idf = self.bm25.idf.get(term) or 0.0
            if posting is not None and idf:
                out[posting[0]] += idf * posting[1]
        return out

    def check(self, queries: Sequence[str]) -> float:
        """Largest absolute difference from rank_bm25's own ``get_scores`` on ``queries``."""
        worst = 0.0
        for query in queries:
            tokens = self.tokenize(query)
            worst = max(worst, float(np.max(np.abs(self.scores(tokens) - self.bm25.get_scores(tokens)))))
        return worst

    def search(self, queries: Sequence[str], depth: int) -> list[list[int]]:
        out: list[list[int]] = []
        for query in queries:
            scores = self.scores(self.tokenize(query))
            out.append(top_indices(scores, depth, positive_only=True))
        return out


class DenseBaseline:
    """Brute-force cosine over the chunk vectors; queries encoded by the same model.

    Chunk vectors come from the vector caches the system itself reads (the shipped cache of the starter
    knowledge, the data dir's SQLite cache of what it indexed), keyed by ``chunk.text_hash``: the same
    model on the same text gives the same vector.  Chunks no cache holds are embedded here."""

    def __init__(self, corpus: Corpus, knowledge_dir: Path, model_id: str, model_path: str | None,
                 batch_size: int, cache_db: Path | None = None) -> None:
        from app.text.embedding import VectorCache, default_model_path, load_embedder, shipped_cache_file

        started = time.perf_counter()
        found: dict[str, np.ndarray] = {}
        with tempfile.TemporaryDirectory(prefix="dense-baseline-") as tmp:
            local = cache_db if cache_db is not None and cache_db.exists() else Path(tmp) / "none.sqlite"
            cache = VectorCache(local, model_id, shipped_cache_file(knowledge_dir, model_id))
            found = cache.get_many(list(dict.fromkeys(corpus.text_hashes)))
        self.embedder = load_embedder(Path(model_path) if model_path else default_model_path(), model_id, batch_size)
        missing = [i for i, h in enumerate(corpus.text_hashes) if h not in found]
        matrix = np.zeros((len(corpus.text_hashes), self.embedder.dim), dtype=np.float32)
        present = [i for i, h in enumerate(corpus.text_hashes) if h in found]
        if present:
            matrix[present] = np.stack([np.asarray(found[corpus.text_hashes[i]], dtype=np.float32) for i in present])
        if missing:  # chunks no cache covers (other chunking settings, a baselines-only run): embed them
            matrix[missing] = self.embedder.encode([corpus.texts[i] for i in missing])
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        self.matrix = matrix
        self.embedded_missing = len(missing)
        self.name = "dense (MiniLM cosine)"
        self.build_seconds = time.perf_counter() - started

    def search(self, queries: Sequence[str], depth: int) -> list[list[int]]:
        vectors = self.embedder.encode(list(queries))
        out: list[list[int]] = []
        for start in range(0, len(queries), 256):
            sims = vectors[start : start + 256] @ self.matrix.T
            out.extend(top_indices(row, depth) for row in sims)
        return out


def top_indices(scores: np.ndarray, depth: int, positive_only: bool = False) -> list[int]:
    """Indices of the ``depth`` highest scores, best first, ties by index; optionally only scores > 0."""
    depth = min(depth, scores.shape[0])
    part = np.argpartition(-scores, depth - 1)[:depth]
    order = part[np.lexsort((part, -scores[part]))]
    if positive_only:
        order = order[scores[order] > 0]
    return [int(i) for i in order]


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[int]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) (rank from 1); ties by first appearance."""
    score: dict[int, float] = {}
    first: dict[int, int] = {}
    position = 0
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            score[item] = score.get(item, 0.0) + 1.0 / (k + rank)
            if item not in first:
                first[item] = position
                position += 1
    return sorted(score, key=lambda item: (-score[item], first[item]))


def to_docs(corpus: Corpus, ids: Sequence[str], rankings: Sequence[Sequence[int]], k: int) -> dict[str, list[str]]:
    return {qid: [corpus.doc_ids[i] for i in ranking[:k]] for qid, ranking in zip(ids, rankings, strict=True)}


# -- the system -------------------------------------------------------------------------------


def manifest_state(data_dir: Path) -> dict[str, int] | None:
    """Starter documents and pending operations recorded in a data dir's manifest (None: no manifest)."""
    path = data_dir / "manifest.sqlite"
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        starter = db.execute("SELECT COUNT(*) FROM documents WHERE origin LIKE 'knowledge:%'").fetchone()[0]
        other = db.execute("SELECT COUNT(*) FROM documents WHERE origin NOT LIKE 'knowledge:%'").fetchone()[0]
        pending = db.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
        total = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return {"starter_documents": int(starter), "other_documents": int(other), "documents": int(total),
            "pending": int(pending)}


def ensure_index(data_dir: Path, expected_documents: int, cli_module: str,
                 paths: Sequence[Path] = ()) -> dict[str, Any]:
    """Index into ``data_dir`` unless its manifest already holds every document: the starter knowledge, or,
    when ``paths`` are given, those generic JSONL files (a set's own corpus, in a data dir of its own)."""
    from app.config import Settings
    from app.stores.vectors import EDGE_DIR

    settings = Settings(data_dir=data_dir)
    state = manifest_state(data_dir)
    held = None if state is None else (state["documents"] if paths else state["starter_documents"])
    complete = state is not None and state["pending"] == 0 and held == expected_documents
    shard = data_dir / EDGE_DIR / settings.index_name()
    if complete and not settings.qdrant_url and not shard.exists():
        raise RuntimeError(
            f"{data_dir} has a manifest but no chunk index {shard.name} (the index shape, i.e. model, chunking "
            "or BM25 settings, changed since it was built): pass a fresh --data-dir")
    info: dict[str, Any] = {"data_dir": str(data_dir), "index_name": settings.index_name(),
                            "indexed_now": not complete, "index_seconds": None}
    if not complete:
        what = ", ".join(str(p) for p in paths) or "the starter knowledge"
        print(f"indexing {what} into {data_dir} ...", file=sys.stderr)
        started = time.perf_counter()
        cmd = [sys.executable, "-m", cli_module, "index", *(str(p) for p in paths), "--data-dir", str(data_dir)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        info["index_seconds"] = round(time.perf_counter() - started, 1)
        state = manifest_state(data_dir)
    info["manifest"] = state
    if state and not paths and state["other_documents"]:
        print(f"warning: {data_dir} also holds {state['other_documents']} non-starter documents; "
              "the system searches a larger corpus than the baselines", file=sys.stderr)
    return info


def run_batch(queries: Sequence[tuple[str, str]], data_dir: Path, k: int, cli_module: str,
              workdir: Path) -> tuple[dict[str, list[dict[str, Any]]], float]:
    """Run the batch search CLI once; hits by query id and the subprocess wall time."""
    stem = f"batch-{len(queries)}-{time.monotonic_ns()}"
    inp, out = workdir / f"{stem}.in.jsonl", workdir / f"{stem}.out.jsonl"
    with inp.open("w", encoding="utf-8") as fh:
        for qid, query in queries:
            fh.write(json.dumps({"id": qid, "query": query}, ensure_ascii=False) + "\n")
    cmd = [sys.executable, "-m", cli_module, "search", "--queries", str(inp), "--output", str(out),
           "--k", str(k), "--data-dir", str(data_dir)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    hits: dict[str, list[dict[str, Any]]] = {}
    with out.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                hits[str(obj["id"])] = list(obj.get("hits") or [])
    return hits, seconds


def run_system(evalset: EvalSet, data_dir: Path, k: int, cli_module: str, workdir: Path) -> RunResult:
    hits, seconds = run_batch(list(zip(evalset.ids, evalset.queries, strict=True)), data_dir, k, cli_module, workdir)
    missing = [qid for qid in evalset.ids if qid not in hits]
    required = ("doc_id", "chunk_id", "score", "channels")
    malformed = sum(1 for hs in hits.values() for h in hs if any(key not in h for key in required))
    over_k = sum(1 for hs in hits.values() if len(hs) > k)
    channels: dict[str, int] = {}
    for hs in hits.values():
        for h in hs[:k]:
            for name, value in (h.get("channels") or {}).items():
                if value is not None:
                    channels[name] = channels.get(name, 0) + 1
    docs = {qid: [str(h["doc_id"]) for h in hs[:k]] for qid, hs in hits.items()}
    raw = {qid: [{key: h.get(key) for key in ("doc_id", "chunk_id", "section", "score", "channels")} for h in hs[:k]]
           for qid, hs in hits.items()}
    total_hits = sum(len(hs[:k]) for hs in hits.values())
    extra = {
        "missing_queries": len(missing),
        "malformed_hits": malformed,
        "queries_over_k": over_k,
        "hits": total_hits,
        "hits_with_channel": channels,
    }
    if missing or malformed:
        print(f"warning: {evalset.name}: {len(missing)} queries without output, {malformed} hits lacking "
              f"{required}", file=sys.stderr)
    return RunResult(SYSTEM, docs, seconds, extra, raw)


# -- scoring and reporting --------------------------------------------------------------------


def score(run: RunResult, evalset: EvalSet, k: int) -> dict[str, Any]:
    cutoffs = sorted({c for c in (1, 5, k) if c <= k})
    per_query = [query_metrics(run.docs.get(qid, []), gold, k, cutoffs) for qid, gold in evalset.gold.items()]
    n = len(evalset.rows)
    metrics = mean_metrics(per_query)
    # P@1: the first document is a gold one (equal to R@1 where a question has one gold document)
    metrics["P@1"] = sum(1.0 for qid, gold in evalset.gold.items()
                         if set(dedupe_docs(run.docs.get(qid, []))[:1]) & set(gold)) / n
    out: dict[str, Any] = {
        "metrics": metrics,
        "queries": n,
        "seconds": round(run.seconds, 3),
        "queries_per_s": round(n / run.seconds, 2) if run.seconds > 0 else None,
        "mean_distinct_docs": sum(len(dedupe_docs(d)) for d in run.docs.values()) / max(len(run.docs), 1),
        "per_query_ndcg": [q[f"nDCG@{k}"] for q in per_query],
        "per_query_r1": [q["R@1"] for q in per_query],
    }
    out.update(run.extra)
    return out


def paired_bootstrap(a: Sequence[float], b: Sequence[float], resamples: int = 2000, seed: int = 0) -> list[float]:
    """95% interval of mean(a - b) over queries (paired bootstrap)."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def reference_ndcg(directory: Path, evalset: EvalSet, k: int) -> list[float] | None:
    """Per-query nDCG@k of the system in an earlier run's ``<set>.runs.jsonl`` (``--save-runs``), in this set's
    question order; None when that run lacks the set or any of its questions."""
    path = directory / f"{evalset.name}.runs.jsonl"
    if not path.exists():
        return None
    docs: dict[str, list[str]] = {}
    for row in read_jsonl_rows(path):
        ranked = (row.get("docs") or {}).get(SYSTEM)
        if ranked is not None:
            docs[str(row["id"])] = [str(d) for d in ranked]
    if any(qid not in docs for qid in evalset.ids):
        return None
    return [query_metrics(docs[qid], gold, k, (1,))[f"nDCG@{k}"] for qid, gold in evalset.gold.items()]


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _ci(interval: Sequence[float]) -> str:
    return f"[{interval[0]:+.3f}, {interval[1]:+.3f}]"


def summary_lines(report: dict[str, Any], k: int) -> list[str]:
    """One line per set: the system against the best baseline on the same corpus (paired bootstrap 95% CI),
    and against the reference run where one was given."""
    has_reference = any("system_vs_reference" in r for r in report["sets"].values())
    head = (f"| set | role | corpus | questions | system nDCG@{k} | best baseline | its nDCG@{k} | Δ [95% CI] | "
            "system R@1 | baseline R@1 |")
    rule = "| --- | --- | --- | ---: | ---: | --- | ---: | --- | ---: | ---: |"
    if has_reference:
        head += " Δ vs reference [95% CI] |"
        rule += " --- |"
    lines = [head, rule]
    for name, result in report["sets"].items():
        best = result["best_baseline"]
        base = result["runs"][best]["metrics"]
        delta = result.get("system_vs_best_baseline")
        system = result["runs"].get(SYSTEM, {}).get("metrics", {})
        cells = [name, result["role"], result["corpus"], str(result["queries"]), _fmt(system.get(f"nDCG@{k}")),
                 best, _fmt(base.get(f"nDCG@{k}")),
                 f"{delta['ndcg_delta']:+.3f} {_ci(delta['ci95'])}" if delta else "—",
                 _fmt(system.get("R@1")), _fmt(base.get("R@1"))]
        if has_reference:
            ref = result.get("system_vs_reference")
            cells.append(f"{ref['ndcg_delta']:+.3f} {_ci(ref['ci95'])}" if ref else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(report: dict[str, Any], k: int) -> str:
    columns = ["R@1", "P@1", "R@5", f"R@{k}", "MRR", f"nDCG@{k}"]
    meta = report["meta"]
    lines = [
        "# Retrieval evaluation",
        "",
        f"{meta['machine']}, Python {meta['python']}, {meta['date']}. Document-level metrics over the top {k} chunks "
        "(a document counts at its first chunk; R@1 = share of a question's gold documents at rank 1, P@1 = the "
        "first document is gold). `python -m benchmarks.retrieval_eval`; sets and roles in `benchmarks/eval_sets.py` "
        "(tune on the tune sets, check on the others).",
        "",
        *summary_lines(report, k),
        "",
    ]
    for name, corpus in meta["corpora"].items():
        lines.append(f"- corpus `{name}`: {corpus['documents']} documents, {corpus['chunks']} chunks"
                     + (f" (system data dir `{corpus['data_dir']}`)" if corpus.get("data_dir") else ""))
    lines.append("")
    for name, result in report["sets"].items():
        lines += [f"## {name} ({result['queries']} questions, {result['role']}, corpus {result['corpus']})", ""]
        lines.append("| system | " + " | ".join(columns) + " | queries/s |")
        lines.append("| --- | " + " | ".join("---:" for _ in columns) + " | ---: |")
        for row_name, row in result["runs"].items():
            label = row_name
            if row_name == result.get("bm25_baseline"):
                label += " ← BM25 baseline"
            if row_name == result.get("best_baseline"):
                label += " ← best baseline"
            metrics = row["metrics"]
            qps = _fmt(row.get("queries_per_s"), 1)
            if row.get("queries_per_s_without_startup"):
                qps += f" ({_fmt(row['queries_per_s_without_startup'], 1)} w/o start-up)"
            lines.append(f"| {label} | " + " | ".join(_fmt(metrics.get(c)) for c in columns) + f" | {qps} |")
        delta = result.get("system_vs_best_baseline")
        lines.append("")
        if delta:
            lines.append(
                f"**System vs best baseline ({result['best_baseline']}), nDCG@{k}: {delta['ndcg_delta']:+.3f}** "
                f"({delta['system_ndcg']:.3f} vs {delta['baseline_ndcg']:.3f}; paired bootstrap 95% CI "
                f"{_ci(delta['ci95'])}; R@1 {_ci(delta['r1_ci95'])}; {delta['queries_better']} questions better, "
                f"{delta['queries_worse']} worse).")
        else:
            lines.append("System row not run (`--baselines-only`).")
        ref = result.get("system_vs_reference")
        if ref:
            lines.append("")
            lines.append(f"System vs the reference run, nDCG@{k}: {ref['ndcg_delta']:+.3f} (CI {_ci(ref['ci95'])}).")
        lines.append("")
    lines += [
        "Baselines: BM25 = `rank_bm25.BM25Okapi(k1=1.5, b=0.75)` over our analyzer's tokens, over plain "
        "lower-case `\\w+` tokens and (for a Chinese corpus) over plain jieba words of `chunk.embed_text` (title, "
        "section, text); the best per set is the BM25 baseline. Dense = all-MiniLM-L6-v2 brute-force cosine over "
        f"the chunk vectors. RRF = reciprocal rank fusion (k={RRF_K}) of the BM25 baseline's and the dense top "
        f"{FUSION_DEPTH}. Baseline queries/s count query-side work only (tokenising or encoding, scoring, ranking) in "
        "this process; the system's count its whole `app.cli search --queries` subprocess (model load, stores), "
        "and, in parentheses, without the start-up of a one-query batch.",
        "",
    ]
    return "\n".join(lines)


def save_runs(directory: Path, evalset: EvalSet, runs: dict[str, RunResult]) -> None:
    """``<set>.runs.jsonl``: per query, the gold and every system's document ranking (and the system's hits)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f"{evalset.name}.runs.jsonl").open("w", encoding="utf-8") as fh:
        for row in evalset.rows:
            qid = str(row["id"])
            line: dict[str, Any] = {"id": qid, "query": row["query"], "gold": row["gold"],
                                    "docs": {name: dedupe_docs(run.docs.get(qid, [])) for name, run in runs.items()}}
            if SYSTEM in runs:
                line["system_hits"] = runs[SYSTEM].hits.get(qid, [])
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")


@dataclass
class CorpusPlan:
    """A corpus, the sets searched in it, and the system data dir that indexes it."""

    name: str
    specs: list[SetSpec]
    paths: list[Path]  # generic JSONL files holding its documents
    data_dir: Path
    own: bool  # a set's own corpus (indexed from ``paths``), not the starter knowledge


def plan_corpora(specs: Sequence[SetSpec], data_dir: Path, own_root: Path, shared: Path,
                 knowledge_dir: Path) -> list[CorpusPlan]:
    plans: dict[str, CorpusPlan] = {}
    for spec in specs:
        if spec.corpus in plans:
            plans[spec.corpus].specs.append(spec)
        elif spec.own_corpus:
            home = own_root / spec.corpus
            plans[spec.corpus] = CorpusPlan(spec.corpus, [spec], [write_corpus(spec, shared, home)], home / "index",
                                            True)
        else:
            plans[spec.corpus] = CorpusPlan(STARTER, [spec], starter_paths(knowledge_dir), data_dir, False)
    return list(plans.values())


def evaluate_set(evalset: EvalSet, spec: SetSpec, corpus: Corpus, bm25s: Sequence[Bm25Baseline],
                 dense: DenseBaseline, system_run: RunResult | None, startup: float | None, k: int,
                 save_dir: Path | None, reference: Path | None) -> dict[str, Any]:
    ids, queries = evalset.ids, evalset.queries
    done: dict[str, RunResult] = {}
    if system_run is not None:
        done[SYSTEM] = system_run
        if startup is not None and system_run.seconds > startup:
            system_run.extra["queries_per_s_without_startup"] = round(len(ids) / (system_run.seconds - startup), 2)
    chunk_rankings: dict[str, tuple[list[list[int]], float]] = {}
    for bm25 in bm25s:
        worst = bm25.check(queries[:5])
        if worst > 1e-6:
            raise AssertionError(f"{bm25.name}: postings scores differ from rank_bm25 by {worst}")
        started = time.perf_counter()
        chunk_rankings[bm25.name] = (bm25.search(queries, FUSION_DEPTH), time.perf_counter() - started)
    started = time.perf_counter()
    chunk_rankings[dense.name] = (dense.search(queries, FUSION_DEPTH), time.perf_counter() - started)
    for name, (ranked, seconds) in chunk_rankings.items():
        done[name] = RunResult(name, to_docs(corpus, ids, ranked, k), seconds)
    runs = {name: score(run, evalset, k) for name, run in done.items()}
    bm25_best = max((b.name for b in bm25s), key=lambda n: runs[n]["metrics"][f"nDCG@{k}"])
    (lexical, lexical_s), (semantic, semantic_s) = chunk_rankings[bm25_best], chunk_rankings[dense.name]
    started = time.perf_counter()
    fused = [rrf([a, b]) for a, b in zip(lexical, semantic, strict=True)]
    rrf_name = f"RRF({bm25_best}, dense)"
    done[rrf_name] = RunResult(rrf_name, to_docs(corpus, ids, fused, k),
                               time.perf_counter() - started + lexical_s + semantic_s)
    runs[rrf_name] = score(done[rrf_name], evalset, k)
    if save_dir is not None:
        save_runs(save_dir, evalset, done)
    baselines = [name for name in runs if name != SYSTEM]
    best = max(baselines, key=lambda n: runs[n]["metrics"][f"nDCG@{k}"])
    result: dict[str, Any] = {"queries": len(ids), "role": spec.role, "corpus": spec.corpus,
                              "bm25_baseline": bm25_best, "best_baseline": best, "runs": runs}
    if SYSTEM in runs:
        sys_ndcg, base_ndcg = runs[SYSTEM]["per_query_ndcg"], runs[best]["per_query_ndcg"]
        result["system_vs_best_baseline"] = {
            "system_ndcg": runs[SYSTEM]["metrics"][f"nDCG@{k}"],
            "baseline_ndcg": runs[best]["metrics"][f"nDCG@{k}"],
            "ndcg_delta": runs[SYSTEM]["metrics"][f"nDCG@{k}"] - runs[best]["metrics"][f"nDCG@{k}"],
            "ci95": paired_bootstrap(sys_ndcg, base_ndcg),
            "r1_delta": runs[SYSTEM]["metrics"]["R@1"] - runs[best]["metrics"]["R@1"],
            "r1_ci95": paired_bootstrap(runs[SYSTEM]["per_query_r1"], runs[best]["per_query_r1"]),
            "queries_better": sum(s > b for s, b in zip(sys_ndcg, base_ndcg, strict=True)),
            "queries_worse": sum(s < b for s, b in zip(sys_ndcg, base_ndcg, strict=True)),
        }
        earlier = reference_ndcg(reference, evalset, k) if reference is not None else None
        if earlier is not None:
            result["system_vs_reference"] = {
                "reference": str(reference),
                "ndcg_delta": float(np.mean(sys_ndcg) - np.mean(earlier)),
                "ci95": paired_bootstrap(sys_ndcg, earlier),
            }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sets", default=None,
                        help=f"comma-separated set names, of {', '.join(SETS)} (default: {', '.join(DEFAULT_SETS)}; "
                        "a default set whose data the shared folder lacks is skipped, with a warning)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_EVAL_DIR,
                        help="the system's data dir for the starter-knowledge sets (indexed if needed)")
    parser.add_argument("--own-data-root", type=Path, default=DEFAULT_OWN_ROOT,
                        help="where the sets with their own corpus keep their documents and data dirs")
    parser.add_argument("--shared-dir", type=Path, default=DEFAULT_SHARED,
                        help="the folder holding the development sets (bioasq_dev/, zh_instructions_dev/)")
    parser.add_argument("--sets-dir", type=Path, default=DEFAULT_DATA, help="where the starter-knowledge sets are")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--baselines-only", action="store_true", help="skip the system")
    parser.add_argument("--save-runs", type=Path, default=None,
                        help="also write each system's per-query documents (and the system's raw hits) here")
    parser.add_argument("--reference", type=Path, default=None,
                        help="an earlier run's --save-runs folder: the system is also compared with it, per set")
    parser.add_argument("--cli-module", default="app.cli", help=argparse.SUPPRESS)  # development stubs only
    args = parser.parse_args(argv)
    k = args.k
    names = [n.strip() for n in (args.sets or ",".join(DEFAULT_SETS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown:
        parser.error(f"--sets: unknown set {unknown[0]!r}; one of {', '.join(SETS)}")
    specs = [SETS[n] for n in names]
    skipped = []
    if args.sets is None:  # the default sets: those whose data is missing here are skipped, not an error
        skipped = [s.name for s in specs if s.own_corpus and not (args.shared_dir / s.corpus).is_dir()]
        for name in skipped:
            print(f"warning: {name} skipped: no {args.shared_dir / SETS[name].corpus} (pass --shared-dir)",
                  file=sys.stderr)
        specs = [s for s in specs if s.name not in skipped]

    from app.config import Settings
    from app.text.analysis import Analyzer

    settings = Settings()
    plans = plan_corpora(specs, args.data_dir.resolve(), args.own_data_root.resolve(), args.shared_dir,
                         settings.knowledge_dir)
    analyzer = Analyzer(user_dict=settings.knowledge_dir / "vocab" / "medical_userdict.txt")
    report: dict[str, Any] = {
        "meta": {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "python": platform.python_version(),
            "date": date.today().isoformat(),
            "k": k,
            "chunking": settings.chunking_signature(),
            "rrf_k": RRF_K,
            "fusion_depth": FUSION_DEPTH,
            "skipped_sets": skipped,
            "corpora": {},
        },
        "sets": {},
    }
    results: dict[str, dict[str, Any]] = {}
    for plan in plans:
        corpus = build_corpus(plan.paths, settings.chunk_max_tokens, settings.chunk_min_tokens,
                              settings.chunk_overlap_tokens)
        print(f"corpus {plan.name}: {corpus.documents} documents, {len(corpus.chunk_ids)} chunks "
              f"({corpus.seconds:.1f}s)", file=sys.stderr)
        sets = [EvalSet(spec.name, load_questions(spec, args.sets_dir, args.shared_dir)) for spec in plan.specs]
        info: dict[str, Any] = {"documents": corpus.documents, "chunks": len(corpus.chunk_ids)}
        system_runs: dict[str, RunResult] = {}
        startup = None
        if not args.baselines_only:
            info["system"] = ensure_index(plan.data_dir, corpus.documents, args.cli_module,
                                          plan.paths if plan.own else ())
            info["data_dir"] = str(plan.data_dir)
            with tempfile.TemporaryDirectory(prefix="retrieval-eval-") as tmp:
                first = sets[0]
                _, startup = run_batch([(first.ids[0], first.queries[0])], plan.data_dir, k, args.cli_module,
                                       Path(tmp))
                info["one_query_batch_seconds"] = round(startup, 2)
                for evalset in sets:
                    print(f"system: {evalset.name} ...", file=sys.stderr)
                    system_runs[evalset.name] = run_system(evalset, plan.data_dir, k, args.cli_module, Path(tmp))
        bm25s = [Bm25Baseline("BM25 (our analyzer)", corpus.texts, analyzer.tokens),
                 Bm25Baseline("BM25 (plain tokens)", corpus.texts, plain_tokens)]
        if mostly_chinese(corpus.texts):
            bm25s.append(Bm25Baseline("BM25 (plain jieba)", corpus.texts, jieba_tokens))
        cache_db = Settings(data_dir=plan.data_dir).embedding_cache_path if not args.baselines_only else None
        dense = DenseBaseline(corpus, settings.knowledge_dir, settings.embedding_model_id,
                              settings.embedding_model_path, settings.embedding_batch_size, cache_db)
        info["baseline_build_seconds"] = {**{b.name: round(b.build_seconds, 1) for b in bm25s},
                                          dense.name: round(dense.build_seconds, 1)}
        info["dense_chunks_embedded_now"] = dense.embedded_missing
        report["meta"]["corpora"][plan.name] = info
        for spec, evalset in zip(plan.specs, sets, strict=True):
            results[spec.name] = evaluate_set(evalset, spec, corpus, bm25s, dense, system_runs.get(spec.name),
                                              startup, k, args.save_runs, args.reference)
    report["sets"] = {spec.name: results[spec.name] for spec in specs}  # in the order asked

    markdown = render_markdown(report, k)
    for result in report["sets"].values():
        for row in result["runs"].values():
            row.pop("per_query_ndcg", None)
            row.pop("per_query_r1", None)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrieval.md").write_text(markdown, encoding="utf-8")
    (args.out / "retrieval.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    print("\n".join(summary_lines(report, k)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
