"""Graph knowledge from the label and interaction sources that came after the vocabulary.

The DrugBank/Hetionet vocabulary knows about 1,700 substances; the new sources name more.  This module
adds to the drug registry (``knowledge_drugs``) what they show, and nothing they do not:

- **VA NDF-RT** interaction pairs: each drug by its DrugBank id (a substance the vocabulary lacks is
  added under that id); one ``INTERACTS_WITH`` edge per pair, source "VA NDF-RT", its own grade
  (critical / significant) — beside, never merged with, the ONC edges of the same pair;
- **LabeledIn** labels: each ingredient (a new one under ``drug:<slug>``) gets the label's set id, so the
  label is linked to it by set id; each expert-annotated indication becomes ``LABELED_FOR`` to a disease
  (a Disease Ontology disease of the same name, else a new ``UMLS:<CUI>`` disease);
  A label whose ingredient LabeledIn does not name is reported;
- **TAC 2017 ADR** labels: an ingredient the label's own text names (the reader checks it) is added if
  new and gets the brand; a brand whose ingredient the text does not name is linked only when DrugBank
  lists the brand, and reported otherwise.

``extend`` returns what it added and a report of what did not map (written to ``graph/README.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.graph_model import DiseaseRecord, Indication, Interaction
from app.model import Document
from indexers.knowledge_drugs import DrugRegistry, RegistryDrug, slug
from indexers.sources.base import Rejected
from indexers.sources.labeledin import labeledin_indications, read_labeledin
from indexers.sources.ndfrt import ndfrt_pairs
from indexers.sources.spl_adr import read_spl_adr

NDFRT = ("VA NDF-RT", "U.S. Department of Veterans Affairs, National Drug File - Reference Terminology (NDF-RT) "
         "drug-drug interactions, as merged by Ayvaz S, et al. J Biomed Inform. 2015;55:206-217 "
         "(github.com/dbmi-pitt/Merged-PDDI)")
LABELEDIN = "LabeledIn (FDA label Indications and Usage, expert annotation; Khare R, et al. J Biomed Inform 2014)"
NDFRT_DIR = "interactions/ndfrt_va"
LABELEDIN_DIR = "labels/labeledin"
SPL_ADR_DIR = "labels/spl_adr_200"


@dataclass
class Additions:
    """What the new sources add to the graph, and what could not be placed."""

    diseases: list[DiseaseRecord] = field(default_factory=list)
    indications: list[Indication] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    new_drugs: dict[str, int] = field(default_factory=dict)  # source -> drugs it added
    unmapped_labels: list[str] = field(default_factory=list)
    unnamed_indications: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        return {"new_drugs": self.new_drugs, "labeled_for": len(self.indications),
                "ndfrt_edges": len(self.interactions), "new_diseases": len(self.diseases),
                "unnamed_indications_skipped": self.unnamed_indications,
                "unmapped_labels": self.unmapped_labels, "rejected": self.rejected}


def _uninverted(name: str) -> str:
    """MeSH inversion undone: "Arthritis, Rheumatoid" -> "Rheumatoid Arthritis" (one comma, one word after it)."""
    parts = [p.strip() for p in name.split(",")]
    return f"{parts[1]} {parts[0]}" if len(parts) == 2 and parts[1] and " " not in parts[1] else name


def disease_key(name: str) -> str:
    """How disease names are compared: MeSH inversion undone ("Arthritis, Rheumatoid" -> "rheumatoid
    arthritis"), lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]+", " ", _uninverted(name).lower().replace("'s", "")).strip()


def _display(name: str) -> str:
    """"ARTHRITIS, RHEUMATOID" / "arthritis, rheumatoid" -> "Rheumatoid arthritis"."""
    name = _uninverted(name)
    name = name.lower() if name.isupper() or name.islower() else name
    return name[:1].upper() + name[1:]


def _ingredients(generic: Any) -> list[str]:
    return [p.strip() for p in str(generic).split(" / ") if p.strip()] if generic else []


class _Placer:
    """Finds a drug by name or id, adding it when the vocabulary lacks it (counted per source)."""

    def __init__(self, drugs: DrugRegistry, additions: Additions) -> None:
        self.drugs = drugs
        self.additions = additions

    def by_name(self, name: str, source: str, drug_id: str | None = None, drugbank: str | None = None) -> RegistryDrug:
        if drug_id and drug_id in self.drugs.by_id:
            return self.drugs.by_id[drug_id]
        found = self.drugs.find(name)
        if found is not None:
            return found
        self.additions.new_drugs[source] = self.additions.new_drugs.get(source, 0) + 1
        display = name.lower() if name.isupper() else name
        return self.drugs.add(drug_id or "drug:" + slug(name), display, drugbank)


