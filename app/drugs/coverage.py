"""What the indexed knowledge holds, said out loud: per source and per drug.

A clinician must see the limits before trusting an absence: "no interaction found" or "no boxed warning"
means little for a drug whose only label is an indications extract.  This module counts what the stores
hold — every indexed document, the hospital's own included, grouped by its ``metadata.source`` (documents
without one are the hospital's, grouped under ``local``) — and, for one drug, which label sections,
indications, graded interaction sources and guidelines exist.

The knowledge-wide report reads every stored document once per index generation (cached); a drug's
report reads only that drug's labels, tables and linked guidelines.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

from app.drugs.catalog import DrugCatalog
from app.drugs.sections import CARD_ORDER, section_kind
from app.drugs.tables import table_doc_ids
from app.model import Document

LOCAL = "local"
INDICATION_SOURCES = {"TREATS": "PharmacotherapyDB", "PALLIATES": "PharmacotherapyDB", "LABELED_FOR": "LabeledIn"}
TABLE_SOURCES = {"onc-high": "ONC high-priority", "onc-low": "ONC non-interruptive", "ndfrt": "VA NDF-RT"}


def is_practice_guideline(doc: Document) -> bool:
    """A clinical practice guideline (it names its developer), not a consumer health page also typed guideline."""
    return doc.source_type == "guideline" and bool(doc.metadata.get("developer"))


def source_of(doc: Document) -> str:
    """The source a document came from: its ``metadata.source``, else the hospital's own (``local``)."""
    value = doc.metadata.get("source")
    return value if isinstance(value, str) and value else LOCAL


