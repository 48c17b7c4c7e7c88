"""Plain typed records of the medical knowledge graph, shared by the app and the indexers.

The graph has four node labels and seven relationship types:

- ``(:Drug)-[:MEMBER_OF]->(:DrugClass)`` — ONC interaction-list drug classes;
- ``(:Drug)-[:TREATS|PALLIATES]->(:Disease)`` — PharmacotherapyDB indications (DM / SYM);
- ``(:Drug)-[:LABELED_FOR]->(:Disease)`` — an FDA label's Indications and Usage names the disease
  (LabeledIn expert annotations);
- ``(:Drug)-[:INTERACTS_WITH]->(:Drug)`` — ONC high-priority / non-interruptive and VA NDF-RT
  (critical / significant) interactions, stored once per unordered pair and source (``a < b`` by id)
  and queried undirected: each source keeps its own grade, never blended;
- ``(:Drug)-[:DESCRIBED_BY]->(:Document)`` — the document is a label of that drug;
- ``(:Document)-[:MENTIONS]->(:Drug|:Disease)`` — names found in the document text.

Ids are unique across labels: DrugBank ids (``DB00945``) or ``drug:<slug>`` for drugs,
``DOID:<n>``, ``ICD10:<code>`` or ``UMLS:<CUI>`` for diseases, ``class:<slug>`` for classes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Literal

EntityKind = Literal["drug", "disease"]
NODE_LABELS: tuple[str, ...] = ("Drug", "Disease", "DrugClass", "Document")
EDGE_TYPES: tuple[str, ...] = (
    "MEMBER_OF",
    "TREATS",
    "PALLIATES",
    "LABELED_FOR",
    "INTERACTS_WITH",
    "DESCRIBED_BY",
    "MENTIONS",
)


def is_disease_id(entity_id: str) -> bool:
    """Whether an entity id names a Disease (else a Drug), by the id scheme above."""
    return entity_id.startswith(("DOID:", "ICD10:", "UMLS:"))


@dataclass(frozen=True)
class DrugRecord:
    """A drug substance with its names in English and Chinese and its label set ids."""

    id: str
    name: str
    names_en: tuple[str, ...] = ()
    names_zh: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    drugbank: str | None = None
    unii: str | None = None
    set_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiseaseRecord:
    """A disease from the Disease Ontology (PharmacotherapyDB / Hetionet) or ICD-10."""

    id: str
    name: str
    names_en: tuple[str, ...] = ()
    names_zh: tuple[str, ...] = ()
    icd10: str | None = None
    doid: str | None = None


@dataclass(frozen=True)
class DrugClassRecord:
    """A drug class named by the ONC interaction lists."""

    id: str
    name: str


@dataclass(frozen=True)
class ClassMember:
    """``(drug)-[:MEMBER_OF {source}]->(class)``."""

    drug_id: str
    class_id: str
    source: str


@dataclass(frozen=True)
class Indication:
    """``(drug)-[:TREATS|PALLIATES|LABELED_FOR]->(disease)``; ``kind`` is the relationship type."""

    drug_id: str
    disease_id: str
    kind: Literal["TREATS", "PALLIATES", "LABELED_FOR"]
    source: str = "PharmacotherapyDB"


@dataclass(frozen=True)
class Interaction:
    """``(a)-[:INTERACTS_WITH {severity, source, citation}]->(b)`` with ``a < b``."""

    drug_a: str
    drug_b: str
    severity: Literal["high", "low", "critical", "significant"]
    source: str
    citation: str


@dataclass(frozen=True)
class GraphKnowledge:
    """Everything the starter knowledge puts in the graph (documents excluded)."""

    drugs: tuple[DrugRecord, ...] = ()
    diseases: tuple[DiseaseRecord, ...] = ()
    classes: tuple[DrugClassRecord, ...] = ()
    class_members: tuple[ClassMember, ...] = ()
    indications: tuple[Indication, ...] = ()
    interactions: tuple[Interaction, ...] = ()

    @property
    def version(self) -> str:
        """Content hash: the stamp written on every node and edge this knowledge loads."""
        payload = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class EntityMention:
    """One dictionary hit in a text: ``text[start:end] == surface``."""

    entity_id: str
    kind: EntityKind
    surface: str
    start: int
    end: int


@dataclass(frozen=True)
class DocumentLinks:
    """What the graph records about one document version.

    ``described_drugs``: drugs whose label this document is; ``mentions``: drug and disease
    ids named in its title or text (ids are unique across labels).
    """

    doc_id: str
    version: str
    title: str
    source_type: str
    described_drugs: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
