"""Univ. of Pittsburgh PK-DDI corpus: full "7 Drug Interactions" and "12 Clinical
Pharmacology" label sections -> one label Document per drug product.

``dailymed_htmls_and_textnumbers.txt`` lists, per active ingredient, DailyMed URLs followed
by the file numbers they cover: ``(1-2, new)`` means ``drug_interactions_sections/
package-insert-section-1.txt`` and ``clinical_pharm_sections/package-insert-section-2.txt``.
Each such pair becomes one document (id ``spl-ddi:<Drug Interactions file number>``) with
sections "Drug Interactions" and "Clinical Pharmacology"; the leading "7 DRUG INTERACTIONS"
line becomes the heading.  Files that the index does not pair are read alone.  The "old
label" statement fragments (interaction_statements_from_old, random_statements) are not read.
Session parameters (CFID, CFTOKEN, jsessionid) are cut from the URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import ReadItem, Rejected, normalize_lines, read_text

INDEX_FILE = "dailymed_htmls_and_textnumbers.txt"
DI_DIR = "drug_interactions_sections"
CP_DIR = "clinical_pharm_sections"
CITATION_CORPUS = (
    "University of Pittsburgh PK-DDI package-insert corpus (dbmi-pitt/u-of-pitt-spl-ddi-v2.0; "
    "Boyce et al.)"
)

_INGREDIENT = re.compile(r"^\s*Active ingredient:\s*(.+?)\s*$", re.IGNORECASE)
_URL_LINE = re.compile(r"^\s*(https?://\S+)\s+\((\d+)\s*-\s*(\d+),\s*new\)\s*$")
_FILE_NUMBER = re.compile(r"package-insert-section-(\d+)\.txt$")
_SESSION = re.compile(r"[&;](CFID|CFTOKEN|jsessionid)=[^&#]*", re.IGNORECASE)
_SECTION_LINE = re.compile(r"^\s*(7|12)\s+(DRUG INTERACTIONS|CLINICAL PHARMACOLOGY)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Pair:
    """One drug product: ingredient, DailyMed URL and its two section file numbers."""

    ingredient: str
    url: str
    di_number: int
    cp_number: int


def clean_url(url: str) -> str:
    """Drop ColdFusion session parameters and use https."""
    return _SESSION.sub("", url).replace("http://", "https://", 1)


def parse_index(text: str) -> list[Pair]:
    """The "new"-label pairs listed in dailymed_htmls_and_textnumbers.txt, in file order."""
    pairs: list[Pair] = []
    ingredient = ""
    for line in text.splitlines():
        found = _INGREDIENT.match(line)
        if found:
            ingredient = found.group(1).strip()
            continue
        url = _URL_LINE.match(line)
        if url and ingredient:
            pairs.append(Pair(ingredient, clean_url(url.group(1)), int(url.group(2)), int(url.group(3))))
    return pairs


def _numbered(folder: Path) -> dict[int, Path]:
    out: dict[int, Path] = {}
    for file in folder.glob("*.txt") if folder.is_dir() else []:
        found = _FILE_NUMBER.search(file.name)
        if found:
            out[int(found.group(1))] = file
    return out


def section_text(file: Path) -> str:
    """A section file's text without its leading "7 DRUG INTERACTIONS" line."""
    lines = read_text(file).strip().split("\n")
    if lines and _SECTION_LINE.match(lines[0]):
        lines = lines[1:]
    return normalize_lines("\n".join(lines))


def read_spl_sections(path: Path) -> Iterator[ReadItem]:
    """Yield one Document per drug product (paired sections), ordered by file number."""
    index = path / INDEX_FILE
    pairs = parse_index(read_text(index)) if index.is_file() else []
    di_files, cp_files = _numbered(path / DI_DIR), _numbered(path / CP_DIR)
    if not di_files and not cp_files:
        yield Rejected(str(path), 0, f"no {DI_DIR}/ or {CP_DIR}/ section files")
        return
    used: set[tuple[str, int]] = set()
    units: list[tuple[int, Pair | None, Path | None, Path | None]] = []
    for listed in pairs:
        di, cp = di_files.get(listed.di_number), cp_files.get(listed.cp_number)
        if di is None and cp is None:
            continue
        units.append((listed.di_number, listed, di, cp))
        used.update({("di", listed.di_number), ("cp", listed.cp_number)})
    units += [(n, None, f, None) for n, f in di_files.items() if ("di", n) not in used]
    units += [(n, None, None, f) for n, f in cp_files.items() if ("cp", n) not in used]
    for number, pair, di, cp in sorted(units, key=lambda u: u[0]):
        yield section_document(number, pair, di, cp)


def section_document(number: int, pair: Pair | None, di: Path | None, cp: Path | None) -> ReadItem:
    """Build one drug product's Document from its section files."""
    sections = []
    if di is not None:
        sections.append(("Drug Interactions", section_text(di)))
    if cp is not None:
        sections.append(("Clinical Pharmacology", section_text(cp)))
    where = str(di or cp)
    if not any(text for _, text in sections):
        return Rejected(where, 0, "section file is empty")
    ingredient = pair.ingredient if pair else ""
    name = ingredient[:1].upper() + ingredient[1:] if ingredient else f"Label sections #{number}"
    covered = " and ".join(h for h, t in sections if t)
    title = f"{name} — FDA label: {covered}"
    files = [f"{p.parent.name}/{p.name}" for p in (di, cp) if p is not None]
    metadata: dict[str, Any] = {
        "source": "spl_sections",
        "active_ingredient": ingredient or None,
        "files": files,
        "citation": f"{name} package insert, {covered} (DailyMed"
        + (f" {pair.url}" if pair else "")
        + f"); {CITATION_CORPUS}.",
    }
    return Document.from_sections(
        id=f"spl-ddi:{number}",
        title=title,
        source_type="label",
        sections=sections,
        url=pair.url if pair else None,
        language="en",
        metadata={k: v for k, v in metadata.items() if v},
    )
