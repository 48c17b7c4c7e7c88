"""Interaction check speed: a 20-drug medication list (190 pairs) in one call, in one run against the
named baseline of checking the same 190 pairs one call each.

    python -m benchmarks.interactions [--data-dir data/eval] [--runs 30] [--out benchmarks/results]

Reports the first (cold: names, labels and sentence caches empty) call, then p50/p95 of warm calls, in
process and through ``POST /v1/interactions`` on a real uvicorn server on loopback.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings
from app.drugs.service import DrugService
from app.runtime import Runtime
from benchmarks.retrieval_eval import ensure_index
from benchmarks.search_latency import _starter_documents

ROOT = Path(__file__).resolve().parent.parent
MEDICATIONS = ["华法林", "Aspirin", "Plavix", "omeprazole", "simvastatin", "amiodarone", "metformin HCl",
               "lisinopril", "atorvastatin", "digoxin", "furosemide", "metoprolol", "amlodipine", "sertraline",
               "tramadol", "ibuprofen", "clarithromycin", "fluconazole", "lithium", "phenelzine"]


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
            "n": len(ordered)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    ensure_index(args.data_dir, _starter_documents(settings.knowledge_dir), "app.cli")
    report: dict[str, Any] = {"medications": MEDICATIONS}
    with Runtime.open(settings) as rt:
        service = DrugService(rt)
        t = time.perf_counter()
        result = service.interactions(MEDICATIONS)
        report["cold_ms"] = round((time.perf_counter() - t) * 1000, 1)
        report["pairs"] = result["pairs_checked"]
        report["unresolved"] = result["unresolved"]
        report["with_evidence"] = sum(1 for p in result["interactions"] if p["severity"])
        report["by_severity"] = {s: sum(1 for p in result["interactions"] if p["severity"] == s)
                                 for s in ("high", "low", "label", None)}
        warm = []
        for _ in range(args.runs):
            t = time.perf_counter()
            service.interactions(MEDICATIONS)
            warm.append((time.perf_counter() - t) * 1000)
        report["in_process"] = _ms(warm)
        t = time.perf_counter()
        for a, b in itertools.combinations(MEDICATIONS, 2):
            service.interactions([a, b])
        report["baseline_pairwise_ms"] = round((time.perf_counter() - t) * 1000, 1)
        report["speedup_vs_pairwise"] = round(report["baseline_pairwise_ms"] / report["in_process"]["p50_ms"], 1)
        service.close()
        report["rest"] = _rest(settings, rt, args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "interactions.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    md = (f"# Interaction check: {len(MEDICATIONS)} drugs, {report['pairs']} pairs\n\n"
          f"- first call (cold caches): {report['cold_ms']:.0f} ms\n"
          f"- warm, in process: p50 **{report['in_process']['p50_ms']:.0f} ms**, "
          f"p95 {report['in_process']['p95_ms']:.0f} ms ({args.runs} runs)\n"
          f"- warm, `POST /v1/interactions` on loopback: p50 **{report['rest']['p50_ms']:.0f} ms**, p95 "
          f"{report['rest']['p95_ms']:.0f} ms\n"
          f"- baseline, the same 190 pairs one call each: {report['baseline_pairwise_ms']:.0f} ms "
          f"({report['speedup_vs_pairwise']}× slower than one call)\n"
          f"- pairs with evidence: {report['with_evidence']} ({report['by_severity']})\n")
    (args.out / "interactions.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


def _rest(settings: Settings, rt: Runtime, runs: int) -> dict[str, float]:
    from app.main import create_app
    from tests.http_server import serving

    with serving(create_app(settings.model_copy(update={"dev_mode": True}), runtime=rt)) as base, \
            httpx.Client(timeout=60) as client:
        url = f"{base}/v1/interactions"
        client.post(url, json={"medications": MEDICATIONS}).raise_for_status()
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            client.post(url, json={"medications": MEDICATIONS}).raise_for_status()
            samples.append((time.perf_counter() - t) * 1000)
    return _ms(samples)


if __name__ == "__main__":
    sys.exit(main())
