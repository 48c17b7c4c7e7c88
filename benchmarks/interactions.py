"""Interaction check speed: 5-, 20- and 50-drug medication lists (10, 190 and 1225 pairs) in one call each,
in one run against the named baseline of checking the same pairs one call each.

    python -m benchmarks.interactions [--data-dir data/eval] [--runs 30] [--sizes 5,20,50] [--out benchmarks/results]

Reports, per list, the first call (the first list's is cold: names, labels and sentence caches empty; later
lists find the caches partly warm), then p50/p95 of warm calls, in process and through
``POST /v1/interactions`` on a real uvicorn server on loopback.  The 20-drug list is ``MEDICATIONS``; the
5-drug list is its first five; the 50-drug list adds ``MORE_MEDICATIONS`` (50 is the API's maximum).
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

from app.compose import drug_catalog
from app.config import Settings
from app.drugs.service import DrugService
from app.runtime import Runtime
from benchmarks.retrieval_eval import ensure_index
from benchmarks.search_latency import _starter_documents

ROOT = Path(__file__).resolve().parent.parent
MEDICATIONS = ["华法林", "Aspirin", "Plavix", "omeprazole", "simvastatin", "amiodarone", "metformin HCl",
               "lisinopril", "atorvastatin", "digoxin", "furosemide", "metoprolol", "amlodipine", "sertraline",
               "tramadol", "ibuprofen", "clarithromycin", "fluconazole", "lithium", "phenelzine"]
MORE_MEDICATIONS = ["prednisone", "levothyroxine", "gabapentin", "hydrochlorothiazide", "losartan", "albuterol",
                    "pantoprazole", "escitalopram", "fluoxetine", "bupropion", "trazodone", "carvedilol",
                    "rosuvastatin", "spironolactone", "allopurinol", "colchicine", "tamsulosin", "montelukast",
                    "ciprofloxacin", "azithromycin", "ketoconazole", "verapamil", "diltiazem", "carbamazepine",
                    "phenytoin", "rifampin", "methotrexate", "tacrolimus", "cyclosporine", "apixaban"]
SIZES = (5, 20, 50)


def medication_list(n: int) -> list[str]:
    """The first ``n`` names of ``MEDICATIONS`` then ``MORE_MEDICATIONS`` (each resolves to one drug)."""
    names = MEDICATIONS + MORE_MEDICATIONS
    if not 2 <= n <= len(names):
        raise ValueError(f"a list of 2 to {len(names)} drugs")
    return names[:n]


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
            "n": len(ordered)}


def bench_list(service: DrugService, medications: list[str], runs: int, pairwise: bool = True) -> dict[str, Any]:
    """One medication list: first call, warm p50/p95 in process, and the one-call-per-pair baseline."""
    t = time.perf_counter()
    result = service.interactions(medications)
    report: dict[str, Any] = {"drugs": len(medications), "first_call_ms": round((time.perf_counter() - t) * 1000, 1),
                              "pairs": result["pairs_checked"], "unresolved": result["unresolved"],
                              "with_evidence": sum(1 for p in result["interactions"] if p["severity"]),
                              "by_severity": {str(s): sum(1 for p in result["interactions"] if p["severity"] == s)
                                              for s in ("high", "low", "label", None)}}
    warm = []
    for _ in range(runs):
        t = time.perf_counter()
        service.interactions(medications)
        warm.append((time.perf_counter() - t) * 1000)
    report["in_process"] = _ms(warm)
    if pairwise:
        t = time.perf_counter()
        for a, b in itertools.combinations(medications, 2):
            service.interactions([a, b])
        report["baseline_pairwise_ms"] = round((time.perf_counter() - t) * 1000, 1)
        report["speedup_vs_pairwise"] = round(report["baseline_pairwise_ms"] / report["in_process"]["p50_ms"], 1)
    return report


def bench_sizes(settings: Settings, rt: Runtime, sizes: tuple[int, ...] | list[int], runs: int,
                pairwise_max: int | None = None) -> dict[str, Any]:
    """``bench_list`` and the REST timing for each list size, in one open runtime (the one-call-per-pair
    baseline only for lists of at most ``pairwise_max`` drugs, when given)."""
    service = DrugService(drug_catalog(rt))
    out = {str(n): bench_list(service, medication_list(n), runs, pairwise_max is None or n <= pairwise_max)
           for n in sizes}
    for n, rest in zip(sizes, _rest(settings, rt, runs, [medication_list(n) for n in sizes]), strict=True):
        out[str(n)]["rest"] = rest
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="medication list lengths")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    settings = Settings(data_dir=args.data_dir)
    ensure_index(args.data_dir, _starter_documents(settings.knowledge_dir), "app.cli")
    with Runtime.open(settings) as rt:
        report: dict[str, Any] = {"medications": medication_list(max(sizes)), "lists": bench_sizes(settings, rt, sizes,
                                                                                                   args.runs)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "interactions.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    md = ["# Interaction check: one call per medication list", "",
          "| drugs | pairs | first call ms | warm p50 ms (in process) | warm p95 ms | warm p50 ms (REST) | "
          "baseline: one call per pair, ms | speed-up | pairs with evidence |",
          "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in report["lists"].values():
        md.append(f"| {r['drugs']} | {r['pairs']} | {r['first_call_ms']:.0f} | {r['in_process']['p50_ms']:.0f} | "
                  f"{r['in_process']['p95_ms']:.0f} | {r['rest']['p50_ms']:.0f} | {r['baseline_pairwise_ms']:.0f} | "
                  f"{r['speedup_vs_pairwise']} | {r['with_evidence']} |")
    text = "\n".join(md) + f"\n\n{args.runs} warm runs per list; the first list's first call is cold.\n"
    (args.out / "interactions.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def _rest(settings: Settings, rt: Runtime, runs: int, lists: list[list[str]]) -> list[dict[str, float]]:
    """Warm p50/p95 of ``POST /v1/interactions`` for each medication list, on one loopback server."""
    from app.main import create_app
    from testkit.http_server import serving

    out = []
    with rt.reconfigured(dev_mode=True) as served, serving(create_app(served.settings, runtime=served)) as base, \
            httpx.Client(timeout=60) as client:
        url = f"{base}/v1/interactions"
        for medications in lists:
            client.post(url, json={"medications": medications}).raise_for_status()
            samples = []
            for _ in range(runs):
                t = time.perf_counter()
                client.post(url, json={"medications": medications}).raise_for_status()
                samples.append((time.perf_counter() - t) * 1000)
            out.append(_ms(samples))
    return out


if __name__ == "__main__":
    sys.exit(main())
