"""The benchmark suite (issue 9): speed, memory, scale and quality against the baselines, in one run.

    python -m benchmarks --full  [--out benchmarks/results] [--data-dir data/eval]
    python -m benchmarks --smoke [--out DIR]     # tiny sizes, < 3 min once the starter index exists

Writes ``REPORT.md`` (and ``REPORT.json``) plus PNG plots in ``<out>/plots/``.  Each part runs in its own
process (``benchmarks.worker``) so that each peak RSS belongs to one thing: per corpus size, the corpus
builder (with the lexical channel vs rank_bm25), the service (``/v1/search`` in process and over HTTP,
memory), and each baseline stack.  A part that fails or cannot run is reported "not run" with its reason.
``--smoke`` without ``--out`` writes to a new temporary folder, never over the committed report.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import corpus as corpus_mod
from benchmarks.machine import describe, load_average
from benchmarks.memory import NMT_OPTION

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Plan:
    sizes: list[int | None]  # None: the starter knowledge as indexed in the data dir
    baseline_sizes: set[int | None]
    llama_index_sizes: set[int | None]  # a subset of baseline_sizes (the slowest stack to build)
    lexical_sizes: set[int | None]
    queries: int
    baseline_queries: int
    lexical_queries: int
    twins: tuple[int, int]
    interaction_runs: int
    pairwise_max: int  # the one-call-per-pair baseline for lists up to this many drugs (0: every list)
    answers: tuple[int, int, int]  # questions, out-of-corpus questions, LLM overhead runs (0: not run)
    ingestion: bool
    docs_per_source: int
    max_chunks: int  # ingestion sample cap (0: every chunk of docs_per_source documents per source)
    changed_fraction: float  # 0: no starter-from-cache / incremental run
    quality: bool
    timeout_s: int
    skipped: dict[str, str] = field(default_factory=dict)


PLANS = {
    "smoke": Plan(sizes=[None, 5000], baseline_sizes={5000}, llama_index_sizes={5000}, lexical_sizes={5000},
                  queries=20, baseline_queries=10,
                  lexical_queries=20, twins=(3, 2), interaction_runs=3, pairwise_max=20, answers=(2, 2, 0),
                  ingestion=False, docs_per_source=1, max_chunks=40, changed_fraction=0.0, quality=False,
                  timeout_s=900, skipped={
                      "ingestion": "smoke mode: a fresh data dir, its graph and the encoder cost about a minute "
                                   "even for a few chunks",
                      "baselines at the starter corpus": "smoke mode runs the baselines at the 5k corpus only",
                      "starter from cache and 1% re-index": "smoke mode: a full starter index takes about a minute",
                      "LLM-path overhead": "smoke mode: about 30 s per question on the llama.cpp server",
                      "retrieval harness": "smoke mode: the harness needs minutes (1,200 questions)"}),
    "full": Plan(sizes=[None, 10_000, 100_000, 300_000], baseline_sizes={None, 10_000, 100_000, 300_000},
                 llama_index_sizes={None, 10_000, 100_000},
                 lexical_sizes={10_000, 100_000}, queries=200, baseline_queries=100, lexical_queries=40,
                 twins=(100, 50), interaction_runs=30, pairwise_max=0, answers=(60, 36, 5), ingestion=True,
                 docs_per_source=25,
                 max_chunks=0, changed_fraction=0.01, quality=True, timeout_s=3600, skipped={
                     "llama-index at 300k": "the full run measures it up to 100k (its target size); building "
                                            "its stack is the slowest part of the run there (about 4 min at 100k, "
                                            "about three times that at 300k on 2 cores)"}),
}


def label(size: int | None) -> str:
    return "starter" if size is None else f"{size // 1000}k"


class Runner:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.data_dir, self.work = args.data_dir, work
        self.parts: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()

    def __call__(self, name: str, cmd: list[str], result: Path, timeout: int, nmt: bool = False) -> dict[str, Any]:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if nmt:
            env["JAVA_TOOL_OPTIONS"] = f"{env.get('JAVA_TOOL_OPTIONS', '')} {NMT_OPTION}".strip()
        log = result.with_suffix(".log")
        log.parent.mkdir(parents=True, exist_ok=True)
        load = load_average()
        started = time.perf_counter()
        try:
            with log.open("w", encoding="utf-8") as fh:
                proc = subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=env, timeout=timeout)
            code: int | str = proc.returncode
        except subprocess.TimeoutExpired:
            code = f"timed out after {timeout} s"
        seconds = time.perf_counter() - started
        if code == 0 and result.exists():
            data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
            status = data.get("not_run", "ok")
        else:
            tail = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()][-1:]
            why = f"{name} failed ({code if isinstance(code, str) else f'exit {code}'}): {' '.join(tail)}"
            data = {"not_run": why.replace("|", "/")[:300]}
            status = data["not_run"]
        self.parts.append({"part": name, "seconds": seconds, "status": status, "load": [load, load_average()]})
        print(f"[{(time.perf_counter() - self.t0) / 60:5.1f} min] {name}: {status} ({seconds:.0f} s)", flush=True)
        return data

    def worker(self, name: str, part: str, args: list[str], timeout: int, nmt: bool = False) -> dict[str, Any]:
        result = self.work / "results" / f"{name.replace(' ', '_')}.json"
        result.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "benchmarks.worker", part, "--result", str(result), "--data-dir",
               str(self.data_dir), *args]
        return self(name, cmd, result, timeout, nmt)


def run_size(run: Runner, plan: Plan, size: int | None) -> dict[str, Any]:
    name, where = label(size), run.work / label(size)
    entry: dict[str, Any] = {"chunks": size}
    pairs: Path | None = None
    if size is None:
        a, o, ov = plan.answers
        entry["service"] = svc = run.worker(f"{name} service", "service", [
            "--queries", str(plan.queries), "--twins", f"{plan.twins[0]},{plan.twins[1]}", "--interactions",
            "5,20,50", "--interaction-runs", str(plan.interaction_runs), "--pairwise-max", str(plan.pairwise_max),
            "--answers", f"{a},{o},{ov}"], plan.timeout_s, nmt=True)
        if not ov and isinstance(svc.get("answers"), dict):
            svc["answers"]["overhead"] = {"not_run": plan.skipped["LLM-path overhead"]}
        entry["chunks"] = svc.get("search", {}).get("chunks")
        twins = svc.get("crosslingual", {}).get("pairs_list")
        if twins:
            pairs = where / "pairs.json"
            where.mkdir(parents=True, exist_ok=True)
            pairs.write_text(json.dumps(twins, ensure_ascii=False), encoding="utf-8")
        if size in plan.baseline_sizes:
            entry["build"] = run.worker(f"{name} corpus export", "build", ["--size", "starter", "--work", str(where)],
                                        plan.timeout_s)
    else:
        lexical = ["--lexical-queries", str(plan.lexical_queries)] if size in plan.lexical_sizes else []
        entry["build"] = build = run.worker(f"{name} corpus build", "build",
                                            ["--size", str(size), "--work", str(where), *lexical], plan.timeout_s)
        entry["chunks"] = build.get("chunks", size)
        entry["service"] = (run.worker(f"{name} service", "service", ["--store", str(where / "edge"), "--queries",
                                                                      str(plan.queries)], plan.timeout_s, nmt=True)
                            if "not_run" not in build else {"not_run": "the corpus build failed"})
    for key, stack in (("textbook", "textbook"), ("llama_index", "llama-index")):
        if size not in plan.baseline_sizes:
            entry[key] = {"not_run": plan.skipped.get("baselines at the starter corpus", "not in this mode")}
        elif key == "llama_index" and size not in plan.llama_index_sizes:
            entry[key] = {"not_run": plan.skipped.get(f"llama-index at {name}", "not in this mode")}
        elif "not_run" in entry.get("build", {}):
            entry[key] = {"not_run": "the corpus export failed"}
        else:
            extra = ["--pairs", str(pairs)] if pairs else []
            entry[key] = run.worker(f"{name} baseline {stack}", "baseline", [
                "--stack", stack, "--corpus", str(where / "corpus"), "--queries", str(plan.baseline_queries),
                *extra], plan.timeout_s)
    shutil.rmtree(where, ignore_errors=True)
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--smoke", action="store_true", help="tiny sizes, for CI (< 3 min)")
    mode.add_argument("--full", action="store_true", help="every size and part (36 min on 2 cores)")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results (--full), a new temp dir (--smoke)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval",
                        help="the starter index (indexed first if it is not complete)")
    args = parser.parse_args(argv)
    mode_name = "smoke" if args.smoke else "full"
    plan = PLANS[mode_name]
    out = args.out or (Path(tempfile.mkdtemp(prefix="medevidence-bench-")) if args.smoke
                       else ROOT / "benchmarks" / "results")
    args.data_dir = args.data_dir.resolve()
    started, load0 = time.time(), load_average()
    from app.config import Settings
    from app.stores.lock import DataDirInUse, DataDirLock
    from benchmarks.retrieval_eval import ensure_index
    from benchmarks.search_latency import _starter_documents

    lock = DataDirLock(args.data_dir)  # every part opens the data dir in turn: nobody else may hold it
    try:
        lock.acquire()
    except DataDirInUse as exc:
        parser.error(f"{exc}; pass --data-dir a copy or a fresh one (`medevidence index --data-dir DIR`)")
    lock.release()
    ensure_index(args.data_dir, _starter_documents(Settings().knowledge_dir), "app.cli")
    with tempfile.TemporaryDirectory(prefix="medevidence-bench-work-") as tmp:
        run = Runner(args, Path(tmp))
        print(f"benchmarks --{mode_name}: work in {tmp}, report to {out}", flush=True)
        sizes = {label(size): run_size(run, plan, size) for size in plan.sizes}
        indexing: dict[str, Any] = run.worker("indexing", "indexing", [
            "--docs-per-source", str(plan.docs_per_source), "--max-chunks", str(plan.max_chunks),
            "--changed-fraction", str(plan.changed_fraction)], plan.timeout_s) if plan.ingestion else {
            "not_run": plan.skipped.get("ingestion", "")}
        if not plan.changed_fraction and "not_run" not in indexing:
            indexing["starter_from_cache"] = {"not_run": plan.skipped["starter from cache and 1% re-index"]}
        quality: dict[str, Any] = {"not_run": plan.skipped.get("retrieval harness", "")}
        if plan.quality:
            result = Path(tmp) / "quality" / "retrieval.json"
            quality = run("retrieval harness", [sys.executable, "-m", "benchmarks.retrieval_eval", "--data-dir",
                                                str(args.data_dir), "--out", str(result.parent)], result,
                          plan.timeout_s)
        parts = run.parts
    report: dict[str, Any] = {
        "mode": mode_name, "started": time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(started)),
        "duration_s": time.time() - started, "command": f"python -m benchmarks --{mode_name}",
        "machine": describe(), "load": [load0, load_average()], "sizes": sizes, "indexing": indexing,
        "quality": quality, "parts": parts, "notes": notes(plan)}
    write(report, out)
    print(f"wrote {out / 'REPORT.md'} ({report['duration_s'] / 60:.1f} min)", flush=True)
    return 0


def notes(plan: Plan) -> list[str]:
    from benchmarks.notes import NOTES

    skipped = [f"Not run in this mode: {k} ({v})." for k, v in plan.skipped.items()]
    return [n.format(drop=corpus_mod.DROP, noise=corpus_mod.NOISE, seed=corpus_mod.SEED, queries=plan.queries,
                     baseline_queries=plan.baseline_queries) for n in NOTES] + skipped


def write(report: dict[str, Any], out: Path) -> None:
    from benchmarks import plots
    from benchmarks.report import render

    out.mkdir(parents=True, exist_ok=True)
    (out / "REPORT.json").write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n",
                                     encoding="utf-8")  # first: the figures survive a plotting failure
    reason = plots.unavailable()
    if reason is None:
        try:
            plots.write(report, out / "plots")
        except Exception as exc:  # noqa: BLE001 - a broken plot must not lose the report
            reason = f"plotting failed: {exc}"
    if reason:
        report["notes"].append(f"Plots not written: {reason}.")
    (out / "REPORT.json").write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n",
                                     encoding="utf-8")  # again, with the plots' note if any
    (out / "REPORT.md").write_text(render(report), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
