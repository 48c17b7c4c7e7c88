"""PubMedQA abstracts (``abstracts.jsonl``) -> evidence Documents.

One line per PubMed abstract: ``pmid``, ``year``, ``sections`` ([{label, text}]),
``conclusion``, ``meshes``.  Sections keep their structured-abstract labels as headings
(BACKGROUND, METHODS, RESULTS...); the ``conclusion`` becomes a final CONCLUSIONS section
unless a conclusions section is already there.  The records carry no article title, so the
title is the abstract's first sentence (``metadata["title_source"]`` says so), or
"PubMed <pmid>".  ``study_design`` is derived from MeSH publication-design headings
(rct, case_control, cohort, retrospective, cross_sectional, meta_analysis, ...).

Document id ``pubmed:<pmid>``; url https://pubmed.ncbi.nlm.nih.gov/<pmid>/; published
"<year>-01-01" (only the year is known).  The dev questions file is not read here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import PUBMED_URL, ReadItem, Rejected

ABSTRACTS_FILE = "abstracts.jsonl"
TITLE_MAX = 160
CITATION_CORPUS = "abstract via PubMedQA PQA-L (Jin et al., EMNLP 2019; MIT)"

#: (study design, MeSH headings that imply it), strongest design first.
STUDY_DESIGNS: tuple[tuple[str, frozenset[str]], ...] = (
    ("meta_analysis", frozenset({"Meta-Analysis", "Meta-Analysis as Topic"})),
    ("systematic_review", frozenset({"Systematic Review", "Systematic Reviews as Topic"})),
    ("rct", frozenset({
        "Randomized Controlled Trial", "Double-Blind Method", "Single-Blind Method", "Cross-Over Studies",
    })),
    ("case_control", frozenset({"Case-Control Studies"})),
    ("retrospective", frozenset({"Retrospective Studies"})),
    ("cohort", frozenset({"Cohort Studies", "Prospective Studies", "Longitudinal Studies",
                          "Follow-Up Studies"})),
    ("cross_sectional", frozenset({"Cross-Sectional Studies"})),
    ("case_report", frozenset({"Case Reports"})),
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")


def study_design(meshes: list[str]) -> str | None:
    """The strongest study design the MeSH headings show; "animal" first for animal-only work.

    "Random Allocation" counts as an RCT only when the study is not also retrospective.
    """
    terms = set(meshes)
    if "Animals" in terms and "Humans" not in terms:
        return "animal"
    if "Random Allocation" in terms and "Retrospective Studies" not in terms:
        terms.add("Randomized Controlled Trial")
    for design, implied in STUDY_DESIGNS:
        if terms & implied:
            return design
    return None


def first_sentence(text: str, limit: int = TITLE_MAX) -> str:
    """The first sentence of ``text``, cut at a word boundary with "…" past ``limit``."""
    sentence = _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def read_pubmedqa(path: Path) -> Iterator[ReadItem]:
    """Yield one evidence Document per abstract line, in file order."""
    file = path / ABSTRACTS_FILE if path.is_dir() else path
    try:
        handle = file.open(encoding="utf-8-sig")
    except OSError as exc:
        yield Rejected(str(file), 0, f"cannot open: {exc}")
        return
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Rejected(str(file), number, f"invalid JSON: {exc.msg}")
                continue
            yield abstract_document(record, str(file), number)


def abstract_document(record: Any, file: str, line: int) -> ReadItem:
    """Build the Document for one abstract record."""
    if not isinstance(record, dict) or not str(record.get("pmid", "")).strip():
        return Rejected(file, line, "abstract without a pmid")
    pmid = str(record["pmid"]).strip()
    sections: list[tuple[str, str]] = []
    for part in record.get("sections") or []:
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"].strip():
            label = str(part.get("label") or "").strip().upper()
            sections.append(("ABSTRACT" if label in ("", "UNLABELLED") else label, part["text"]))
    conclusion = record.get("conclusion")
    if isinstance(conclusion, str) and conclusion.strip() and not any(
        h.startswith("CONCLUSION") for h, _ in sections
    ):
        sections.append(("CONCLUSIONS", conclusion))
    if not sections:
        return Rejected(file, line, f"abstract {pmid} has no text")
    year = str(record.get("year") or "").strip()
    year = year if re.fullmatch(r"\d{4}", year) else ""
    meshes = [str(m) for m in record.get("meshes") or [] if str(m).strip()]
    sentence = first_sentence(sections[0][1])
    title = sentence or f"PubMed {pmid}"
    url = PUBMED_URL.format(pmid=pmid)
    metadata: dict[str, Any] = {
        "source": "pubmedqa",
        "pmid": pmid,
        "year": int(year) if year else None,
        "meshes": meshes,
        "section_labels": [h for h, _ in sections],
        "study_design": study_design(meshes),
        "title_source": "first sentence of the abstract (no article title in the source)"
        if sentence else "pmid",
        "citation": f"PubMed PMID {pmid}" + (f" ({year})" if year else "") + f", {url}; {CITATION_CORPUS}.",
    }
    return Document.from_sections(
        id=f"pubmed:{pmid}",
        title=title,
        source_type="evidence",
        sections=sections,
        url=url,
        published=f"{year}-01-01" if year else None,
        language="en",
        metadata={k: v for k, v in metadata.items() if v not in (None, [])},
    )