def _ndfrt(shared: Path, placer: _Placer, out: Additions) -> None:
    seen: dict[tuple[str, str], Interaction] = {}
    rejected = 0
    for pair in ndfrt_pairs(shared / NDFRT_DIR):
        if isinstance(pair, Rejected):
            rejected += 1
            continue
        a = placer.by_name(pair.name_a, "ndfrt", pair.drugbank_a, pair.drugbank_a).id
        b = placer.by_name(pair.name_b, "ndfrt", pair.drugbank_b, pair.drugbank_b).id
        if a == b:
            continue
        key = (min(a, b), max(a, b))
        severity: Literal["critical", "significant"] = "critical" if pair.severity == "critical" else "significant"
        edge = Interaction(key[0], key[1], severity, *NDFRT)
        if key not in seen or (edge.severity == "critical" and seen[key].severity != "critical"):
            seen[key] = edge
    out.interactions = sorted(seen.values(), key=lambda i: (i.drug_a, i.drug_b))
    out.rejected["ndfrt"] = rejected


def _labeledin(shared: Path, placer: _Placer, diseases: list[DiseaseRecord], out: Additions) -> None:
    folder = shared / LABELEDIN_DIR
    rejected = 0
    wording: dict[str, str] = {}  # CUI -> how a label words it, for CUIs MeSH gives no name
    for doc in read_labeledin(folder):
        if not isinstance(doc, Document):
            rejected += 1
            continue
        for item in doc.metadata.get("indications") or []:
            if item.get("cui") and item.get("mention"):
                wording.setdefault(str(item["cui"]), str(item["mention"]))
        set_id = doc.metadata.get("set_id")
        if not _ingredients(doc.metadata.get("generic_name")):
            out.unmapped_labels.append(f"LabeledIn {set_id} ({doc.title.split(' — ')[0]})")
        for ingredient in _ingredients(doc.metadata.get("generic_name")):
            drug = placer.by_name(ingredient, "labeledin")
            if isinstance(set_id, str):
                drug.add("set_ids", [set_id], limit=10_000)
    by_key = {disease_key(n): d.id for d in diseases for n in (d.name, *d.names_en)}
    added: dict[str, DiseaseRecord] = {}
    edges: set[Indication] = set()
    for row in labeledin_indications(folder):
        if isinstance(row, Rejected):
            rejected += 1
            continue
        if not row.expert or not row.ingredient:
            continue
        name = row.disease_name or wording.get(row.disease_cui)
        if not name:  # a disease known only by its CUI would mean nothing on a card
            out.unnamed_indications += 1
            continue
        drug = placer.by_name(row.ingredient, "labeledin")
        disease_id = by_key.get(disease_key(name))
        if disease_id is None:
            disease_id = f"UMLS:{row.disease_cui}"
            added.setdefault(disease_id, DiseaseRecord(disease_id, _display(name), (disease_key(name),)))
        edges.add(Indication(drug.id, disease_id, "LABELED_FOR", LABELEDIN))
    out.diseases = sorted(added.values(), key=lambda d: d.id)
    out.indications = sorted(edges, key=lambda i: (i.drug_id, i.disease_id))
    out.rejected["labeledin"] = rejected


def _spl_adr(shared: Path, placer: _Placer, out: Additions) -> None:
    rejected = 0
    brands = {b: d for d in placer.drugs.by_id.values() for b in d.brands}
    for doc in read_spl_adr(shared / SPL_ADR_DIR):
        if not isinstance(doc, Document):
            rejected += 1
            continue
        brand = str(doc.metadata.get("brand_name", ""))
        ingredients = _ingredients(doc.metadata.get("generic_name"))
        if ingredients:
            for ingredient in ingredients:
                drug = placer.by_name(ingredient, "spl_adr")
                if len(ingredients) == 1:  # a combination's brand names no single ingredient
                    drug.add("brands", [brand.lower()])
        elif brand.lower() not in brands:
            out.unmapped_labels.append(brand)
    out.rejected["spl_adr"] = rejected


def extend(shared: Path, drugs: DrugRegistry, diseases: list[DiseaseRecord]) -> Additions:
    """Add the new sources' drugs to ``drugs`` (in place) and return their edges and new diseases."""
    out = Additions()
    placer = _Placer(drugs, out)
    if (shared / NDFRT_DIR).is_dir():
        _ndfrt(shared, placer, out)
    if (shared / LABELEDIN_DIR).is_dir():
        _labeledin(shared, placer, diseases, out)
    if (shared / SPL_ADR_DIR).is_dir():
        _spl_adr(shared, placer, out)
    return out
