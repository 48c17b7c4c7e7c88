"""The service side of one corpus size, in its own process (so its peak RSS is its own).

Opens the runtime of the starter data dir; for a scaled corpus the vector store is swapped for the one
``benchmarks.corpus`` built (same model, graph, analyzer and settings).  Measures ``/v1/search`` in
process and over HTTP (``benchmarks.search_latency.measure_search``), then the process's memory.  On the
starter corpus it can go on with the parts that need the real index: the cross-lingual twins, the
interaction checks (``benchmarks.interactions``) and the answer path (``benchmarks.answers``); those run
after the memory snapshot, so they do not count in it.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.config import Settings
from app.runtime import Runtime
from benchmarks.baselines import overlap
from benchmarks.memory import snapshot
from benchmarks.search_latency import _queries, measure_search

TWIN_SEED = 20261201


def twin_pairs(searcher: Any, drugs: int, diseases: int) -> list[tuple[str, str]]:
    """"<中文名> 禁忌" / "<name> contraindications" and "<中文名> 治疗" / "<name> treatment" pairs, sampled
    (seeded) as ``tests/test_retrieval.py`` samples them: Chinese names that identify their record."""
    knowledge = searcher.catalog.knowledge
    analyzer = searcher.query_analyzer

    def identifies(record_id: str, name: str) -> bool:
        return bool(analyzer.analyze(name).entity_ids == [record_id])

    rng = random.Random(TWIN_SEED)
    drug_pool = [d for d in knowledge.drugs if d.names_zh and identifies(d.id, d.names_zh[0])]
    disease_pool = [d for d in knowledge.diseases if d.names_zh and identifies(d.id, d.names_zh[0])]
    pairs = [(f"{d.names_zh[0]} 禁忌", f"{d.name} contraindications")
             for d in rng.sample(drug_pool, min(drugs, len(drug_pool)))]
    pairs += [(f"{d.names_zh[0]} 治疗", f"{d.name} treatment")
              for d in rng.sample(disease_pool, min(diseases, len(disease_pool)))]
    return pairs


def crosslingual(searcher: Any, drugs: int, diseases: int) -> dict[str, Any]:
    pairs = twin_pairs(searcher, drugs, diseases)

    def top(query: str) -> list[str]:
        return [h.chunk.chunk_id for h in searcher.search(query, 10).hits]

    values = [overlap(top(zh), top(en)) for zh, en in pairs]
    return {"pairs_list": pairs, "pairs": len(values), "mean_overlap": sum(values) / max(len(values), 1),
            "share_at_least_0_8": sum(v >= 0.8 for v in values) / max(len(values), 1)}


def answer_path(settings: Settings, rt: Runtime, searcher: Any, questions: int, ooc: int,
                overhead_runs: int) -> dict[str, Any]:
    """Extractive answers (``benchmarks.answers.quality``) and, with ``overhead_runs``, the LLM-path overhead
    over a llama.cpp server (``benchmarks.answers.overhead``), or the reason it could not run."""
    from app.answer.factory import close_asker
    from app.compose import open_asker
    from benchmarks.answers import CLINICAL, _jsonl, out_of_corpus, overhead, quality

    out: dict[str, Any] = {}
    heldout = _jsonl("medquad_heldout", questions // 2)
    asked = heldout + _jsonl("pubmedqa_dev", questions // 2) + CLINICAL[: max(1, questions // 6)]
    asker = open_asker(rt, searcher)
    out["extractive"] = quality(asker, rt, asked, out_of_corpus()[:ooc], heldout)
    close_asker(asker)
    if overhead_runs:
        from testkit.llama_server import llama_server, unavailable_reason

        reason = unavailable_reason()
        if reason:
            out["overhead"] = {"not_run": reason}
        else:
            log = Path(tempfile.gettempdir()) / "medevidence-bench-llama-server.log"
            with llama_server(log) as url:
                out["overhead"] = overhead(settings, rt, url, CLINICAL[:overhead_runs])
            log.unlink(missing_ok=True)
    return out


def run_service(data_dir: Path, store_dir: Path | None, queries: int, *, twins: tuple[int, int] | None = None,
                interactions: tuple[list[int], int, int] | None = None, answers: tuple[int, int, int] | None = None,
                ) -> dict[str, Any]:
    """Search latency and memory for one corpus; the starter-only parts when asked."""
    from app.compose import open_searcher
    from app.stores.vectors_edge import EdgeVectorStore
    from benchmarks.corpus import STORE_NAME

    settings = Settings(data_dir=data_dir)
    result: dict[str, Any] = {}
    with Runtime.open(settings) as rt:
        store = EdgeVectorStore(store_dir, STORE_NAME) if store_dir else None
        used = replace(rt.reconfigured(), vectors=store) if store is not None else rt
        if store is None:  # the starter index as `medevidence index` left it: optimise once, as a bulk load wants
            started = time.perf_counter()
            result["optimized_now"] = rt.vectors.optimize()
            result["optimize_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        searcher = open_searcher(used)
        result["search"] = measure_search(used, settings, _queries(queries), searcher)
        result["search_seconds"] = time.perf_counter() - started
        result["memory"] = snapshot()
        if twins:
            result["crosslingual"] = crosslingual(searcher, *twins)
        if interactions:
            from benchmarks.interactions import bench_sizes

            lists, runs, pairwise_max = interactions
            result["interactions"] = bench_sizes(settings, rt, lists, runs, pairwise_max or None)
            for n, entry in result["interactions"].items():
                if "baseline_pairwise_ms" not in entry:
                    entry["baseline_pairwise_ms"] = entry["speedup_vs_pairwise"] = {
                        "not_run": f"only lists of at most {pairwise_max} drugs in this mode ({n} drugs: "
                                   f"{int(n) * (int(n) - 1) // 2} single calls)"}
        if answers:
            result["answers"] = answer_path(settings, rt, searcher, *answers)
        searcher.close()
        if store is not None:
            store.close()
    return result
