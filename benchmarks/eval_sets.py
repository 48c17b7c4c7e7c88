"""The retrieval development sets and the corpus each one is searched in.

A retrieval change is judged on four sets, each against the textbook baselines on the *same* corpus:

| set | corpus | role | questions |
| --- | --- | --- | --- |
| ``bioasq_dev`` | its own: 5,093 BioASQ gold snippets (400 questions' and 4,000 distractors) | tune | 400 |
| ``medquad_tune`` | the starter knowledge | tune | MedQuAD questions |
| ``pubmedqa_dev`` | the starter knowledge | check | 500 |
| ``medquad_heldout`` | the starter knowledge | check | MedQuAD questions |
| ``zh_instructions_dev`` | its own: 500 Chinese patent-medicine instructions (中成药说明书) | check | 150 |

Constants are tuned on the "tune" sets only; the "check" sets say whether a gain carries over.  The two
sets with their own corpus come from ``shared/data`` (development data, never shipped in the product or in
``knowledge/``): their documents are written once as a generic JSONL file (the format a hospital's own
documents come in, ``indexers/sources/jsonl.py``) into the set's own data dir, and indexed there by the
product's own ``index`` command.  The starter-knowledge sets live in ``benchmarks/data``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
STARTER = "starter"
DEFAULT_SHARED = ROOT.parent / "shared" / "data"

Role = Literal["tune", "check"]


@dataclass(frozen=True)
class SetSpec:
    """One development set: its questions, and the corpus it is searched in (``STARTER`` or its own)."""

    name: str
    corpus: str
    role: Role
    source: str  # where its questions come from, for the report

    @property
    def own_corpus(self) -> bool:
        return self.corpus != STARTER


SETS: dict[str, SetSpec] = {
    "bioasq_dev": SetSpec("bioasq_dev", "bioasq_dev", "tune", "shared/data/bioasq_dev"),
    "medquad_tune": SetSpec("medquad_tune", STARTER, "tune", "benchmarks/data/medquad_tune.jsonl"),
    "pubmedqa_dev": SetSpec("pubmedqa_dev", STARTER, "check", "benchmarks/data/pubmedqa_dev.jsonl"),
    "medquad_heldout": SetSpec("medquad_heldout", STARTER, "check", "benchmarks/data/medquad_heldout.jsonl"),
    "zh_instructions_dev": SetSpec("zh_instructions_dev", "zh_instructions_dev", "check",
                                   "shared/data/zh_instructions_dev"),
}
DEFAULT_SETS = ("bioasq_dev", "pubmedqa_dev", "medquad_heldout", "zh_instructions_dev")


def read_jsonl_rows(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a JSONL file; a bad line is an error naming file and line."""
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def _need(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: pass --shared-dir, the folder holding the development sets")
    return path


# -- questions ------------------------------------------------------------------------------------------


def _bioasq_questions(shared: Path) -> list[dict[str, Any]]:
    rows = read_jsonl_rows(_need(shared / "bioasq_dev" / "questions.jsonl"))
    return [{"id": str(r["id"]), "query": str(r["question"]), "gold": [str(g) for g in r["gold"]],
             "type": r.get("type")} for r in rows]


def _zh_questions(shared: Path) -> list[dict[str, Any]]:
    rows = read_jsonl_rows(_need(shared / "zh_instructions_dev" / "questions.jsonl"))
    return [{"id": str(r["id"]), "query": str(r["query"]), "gold": [str(g) for g in r["gold"]]} for r in rows]


def load_questions(spec: SetSpec, sets_dir: Path, shared: Path) -> list[dict[str, Any]]:
    """``{"id", "query", "gold": [doc ids]}`` rows of one set."""
    if spec.name == "bioasq_dev":
        return _bioasq_questions(shared)
    if spec.name == "zh_instructions_dev":
        return _zh_questions(shared)
    rows = read_jsonl_rows(sets_dir / f"{spec.name}.jsonl")
    return [{"id": str(r["id"]), "query": str(r["query"]), "gold": list(r["gold"])} for r in rows]


# -- own corpora as generic JSONL documents ---------------------------------------------------------------


def _bioasq_documents(shared: Path) -> list[dict[str, Any]]:
    """Each snippet one evidence document (its id is what ``gold`` names), as the set's SOURCE.md says."""
    return [{"id": str(r["id"]), "title": "", "text": str(r["text"]), "source_type": "evidence",
             "url": f"https://pubmed.ncbi.nlm.nih.gov/{r['pmid']}/"}
            for r in read_jsonl_rows(_need(shared / "bioasq_dev" / "corpus.jsonl"))]


def _zh_documents(shared: Path) -> list[dict[str, Any]]:
    """Each instruction text one Chinese label document ``tc-N``, as the set's SOURCE.md says."""
    texts = _need(shared / "zh_instructions_dev" / "texts")
    paths = sorted(texts.glob("*.txt"), key=lambda p: int(p.stem) if p.stem.isdigit() else -1)
    return [{"id": f"tc-{p.stem}", "title": "", "text": p.read_text(encoding="utf-8"), "source_type": "label",
             "language": "zh"} for p in paths]


_DOCUMENTS: dict[str, Callable[[Path], list[dict[str, Any]]]] = {
    "bioasq_dev": _bioasq_documents,
    "zh_instructions_dev": _zh_documents,
}


def write_corpus(spec: SetSpec, shared: Path, directory: Path) -> Path:
    """The set's documents as ``directory/documents.jsonl`` (rewritten only when they changed)."""
    documents = _DOCUMENTS[spec.corpus](shared)
    text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in documents)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "documents.jsonl"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
