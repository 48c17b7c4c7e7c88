"""Drug cards: ids, names, classes, indications and the key label sections, each as a cited span.

A drug with several labels (a full openFDA label, an NLM-180 extract, a TAC 2017 ADR set, a LabeledIn
indications section, a hospital's own) shows each on its own, newest first (labels without a date last),
never merged into one text; the hospital's own rules for the drug follow (``local_rules``: interaction, dose-limit
and formulary rules, each cited); the card ends with what the service knows about the drug (``coverage``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.drugs.catalog import DrugCatalog
from app.drugs.citing import cited_span
from app.drugs.coverage import Coverage, source_of
from app.drugs.sections import CARD_ORDER, section_kind
from app.model import Document
from app.rules import FormularyRule

CATEGORY = {"TREATS": "disease-modifying", "PALLIATES": "symptomatic", "LABELED_FOR": "labeled indication"}


def newest_first(labels: list[Document]) -> list[Document]:
    """Labels by effective (or published) date, newest first; undated ones after, in id order."""
    def date(doc: Document) -> str:
        return str(doc.metadata.get("effective_date") or doc.published or "")

    dated = sorted((d for d in labels if date(d)), key=lambda d: (date(d), d.id), reverse=True)
    return dated + sorted((d for d in labels if not date(d)), key=lambda d: d.id)


def local_rules_card(catalog: DrugCatalog, drug_id: str, today: date) -> dict[str, Any]:
    """The hospital's rules for the drug: each with its citation and whether it applies today; the formulary
    status in effect (``app/drugs/local_rules.py`` says which rule wins)."""
    book = catalog.rules()
    current, superseded = book.formulary(drug_id, today)
    rules = []
    for bound in book.for_drug(drug_id):
        entry = bound.summary(today)
        entry["superseded"] = bound in superseded
        rules.append(entry)
    return {"rules": rules,
            "formulary": {"status": current.rule.status, "rule_id": current.rule.id,
                          "alternatives": list(current.rule.alternatives)}
            if current is not None and isinstance(current.rule, FormularyRule) else None}


def drug_card(catalog: DrugCatalog, drug_id: str, coverage: Coverage | None = None,
              today: date | None = None) -> dict[str, Any]:
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
    documents = newest_first(catalog.labels_of([drug_id])[drug_id])
    for doc in documents:
        sections: dict[str, list[dict[str, Any]]] = {kind: [] for kind in CARD_ORDER}
        for section in doc.sections:
            kind = section_kind(section.heading)
            if kind is not None:
                sections[kind].append({"kind": kind, **cited_span(doc, section)})
        labels.append({
            "doc_id": doc.id, "title": doc.title, "source": source_of(doc), "set_id": doc.metadata.get("set_id"),
            "effective_date": doc.metadata.get("effective_date") or doc.published, "url": doc.url,
            "version": doc.version, "citation": doc.metadata.get("citation"),
            "label_version": doc.metadata.get("label_version"),
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
        "local_rules": local_rules_card(catalog, drug_id, today or date.today()),
        "coverage": (coverage or Coverage(catalog)).drug(drug_id, documents),
    }
