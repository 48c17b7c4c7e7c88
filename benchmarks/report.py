"""REPORT.md from the collected results of one ``python -m benchmarks`` run.

Every table cell after the first column is a number, ``pass``/``fail``, or ``not run: <reason>``
(the smoke test checks this); units are in the headers.  A part that did not run is never filled in.
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks.figures import get, ratio
from benchmarks.targets import Target, evaluate

Row = list[Any]


def cell(value: Any, digits: int = 1, why: str = "not measured in this run") -> str:
    if isinstance(value, dict) and "not_run" in value:
        return f"not run: {value['not_run']}"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"not run: {why}"
    if isinstance(value, bool):
        return "pass" if value else "fail"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(header: list[str], rows: list[Row], digits: int = 1) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    for row in rows:
        lines.append("| " + " | ".join([str(row[0])] + [cell(v, digits) for v in row[1:]]) + " |")
    return lines + [""]


def machine_section(r: dict[str, Any]) -> list[str]:
    m = r["machine"]
    lines = ["## Machine", "", "| item | value |", "| --- | --- |"]
    for key in ("cpu", "cores", "ram", "os", "python"):
        lines.append(f"| {key} | {m.get(key)} |")
    lines.append("| packages | " + ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items()) + " |")
    lines.append(f"| load average (1 min) at start / end | {r['load'][0]:.2f} / {r['load'][1]:.2f} |")
    return lines + [""]


def targets_section(targets: list[Target]) -> list[str]:
    rows: list[Row] = [[f"{t.label} ({t.op} {t.threshold:g})", t.measured, t.passed] for t in targets]
    return ["## Targets", ""] + table(["target (threshold)", "measured", "result"], rows, 2)


def search_section(r: dict[str, Any]) -> list[str]:
    rows = []
    for label, s in r["sizes"].items():
        svc, tb, li = s.get("service"), s.get("textbook"), s.get("llama_index")
        ours = get(svc, "search", "search_in_process", "p50_ms")
        rows.append([label, s.get("chunks"), get(svc, "search", "search_in_process_first_pass", "p50_ms"),
                     ours, get(svc, "search", "search_in_process", "p95_ms"),
                     get(svc, "search", "http_v1_search", "p50_ms"), get(svc, "search", "http_v1_search", "p95_ms"),
                     get(tb, "search", "p50_ms"), get(tb, "search", "p95_ms"),
                     get(li, "search", "p50_ms"), get(li, "search", "p95_ms"),
                     ratio(get(tb, "search", "p50_ms"), ours), ratio(get(li, "search", "p50_ms"), ours)])
    header = ["corpus", "chunks", "ours first (cold) pass p50 ms", "ours in process p50 ms", "p95 ms",
              "ours POST /v1/search p50 ms", "p95 ms",
              "(b) rank_bm25 + numpy + RRF p50 ms", "p95 ms", "(a) llama-index default p50 ms", "p95 ms",
              "(b) / ours p50", "(a) / ours p50"]
    return ["## 1. Search latency vs corpus size", "",
            "k=10, query embedding included in every column. Ours: one cold pass over the queries first (store pages "
            "and caches cold), then the same queries warm, in process and over HTTP. "
            "![latency](plots/latency_vs_size.png)", ""] + table(
        header, rows)


def lexical_section(r: dict[str, Any]) -> list[str]:
    rows = [[label, s.get("chunks"), get(s.get("build"), "lexical", "ours_p50_ms"),
             get(s.get("build"), "lexical", "rank_bm25_p50_ms"), get(s.get("build"), "lexical", "speedup"),
             get(s.get("build"), "lexical", "top10_overlap"), get(s.get("build"), "lexical", "queries"),
             get(s.get("build"), "lexical", "interleaved", "ours_p50_ms"),
             get(s.get("build"), "lexical", "interleaved", "speedup")]
            for label, s in r["sizes"].items() if get(s.get("build"), "lexical") is not None]
    header = ["corpus", "chunks", "ours (sparse, qdrant-edge) p50 ms", "rank_bm25 get_scores + top 10 p50 ms",
              "speed-up", "top-10 overlap", "queries", "interleaved: ours p50 ms", "interleaved: speed-up"]
    return ["## 2. Lexical channel vs rank_bm25", "",
            "Same analyzer tokens on both sides; ours returns the 10 chunks with their payloads. Each system "
            "answers each query once, in its own block (ours, then rank_bm25). The interleaved columns are "
            "the warm-up pass over other queries, one query each in turn: each of our calls there follows a "
            "rank_bm25 call that sweeps its structures for the whole corpus and leaves the CPU caches cold.",
            ""] + table(header, rows or [["—", {"not_run": "no scaled corpus in this run"}]], 3)


def ingestion_section(r: dict[str, Any]) -> list[str]:
    ix = r.get("indexing")
    th, st = get(ix, "throughput"), get(ix, "starter_from_cache")
    rows: list[Row] = [
        ["raw encoder, chunks/s (baseline)", get(th, "raw_encoder_chunks_per_s")],
        ["end to end (Indexer.index_paths, no cache), chunks/s", get(th, "end_to_end_chunks_per_s")],
        ["end to end / raw encoder", get(th, "ratio")],
        ["chunks in that sample", get(th, "chunks")],
        ["starter knowledge from cache, `medevidence index` wall s", get(st, "wall_seconds")],
        ["its chunks", get(st, "chunks")],
        ["unchanged re-run, wall s", get(st, "unchanged_rerun_wall_seconds")],
        ["re-run after 1% of documents changed, wall s", get(st, "incremental_wall_seconds")],
        ["documents changed", get(st, "incremental_changed_documents")],
        ["chunks embedded in that re-run", get(st, "incremental_chunks_embedded")],
        ["peak RSS of `medevidence index` (with its JVM), MiB", get(st, "peak_rss_mib")]]
    return ["## 3. Ingestion", "", "![ingestion](plots/ingestion.png)", ""] + table(["measure", "value"], rows, 2)


def memory_section(r: dict[str, Any]) -> list[str]:
    rows = []
    for label, s in r["sizes"].items():
        svc = s.get("service")
        rows.append([label, s.get("chunks"), get(svc, "memory", "peak_rss_mib"),
                     get(svc, "memory", "jvm", "committed_mib"),
                     get(svc, "memory", "jvm", "heap_peak_mib"),
                     get(s.get("textbook"), "process_memory", "peak_rss_mib"),
                     get(s.get("llama_index"), "process_memory", "peak_rss_mib")])
    header = ["corpus", "chunks", "service peak RSS MiB (Python + JVM, one process)",
              "of which JVM committed MiB (NMT)", "JVM heap peak MiB", "(b) process peak RSS MiB",
              "(a) process peak RSS MiB"]
    return ["## 4. Memory vs corpus size", "", "![memory](plots/memory_vs_size.png)", ""] + table(header, rows, 0)


def quality_section(r: dict[str, Any]) -> list[str]:
    q = r.get("quality")
    lines = ["## 5. Quality", ""]
    sets = get(q, "sets")
    if not isinstance(sets, dict) or "not_run" in sets:
        lines += table(["retrieval harness", "nDCG@10"], [["dev sets", sets if isinstance(sets, dict) else None]])
    else:
        for name, result in sets.items():
            rows = [[name_, m["metrics"].get("R@1"), m["metrics"].get("R@5"), m["metrics"].get("R@10"),
                     m["metrics"].get("MRR"), m["metrics"].get("nDCG@10"), m.get("queries_per_s")]
                    for name_, m in result["runs"].items()]
            lines += [f"{name} ({result['queries']} questions), document level:", ""]
            lines += table(["system", "R@1", "R@5", "R@10", "MRR", "nDCG@10", "queries/s"], rows, 3)
    starter = r["sizes"].get("starter", {})
    x = get(starter.get("service"), "crosslingual")
    rows = [["ours (/v1/search)", get(x, "pairs"), get(x, "mean_overlap"), get(x, "share_at_least_0_8")]]
    for key, name in (("textbook", "(b) rank_bm25 + numpy + RRF"), ("llama_index", "(a) llama-index default")):
        bx = get(starter.get(key), "crosslingual")
        rows.append([name, get(bx, "pairs"), get(bx, "mean_overlap"), get(bx, "share_at_least_0_8")])
    lines += ["Cross-lingual twins (Chinese query vs its English twin, top-10 overlap, starter corpus):", ""]
    return lines + table(["system", "pairs", "mean overlap", "share ≥ 0.8"], rows, 3)


def answers_section(r: dict[str, Any]) -> list[str]:
    svc = r["sizes"].get("starter", {}).get("service")
    ex, ov = get(svc, "answers", "extractive"), get(svc, "answers", "overhead")
    own = None
    if isinstance(ov, dict) and "runs" in ov:
        own = sorted(x["llm_own_ms"] for x in ov["runs"])[len(ov["runs"]) // 2]
    rows: list[Row] = [
        ["extractive answer p50 ms", get(ex, "answer_latency_p50_ms")],
        ["reference: POST /v1/search p50 ms, starter", get(svc, "search", "http_v1_search", "p50_ms")],
        ["extractive questions", get(ex, "questions")],
        ["citations verbatim / total", ratio(get(ex, "verbatim_citations"), get(ex, "citations"))],
        ["out-of-corpus questions abstained, share", get(ex, "abstain_rate")],
        ["LLM path: app overhead p50 ms", get(ov, "overhead_p50_ms")],
        ["LLM path: app overhead max ms", get(ov, "overhead_max_ms")],
        ["baseline: llama.cpp server's own time to the first claim, median ms", own if own is not None else ov]]
    return ["## 6. Answer path", ""] + table(["measure", "value"], rows, 2)


def interactions_section(r: dict[str, Any]) -> list[str]:
    lists = get(r["sizes"].get("starter", {}).get("service"), "interactions")
    rows = []
    for n in ("5", "20", "50"):
        x = get(lists, n) if lists is not None else {"not_run": "not measured in this run"}
        rows.append([f"{n} drugs", get(x, "pairs"), get(x, "first_call_ms"), get(x, "in_process", "p50_ms"),
                     get(x, "in_process", "p95_ms"), get(x, "rest", "p50_ms"), get(x, "baseline_pairwise_ms"),
                     get(x, "speedup_vs_pairwise")])
    header = ["list", "pairs", "first call ms", "warm p50 ms (in process)", "warm p95 ms", "warm p50 ms (REST)",
              "baseline: one call per pair ms", "baseline / one call"]
    return ["## 7. Interaction check", "", "![interactions](plots/interactions.png)", ""] + table(header, rows)


def render(r: dict[str, Any]) -> str:
    lines = ["# MedEvidence benchmark report", "",
             f"Mode **{r['mode']}**, started {r['started']}, duration **{r['duration_s'] / 60:.1f} min** "
             f"(`{r['command']}`). Each figure sits beside its baseline, measured in this same run on this machine.",
             ""]
    lines += machine_section(r) + targets_section(evaluate(r))
    for section in (search_section, lexical_section, ingestion_section, memory_section, quality_section,
                    answers_section, interactions_section):
        lines += section(r)
    lines += ["## Run", "", "Each part: wall time, outcome, 1-minute load average before and after it.", ""]
    lines += [f"- {p['part']}: {p['seconds']:.0f} s, {p['status']} (load {p['load'][0]:.1f} → {p['load'][1]:.1f})"
              for p in r["parts"]] + [""]
    lines += ["## Notes", ""] + [f"- {n}" for n in r.get("notes", [])] + [""]
    return "\n".join(lines)
