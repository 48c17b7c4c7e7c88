"""LabeledIn (NCBI, Khare et al. 2014) INDICATIONS AND USAGE sections of 500 FDA labels -> label Documents.

Files of a LabeledIn folder (DailyMed version of 2012-08-28, README.txt):

- ``indications_sections.jsonl``: one label a line {study_id, setid, in_rxcui, ingredient, section, text}
  (derived, tags stripped: list items run together, and text after a literal "<" was lost in a few);
- ``LabeledIn_annotated_XML.txt``: ``study_id|setid|annotated text|other set ids;`` with ``<br>``,
  ``<div>``, ``<ol><li>`` and ``<annotation cui=...>`` markup -- the section text is rendered from it
  when the label is there (list items become "- item" lines), else the jsonl text is used;
- ``LabeledIn_Structured_Results.txt``: ``study_id|setid|CUI; CUI;|ingredient RxCUI|...`` -- the
  expert disease annotations (UMLS CUIs) of each label;
- ``dhimmel-labeledin-indications.tsv`` (rxnorm_id, disease_cui, n_labels, expert, crowd,
  disease_mesh_name, rxnorm_name): names for CUIs and ingredients, and the indication rows that
  ``labeledin_indications`` yields for the graph build.

Each label becomes ``labeledin:<setid>`` with one "Indications and Usage" section.  Metadata:
source, set_id, generic_name (ingredients joined by " / "), rxcui, study_id, effective_date,
indications [{cui, name (MeSH name from the dhimmel table, else None), mention (the label's first
annotated wording, else None)}], similar_set_ids, citation.  The jsonl drives the documents; without it
the annotated XML does (ingredient names then come from the dhimmel table).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import (
    DAILYMED_SETID_URL,
    ReadItem,
    Rejected,
    json_object_lines,
    normalize_lines,
    read_text,
)
from indexers.sources.interactions import display_name

JSONL = "indications_sections.jsonl"
STRUCTURED = "LabeledIn_Structured_Results.txt"
ANNOTATED = "LabeledIn_annotated_XML.txt"
INDICATIONS = "dhimmel-labeledin-indications.tsv"
INDICATIONS_HEADER = ("rxnorm_id", "disease_cui", "n_labels", "expert", "crowd", "disease_mesh_name", "rxnorm_name")

HEADING = "Indications and Usage"
EFFECTIVE_DATE = "2012-08-28"
LABELEDIN_CITATION = (
    "LabeledIn: Khare R, Li J, Lu Z. LabeledIn: cataloging labeled indications for human drugs. "
    "J Biomed Inform. 2014;52:448-56"
)

_INLINE_TAG = re.compile(r"</?(?:annotation|i|b|u|em|strong|span|sup|sub)\b[^<>]*>", re.IGNORECASE)
_BREAK_TAG = re.compile(r"</?(?:br|div|p|ol|ul|table|tr)\b[^<>]*>", re.IGNORECASE)
_ITEM_TAG = re.compile(r"<li\b[^<>]*>", re.IGNORECASE)
_LIST_END = re.compile(r"</(?:ol|ul)\s*>", re.IGNORECASE)
_ITEM_END = re.compile(r"</li\s*>", re.IGNORECASE)
_MENTION = re.compile(r'<annotation\b[^<>]*\bcui="([^"]*)"[^<>]*>(.*?)</annotation\s*>', re.IGNORECASE | re.DOTALL)
_CUI = re.compile(r"C\d+")
_LIST_SPLIT = re.compile(r"\s*[;,]\s*")


@dataclass(frozen=True)
class LabeledIndication:
    """One row of the dhimmel LabeledIn table: ingredient, disease and how it was annotated."""

    rxcui: str
    ingredient: str
    disease_cui: str
    disease_name: str | None
    n_labels: int
    expert: bool


@dataclass(frozen=True)
class _Annotated:
    line: int
    study_id: str
    text: str
    similar: tuple[str, ...]
    mentions: dict[str, str]


@dataclass(frozen=True)
class _Structured:
    study_id: str
    cuis: tuple[str, ...]
    rxcuis: tuple[str, ...]


@dataclass
class _Names:
    """Names from the dhimmel table: ingredients by RxCUI, diseases by (RxCUI, CUI) and by CUI."""

    ingredients: dict[str, str]
    by_pair: dict[tuple[str, str], str]
    by_cui: dict[str, str]


def is_labeledin_folder(path: Path) -> bool:
    """Layout test: ``indications_sections.jsonl`` or ``LabeledIn_Structured_Results.txt`` inside."""
    return path.is_dir() and ((path / JSONL).is_file() or (path / STRUCTURED).is_file())


def _folder(path: Path) -> Path:
    return path.parent if path.is_file() else path


def render_annotated(markup: str) -> str:
    """LabeledIn's annotated XML text as plain lines.

    Breaks and blocks become newlines, ``<li>`` items "- item" lines (a paragraph break after the
    list), inline tags (annotations, bold...) vanish; a literal "<" ("< 40%") stays.
    """
    text = _INLINE_TAG.sub("", _ITEM_END.sub("", markup))
    text = _LIST_END.sub("\n\n", text)
    text = _ITEM_TAG.sub("\n- ", text)
    text = _BREAK_TAG.sub("\n", text)
    return normalize_lines(text)


def mentions(markup: str) -> dict[str, str]:
    """The first annotated mention of each CUI in LabeledIn markup ({"C0267055": "Erosive Esophagitis"})."""
    found: dict[str, str] = {}
    for cui, mention in _MENTION.findall(markup):
        words = " ".join(_INLINE_TAG.sub("", mention).split())
        if cui.strip() and words:
            found.setdefault(cui.strip(), words)
    return found


def _ingredient(raw: str) -> str:
    name = display_name(raw)
    return name[:1].upper() + name[1:]


def _split_ids(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for p in _LIST_SPLIT.split(raw.strip()) if p))


def _split_names(raw: str) -> list[str]:
    parts = re.split(r"\s*(?:;|\s/\s)\s*", raw.strip())
    return [_ingredient(p) for p in parts if p.strip()]


def _lines(file: Path) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(read_text(file).split("\n"), start=1):
        if line.strip():
            yield number, line


def _read_annotated(file: Path) -> tuple[dict[str, _Annotated], list[Rejected]]:
    found: dict[str, _Annotated] = {}
    rejected: list[Rejected] = []
    if not file.is_file():
        return found, rejected
    for number, line in _lines(file):
        cells = line.split("|")
        set_id = cells[1].strip() if len(cells) >= 3 else ""
        markup = "|".join(cells[2:-1] if len(cells) >= 4 else cells[2:])
        if not set_id:
            rejected.append(Rejected(str(file), number, "expected study_id|setid|annotated text|other set ids"))
            continue
        if set_id in found:
            rejected.append(Rejected(str(file), number, f"duplicate set id {set_id}"))
            continue
        similar = _split_ids(cells[-1]) if len(cells) >= 4 else ()
        found[set_id] = _Annotated(number, cells[0].strip(), render_annotated(markup), similar, mentions(markup))
    return found, rejected


def _read_structured(file: Path) -> tuple[dict[str, _Structured], list[Rejected]]:
    found: dict[str, _Structured] = {}
    rejected: list[Rejected] = []
    if not file.is_file():
        return found, rejected
    for number, line in _lines(file):
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 4 or not cells[1]:
            rejected.append(Rejected(str(file), number, "expected study_id|setid|CUIs|ingredient RxCUI|..."))
            continue
        if cells[1] in found:
            rejected.append(Rejected(str(file), number, f"duplicate set id {cells[1]}"))
            continue
        cuis = tuple(c for c in _split_ids(cells[2]) if _CUI.fullmatch(c))
        found[cells[1]] = _Structured(cells[0], cuis, _split_ids(cells[3]))
    return found, rejected


def _indication_rows(file: Path) -> Iterator[LabeledIndication | Rejected]:
    if not file.is_file():
        yield Rejected(str(file), 0, f"no {INDICATIONS} found")
        return
    lines = read_text(file).split("\n")
    header = tuple(c.strip().lower() for c in lines[0].split("\t")) if lines else ()
    if header[: len(INDICATIONS_HEADER)] != INDICATIONS_HEADER:
        yield Rejected(str(file), 1, f"expected the header {', '.join(INDICATIONS_HEADER)}")
        return
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")] + [""] * len(INDICATIONS_HEADER)
        rxcui, cui, n_labels, expert, _crowd, disease, ingredient = cells[: len(INDICATIONS_HEADER)]
        if not rxcui or not cui or not n_labels.isdigit() or expert not in ("0", "1"):
            yield Rejected(str(file), number, "expected rxnorm_id, disease_cui, n_labels (number) and expert (0/1)")
            continue
        yield LabeledIndication(
            rxcui=rxcui,
            ingredient=_ingredient(ingredient),
            disease_cui=cui,
            disease_name=disease or None,
            n_labels=int(n_labels),
            expert=expert == "1",
        )


def labeledin_indications(path: Path) -> Iterator[LabeledIndication | Rejected]:
    """Yield every row of the dhimmel LabeledIn indication table (``expert`` tells expert-annotated
    rows from crowd-only ones); ``path`` is the LabeledIn folder or the TSV itself."""
    file = path if path.is_file() else path / INDICATIONS
    yield from _indication_rows(file)


def _names(folder: Path) -> _Names:
    names = _Names({}, {}, {})
    if not (folder / INDICATIONS).is_file():
        return names
    for row in _indication_rows(folder / INDICATIONS):
        if isinstance(row, Rejected):
            continue
        if row.ingredient:
            names.ingredients.setdefault(row.rxcui, row.ingredient)
        if row.disease_name:
            names.by_pair.setdefault((row.rxcui, row.disease_cui), row.disease_name)
            names.by_cui.setdefault(row.disease_cui, row.disease_name)
    return names


def _records(folder: Path, annotated: dict[str, _Annotated]) -> Iterator[tuple[str, int, dict[str, Any]] | Rejected]:
    """(file, line, record) per label from the jsonl, or from the annotated XML without it."""
    jsonl = folder / JSONL
    if jsonl.is_file():
        for item in json_object_lines(jsonl):
            yield item if isinstance(item, Rejected) else (str(jsonl), item[0], item[1])
        return
    for set_id, label in annotated.items():
        yield str(folder / ANNOTATED), label.line, {"setid": set_id, "study_id": label.study_id}


def read_labeledin(path: Path) -> Iterator[ReadItem]:
    """Yield one label Document per LabeledIn set id (file order); bad lines become Rejected."""
    folder = _folder(path)
    if not is_labeledin_folder(folder):
        yield Rejected(str(path), 0, f"no LabeledIn {JSONL} or {STRUCTURED} found")
        return
    annotated, bad_annotated = _read_annotated(folder / ANNOTATED)
    structured, bad_structured = _read_structured(folder / STRUCTURED)
    yield from bad_annotated
    yield from bad_structured
    if not (folder / JSONL).is_file() and not annotated:
        yield Rejected(str(folder), 0, f"no label text: neither {JSONL} nor {ANNOTATED} found")
        return
    names = _names(folder)
    seen: set[str] = set()
    for item in _records(folder, annotated):
        if isinstance(item, Rejected):
            yield item
            continue
        file, number, record = item
        set_id = str(record.get("setid") or "").strip()
        if not set_id:
            yield Rejected(file, number, "missing 'setid'")
            continue
        if set_id in seen:
            yield Rejected(file, number, f"duplicate set id {set_id}")
            continue
        seen.add(set_id)
        yield label_document(file, number, record, annotated.get(set_id), structured.get(set_id), names)


def label_document(
    file: str,
    number: int,
    record: dict[str, Any],
    annotated: _Annotated | None,
    structured: _Structured | None,
    names: _Names,
) -> ReadItem:
    """Build one label's Document from its jsonl record and what the other files say about it."""
    set_id = str(record["setid"]).strip()
    raw_text = record.get("text")
    text = (
        annotated.text
        if annotated and annotated.text
        else normalize_lines(raw_text if isinstance(raw_text, str) else "")
    )
    if not text:
        return Rejected(file, number, "missing 'text'")
    rxcuis = _split_ids(str(record.get("in_rxcui") or "")) or (structured.rxcuis if structured else ())
    ingredients = _split_names(str(record.get("ingredient") or ""))
    if not ingredients:
        ingredients = [names.ingredients[r] for r in rxcuis if r in names.ingredients]
    generic = " / ".join(ingredients) or None
    study_id = str(record.get("study_id") or "").strip() or (structured.study_id if structured else "") or None
    cuis = structured.cuis if structured else ()
    said = annotated.mentions if annotated else {}
    indications = [
        {
            "cui": cui,
            "name": next((names.by_pair[(r, cui)] for r in rxcuis if (r, cui) in names.by_pair), names.by_cui.get(cui)),
            "mention": said.get(cui),
        }
        for cui in cuis
    ]
    url = DAILYMED_SETID_URL.format(set_id=set_id)
    label = f"{generic}, FDA label" if generic else "FDA label"
    metadata: dict[str, Any] = {
        "source": "labeledin",
        "set_id": set_id,
        "generic_name": generic,
        "rxcui": list(rxcuis),
        "study_id": study_id,
        "effective_date": EFFECTIVE_DATE,
        "indications": indications,
        "similar_set_ids": [s for s in (annotated.similar if annotated else ()) if s != set_id],
        "citation": f"{label} Indications and Usage, DailyMed set id {set_id} ({url}), version of "
        f"{EFFECTIVE_DATE}; {LABELEDIN_CITATION}.",
    }
    subject = generic or f"DailyMed label {set_id}"
    return Document.from_sections(
        id=f"labeledin:{set_id}",
        title=f"{subject} — FDA label, Indications and Usage (DailyMed 2012)",
        source_type="label",
        sections=[(HEADING, text)],
        url=url,
        published=EFFECTIVE_DATE,
        language="en",
        metadata=metadata,
    )
