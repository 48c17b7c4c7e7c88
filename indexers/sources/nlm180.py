"""NLM-180 DailyMed label extracts (``txt/<set_id>.txt``) -> label Documents.

The first line is usually the product title ("PLAVIX (clopidogrel bisulfate) tablet, film
coated"); when it is not (a heading, a blank line or body text), the title comes from the
``<labelDrug>``/``<generic>`` names at the top of ``xml/<set_id>.xml``.  The text is split at
top-level headings ("4 CONTRAINDICATIONS", "WARNINGS", "DOSAGE  -  ADMINISTRATION SECTION",
"WARNING: FETAL TOXICITY" for a boxed warning...) normalised to title case ("Contraindications",
"Warnings and Precautions", "Boxed Warning"); subsection headings stay inside the text.  The
corpus's pseudo-markup (``<list>``, ``<item>``, ``<paragraph>``) becomes plain lines ("- item").
Text before the first heading is headed "Label Text".

Document id ``nlm180:<set_id>``; metadata: set_id, brand_name, generic_name, product_title,
citation.  No publication date is known (the corpus is a May 2014 snapshot).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import DAILYMED_SETID_URL, ReadItem, Rejected, normalize_lines, read_text

TOP_LEVEL = {
    "BOXED WARNING": "Boxed Warning",
    "INDICATIONS AND USAGE": "Indications and Usage",
    "DOSAGE AND ADMINISTRATION": "Dosage and Administration",
    "DOSAGE FORMS AND STRENGTHS": "Dosage Forms and Strengths",
    "CONTRAINDICATIONS": "Contraindications",
    "WARNINGS AND PRECAUTIONS": "Warnings and Precautions",
    "WARNINGS": "Warnings",
    "PRECAUTIONS": "Precautions",
    "ADVERSE REACTIONS": "Adverse Reactions",
    "DRUG INTERACTIONS": "Drug Interactions",
    "USE IN SPECIFIC POPULATIONS": "Use in Specific Populations",
    "DRUG ABUSE AND DEPENDENCE": "Drug Abuse and Dependence",
    "OVERDOSAGE": "Overdosage",
    "DESCRIPTION": "Description",
    "CLINICAL PHARMACOLOGY": "Clinical Pharmacology",
    "NONCLINICAL TOXICOLOGY": "Nonclinical Toxicology",
    "CLINICAL STUDIES": "Clinical Studies",
    "REFERENCES": "References",
    "HOW SUPPLIED": "How Supplied",
    "HOW SUPPLIED/STORAGE AND HANDLING": "How Supplied/Storage and Handling",
    "PATIENT COUNSELING INFORMATION": "Patient Counseling Information",
}
_SQUEEZED = {name.replace(" ", ""): heading for name, heading in TOP_LEVEL.items()}
PREAMBLE_HEADING = "Label Text"
CITATION_CORPUS = "NLM-180 drug-label DDI corpus (Ayvaz et al., J Biomed Inform 2015;55:206-217)"

_NUMBERED = re.compile(r"^(\d{1,2})\s*\.?\s+(.+)$")
_BOXED = re.compile(r"^WARNING\s*:")
_TAG_LINE = re.compile(r"^\s*</?(list|item|paragraph|main)>\s*$")
_ITEM = re.compile(r"^\s*<item>\s*")
_MAIN = re.compile(r"^\s*<main>\s*")
_DRUG_LABEL_FOR = re.compile(r"^Drug Label for drug brand (.+?), containing (.+?)\.?\s*$")
_FORM_WORDS = frozenset({
    "tablet", "tablets", "capsule", "capsules", "film", "coated", "extended", "release", "delayed",
    "injection", "solution", "spray", "metered", "patch", "powder", "lyophilized", "for", "inhalant", "gas",
    "aerosol", "suspension", "concentrate", "kit", "oral", "chewable", "orally", "disintegrating", "liquid",
    "emulsion", "in",
})
_XML_LABEL_DRUG = re.compile(r'<labelDrug name="([^"]*)"')
_XML_GENERIC = re.compile(r'<generic name="([^"]*)"')


def read_nlm180(path: Path) -> Iterator[ReadItem]:
    """Yield one label Document per ``txt/*.txt`` file of an NLM-180 folder (sorted)."""
    txt_dir = path / "txt" if (path / "txt").is_dir() else path
    files = [path] if path.is_file() else sorted(txt_dir.glob("*.txt"))
    for file in files:
        xml = file.parent.parent / "xml" / f"{file.stem}.xml"
        yield label_document(file, xml)


def clean_markup(text: str) -> str:
    """Drop the corpus's pseudo-tags: tag-only lines vanish, ``<item>x`` becomes ``- x``."""
    out: list[str] = []
    for line in text.split("\n"):
        if _TAG_LINE.match(line):
            continue
        if _ITEM.match(line):
            line = "- " + _ITEM.sub("", line)
        elif _MAIN.match(line):
            line = _MAIN.sub("", line)
        out.append(line)
    return "\n".join(out)


def heading_name(line: str) -> str | None:
    """The normalised top-level heading a line announces, or None for ordinary text."""
    s = line.strip().rstrip(":").strip()
    if not s or len(s) > 60:
        return None
    shouting = s == s.upper()
    s = s.upper()
    numbered = _NUMBERED.match(s)
    if numbered:
        s = numbered.group(2)
    s = re.sub(r"\s+SECTION$", "", s)
    s = re.sub(r"\s+-\s+|\s*&\s*", " AND ", s)
    s = re.sub(r"\s+", " ", s).strip()
    if s in TOP_LEVEL:
        return TOP_LEVEL[s]
    if numbered and shouting:
        return _SQUEEZED.get(s.replace(" ", ""))
    return None


def product_title(line: str) -> str | None:
    """The product title a first line carries, or None when the line is text or a heading."""
    s = line.strip()
    match = _DRUG_LABEL_FOR.match(s)
    if match:
        return f"{match.group(1).strip()} ({match.group(2).strip()})"
    if not s or len(s) > 160 or heading_name(s):
        return None
    tail = re.sub(r"\([^)]*\)", " ", s)
    lower_words = [w for w in re.findall(r"[A-Za-z]+", tail) if w.islower()]
    if any(w not in _FORM_WORDS for w in lower_words):
        return None
    return s.rstrip(" .")


def split_sections(body: str) -> list[tuple[str, str]]:
    """Cut label text at top-level headings into (heading, text) pairs in order."""
    sections: list[tuple[str, list[str]]] = [(PREAMBLE_HEADING, [])]
    for line in body.split("\n"):
        stripped = line.strip()
        current = sections[-1][0]
        named = {h for h, _ in sections} - {PREAMBLE_HEADING, "Description"}
        if stripped.rstrip(":").strip() == "WARNING":
            sections.append(("Warnings" if named else "Boxed Warning", []))
            continue
        if _BOXED.match(stripped) and current != "Boxed Warning":
            sections.append(("Boxed Warning", [stripped]))
            continue
        heading = heading_name(stripped)
        if heading:
            sections.append((heading, []))
        else:
            sections[-1][1].append(line)
    pairs = [(h, normalize_lines("\n".join(lines))) for h, lines in sections]
    return [(h, t) for h, t in pairs if t]


def _xml_names(xml: Path) -> tuple[str, str]:
    if not xml.is_file():
        return "", ""
    with xml.open("rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="replace")
    brand = _XML_LABEL_DRUG.search(head)
    generic = _XML_GENERIC.search(head)
    return (brand.group(1).strip() if brand else "", generic.group(1).strip() if generic else "")


def label_document(file: Path, xml: Path) -> ReadItem:
    """Build the Document for one NLM-180 label extract."""
    set_id = file.stem
    raw = clean_markup(read_text(file))
    first, _, rest = raw.partition("\n")
    title_line = product_title(first)
    body = rest if title_line or not first.strip() else raw
    sections = split_sections(body)
    if not sections:
        return Rejected(str(file), 0, "label extract has no text")
    brand, generic = _xml_names(xml)
    if title_line:
        title = title_line
    elif brand:
        title = f"{brand} ({generic})" if generic and generic.casefold() != brand.casefold() else brand
    else:
        title = f"DailyMed label {set_id}"
    url = DAILYMED_SETID_URL.format(set_id=set_id)
    metadata: dict[str, Any] = {
        "source": "nlm180",
        "set_id": set_id,
        "brand_name": brand or None,
        "generic_name": generic or None,
        "product_title": title_line,
        "citation": f"{title}, FDA drug label extract, DailyMed set id {set_id} ({url}); {CITATION_CORPUS}.",
    }
    return Document.from_sections(
        id=f"nlm180:{set_id}",
        title=f"{title} — FDA label (excerpt)",
        source_type="label",
        sections=sections,
        url=url,
        language="en",
        metadata={k: v for k, v in metadata.items() if v},
    )
