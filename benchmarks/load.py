"""Load: concurrent clients on ``POST /v1/search`` over loopback, against one client as the named baseline.

    python -m benchmarks.load [--levels 8,32] [--overload-clients 64] [--seconds 60] [--data-dir data/eval]
                              [--baseline-seconds 15] [--out benchmarks/results]

- The app: ``create_app`` on the data dir's runtime, dev mode (no keys, no rate limit), served by uvicorn on
  127.0.0.1 in this process; the data dir is indexed with ``app.cli index`` first when it holds no complete
  index of the starter knowledge.
- The clients: asyncio + httpx in a child process (``--drive URL``), so their Python does not share the
  server's interpreter lock.  Each client posts the next query of ``QUERIES`` (English and Chinese, drugs and
  diseases; each client starts at its own offset) as soon as its previous answer arrived, until the time is up.
- Every query is sent once before measuring (every run sees the same warm caches).  Then the baseline, one
  client for ``--baseline-seconds``, then each of ``--levels`` clients for ``--seconds``, then
  ``--overload-clients``, more than the service admits at once plus its queue (``MEDEVIDENCE_MAX_CONCURRENT_
  REQUESTS`` + ``…_MAX_QUEUED_REQUESTS``, defaults 8 + 32): the excess must be answered at once with 503
  ``overloaded`` and ``Retry-After`` while the admitted requests keep a bounded latency.
- Reported per run: requests, errors (non-200 answers, or transport failures, by kind; 503s counted apart as
  ``overloaded``), throughput (200 answers/s over the run's wall time), p50/p95/p99 latency of the successful
  requests; the throughput ceiling (the highest of the levels: requests/s at saturation) and each level's p50
  against the single-client p50.  Written to ``load.json`` and ``load.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.search_client import post_search
from testkit.http_server import serving

ROOT = Path(__file__).resolve().parent.parent

QUERIES: tuple[str, ...] = (
    # drugs, English
    "warfarin contraindications", "What is the usual starting dose of warfarin?",
    "metformin lactic acidosis risk", "atorvastatin muscle pain", "clarithromycin simvastatin interaction",
    "amiodarone thyroid toxicity", "lisinopril cough", "ibuprofen kidney injury",
    "acetaminophen maximum daily dose", "digoxin toxicity symptoms", "fluoxetine serotonin syndrome",
    "clopidogrel omeprazole interaction", "levothyroxine absorption food", "methotrexate folic acid",
    "insulin glargine hypoglycemia", "allopurinol rash", "tramadol seizures", "spironolactone hyperkalemia",
    # diseases, English
    "type 2 diabetes first-line treatment", "atrial fibrillation anticoagulation",
    "symptoms of myostatin-related muscle hypertrophy", "hypertension in pregnancy", "chronic kidney disease anemia",
    "asthma inhaled corticosteroids", "heart failure with reduced ejection fraction", "gout flare treatment",
    "Does vitamin D supplementation prevent fractures?", "community-acquired pneumonia antibiotics",
    # drugs and diseases, Chinese
    "华法林和阿司匹林合用的出血风险", "华法林 禁忌症", "阿托伐他汀 不良反应", "二甲双胍 禁忌", "克拉霉素 相互作用",
    "胺碘酮 甲状腺", "布洛芬 肾损伤", "对乙酰氨基酚 最大剂量", "地高辛 中毒", "氯吡格雷 奥美拉唑",
    "2型糖尿病 治疗", "房颤 抗凝治疗", "高血压 妊娠", "哮喘 吸入激素", "心力衰竭 治疗", "痛风 急性发作",
    # mixed
    "warfarin 华法林 INR", "metformin 二甲双胍 renal function",
)


# -- the clients (child process) --------------------------------------------------------------------


async def _client(client: Any, url: str, offset: int, stop_at: float, latencies: list[float],
                  errors: Counter[str]) -> None:

    i = offset
    while time.perf_counter() < stop_at:
        query = QUERIES[i % len(QUERIES)]
        i += 1
        started = time.perf_counter()
        kind, response = await post_search(client, url, query)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if kind:
            errors[kind] += 1
            if kind == "HTTP 503" and response is not None:  # overloaded: a client honouring Retry-After waits
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        else:
            latencies.append(elapsed_ms)


async def _drive(base: str, clients: int, seconds: float) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        stop_at = started + seconds
        step = max(1, len(QUERIES) // max(clients, 1))
        await asyncio.gather(*(_client(client, f"{base}/v1/search", n * step, stop_at, latencies, errors)
                               for n in range(clients)))
        wall = time.perf_counter() - started
    return summarize(latencies, errors, wall, clients, seconds)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (as benchmarks.search_latency reports p95)."""
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


def summarize(latencies: list[float], errors: Counter[str], wall: float, clients: int,
              seconds: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "clients": clients, "seconds": seconds, "wall_seconds": round(wall, 3),
        "requests": len(ordered) + sum(errors.values()), "ok": len(ordered), "errors": sum(errors.values()),
        "error_kinds": dict(errors), "throughput_rps": len(ordered) / wall if wall else 0.0,
        "p50_ms": percentile(ordered, 0.50), "p95_ms": percentile(ordered, 0.95), "p99_ms": percentile(ordered, 0.99),
        "max_ms": ordered[-1] if ordered else float("nan"),
    }


