"""The targets of issue 9 (from the other issues), each checked against this run's figures."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from benchmarks.figures import get, ratio

AT = "100k"  # the corpus the search and lexical targets are stated at


@dataclass
class Target:
    label: str
    op: str  # "≤" or "≥"
    threshold: float
    measured: Any  # a number, or {"not_run": reason}
    passed: Any  # a bool, or the same not-run marker

    @classmethod
    def check(cls, label: str, op: str, threshold: float, measured: Any, missing: str) -> Target:
        if not isinstance(measured, int | float) or isinstance(measured, bool):
            marker = measured if isinstance(measured, dict) and "not_run" in measured else {"not_run": missing}
            return cls(label, op, threshold, marker, marker)
        compare = operator.le if op == "≤" else operator.ge
        return cls(label, op, threshold, float(measured), bool(compare(measured, threshold)))


def evaluate(r: dict[str, Any]) -> list[Target]:
    at = r["sizes"].get(AT, {})
    no_size = f"no {AT}-chunk corpus in this run ({r['mode']} mode)"
    svc, li, build = at.get("service"), at.get("llama_index"), at.get("build")
    ours = get(svc, "search", "search_in_process", "p50_ms")
    theirs = get(li, "search", "p50_ms")
    vs_llama = ratio(theirs, ours)
    starter = r["sizes"].get("starter", {}).get("service")
    overhead = get(starter, "answers", "overhead", "overhead_p50_ms")
    return [
        Target.check(f"search p50 at {AT} chunks, POST /v1/search, ms", "≤", 25,
                     get(svc, "search", "http_v1_search", "p50_ms"), no_size),
        Target.check(f"search p95 at {AT} chunks, POST /v1/search, ms", "≤", 60,
                     get(svc, "search", "http_v1_search", "p95_ms"), no_size),
        Target.check(f"speed vs the llama-index default stack at {AT}: its p50 / ours (in process)", "≥", 100,
                     vs_llama, no_size),
        Target.check(f"lexical channel vs rank_bm25 at {AT}: speed-up", "≥", 100,
                     get(build, "lexical", "speedup"), no_size),
        Target.check(f"lexical channel vs rank_bm25 at {AT}: top-10 overlap", "≥", 0.9,
                     get(build, "lexical", "top10_overlap"), no_size),
        Target.check("ingestion: end to end / raw encoder throughput", "≥", 0.85,
                     get(r.get("indexing"), "throughput", "ratio"), "ingestion not measured"),
        Target.check("starter knowledge from cache, wall s", "≤", 60,
                     get(r.get("indexing"), "starter_from_cache", "wall_seconds"),
                     f"not part of {r['mode']} mode"),
        Target.check("LLM-path overhead p50, ms", "≤", 50, overhead, f"not part of {r['mode']} mode"),
        Target.check("20-drug interaction check, warm p50 in process, ms", "≤", 300,
                     get(starter, "interactions", "20", "in_process", "p50_ms"), "not measured"),
    ]
