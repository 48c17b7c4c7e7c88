"""VA NDF-RT drug–drug interaction pairs (Merged-PDDI extract) -> interaction Documents, one per drug.

Layout: a tab-separated ``ndfrt*.tsv`` file (``ndfrt_va_drug_interactions.tsv``) whose header is
``drug1_drugbank_uri, drug1_name, drug2_drugbank_uri, drug2_name, severity, ndfrt_label, ndfrt_uri``;
severity is ``Critical`` or ``Significant``; the label reads "AMILORIDE/IRBESARTAN [VA Drug
Interaction]" and the URI ends in the NDF-RT concept id ("N0000176572").  The file holds pairs only:
no mechanism or management text.

``ndfrt_pairs`` yields one ``NdfrtPair`` per valid row (or a ``Rejected``), for the graph build's
INTERACTS_WITH edges.  A pair may be listed more than once (under two NDF-RT concepts, e.g. a drug
and its salt, sometimes with different severities): callers merge on the two DrugBank ids and keep
the more severe (``SEVERITY_RANK``).  A drug paired with itself is skipped silently.

``read_ndfrt`` builds on it, like the ONC reader: each drug gets a document ``ndfrt:<DrugBank id>``
with one section per partner ("Amiloride + Irbesartan") holding a readable sentence.  Names are
shown consistently ("NIZATIDINE" -> "Nizatidine", "Potassium_Chloride" -> "Potassium chloride").
Metadata: source, list, drug, drugbank_id, partners [{name, drugbank_id, severity, ndfrt_concept,
ndfrt_id, (listings when listed more than once)}], citation, url.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import ReadItem, Rejected, read_text
from indexers.sources.interactions import display_name, in_sentence

HEADER = (
    "drug1_drugbank_uri",
    "drug1_name",
    "drug2_drugbank_uri",
    "drug2_name",
    "severity",
    "ndfrt_label",
    "ndfrt_uri",
)
SEVERITY_RANK = {"critical": 0, "significant": 1}  # lower is more severe
LIST_NAME = "VA NDF-RT"
URL = "https://github.com/dbmi-pitt/Merged-PDDI"
SHORT_CITE = "Ayvaz et al. 2015"
CITATION = (
    "U.S. Department of Veterans Affairs, National Drug File – Reference Terminology (NDF-RT) drug–drug "
    "interactions, as merged by Ayvaz S, et al. Toward a complete dataset of drug-drug interaction "
    "information from publicly available sources. J Biomed Inform. 2015;55:206-217 "
    "(github.com/dbmi-pitt/Merged-PDDI)"
)

_DRUGBANK_ID = re.compile(r"\b(DB\d{5})\b")
_NDFRT_ID = re.compile(r"\b(N\d{10})\b")
_CAPITALISED_WORD = re.compile(r"[A-Z][a-z]*")


@dataclass(frozen=True)
class NdfrtPair:
    """One valid row: two drugs (display names), severity "critical"/"significant", the NDF-RT concept."""

    drugbank_a: str
    name_a: str
    drugbank_b: str
    name_b: str
    severity: str
    concept: str
    ndfrt_id: str | None
    line: int


def drug_name(raw: str) -> str:
    """A readable drug name: "NIZATIDINE" -> "Nizatidine", "Valproic_Acid" -> "Valproic acid".

    Underscores become spaces; an all-capitals, all-lower or every-word-capitalised name is lowered
    and capitalised (one-letter words such as the "C" of "Vitamin C" stay upper case); names with
    digits ("CDB-2914") and ordinary mixed-case names ("Mycophenolate mofetil") are kept.
    """
    name = " ".join(raw.replace("_", " ").replace("\u00a0", " ").split())
    if not name or any(c.isdigit() for c in name):
        return name
    words = name.split(" ")
    if name.isupper() or name.islower() or all(_CAPITALISED_WORD.fullmatch(w) for w in words):
        lowered = " ".join(w if len(w) == 1 else w.lower() for w in words)
        return lowered[:1].upper() + lowered[1:]
    return display_name(name)


def sentence_name(name: str) -> str:
    """A name inside a sentence: ``in_sentence`` of the ONC reader, also for "Vitamin C" -> "vitamin C"."""
    first, _, rest = name.partition(" ")
    if rest and all(len(w) == 1 or w == w.lower() for w in rest.split(" ")):
        return f"{in_sentence(first)} {rest}"
    return in_sentence(name)


def _header(line: str) -> tuple[str, ...]:
    return tuple(cell.strip().lower() for cell in line.split("\t"))


def _has_header(file: Path) -> bool:
    try:
        with file.open("rb") as handle:
            first = handle.readline(4096).decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    return _header(first.rstrip("\r\n"))[: len(HEADER)] == HEADER


def ndfrt_files(path: Path) -> list[Path]:
    """The NDF-RT TSV files at ``path`` (the file itself, or ``ndfrt*.tsv`` under a folder)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return [f for f in sorted(path.rglob("*.tsv")) if f.name.lower().startswith("ndfrt") and _has_header(f)]