def measure(base: str, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` concurrent clients on ``base``/v1/search for ``seconds``, run in a child process."""
    cmd = [sys.executable, "-m", "benchmarks.load", "--drive", base, "--clients", str(clients),
           "--seconds", str(seconds)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 300)
    if proc.returncode != 0:
        raise RuntimeError(f"the load driver exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def warm_up(base: str) -> None:
    """Every query once, one at a time (the graph channel caches documents per drug set)."""
    import httpx

    with httpx.Client(timeout=120) as client:
        for query in QUERIES:
            client.post(f"{base}/v1/search", json={"query": query, "k": 10}).raise_for_status()


# -- the server (this process) ----------------------------------------------------------------------


def _starter_documents(knowledge_dir: Path) -> int:
    from indexers.sources.base import Rejected
    from indexers.sources.jsonl import read_jsonl

    return sum(1 for path in sorted((knowledge_dir / "docs").glob("*.jsonl.gz"))
               for item in read_jsonl(path) if not isinstance(item, Rejected))


def run(data_dir: Path, levels: Sequence[int], overload_clients: int, seconds: float,
        baseline_seconds: float) -> dict[str, Any]:
    from app.config import Settings
    from app.main import create_app
    from app.runtime import Runtime
    from benchmarks.retrieval_eval import ensure_index

    settings = Settings(data_dir=data_dir)
    index = ensure_index(data_dir, _starter_documents(settings.knowledge_dir), "app.cli")
    with Runtime.open(settings) as rt, rt.reconfigured(dev_mode=True) as served:
        chunks = rt.vectors.count()
        app = create_app(served.settings, runtime=served)
        with serving(app, start_timeout=300) as base:
            warm_up(base)
            load_before = os.getloadavg()[0]
            baseline = measure(base, 1, baseline_seconds)
            runs = [measure(base, clients, seconds) for clients in levels]
            overload = measure(base, overload_clients, seconds) if overload_clients else None
            load_after = os.getloadavg()[0]
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],  # the machine is shared
        "data_dir": str(data_dir), "index_name": index["index_name"], "chunks": chunks,
        "endpoint": "POST /v1/search (k=10), uvicorn on 127.0.0.1, dev mode", "queries": len(QUERIES),
        "admission": {"max_concurrent_requests": settings.max_concurrent_requests,
                      "max_queued_requests": settings.max_queued_requests},
        "baseline_single_client": baseline, "levels": runs, "overload": overload,
        "ceiling_rps": max((r["throughput_rps"] for r in runs), default=0.0),
    }


def markdown(result: dict[str, Any]) -> str:
    b = result["baseline_single_client"]
    admission = result["admission"]
    lines = [
        "# Load: concurrent clients on /v1/search", "",
        f"{result['machine']}, {result['date']}; {result['endpoint']}; {result['chunks']} chunks; "
        f"{result['queries']} queries (English and Chinese, drugs and diseases), clients in a separate process; "
        f"admission: {admission['max_concurrent_requests']} at work, {admission['max_queued_requests']} queued", "",
        "| run | clients | seconds | requests | 200 | 503 overloaded | other errors | throughput req/s | p50 ms "
        "| p95 ms | p99 ms | p50 / single |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    runs = [("single client (baseline)", b), *((f"{r['clients']} clients", r) for r in result["levels"])]
    if result["overload"]:
        runs.append(("overload", result["overload"]))
    for name, r in runs:
        overloaded = r["error_kinds"].get("HTTP 503", 0)
        other = r["errors"] - overloaded
        lines.append(f"| {name} | {r['clients']} | {r['seconds']:g} | {r['requests']} | {r['ok']} | {overloaded} | "
                     f"{other} | {r['throughput_rps']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                     f"{r['p99_ms']:.1f} | {r['p50_ms'] / b['p50_ms']:.1f}x |")
    before, after = result["load_average_1min"]
    lines += ["", f"Throughput ceiling (requests/s at saturation, the highest level): {result['ceiling_rps']:.1f}. "
              f"Load average (1 min) before / after: {before:.2f} / {after:.2f}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--levels", default="8,32", help="client counts to measure, comma-separated")
    parser.add_argument("--overload-clients", type=int, default=64, help="past admission + queue (0: skip)")
    parser.add_argument("--clients", type=int, default=1, help=argparse.SUPPRESS)  # the driver's client count
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--drive", metavar="URL", help=argparse.SUPPRESS)  # the child process: clients only
    args = parser.parse_args(argv)
    if args.drive:
        print(json.dumps(asyncio.run(_drive(args.drive, args.clients, args.seconds))))
        return 0
    levels = [int(n) for n in args.levels.split(",") if n.strip()]
    result = run(args.data_dir, levels, args.overload_clients, args.seconds, args.baseline_seconds)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown(result)
    (args.out / "load.md").write_text(text, encoding="utf-8")
    print(text)
    admitted_errors = sum(r["errors"] for r in (result["baseline_single_client"], *result["levels"]))
    return 0 if admitted_errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
