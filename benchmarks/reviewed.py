"""The clinicians' reviewed questions as an evaluation set: does the service still say what reviewers flagged?

    medevidence reviews export --jsonl --out reviews.jsonl
    python -m benchmarks.reviewed --set reviews.jsonl [--data-dir data] [--out benchmarks/results]

The set is what ``medevidence reviews export --jsonl`` writes (``app/stores/reviews.py``, ``evaluation_rows``): one
reviewed question a line, with the answer as it was, its citations, the verdict of its reviews (the most severe;
``correct``, ``incorrect`` or ``unsafe``), their reasons and any corrected text with its verified citations.  Each
question is asked again and scored against its verdict:

- **unsafe / incorrect**: does the new answer still cite a flagged span (same document version, overlapping span)?
  For an unsafe one, is the reviewer's note shown (``review_notes``)?  Lower "still cites" is better; "note shown"
  should be 1.0 whenever it still cites.
- **correct**: does the new answer keep citing the evidence the reviewed answer cited (regressions)?
- **corrected text**: the share of the corrected text's content words the new answer says (token recall, as in
  ``benchmarks/focus_answers.py``), and whether it cites a document the correction cites.

``retrieval_rows`` gives the rows with a known right source as ``{"id", "query", "gold"}``: the shape of the
retrieval development sets (``benchmarks/eval_sets.py``), for ``benchmarks.retrieval_eval``-style scoring.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.eval_sets import read_jsonl_rows
from benchmarks.focus_answers import token_recall

VERDICTS = ("correct", "incorrect", "unsafe")
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Reviewed:
    """One reviewed question of an exported set."""

    id: str
    query: str
    verdict: str
    reason: str
    answer: str
    citations: list[dict[str, Any]]
    corrected_text: str | None = None
    corrected_citations: list[dict[str, Any]] = field(default_factory=list)
    gold: list[str] = field(default_factory=list)


def load_reviewed(path: Path) -> list[Reviewed]:
    """The reviewed questions of an exported file; a row without a question or with an unknown verdict is an error
    naming file and line."""
    items: list[Reviewed] = []
    for number, row in enumerate(read_jsonl_rows(path), 1):
        query, verdict = row.get("query"), row.get("verdict")
        if not isinstance(query, str) or not query.strip():
            raise ValueError(f"{path}:{number}: query: must be a non-empty string")
        if verdict not in VERDICTS:
            raise ValueError(f"{path}:{number}: verdict: must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        items.append(Reviewed(
            id=str(row.get("id") or number), query=query, verdict=verdict, reason=str(row.get("reason") or ""),
            answer=str(row.get("answer") or ""), citations=list(row.get("citations") or []),
            corrected_text=row.get("corrected_text"), corrected_citations=list(row.get("corrected_citations") or []),
            gold=[str(g) for g in row.get("gold") or []]))
    return items


def retrieval_rows(items: Sequence[Reviewed]) -> list[dict[str, Any]]:
    """``{"id", "query", "gold": [doc ids]}`` of the questions whose reviews say which documents are right."""
    return [{"id": i.id, "query": i.query, "gold": list(i.gold)} for i in items if i.gold]


def _overlaps(new: Sequence[dict[str, Any]], old: Sequence[dict[str, Any]]) -> bool:
    return any(a["doc_id"] == b["doc_id"] and a.get("version") == b.get("version") and a["start"] < b["end"]
               and b["start"] < a["end"] for a in new for b in old)


def score(item: Reviewed, answer: dict[str, Any]) -> dict[str, Any]:
    """How a new answer to a reviewed question fares against its review."""
    citations = answer.get("citations") or []
    row: dict[str, Any] = {"id": item.id, "verdict": item.verdict, "abstained": bool(answer.get("abstained")),
                           "cites_reviewed_evidence": _overlaps(citations, item.citations)}
    if item.verdict == "unsafe":
        row["note_shown"] = bool(answer.get("review_notes"))
    if item.corrected_text:
        row["corrected_recall"] = token_recall(item.corrected_text, answer.get("answer") or "")
        row["cites_corrected_source"] = bool({c["doc_id"] for c in citations}
                                             & {c["doc_id"] for c in item.corrected_citations})
    return row


def evaluate(items: Sequence[Reviewed], ask: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """Ask every reviewed question again (``ask``: question → answer object) and sum up per verdict."""
    rows = [score(item, ask(item.query)) for item in items]
    summary: dict[str, Any] = {"questions": len(rows)}
    for verdict in VERDICTS:
        mine = [r for r in rows if r["verdict"] == verdict]
        if not mine:
            continue
        part: dict[str, Any] = {"questions": len(mine),
                                "still_cites_reviewed_evidence": sum(r["cites_reviewed_evidence"] for r in mine)
                                / len(mine),
                                "abstained": sum(r["abstained"] for r in mine) / len(mine)}
        if verdict == "unsafe":
            flagged = [r for r in mine if r["cites_reviewed_evidence"]]
            part["note_shown_when_citing"] = (sum(r["note_shown"] for r in flagged) / len(flagged)) if flagged \
                else None
        recalls = [r["corrected_recall"] for r in mine if r.get("corrected_recall") is not None]
        if recalls:
            part["corrected_recall"] = sum(recalls) / len(recalls)
        summary[verdict] = part
    return {"summary": summary, "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, required=True, help="a file written by medevidence reviews export")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--out", type=Path, help="write reviewed.json here (default: print only)")
    args = parser.parse_args(argv)
    from app.answer.ask import AskRequest
    from app.answer.factory import close_asker
    from app.compose import open_asker, open_searcher
    from app.config import Settings
    from app.runtime import Runtime

    items = load_reviewed(args.set)
    with Runtime.open(Settings(data_dir=args.data_dir)) as rt:
        searcher = open_searcher(rt)
        asker = open_asker(rt, searcher)
        try:
            report = evaluate(items, lambda q: asker.ask(AskRequest(q)))
        finally:
            close_asker(asker)
            searcher.close()
    report["retrieval_rows"] = len(retrieval_rows(items))
    text = json.dumps(report, indent=1, ensure_ascii=False)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "reviewed.json").write_text(text, encoding="utf-8")
    print(json.dumps(report["summary"], indent=1), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
