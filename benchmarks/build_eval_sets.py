"""Build the retrieval dev sets in ``benchmarks/data/`` from the raw sources in ``../shared/data``.

    python -m benchmarks.build_eval_sets [--shared ../shared/data] [--out benchmarks/data]
                                         [--medquad-tune 300] [--medquad-heldout 700]

Maintainers only: this builder is the one place that reads ``../shared``; the harness
(``benchmarks.retrieval_eval``), the product and the tests read the compact files it writes.
Output is deterministic (sorted, no timestamps), so a rebuild is byte-identical.

- ``pubmedqa_dev.jsonl``: the 500 PubMedQA PQA-L dev questions; gold = the abstract ``pubmed:<pmid>``.
- ``medquad_tune.jsonl`` / ``medquad_heldout.jsonl``: MedQuAD questions; gold = every starter-knowledge
  document whose own question-answer pairs ask that (normalised) question; the answer is the section at
  the question's position (``indexers.sources.medquad``: one section per non-empty answer, in order,
  headed by the title-cased question type).  Unique question texts are ordered by a SHA-256 of their
  id; the first ``--medquad-tune`` go to tune, the next ``--medquad-heldout`` to held-out.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import Rejected
from indexers.sources.medquad import read_medquad

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE_DOCS = ROOT / "knowledge" / "docs"
DEFAULT_SHARED = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "benchmarks" / "data"

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize_question(text: str) -> str:
    """Lower-case alphanumeric words joined by single spaces ("What is (are) X ?" == "what is are x")."""
    return " ".join(_NON_ALNUM.sub(" ", text.lower()).split())


def stable_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def knowledge_docs(name: str, docs_dir: Path = KNOWLEDGE_DOCS) -> dict[str, dict[str, Any]]:
    """The shipped starter-knowledge documents of one source file, by id (raw JSON objects)."""
    out: dict[str, dict[str, Any]] = {}
    with gzip.open(docs_dir / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                out[obj["id"]] = obj
    return out


def write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count


# -- PubMedQA ---------------------------------------------------------------------------------


def build_pubmedqa(shared: Path, docs_dir: Path = KNOWLEDGE_DOCS) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The dev questions in file order, ids ``pubmedqa-dev-<n>`` (1-based), gold ``pubmed:<pmid>``."""
    known = knowledge_docs("pubmedqa", docs_dir)
    rows: list[dict[str, Any]] = []
    missing = 0
    with (shared / "pubmedqa" / "dev_questions.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            obj = json.loads(line)
            gold = f"pubmed:{obj['pmid']}"
            if gold not in known:
                missing += 1
                continue
            rows.append({
                "id": f"pubmedqa-dev-{len(rows) + 1}",
                "query": " ".join(str(obj["question"]).split()),
                "gold": [gold],
                "decision": obj.get("decision"),
            })
    return rows, {"questions": len(rows) + missing, "gold_missing_from_knowledge": missing}


# -- MedQuAD ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MedquadQuestion:
    key: str  # <collection>:<file stem>:<section index>, unique
    doc_id: str
    section_index: int
    section: str
    qtype: str
    question: str
    title: str


def medquad_questions(
    shared: Path, docs_dir: Path = KNOWLEDGE_DOCS
) -> tuple[list[MedquadQuestion], dict[str, int]]:
    """Every answered MedQuAD question whose document (and answer section) is in the starter knowledge."""
    known = knowledge_docs("medquad", docs_dir)
    stats = {"xml_documents": 0, "rejected_documents": 0, "documents_not_in_knowledge": 0,
             "section_mismatch": 0, "answered_questions": 0}
    out: list[MedquadQuestion] = []
    for item in read_medquad(shared / "medquad"):
        stats["xml_documents"] += 1
        if isinstance(item, Rejected):
            stats["rejected_documents"] += 1
            continue
        doc: Document = item
        shipped = known.get(doc.id)
        if shipped is None:
            stats["documents_not_in_knowledge"] += 1
            continue
        headings = [s["heading"] for s in shipped["sections"]]
        questions = doc.metadata.get("questions", [])
        for index, (section, asked) in enumerate(zip(doc.sections, questions, strict=True)):
            stats["answered_questions"] += 1
            if index >= len(headings) or headings[index] != section.heading:
                stats["section_mismatch"] += 1
                continue
            out.append(MedquadQuestion(
                key=f"{doc.id.split(':', 1)[1]}:{index}",
                doc_id=doc.id,
                section_index=index,
                section=section.heading,
                qtype=asked["qtype"],
                question=asked["question"],
                title=doc.title,
            ))
    return out, stats


def group_medquad(questions: list[MedquadQuestion]) -> list[dict[str, Any]]:
    """One eval row per distinct normalised question text; gold = every document that asks it."""
    groups: dict[str, list[MedquadQuestion]] = defaultdict(list)
    for q in questions:
        groups[normalize_question(q.question)].append(q)
    rows: list[dict[str, Any]] = []
    for members in groups.values():
        members.sort(key=lambda q: q.key)
        first = members[0]
        gold = sorted({q.doc_id for q in members})
        sections = sorted({q.section for q in members})
        rows.append({
            "id": f"medquad-{first.key}",
            "query": first.question,
            "gold": gold,
            "gold_section": sections[0] if len(sections) == 1 else None,
            "gold_sections": [{"doc_id": q.doc_id, "section": q.section, "section_index": q.section_index}
                              for q in members],
            "qtype": first.qtype,
            "title_in_query": normalize_question(first.title) in normalize_question(first.question),
        })
    return rows


def split_medquad(rows: list[dict[str, Any]], tune: int, heldout: int) -> tuple[list[dict[str, Any]], ...]:
    """Order by SHA-256 of the row id; the first ``tune`` rows, then the next ``heldout`` rows."""
    ordered = sorted(rows, key=lambda r: stable_hash(r["id"]))
    if tune + heldout > len(ordered):
        raise ValueError(f"only {len(ordered)} distinct MedQuAD questions, {tune + heldout} requested")
    return ordered[:tune], ordered[tune : tune + heldout]


def medquad_profile(questions: list[MedquadQuestion], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How the questions relate to the documents (reported in the README, not used for scoring)."""
    title_in = sum(normalize_question(q.title) in normalize_question(q.question) for q in questions)
    equals_heading = sum(normalize_question(q.question) == normalize_question(q.section) for q in questions)
    return {
        "answered_questions_in_knowledge": len(questions),
        "distinct_question_texts": len(rows),
        "distinct_questions_with_several_gold_docs": sum(len(r["gold"]) > 1 for r in rows),
        "max_gold_docs": max((len(r["gold"]) for r in rows), default=0),
        "questions_containing_doc_title": title_in,
        "questions_equal_to_section_heading": equals_heading,
    }


def _strip_private(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "title_in_query"} for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="raw sources (../shared/data)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--medquad-tune", type=int, default=300)
    parser.add_argument("--medquad-heldout", type=int, default=700)
    args = parser.parse_args(argv)

    pubmed_rows, pubmed_stats = build_pubmedqa(args.shared)
    questions, mq_stats = medquad_questions(args.shared)
    grouped = group_medquad(questions)
    tune, heldout = split_medquad(grouped, args.medquad_tune, args.medquad_heldout)

    counts = {
        "pubmedqa_dev.jsonl": write_jsonl(pubmed_rows, args.out / "pubmedqa_dev.jsonl"),
        "medquad_tune.jsonl": write_jsonl(_strip_private(tune), args.out / "medquad_tune.jsonl"),
        "medquad_heldout.jsonl": write_jsonl(_strip_private(heldout), args.out / "medquad_heldout.jsonl"),
    }
    profile = medquad_profile(questions, grouped)
    for name, part in (("tune", tune), ("heldout", heldout)):
        profile[f"{name}_several_gold_docs"] = sum(len(r["gold"]) > 1 for r in part)
        profile[f"{name}_title_in_query"] = sum(bool(r["title_in_query"]) for r in part)
    report = {"files": counts, "pubmedqa": pubmed_stats, "medquad_read": mq_stats, "medquad_profile": profile}
    print(json.dumps(report, indent=2))
    if pubmed_stats["gold_missing_from_knowledge"] or mq_stats["section_mismatch"]:
        print("warning: some gold documents or sections are missing from knowledge/docs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