def is_ndfrt_folder(path: Path) -> bool:
    """Layout test: a folder (or the file itself) with an ``ndfrt*.tsv`` carrying the NDF-RT header."""
    if path.is_file():
        return path.name.lower().startswith("ndfrt") and path.suffix.lower() == ".tsv" and _has_header(path)
    return bool(ndfrt_files(path))


def _row_pair(file: Path, number: int, cells: list[str]) -> NdfrtPair | Rejected | None:
    """The pair a data row states, a Rejected saying what is wrong, or None for a self-pair."""
    cells = [c.strip() for c in cells] + [""] * (len(HEADER) - len(cells))
    uri_a, raw_a, uri_b, raw_b, severity, concept, concept_uri = cells[: len(HEADER)]
    db_a, db_b = _DRUGBANK_ID.search(uri_a), _DRUGBANK_ID.search(uri_b)
    name_a, name_b = drug_name(raw_a), drug_name(raw_b)
    if not (db_a and db_b and name_a and name_b):
        return Rejected(str(file), number, "expected two drugs, each with a DrugBank URI and a name")
    grade = severity.lower()
    if grade not in SEVERITY_RANK:
        return Rejected(str(file), number, f"unknown severity {severity!r} (expected Critical or Significant)")
    if db_a.group(1) == db_b.group(1):
        return None
    ndfrt_id = _NDFRT_ID.search(concept_uri) or _NDFRT_ID.search(concept)
    return NdfrtPair(
        drugbank_a=db_a.group(1),
        name_a=name_a,
        drugbank_b=db_b.group(1),
        name_b=name_b,
        severity=grade,
        concept=" ".join(concept.split()),
        ndfrt_id=ndfrt_id.group(1) if ndfrt_id else None,
        line=number,
    )


def ndfrt_pairs(path: Path) -> Iterator[NdfrtPair | Rejected]:
    """Yield each valid NDF-RT row as an ``NdfrtPair`` (file order) and each bad row as ``Rejected``."""
    files = ndfrt_files(path)
    if not files:
        yield Rejected(str(path), 0, "no NDF-RT interaction TSV (ndfrt*.tsv with the NDF-RT header) found")
        return
    for file in files:
        try:
            lines = read_text(file).split("\n")
        except OSError as exc:
            yield Rejected(str(file), 0, f"cannot read file: {exc}")
            continue
        if not lines or _header(lines[0])[: len(HEADER)] != HEADER:
            yield Rejected(str(file), 1, f"expected the header {', '.join(HEADER)}")
            continue
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            pair = _row_pair(file, number, line.split("\t"))
            if pair is not None:
                yield pair


