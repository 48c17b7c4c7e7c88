"""Drug cards: ids, names, classes, indications and the key label sections, each as a cited span."""

from __future__ import annotations

from typing import Any

from app.drugs.catalog import DrugCatalog
from app.drugs.sections import CARD_ORDER, section_kind
from app.model import Document, Section

CATEGORY = {"TREATS": "disease-modifying", "PALLIATES": "symptomatic"}


def label_citation(doc: Document, section: Section, start: int | None = None, end: int | None = None) -> dict[str, Any]:
    """A cited span of a label: ``quote == text[start:end]`` of this document version."""
    a = section.start if start is None else start
    b = section.end if end is None else end
    return {
        "doc_id": doc.id, "title": doc.title, "section": section.heading, "start": a, "end": b,
        "quote": doc.text[a:b], "version": doc.version, "url": doc.url, "source_type": doc.source_type,
        "set_id": doc.metadata.get("set_id"),
        "effective_date": doc.metadata.get("effective_date") or doc.published,
    }


def drug_card(catalog: DrugCatalog, drug_id: str) -> dict[str, Any]:
    resolver = catalog.resolver
    drug = resolver.drugs[drug_id]
    diseases = {d.id: d for d in catalog.knowledge.diseases}
    indications = [
        {"disease_id": i.disease_id, "disease": diseases[i.disease_id].name if i.disease_id in diseases else None,
         "disease_zh": list(diseases[i.disease_id].names_zh) if i.disease_id in diseases else [],
         "category": CATEGORY[i.kind], "source": i.source}
        for i in catalog.knowledge.indications if i.drug_id == drug_id
    ]
    labels = []
    for doc in catalog.labels_of([drug_id])[drug_id]:
        sections: dict[str, list[dict[str, Any]]] = {kind: [] for kind in CARD_ORDER}
        for section in doc.sections:
            kind = section_kind(section.heading)
            if kind is not None:
                sections[kind].append({"kind": kind, **label_citation(doc, section)})
        labels.append({
            "doc_id": doc.id, "title": doc.title, "set_id": doc.metadata.get("set_id"),
            "effective_date": doc.metadata.get("effective_date") or doc.published, "url": doc.url,
            "version": doc.version, "citation": doc.metadata.get("citation"),
            "sections": [s for kind in CARD_ORDER for s in sections[kind]],
        })
    return {
        "id": drug.id,
        "name": drug.name,
        "ids": {"drugbank": drug.drugbank, "unii": drug.unii},
        "names": resolver.names_of(drug_id),
        "classes": catalog.classes_of.get(drug_id, []),
        "indications": sorted(indications, key=lambda i: (i["category"], i["disease"] or "")),
        "labels": labels,
        "sources": sorted({"DrugBank vocabulary (ids, names)", *(i["source"] for i in indications),
                           *(c["source"] for c in catalog.classes_of.get(drug_id, [])),
                           *(["FDA drug labels (DailyMed / openFDA)"] if labels else [])}),
    }
