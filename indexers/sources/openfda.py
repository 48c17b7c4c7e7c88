"""openFDA drug/label records (one JSON object per file) -> label Documents.

Layout: ``<folder>/<repo>/<drug>.json`` (or ``<folder>/<drug>.json``).  Each label text
field (an array of strings) becomes one section with a human heading, in clinical order
(Boxed Warning, Indications and Usage, ..., Drug Interactions, ...).  HTML tables
(``*_table``), product data elements, the package label panel, ids and any extra
top-level object added by a mirror (``_meta``) are skipped.  A subsection field whose text
already appears verbatim in its parent field (``pregnancy`` inside ``use_in_specific_populations``)
is dropped, except for the key safety sections, which are always kept under their own heading.

Document id ``openfda:<set_id>``; metadata: set_id, spl_id, effective_date, generic_name,
brand_names, unii, rxcui, pharm_class_* (openfda), route, product_type, manufacturer,
label_fields, citation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.model import Document
from indexers.sources.base import DAILYMED_SETID_URL, ReadItem, Rejected, compact_date

#: Label fields in clinical reading order, with their headings.
FIELD_HEADINGS: tuple[tuple[str, str], ...] = (
    ("boxed_warning", "Boxed Warning"),
    ("recent_major_changes", "Recent Major Changes"),
    ("active_ingredient", "Active Ingredient"),
    ("purpose", "Purpose"),
    ("indications_and_usage", "Indications and Usage"),
    ("dosage_and_administration", "Dosage and Administration"),
    ("dosage_forms_and_strengths", "Dosage Forms and Strengths"),
    ("contraindications", "Contraindications"),
    ("warnings_and_cautions", "Warnings and Precautions"),
    ("warnings", "Warnings"),
    ("do_not_use", "Do Not Use"),
    ("ask_doctor", "Ask a Doctor Before Use"),
    ("ask_doctor_or_pharmacist", "Ask a Doctor or Pharmacist Before Use"),
    ("stop_use", "Stop Use and Ask a Doctor"),
    ("pregnancy_or_breast_feeding", "Pregnancy or Breast-Feeding"),
    ("keep_out_of_reach_of_children", "Keep Out of Reach of Children"),
    ("other_safety_information", "Other Safety Information"),
    ("precautions", "Precautions"),
    ("general_precautions", "General Precautions"),
    ("laboratory_tests", "Laboratory Tests"),
    ("adverse_reactions", "Adverse Reactions"),
    ("drug_interactions", "Drug Interactions"),
    ("drug_and_or_laboratory_test_interactions", "Drug/Laboratory Test Interactions"),
    ("use_in_specific_populations", "Use in Specific Populations"),
    ("pregnancy", "Pregnancy"),
    ("teratogenic_effects", "Teratogenic Effects"),
    ("labor_and_delivery", "Labor and Delivery"),
    ("nursing_mothers", "Nursing Mothers"),
    ("pediatric_use", "Pediatric Use"),
    ("geriatric_use", "Geriatric Use"),
    ("drug_abuse_and_dependence", "Drug Abuse and Dependence"),
    ("controlled_substance", "Controlled Substance"),
    ("abuse", "Abuse"),
    ("dependence", "Dependence"),
    ("risks", "Risks"),
    ("overdosage", "Overdosage"),
    ("description", "Description"),
    ("inactive_ingredient", "Inactive Ingredients"),
    ("clinical_pharmacology", "Clinical Pharmacology"),
    ("mechanism_of_action", "Mechanism of Action"),
    ("pharmacodynamics", "Pharmacodynamics"),
    ("pharmacokinetics", "Pharmacokinetics"),
    ("microbiology", "Microbiology"),
    ("nonclinical_toxicology", "Nonclinical Toxicology"),
    ("carcinogenesis_and_mutagenesis_and_impairment_of_fertility",
     "Carcinogenesis, Mutagenesis, Impairment of Fertility"),
    ("animal_pharmacology_and_or_toxicology", "Animal Pharmacology and/or Toxicology"),
    ("clinical_studies", "Clinical Studies"),
    ("references", "References"),
    ("how_supplied", "How Supplied"),
    ("storage_and_handling", "Storage and Handling"),
    ("information_for_patients", "Patient Counseling Information"),
    ("spl_medguide", "Medication Guide"),
    ("spl_patient_package_insert", "Patient Package Insert"),
    ("questions", "Questions"),
    ("spl_unclassified_section", "Other Label Text"),
)
_ORDER = {field: i for i, (field, _) in enumerate(FIELD_HEADINGS)}
_HEADINGS = dict(FIELD_HEADINGS)

#: Never dropped as duplicates of a parent field: answers cite them by name.
KEY_FIELDS = frozenset({
    "boxed_warning", "indications_and_usage", "dosage_and_administration", "contraindications",
    "warnings_and_cautions", "warnings", "precautions", "adverse_reactions", "drug_interactions",
})
SKIPPED_FIELDS = frozenset({
    "set_id", "id", "version", "effective_time", "openfda", "spl_product_data_elements",
    "package_label_principal_display_panel",
})
_OPENFDA_LISTS = (
    "brand_name", "unii", "rxcui", "route", "product_type", "manufacturer_name", "substance_name",
    "pharm_class_epc", "pharm_class_moa", "pharm_class_pe", "pharm_class_cs",
)
_SPACE = re.compile(r"\s+")


def read_openfda(path: Path) -> Iterator[ReadItem]:
    """Yield one label Document per openFDA record file under ``path`` (sorted)."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*.json") if p.is_file())
    for file in files:
        try:
            record = json.loads(file.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            yield Rejected(str(file), 0, f"not a readable JSON file: {exc}")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("set_id"), str):
            if file.name != "manifest.json":
                yield Rejected(str(file), 0, "not an openFDA label record (no set_id)")
            continue
        item = label_document(record, file)
        yield item


