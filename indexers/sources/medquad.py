"""MedQuAD (NIH/CDC consumer health pages as question-answer pairs) -> guideline Documents.

Layout: numbered collection folders (``1_CancerGov_QA/``, ``2_GARD_QA/``...) of XML files,
one per source page: ``<Document id source url>``, ``<Focus>``, UMLS CUIs / semantic types /
synonyms, and ``<QAPairs>`` of ``<Question qid qtype>`` + ``<Answer>``.  A few files use an
older lower-case schema (``<doc docid corpus>``, ``<doctitle-focus>``, ``<pair>``) or
``<DiseaseFile fid>``; tags are matched case-insensitively so all of them read.

One Document per XML file (id ``medquad:<collection>:<file stem>``: the stem, unlike the
``id`` attribute, is unique), one section per non-empty answer, headed by its question type
("Symptoms", "Exams and Tests"; a repeated type stays a separate section); title = Focus.
Whitespace runs inside lines collapse, paragraph breaks stay, and inline "   - " bullets
start new lines.  Metadata: collection, medquad_id, focus, cuis, semantic_types,
semantic_group, synonyms, category, qtypes, questions, citation.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import ReadItem, Rejected, normalize_lines, title_case

COLLECTION_DIR = re.compile(r"^\d+_.+")
CITATION_CORPUS = "MedQuAD (Ben Abacha & Demner-Fushman, BMC Bioinformatics 2019; CC BY 4.0)"

_INLINE_BULLET = re.compile(r"[ \t]{2,}-[ \t]+")


def collection_dirs(path: Path) -> list[Path]:
    """The numbered collection folders of a MedQuAD folder, in number order."""
    dirs = [p for p in path.iterdir() if p.is_dir() and COLLECTION_DIR.match(p.name)]
    return sorted(dirs, key=lambda p: (int(p.name.split("_", 1)[0]), p.name))


def read_medquad(path: Path) -> Iterator[ReadItem]:
    """Yield one Document per MedQuAD XML file (collections in order, files sorted)."""
    folders = collection_dirs(path) if path.is_dir() and not list(path.glob("*.xml")) else [path]
    for folder in folders:
        files = [folder] if folder.is_file() else sorted(folder.glob("*.xml"))
        for file in files:
            yield medquad_document(file)


def clean_answer(text: str) -> str:
    """Collapse whitespace inside lines, keep paragraph breaks, put inline bullets on lines."""
    return normalize_lines(_INLINE_BULLET.sub("\n- ", text))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _texts(root: ET.Element, *tags: str) -> list[str]:
    out: list[str] = []
    for el in root.iter():
        if _local(el.tag) in tags and el.text and el.text.strip() and el.text.strip() not in out:
            out.append(el.text.strip())
    return out


def _first_text(root: ET.Element, *tags: str) -> str | None:
    found = _texts(root, *tags)
    return found[0] if found else None


def _children(el: ET.Element, *tags: str) -> list[ET.Element]:
    return [child for child in el if _local(child.tag) in tags]


def _attr(el: ET.Element, *names: str) -> str:
    for name in names:
        if el.get(name):
            return str(el.get(name)).strip()
    return ""


def medquad_document(file: Path) -> ReadItem:
    """Build the Document for one MedQuAD XML file."""
    try:
        root = ET.parse(file).getroot()
    except ET.ParseError as exc:
        return Rejected(str(file), exc.position[0], f"invalid XML: {exc}")
    except OSError as exc:
        return Rejected(str(file), 0, f"unreadable: {exc}")
    collection = _attr(root, "source", "corpus") or file.parent.name.split("_", 1)[-1]
    focus = " ".join((_first_text(root, "focus", "doctitle-focus") or "").split())
    sections: list[tuple[str, str]] = []
    questions: list[dict[str, str]] = []
    for pairs in _children(root, "qapairs"):
        for pair in _children(pairs, "qapair", "pair"):
            question = next(iter(_children(pair, "question")), None)
            answer = next(iter(_children(pair, "answer")), None)
            text = clean_answer(answer.text or "") if answer is not None else ""
            if question is None or not text:
                continue
            qtype = (question.get("qtype") or "information").strip()
            sections.append((title_case(qtype), text))
            questions.append({
                "qid": (question.get("qid") or "").strip(),
                "qtype": qtype,
                "question": " ".join((question.text or "").split()),
            })
    if not sections:
        return Rejected(str(file), 0, "no question-answer pair with a non-empty answer")
    asked = questions[0]["question"].rstrip(" ?")
    title = focus or (asked[:1].upper() + asked[1:]) or file.stem
    url = _attr(root, "url") or None
    metadata: dict[str, Any] = {
        "source": "medquad",
        "collection": collection,
        "medquad_id": _attr(root, "id", "docid", "fid") or file.stem,
        "focus": focus or None,
        "cuis": _texts(root, "cui"),
        "semantic_types": _texts(root, "semantictype"),
        "semantic_group": _first_text(root, "semanticgroup"),
        "synonyms": _texts(root, "synonym"),
        "category": _first_text(root, "category"),
        "qtypes": sorted({q["qtype"] for q in questions}),
        "questions": questions,
        "citation": f"{title}. {collection}" + (f", {url}" if url else "") + f"; {CITATION_CORPUS}.",
    }
    return Document.from_sections(
        id=f"medquad:{collection.lower()}:{file.stem}",
        title=title,
        source_type="guideline",
        sections=sections,
        url=url,
        language="en",
        metadata={k: v for k, v in metadata.items() if v not in (None, [], "")},
    )