class Coverage:
    """Coverage reports over one catalog; the knowledge-wide one cached per index generation."""

    def __init__(self, catalog: DrugCatalog) -> None:
        self.catalog = catalog
        self._lock = threading.Lock()
        self._cached: tuple[str, dict[str, Any]] | None = None

    def knowledge(self) -> dict[str, Any]:
        """Per source: documents, source types, sections, drugs described; totals over the knowledge."""
        generation = self.catalog.manifest.index_version()
        with self._lock:
            if self._cached is not None and self._cached[0] == generation:
                return self._cached[1]
            report = self._knowledge_report()
            self._cached = (generation, report)
            return report

    def _knowledge_report(self) -> dict[str, Any]:
        catalog = self.catalog
        described: dict[str, set[str]] = {}
        for link in catalog.graph.all_document_links():
            described[str(link["doc_id"])] = set(link.get("described") or ())
        origins = catalog.manifest.origins()
        sources: dict[str, dict[str, Any]] = {}
        label_drugs: set[str] = set()
        practice_guidelines = 0
        drugs_by_kind: dict[str, set[str]] = defaultdict(set)
        for doc in catalog.manifest.iter_documents():
            name = source_of(doc)
            entry = sources.setdefault(name, {"source": name, "documents": 0, "sections": 0, "source_types": Counter(),
                                              "drugs": set(), "section_kinds": Counter(), "origins": set()})
            entry["documents"] += 1
            entry["sections"] += len(doc.sections)
            entry["source_types"][doc.source_type] += 1
            practice_guidelines += is_practice_guideline(doc)
            origin = origins.get(doc.id)
            if origin and len(entry["origins"]) < 5:
                entry["origins"].add(origin.rsplit("/", 1)[-1])
            drugs = described.get(doc.id, set())
            entry["drugs"].update(drugs)
            if doc.source_type == "label":
                kinds = {k for s in doc.sections if (k := section_kind(s.heading))}
                entry["section_kinds"].update(kinds)
                if drugs:
                    label_drugs.update(drugs)
                    for kind in kinds:
                        drugs_by_kind[kind].update(drugs)
        knowledge = self.catalog.knowledge
        graded = Counter(i.source for i in knowledge.interactions)
        indications = Counter(INDICATION_SOURCES.get(i.kind, i.kind) for i in knowledge.indications)
        return {
            "index_version": catalog.manifest.index_version(),
            "sources": [{**e, "source_types": dict(e["source_types"]), "drugs": len(e["drugs"]),
                         "section_kinds": dict(e["section_kinds"]), "origins": sorted(e["origins"]),
                         "local": e["source"] == LOCAL}
                        for e in sorted(sources.values(), key=lambda e: (e["source"] == LOCAL, e["source"]))],
            "totals": {
                "documents": sum(e["documents"] for e in sources.values()),
                "drugs_known": len(knowledge.drugs),
                "drugs_with_label_text": len(label_drugs),
                "drugs_with_label_section": {kind: len(drugs_by_kind[kind]) for kind in CARD_ORDER},
                "drugs_with_indication": len({i.drug_id for i in knowledge.indications}),
                "indications_by_source": dict(indications),
                "graded_interaction_pairs": dict(graded),
                "guidelines": practice_guidelines,
            },
        }

    def drug(self, drug_id: str, labels: list[Document] | None = None) -> dict[str, Any]:
        """What the knowledge holds about one drug, and which label section kinds no indexed label has."""
        catalog = self.catalog
        drug = catalog.resolver.drugs[drug_id]
        labels = catalog.labels_of([drug_id])[drug_id] if labels is None else labels
        kinds: dict[str, list[str]] = {kind: [] for kind in CARD_ORDER}
        label_rows = []
        for doc in labels:
            present = sorted({k for s in doc.sections if (k := section_kind(s.heading))}, key=CARD_ORDER.index)
            for kind in present:
                kinds[kind].append(doc.id)
            label_rows.append({"doc_id": doc.id, "source": source_of(doc), "title": doc.title,
                               "effective_date": doc.metadata.get("effective_date") or doc.published,
                               "section_kinds": present})
        indications = Counter(INDICATION_SOURCES.get(i.kind, i.kind)
                              for i in catalog.knowledge.indications if i.drug_id == drug_id)
        tables = []
        for table in filter(None, map(catalog.document, table_doc_ids(drug))):
            prefix = table.id.split(":", 1)[0]
            tables.append({"source": TABLE_SOURCES.get(prefix, prefix), "doc_id": table.id,
                           "partners": len(table.metadata.get("partners") or table.sections)})
        guidelines = []
        for link in catalog.graph.documents_for([drug_id]):
            guideline = catalog.document(link["doc_id"]) if link.get("source_type") == "guideline" else None
            if guideline is not None and is_practice_guideline(guideline):
                guidelines.append({"doc_id": guideline.id, "title": guideline.title, "published": guideline.published})
        missing = [kind for kind in CARD_ORDER if not kinds[kind]]
        return {
            "drug_id": drug_id,
            "name": drug.name,
            "labels": label_rows,
            "label_sections": {kind: ids for kind, ids in kinds.items() if ids},
            "missing_label_sections": missing,
            "indications": dict(indications),
            "interaction_sources": tables,
            "guidelines": guidelines,
            "summary": summary_line(drug.name, label_rows, missing, indications, tables, guidelines),
        }


def summary_line(name: str, labels: list[dict[str, Any]], missing: list[str], indications: Counter[str],
                 tables: list[dict[str, Any]], guidelines: list[dict[str, Any]]) -> str:
    """One sentence a clinician reads before trusting an absence."""
    if labels:
        sources = ", ".join(sorted({str(lab["source"]) for lab in labels}))
        part = f"{len(labels)} label(s) ({sources})"
        if missing:
            part += f"; no indexed label has: {', '.join(k.replace('_', ' ') for k in missing)}"
    else:
        part = "no label text"
    inds = f"{sum(indications.values())} indication(s)" if indications else "no indications"
    inter = ("interaction lists: " + ", ".join(f"{t['source']} ({t['partners']} partners)" for t in tables)
             if tables else "in no graded interaction list")
    guide = f"named by {len(guidelines)} guideline(s)" if guidelines else "named by no indexed guideline"
    return f"What this service knows about {name}: {part}; {inds}; {inter}; {guide}."
