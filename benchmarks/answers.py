"""Answer quality and speed, in one run, both modes (extractive, and LLM through a llama.cpp server):

    python -m benchmarks.answers [--data-dir data/eval] [--questions 60] [--overhead-runs 8] [--out benchmarks/results]

- **Citations**: every returned citation is re-read from the stored document (``quote == text[start:end]`` of
  that version); reported as verbatim / total, per mode, over held-out MedQuAD questions (never tuned on),
  the clinical questions of the tests, and PubMedQA questions.
- **Abstention**: share of the out-of-corpus questions (``tests/fixtures/out_of_corpus.txt``) answered with an
  abstention, per mode; and, as the other side of the floor, the share of held-out in-corpus questions answered.
- **LLM-path overhead** (named baseline: the llama.cpp server itself): for each question, the time from
  ``POST /v1/ask`` (SSE, real uvicorn server on loopback, measured by the client) to the first ``delta`` event,
  minus the server's own time, from the app's request to it until the server had streamed the text that delta
  waits for (the first complete claim; for an abstention, the whole output).  What is left is the app: retrieval,
  the prompt, verification, HTTP and SSE.  (Timing a second, direct call to the server with the same prompt
  was tried first: on this 2-core machine its 30 s prompt evaluation varies by seconds between calls, far more
  than the overhead.)  The app streams verified sentences only, so a sentence is the earliest it can speak.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.answer.ask import AskRequest
from app.answer.factory import close_asker
from app.answer.llm import OpenAICompatibleGenerator
from app.compose import open_asker, open_searcher
from app.config import Settings
from app.runtime import Runtime
from benchmarks.retrieval_eval import ensure_index
from benchmarks.search_latency import _starter_documents

ROOT = Path(__file__).resolve().parent.parent
CLINICAL = [
    "What are the contraindications of warfarin?", "华法林和阿司匹林合用的出血风险",
    "What is the starting dose of metformin?",
    "Does amiodarone interact with warfarin?", "What are the side effects of atorvastatin?",
    "Can clopidogrel be taken with omeprazole?", "How should lithium levels be monitored?",
    "What are the warnings for ibuprofen?", "阿托伐他汀的不良反应有哪些？", "Is methotrexate safe in pregnancy?",
]


def _jsonl(name: str, count: int) -> list[str]:
    with (ROOT / "benchmarks" / "data" / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line)["query"] for line in fh][:count]


def out_of_corpus() -> list[str]:
    """The out-of-scope questions the knowledge cannot answer (``tests/fixtures/out_of_corpus.txt``)."""
    path = ROOT / "tests" / "fixtures" / "out_of_corpus.txt"
    return [q.strip() for q in path.read_text(encoding="utf-8").splitlines() if q.strip() and not q.startswith("#")]


def _citation_check(answer: dict[str, Any], rt: Runtime) -> tuple[int, int]:
    ok = 0
    for c in answer["citations"]:
        doc = rt.manifest.document(c["doc_id"])
        ok += int(doc is not None and doc.version == c["version"] and doc.text[c["start"] : c["end"]] == c["quote"])
    return ok, len(answer["citations"])


def quality(asker: Any, rt: Runtime, questions: list[str], ooc: list[str], heldout: list[str]) -> dict[str, Any]:
    verbatim = total = answered = 0
    latencies = []
    for q in questions:
        t = time.perf_counter()
        answer = asker.ask(AskRequest(q))
        latencies.append((time.perf_counter() - t) * 1000)
        ok, n = _citation_check(answer, rt)
        verbatim, total = verbatim + ok, total + n
        answered += int(not answer["abstained"] and q in heldout)
    abstained = sum(int(asker.ask(AskRequest(q))["abstained"]) for q in ooc)
    return {
        "questions": len(questions), "citations": total, "verbatim_citations": verbatim,
        "verbatim_rate": verbatim / total if total else None,
        "out_of_corpus": len(ooc), "out_of_corpus_abstained": abstained, "abstain_rate": abstained / len(ooc),
        "heldout_questions": len([q for q in questions if q in heldout]), "heldout_answered": answered,
        "answer_latency_p50_ms": round(statistics.median(latencies), 1),
    }


def overhead(settings: Settings, rt: Runtime, llm_url: str, questions: list[str]) -> dict[str, Any]:
    from app.main import create_app
    from testkit.http_server import serving

    served = rt.reconfigured(llm_url=llm_url, llm_max_tokens=160, dev_mode=True, llm_timeout_s=300.0,
                             llm_total_timeout_s=600.0)
    rows = []
    # One client, kept alive, as the page and an EMR keep theirs: httpx's module-level calls build a new
    # client per request, and its TLS context alone (the CA bundle) cost about 60 ms of every measurement.
    with served, serving(create_app(served.settings, runtime=served)) as base, httpx.Client(timeout=600) as client:
        client.post(f"{base}/v1/ask", json={"question": "warfarin dose"})  # warm-up
        for q in questions:
            t0 = time.perf_counter()
            first_delta, done = None, None
            with client.stream("POST", f"{base}/v1/ask", json={"question": q, "stream": True}) as r:
                name = None
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: ") and name == "delta" and first_delta is None:
                        first_delta = (time.perf_counter() - t0) * 1000
                    elif line.startswith("data: ") and name == "done":
                        done = json.loads(line[6:])
            assert done is not None and first_delta is not None
            own = done["timings_ms"]["generator_first_text"]  # the LLM's own time to that text, seen in the app
            rows.append({"question": q, "abstained": done["abstained"], "app_first_delta_ms": round(first_delta, 1),
                         "llm_own_ms": own, "overhead_ms": round(first_delta - own, 1),
                         "retrieve_ms": done["timings_ms"]["retrieve"], "verify_ms": done["timings_ms"]["verify"]})
            print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr)
    overheads = [r["overhead_ms"] for r in rows]
    return {"runs": rows, "overhead_p50_ms": statistics.median(overheads), "overhead_max_ms": max(overheads),
            "answered": sum(not r["abstained"] for r in rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--questions", type=int, default=60, help="held-out MedQuAD + PubMedQA questions")
    parser.add_argument("--overhead-runs", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--parts", default="extractive,llm,overhead",
                        help="which parts to run; the others keep their figures from an earlier answers.json")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    from testkit.llama_server import llama_server, unavailable_reason

    settings = Settings(data_dir=args.data_dir)
    ensure_index(args.data_dir, _starter_documents(settings.knowledge_dir), "app.cli")
    heldout = _jsonl("medquad_heldout", args.questions // 2)
    questions = heldout + _jsonl("pubmedqa_dev", args.questions // 2) + CLINICAL
    ooc = out_of_corpus()
    previous = args.out / "answers.json"
    report: dict[str, Any] = json.loads(previous.read_text(encoding="utf-8")) if previous.exists() else {}
    report.update({"machine": {"python": platform.python_version(), "cpus": 2},
                   "settings": {"answer_min_relevance": settings.answer_min_relevance,
                                "support_threshold": settings.support_threshold}})
    with Runtime.open(settings) as rt:
        searcher = open_searcher(rt)
        searcher.warm_up()
        if "extractive" in parts:
            extractive = open_asker(rt, searcher)
            report["extractive"] = quality(extractive, rt, questions, ooc, heldout)
            close_asker(extractive)
            print(json.dumps(report["extractive"]), file=sys.stderr)
        reason = unavailable_reason()
        if reason:
            report["llm"] = {"skipped": reason}
        if not reason and parts & {"llm", "overhead"}:
            log = Path(tempfile.gettempdir()) / "medevidence-llama-server.log"
            with llama_server(log) as url:
                llm_settings = settings.model_copy(update={"llm_url": url, "llm_max_tokens": 160,
                                                           "llm_timeout_s": 300.0, "llm_total_timeout_s": 600.0})
                if "llm" in parts:
                    asker = open_asker(rt, searcher, generator=OpenAICompatibleGenerator(llm_settings))
                    report["llm"] = quality(asker, rt, CLINICAL + heldout[:10], ooc, heldout)
                    report["llm"]["model"] = asker.generator.model_id()
                    close_asker(asker)
                    print(json.dumps(report["llm"]), file=sys.stderr)
                if "overhead" in parts:
                    report["overhead"] = overhead(settings, rt, url, CLINICAL[: args.overhead_runs])
            log.unlink(missing_ok=True)
        searcher.close()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "answers.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    (args.out / "answers.md").write_text(render(report), encoding="utf-8")
    print(render(report))
    return 0


def render(report: dict[str, Any]) -> str:
    lines = ["# Answers: citations, abstention, LLM-path overhead", "",
             "| mode | questions | citations verbatim | out-of-corpus abstained | held-out answered | p50 answer |",
             "| --- | --- | --- | --- | --- | --- |"]
    for mode in ("extractive", "llm"):
        r = report.get(mode, {})
        if "questions" not in r:
            lines.append(f"| {mode} | not run: {r.get('skipped') or 'not in --parts'} | | | | |")
            continue
        lines.append(f"| {mode}{' (' + r['model'] + ')' if 'model' in r else ''} | {r['questions']} | "
                     f"{r['verbatim_citations']}/{r['citations']} | {r['out_of_corpus_abstained']}/{r['out_of_corpus']}"
                     f" ({r['abstain_rate']:.0%}) | {r['heldout_answered']}/{r['heldout_questions']} | "
                     f"{r['answer_latency_p50_ms']:.0f} ms |")
    if "overhead" in report:
        o = report["overhead"]
        lines += ["", f"LLM-path overhead (first `delta` through `/v1/ask` minus the llama.cpp server's own time to "
                      f"the text it waits for): p50 **{o['overhead_p50_ms']:.0f} ms**, "
                      f"max {o['overhead_max_ms']:.0f} ms over "
                      f"{len(o['runs'])} questions ({o['answered']} answered, the rest abstained).", "",
                  "| question | app first delta | server's own | overhead | retrieve | verify |",
                  "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {r['question']} | {r['app_first_delta_ms']:.0f} | {r['llm_own_ms']:.0f} | "
                  f"{r['overhead_ms']:.0f} | {r['retrieve_ms']:.0f} | {r['verify_ms']:.0f} |" for r in o["runs"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
