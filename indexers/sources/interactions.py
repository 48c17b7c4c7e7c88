"""ONC drug-drug interaction lists -> interaction Documents, one per (list, drug).

Two lists (Phansalkar et al.), found by file name anywhere under the folder:

- high priority (interruptive; severity "high"): ``*High_Priority*.csv``, '$'-delimited rows
  ``drug1$DrugBankID$drug2$DrugBankID$`` (may start with a BOM);
- non-interruptive (low priority; severity "low"): ``*Non_Interuptive*.csv`` (sic), comma rows
  ``id, class1, drug1, db1, uri, uri, class2, drug2, db2, uri, uri``.

Each drug of a list gets a document (id ``onc-high:<DrugBank id>`` / ``onc-low:<DrugBank id>``)
with one section per partner drug, a readable sentence such as "Fluoxetine and tranylcypromine:
ONC high-priority drug–drug interaction ...".  Pairs listed in both orders count once; a drug
paired with itself is skipped.  Metadata: list, severity, drug, drugbank_id, partners
[{name, drugbank_id, classes}], pmid, citation.  The Excel workbooks are not needed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import PUBMED_URL, ReadItem, Rejected


@dataclass(frozen=True)
class OncList:
    """One published list: how to name, grade and cite it."""

    key: str
    name: str
    severity: str
    pmid: str
    published: str
    short_cite: str
    citation: str
    phrase: str


HIGH = OncList(
    key="onc-high", name="ONC high-priority", severity="high", pmid="22539083", published="2012-01-01",
    short_cite="Phansalkar et al., JAMIA 2012",
    citation="Phansalkar S, Desai AA, Bell D, et al. High-priority drug-drug interactions for use in "
    "electronic health records. J Am Med Inform Assoc. 2012;19(5):735-43. doi:10.1136/amiajnl-2011-000612",
    phrase="ONC high-priority drug–drug interaction; an interruptive alert is recommended when both are "
    "prescribed together",
)
LOW = OncList(
    key="onc-low", name="ONC non-interruptive", severity="low", pmid="23011124", published="2013-01-01",
    short_cite="Phansalkar et al., JAMIA 2013",
    citation="Phansalkar S, van der Sijs H, Tucker AD, et al. Drug-drug interactions that should be "
    "non-interruptive in order to reduce alert fatigue in electronic health records. J Am Med Inform "
    "Assoc. 2013;20(3):489-93. doi:10.1136/amiajnl-2012-001089",
    phrase="ONC non-interruptive (low-priority) drug–drug interaction; it may be shown to the prescriber "
    "without interrupting the workflow",
)


@dataclass
class Partner:
    """A drug's partner in one list and the class pairs that link them."""

    name: str
    drugbank_id: str
    classes: set[str] = field(default_factory=set)


def display_name(raw: str) -> str:
    """Trim spaces (also non-breaking) and capitalise an all-lower-case name."""
    name = " ".join(raw.replace("\u00a0", " ").split())
    return name[:1].upper() + name[1:] if name.islower() else name


def in_sentence(name: str) -> str:
    """Lower-case a plain capitalised name for use inside a sentence ("Aspirin" -> "aspirin")."""
    return name.lower() if name[1:] == name[1:].lower() else name


def _list_for(file: Path) -> OncList | None:
    lowered = file.name.lower()
    if "high" in lowered and "priority" in lowered:
        return HIGH
    if "non" in lowered and re.search(r"interr?upt", lowered):
        return LOW
    return None


def list_files(path: Path) -> list[tuple[OncList, Path]]:
    """The ONC list CSV files under ``path`` (high priority first)."""
    files = [path] if path.is_file() else sorted(path.rglob("*.csv"))
    found = [(lst, f) for f in files if (lst := _list_for(f)) is not None]
    return sorted(found, key=lambda lf: (lf[0] is not HIGH, str(lf[1])))


def _rows(file: Path, onc: OncList) -> Iterator[tuple[int, list[str]]]:
    text = file.read_bytes().decode("utf-8-sig", errors="replace")
    delimiter = "$" if onc is HIGH else ","
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        if any(cell.strip() for cell in row):
            yield number, row


def _pair(row: list[str], onc: OncList) -> tuple[str, str, str, str, str, str] | None:
    """(name1, db1, class1, name2, db2, class2) or None for a malformed row."""
    cells = [c.strip() for c in row]
    if onc is HIGH and len(cells) >= 4:
        return cells[0], cells[1], "", cells[2], cells[3], ""
    if onc is LOW and len(cells) >= 9:
        return cells[2], cells[3], cells[1], cells[7], cells[8], cells[6]
    return None


def read_interactions(path: Path) -> Iterator[ReadItem]:
    """Yield one interaction Document per drug of each ONC list (lists in order, drugs by name)."""
    files = list_files(path)
    if not files:
        yield Rejected(str(path), 0, "no ONC high-priority or non-interruptive CSV list found")
        return
    for onc, file in files:
        names: dict[str, str] = {}
        partners: dict[str, dict[str, Partner]] = {}
        for number, row in _rows(file, onc):
            pair = _pair(row, onc)
            if pair is None or not all((pair[0], pair[1], pair[3], pair[4])):
                yield Rejected(str(file), number, "expected two drug names with DrugBank ids")
                continue
            name1, db1, class1, name2, db2, class2 = pair
            if db1 == db2:
                continue
            names.setdefault(db1, display_name(name1))
            names.setdefault(db2, display_name(name2))
            for me, my_class, other, other_class in ((db1, class1, db2, class2), (db2, class2, db1, class1)):
                partner = partners.setdefault(me, {}).setdefault(other, Partner(names[other], other))
                if my_class and other_class:
                    partner.classes.add(f"{' '.join(my_class.split())} with {' '.join(other_class.split())}")
        for drugbank_id in sorted(partners, key=lambda d: (names[d].casefold(), d)):
            yield drug_document(onc, drugbank_id, names[drugbank_id], partners[drugbank_id])


def sentence(onc: OncList, drug: str, partner: Partner) -> str:
    """The readable statement for one interacting pair."""
    classes = f" ({'; '.join(sorted(partner.classes))})" if partner.classes else ""
    return f"{drug} and {in_sentence(partner.name)}{classes}: {onc.phrase} ({onc.short_cite})."


def _partner_json(partner: Partner) -> dict[str, Any]:
    out: dict[str, Any] = {"name": partner.name, "drugbank_id": partner.drugbank_id}
    if partner.classes:
        out["classes"] = sorted(partner.classes)
    return out


def drug_document(onc: OncList, drugbank_id: str, drug: str, partners: dict[str, Partner]) -> Document:
    """Build one drug's Document for one list."""
    ordered = sorted(partners.values(), key=lambda p: (p.name.casefold(), p.drugbank_id))
    sections = [(f"{drug} + {p.name}", sentence(onc, drug, p)) for p in ordered]
    metadata: dict[str, Any] = {
        "source": "onc",
        "list": onc.name,
        "severity": onc.severity,
        "drug": drug,
        "drugbank_id": drugbank_id,
        "partners": [_partner_json(p) for p in ordered],
        "pmid": onc.pmid,
        "citation": f"{onc.citation}. Drug lists mapped to DrugBank by dbmi-pitt/public-PDDI-analysis.",
    }
    return Document.from_sections(
        id=f"{onc.key}:{drugbank_id}",
        title=f"{drug} — {onc.name} drug–drug interactions",
        source_type="interaction",
        sections=sections,
        url=PUBMED_URL.format(pmid=onc.pmid),
        published=onc.published,
        language="en",
        metadata=metadata,
    )