def read_ndfrt(path: Path) -> Iterator[ReadItem]:
    """Yield rejected rows, then one interaction Document per drug (ordered by name)."""
    names: dict[str, str] = {}
    listings: dict[frozenset[str], list[NdfrtPair]] = {}
    partners: dict[str, list[str]] = {}
    for item in ndfrt_pairs(path):
        if isinstance(item, Rejected):
            yield item
            continue
        names.setdefault(item.drugbank_a, item.name_a)
        names.setdefault(item.drugbank_b, item.name_b)
        key = frozenset((item.drugbank_a, item.drugbank_b))
        if key not in listings:
            partners.setdefault(item.drugbank_a, []).append(item.drugbank_b)
            partners.setdefault(item.drugbank_b, []).append(item.drugbank_a)
        listings.setdefault(key, []).append(item)
    for drugbank_id in sorted(partners, key=lambda d: (names[d].casefold(), d)):
        mine = {other: ranked(listings[frozenset((drugbank_id, other))]) for other in partners[drugbank_id]}
        yield drug_document(drugbank_id, names[drugbank_id], {o: (names[o], rows) for o, rows in mine.items()})


def ranked(rows: list[NdfrtPair]) -> list[NdfrtPair]:
    """The listings of one pair, most severe first (file order within a severity), exact repeats dropped."""
    seen: set[tuple[str, str, str | None]] = set()
    out: list[NdfrtPair] = []
    for row in sorted(rows, key=lambda r: (SEVERITY_RANK[r.severity], r.line)):
        key = (row.severity, row.concept, row.ndfrt_id)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _concept(row: NdfrtPair) -> str:
    return ", ".join(part for part in (row.concept, row.ndfrt_id) if part)


def sentence(drug: str, partner: str, rows: list[NdfrtPair]) -> str:
    """The readable statement for one pair ("Amiloride and irbesartan: VA NDF-RT ... ")."""
    first = rows[0]
    notes = [f"NDF-RT concept {_concept(first)}"] if _concept(first) else []
    for row in rows[1:]:
        if row.severity == first.severity:
            notes.append(f"also NDF-RT concept {_concept(row)}")
        else:
            notes.append(f"also listed with severity {row.severity.capitalize()} as NDF-RT concept {_concept(row)}")
    notes.append(SHORT_CITE)
    return (
        f"{drug} and {sentence_name(partner)}: VA NDF-RT drug–drug interaction, "
        f"severity {first.severity.capitalize()} ({'; '.join(notes)})."
    )


def _partner_json(name: str, drugbank_id: str, rows: list[NdfrtPair]) -> dict[str, Any]:
    first = rows[0]
    out: dict[str, Any] = {
        "name": name,
        "drugbank_id": drugbank_id,
        "severity": first.severity,
        "ndfrt_concept": first.concept or None,
        "ndfrt_id": first.ndfrt_id,
    }
    if len(rows) > 1:
        out["listings"] = [
            {"severity": r.severity, "ndfrt_concept": r.concept or None, "ndfrt_id": r.ndfrt_id} for r in rows
        ]
    return out


def drug_document(drugbank_id: str, drug: str, partners: dict[str, tuple[str, list[NdfrtPair]]]) -> Document:
    """Build one drug's Document from its partners {DrugBank id: (name, listings most severe first)}."""
    ordered = sorted(partners.items(), key=lambda p: (p[1][0].casefold(), p[0]))
    sections = [(f"{drug} + {name}", sentence(drug, name, rows)) for _, (name, rows) in ordered]
    metadata: dict[str, Any] = {
        "source": "ndfrt",
        "list": LIST_NAME,
        "drug": drug,
        "drugbank_id": drugbank_id,
        "partners": [_partner_json(name, other, rows) for other, (name, rows) in ordered],
        "citation": CITATION,
        "url": URL,
    }
    return Document.from_sections(
        id=f"ndfrt:{drugbank_id}",
        title=f"{drug} — VA NDF-RT drug–drug interactions",
        source_type="interaction",
        sections=sections,
        url=URL,
        published=None,
        language="en",
        metadata=metadata,
    )
