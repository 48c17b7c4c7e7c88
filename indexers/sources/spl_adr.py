"""FDA label adverse-reaction sections of 200 drugs (TAC 2017 ADR, "SPL-ADR-200db") -> label Documents.

The set (``sections.jsonl``: one line per section ``{label, split, section, text}``) holds three sections
of 200 DailyMed labels of 2016-2017 — boxed warnings, warnings and precautions, adverse reactions — keyed
by BRAND name only: no set id, no ingredient.  So this reader names the ingredient itself, and only where
it can show it: ``indexers/data/spl_adr_brands.tsv`` lists each brand's ingredient(s), and a row is
accepted only when every ingredient's name occurs in that label's own text (``generic_name`` then says
so in ``generic_name_basis``).  Brands whose ingredient the text never names keep only ``brand_name``; the
graph build links them through DrugBank's brand names where it can and reports the rest — a label is
never attached to a drug by guesswork.

One Document per label, sections in label order (Boxed Warning, Warnings and Precautions, Adverse
Reactions); the section's own numbered heading line is dropped, ``EXCERPT:`` highlight markers are
removed, `` *  `` bullets become ``- ``, padded cross-references ``(  5.1  )`` become ``(5.1)``.
Document id ``spl-adr:<brand, lower case>``; metadata: source, brand_name, generic_name (when shown),
split (train/test of the TAC set), label_version, citation.  No set id or date is known.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import ReadItem, Rejected, json_object_lines, normalize_lines

SECTIONS_FILE = "sections.jsonl"
BRANDS_FILE = Path(__file__).resolve().parent.parent / "data" / "spl_adr_brands.tsv"
HEADINGS = {
    "boxed warnings": "Boxed Warning",
    "warnings and precautions": "Warnings and Precautions",
    "adverse reactions": "Adverse Reactions",
}
ORDER = tuple(HEADINGS.values())
LABEL_VERSION = "DailyMed label of 2016-2017 (TAC 2017 ADR set); may be outdated against the current label"
CITATION_SET = (
    "Demner-Fushman D, Shooshan SE, Rodriguez L, et al. A dataset of 200 structured product labels annotated "
    "for adverse drug reactions. Sci Data. 2018;5:180001 (TAC 2017 ADR; via github.com/tatonetti-lab/onsides)"
)
URL = "https://bionlp.nlm.nih.gov/tac2017adversereactions/"

_HEADING_LINE = re.compile(
    r"^\s*(?:\d{1,2}(?:\.\d+)?\s+)?(?:ADVERSE REACTIONS|WARNINGS AND PRECAUTIONS|WARNINGS|BOXED WARNING:.*)\s*$",
)
_EXCERPT = re.compile(r"\bEXCERPT:\s*")
_BULLET = re.compile(r"^\s*\*\s+", re.M)
_PADDED_REF = re.compile(r"\(\s+([^()]*?)\s+\)")
_SPACED_CLOSE = re.compile(r"[ ]+([\]).,;:])")


@dataclass(frozen=True)
class BrandIngredients:
    """A brand's ingredient names as written in the brand table."""

    brand: str
    ingredients: tuple[str, ...]


def read_brand_table(path: Path = BRANDS_FILE) -> dict[str, BrandIngredients]:
    """The brand -> ingredient(s) table, keyed by lower-case brand."""
    table: dict[str, BrandIngredients] = {}
    if not path.is_file():
        return table
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        brand, _, ingredients = line.partition("\t")
        parts = tuple(p.strip() for p in ingredients.split(" / ") if p.strip())
        if brand.strip() and parts:
            table[brand.strip().lower()] = BrandIngredients(brand.strip(), parts)
    return table


def clean_section(text: str) -> str:
    """Label section text as a reader sees it: no heading line, no markers, tidy bullets and references."""
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and _HEADING_LINE.match(lines[0]):
        lines.pop(0)
    body = "\n".join(lines)
    body = _EXCERPT.sub("", body)
    body = _BULLET.sub("- ", body)
    body = _PADDED_REF.sub(lambda m: "(" + " ".join(m.group(1).split()) + ")", body)
    body = normalize_lines(body)
    return _SPACED_CLOSE.sub(r"\1", body)


def named_in_text(name: str, text: str) -> bool:
    """Whether an ingredient's name (its first word, as labels shorten "brentuximab vedotin") occurs in
    ``text`` as a whole word, case-insensitively."""
    first = name.lower().split()[0]
    return re.search(r"(?<![a-z0-9])" + re.escape(first) + r"(?![a-z0-9])", text.lower()) is not None


def read_spl_adr(path: Path, brands: dict[str, BrandIngredients] | None = None) -> Iterator[ReadItem]:
    """Yield one label Document per brand of ``sections.jsonl`` (folder or file), in brand order."""
    file = path / SECTIONS_FILE if path.is_dir() else path
    if not file.is_file():
        yield Rejected(str(file), 0, f"no {SECTIONS_FILE} found")
        return
    table = read_brand_table() if brands is None else brands
    labels: dict[str, dict[str, Any]] = {}
    for item in json_object_lines(file):
        if isinstance(item, Rejected):
            yield item
            continue
        number, row = item
        brand, kind, text = row.get("label"), row.get("section"), row.get("text")
        if not isinstance(brand, str) or not brand.strip() or not isinstance(text, str):
            yield Rejected(str(file), number, "expected string fields 'label' and 'text'")
            continue
        heading = HEADINGS.get(str(kind).strip().lower())
        if heading is None:
            yield Rejected(str(file), number, f"unknown section {kind!r}")
            continue
        entry = labels.setdefault(brand.strip(), {"sections": {}, "split": row.get("split"), "line": number})
        if heading in entry["sections"]:
            yield Rejected(str(file), number, f"{brand}: second {heading} section skipped")
            continue
        body = clean_section(text)
        if body:
            entry["sections"][heading] = body
    for brand in sorted(labels, key=str.casefold):
        entry = labels[brand]
        if not entry["sections"]:
            yield Rejected(str(file), entry["line"], f"{brand}: label has no text")
            continue
        yield label_document(brand, entry["sections"], entry["split"], table.get(brand.lower()))


def label_document(brand: str, sections: dict[str, str], split: Any,
                   known: BrandIngredients | None) -> Document:
    """One brand's label Document; the ingredient is named only when its own text shows it."""
    text = "\n".join(sections.values())
    shown = known is not None and all(named_in_text(name, text) for name in known.ingredients)
    generic = " / ".join(known.ingredients) if known is not None and shown else None
    title = f"{brand} ({generic})" if generic else brand
    metadata: dict[str, Any] = {
        "source": "spl_adr",
        "brand_name": brand,
        "generic_name": generic,
        "generic_name_basis": "ingredient named in the label's own text" if generic else None,
        "split": split if isinstance(split, str) else None,
        "label_version": LABEL_VERSION,
        "citation": f"{title}, FDA drug label: boxed warning, warnings and precautions and adverse reactions "
        f"sections ({LABEL_VERSION}); {CITATION_SET}.",
    }
    return Document.from_sections(
        id=f"spl-adr:{re.sub(r'[^a-z0-9]+', '-', brand.lower()).strip('-')}",
        title=f"{title} — FDA label, adverse reactions and warnings (TAC 2017)",
        source_type="label",
        sections=[(heading, sections[heading]) for heading in ORDER if heading in sections],
        url=URL,
        language="en",
        metadata={k: v for k, v in metadata.items() if v is not None},
    )