def _field_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return "\n\n".join(v.strip() for v in value if isinstance(v, str) and v.strip())
    return ""


def _heading(field: str) -> str:
    return _HEADINGS.get(field) or field.replace("_", " ").strip().capitalize()


def label_sections(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, heading, text) for the record's text fields, ordered, duplicates dropped."""
    fields = [
        (f, _field_text(v)) for f, v in record.items()
        if f not in SKIPPED_FIELDS and not f.startswith("_") and not f.endswith("_table")
    ]
    fields = [(f, t) for f, t in fields if t]
    fields.sort(key=lambda ft: (_ORDER.get(ft[0], len(_ORDER)), ft[0]))
    flat = {f: _SPACE.sub(" ", t) for f, t in fields}
    kept: list[tuple[str, str, str]] = []
    for field, text in fields:
        inside_other = any(
            other != field and len(flat[other]) > len(flat[field]) and flat[field] in flat[other]
            for other in flat
        )
        if inside_other and field not in KEY_FIELDS:
            continue
        kept.append((field, _heading(field), text))
    return kept


def _first(values: list[str]) -> str:
    return values[0].strip() if values else ""


def label_document(record: dict[str, Any], file: Path) -> ReadItem:
    """Build the Document for one openFDA label record."""
    set_id = record["set_id"].strip()
    ofda: dict[str, Any] = record["openfda"] if isinstance(record.get("openfda"), dict) else {}
    lists = {k: [str(v).strip() for v in ofda.get(k, []) if str(v).strip()] for k in _OPENFDA_LISTS}
    generic = ", ".join(str(g).strip() for g in ofda.get("generic_name", []) if str(g).strip())
    brand = _first(lists["brand_name"])
    name = generic or brand or _first(lists["substance_name"]) or file.stem
    title = f"{name} ({brand})" if brand and brand.casefold() not in name.casefold() else name
    sections = label_sections(record)
    if not sections:
        return Rejected(str(file), 0, "label record has no text sections")
    effective = compact_date(str(record.get("effective_time", "")))
    url = DAILYMED_SETID_URL.format(set_id=set_id)
    metadata: dict[str, Any] = {
        "source": "openfda",
        "set_id": set_id,
        "spl_id": record.get("id"),
        "effective_date": effective,
        "generic_name": generic or None,
        "brand_names": lists["brand_name"],
        "unii": lists["unii"],
        "rxcui": lists["rxcui"],
        "route": lists["route"],
        "product_type": _first(lists["product_type"]) or None,
        "manufacturer": _first(lists["manufacturer_name"]) or None,
        "substance_names": lists["substance_name"],
        "label_fields": [field for field, _, _ in sections],
    }
    for key in ("pharm_class_epc", "pharm_class_moa", "pharm_class_pe", "pharm_class_cs"):
        if lists[key]:
            metadata[key] = lists[key]
    metadata["citation"] = (
        f"{title}, FDA drug label (Structured Product Labeling), set id {set_id}"
        + (f", effective {effective}" if effective else "")
        + f". U.S. FDA via openFDA; {url}"
    )
    return Document.from_sections(
        id=f"openfda:{set_id}",
        title=f"{title} — FDA label",
        source_type="label",
        sections=[(heading, text) for _, heading, text in sections],
        url=url,
        published=effective,
        language="en",
        metadata={k: v for k, v in metadata.items() if v not in (None, [])},
    )
