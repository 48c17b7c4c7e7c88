"""What the knowledge covers, before and after a change of the starter knowledge: one table, two indexes.

    python -m benchmarks.coverage --baseline data/eval --baseline-ref fc6227a --current data/eval20
                                  [--medicationqa PATH] [--out DIR]

Both indexes are read by the same (current) code, so the table compares the knowledge, not the code; the
baseline index is read with the graph knowledge files of ``--baseline-ref`` (``knowledge/`` at that commit,
extracted with ``git archive``), the current one with ``knowledge/`` of the working tree.

- **Knowledge**: drugs known by name; distinct drugs (ingredients) that at least one indexed label is about
  (the graph's ``DESCRIBED_BY``); drugs with each label section kind; drugs with an indication (per source);
  graded interaction pairs per source; guidelines.
- **Real questions** (MedicationQA dev, ``focus`` annotated by its authors): the share whose focus resolves
  to a known drug (the whole focus or one of its parts split on , ; & + / "and"), and the share whose focus
  resolves to a drug that at least one indexed label is about ("has label text").  The split of each
  question id (``benchmarks.focus_answers.split_of``: tune / held-out) is reported beside the whole.

Writes ``coverage.md`` and ``coverage.json`` under ``--out`` (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from app.compose import drug_catalog
from app.config import Settings
from app.drugs.catalog import DrugCatalog
from app.drugs.coverage import Coverage
from app.runtime import Runtime
from benchmarks.focus_answers import focus_parts, split_of

ROOT = Path(__file__).resolve().parent.parent
MEDICATIONQA = ROOT.parent / "shared" / "data" / "questions" / "medicationqa_dev.jsonl"


def question_coverage(catalog: DrugCatalog, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Per split and in all: questions, focus resolved, focus with label text."""
    resolver = catalog.resolver
    rows: list[dict[str, Any]] = []
    for q in questions:
        ids: list[str] = []
        for part in focus_parts(str(q.get("focus") or "")):
            result = resolver.resolve(part)
            if result.resolved:
                ids += result.drug_ids
                break
        ids = list(dict.fromkeys(ids))
        labels = catalog.label_ids(ids) if ids else {}
        rows.append({"id": q["id"], "split": split_of(str(q["id"])), "resolved": bool(ids),
                     "label_text": any(labels.get(d) for d in ids)})
    out: dict[str, Any] = {}
    groups: dict[str, list[dict[str, Any]]] = {"tune": [], "held-out": [], "all": rows}
    for r in rows:
        groups[r["split"]].append(r)
    for name, group in groups.items():
        n = len(group)
        out[name] = {"questions": n,
                     "resolved": round(sum(bool(r["resolved"]) for r in group) / n, 3) if n else None,
                     "label_text": round(sum(bool(r["label_text"]) for r in group) / n, 3) if n else None}
    return out


def knowledge_at(ref: str, work: Path) -> Path:
    """``knowledge/`` as committed at ``ref``, extracted under ``work``."""
    target = work / f"knowledge-{ref}"
    if not (target / "knowledge" / "graph").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", ref, "knowledge"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "knowledge"


def measure(data_dir: Path, questions: list[dict[str, Any]], knowledge_dir: Path | None = None) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir)
    if knowledge_dir is not None:
        settings = settings.model_copy(update={"knowledge_dir": knowledge_dir})
    with Runtime.open(settings) as rt:
        catalog = drug_catalog(rt)
        report = Coverage(catalog).knowledge()
        return {"data_dir": str(data_dir), "totals": report["totals"],
                "sources": {s["source"]: {k: s[k] for k in ("documents", "sections", "drugs")}
                            for s in report["sources"]},
                "questions": question_coverage(catalog, questions)}


def markdown(base: dict[str, Any], cur: dict[str, Any]) -> str:
    def row(name: str, a: Any, b: Any) -> str:
        return f"| {name} | {a if a is not None else '-'} | {b if b is not None else '-'} |"

    bt, ct = base["totals"], cur["totals"]
    lines = ["# Knowledge coverage, before and after", "",
             f"Baseline index `{base['data_dir']}`, current index `{cur['data_dir']}`, both read by the current code.",
             "", "| measure | baseline | current |", "| --- | ---: | ---: |",
             row("documents", bt["documents"], ct["documents"]),
             row("drugs known by name", bt["drugs_known"], ct["drugs_known"]),
             row("distinct drugs with at least one label section", bt["drugs_with_label_text"],
                 ct["drugs_with_label_text"]),
             row("drugs with an indication", bt["drugs_with_indication"], ct["drugs_with_indication"])]
    for kind in ct["drugs_with_label_section"]:
        lines.append(row(f"drugs with a label section: {kind}", bt["drugs_with_label_section"].get(kind),
                         ct["drugs_with_label_section"][kind]))
    for source in sorted({*bt["indications_by_source"], *ct["indications_by_source"]}):
        lines.append(row(f"indications: {source}", bt["indications_by_source"].get(source),
                         ct["indications_by_source"].get(source)))
    for source in sorted({*bt["graded_interaction_pairs"], *ct["graded_interaction_pairs"]}):
        lines.append(row(f"graded interaction pairs: {source}", bt["graded_interaction_pairs"].get(source),
                         ct["graded_interaction_pairs"].get(source)))
    lines.append(row("guidelines", bt["guidelines"], ct["guidelines"]))
    lines += ["", "MedicationQA dev (real consumer questions; focus as annotated):", "",
              "| split | questions | focus resolves: baseline | current | has label text: baseline | current |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for split in ("tune", "held-out", "all"):
        b, c = base["questions"][split], cur["questions"][split]
        lines.append(f"| {split} | {c['questions']} | {b['resolved']} | {c['resolved']} | {b['label_text']} | "
                     f"{c['label_text']} |")
    lines += ["", "Sources in the current index:", "", "| source | documents | sections | drugs described |",
              "| --- | ---: | ---: | ---: |"]
    lines += [f"| {name} | {s['documents']:,} | {s['sections']:,} | {s['drugs']:,} |"
              for name, s in cur["sources"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--baseline", type=Path, required=True, help="data dir indexed from the old knowledge")
    parser.add_argument("--baseline-ref", required=True, help="the commit whose knowledge/ built the baseline index")
    parser.add_argument("--current", type=Path, required=True, help="data dir indexed from the new knowledge")
    parser.add_argument("--medicationqa", type=Path, default=MEDICATIONQA)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    if not args.medicationqa.is_file():
        print(f"{args.medicationqa}: not found (the dev questions live in ../shared)", file=sys.stderr)
        return 2
    with args.medicationqa.open(encoding="utf-8") as fh:
        questions = [json.loads(line) for line in fh if line.strip()]
    with tempfile.TemporaryDirectory(prefix="medevidence-coverage-") as work:
        base = measure(args.baseline, questions, knowledge_at(args.baseline_ref, Path(work)))
    cur = measure(args.current, questions)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "coverage.json").write_text(json.dumps({"baseline": base, "current": cur}, indent=1) + "\n",
                                             encoding="utf-8")
    text = markdown(base, cur)
    (args.out / "coverage.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
