"""What the drug assistant reads, built from the index's stores and kept current.

The name resolver is rebuilt when the index generation (a label added, replaced or removed) or the hospital
aliases change; a drug's label documents come from the graph's ``DESCRIBED_BY`` edges and their text from
the manifest (the stored document versions that citations quote); the hospital's rules are bound to drugs the
same way (``app/drugs/local_rules.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from app.drugs.aliases import AliasStore
from app.drugs.local_rules import RuleBook, bind_rules
from app.drugs.names import DrugNameResolver
from app.drugs.sections import section_kind
from app.graph_model import GraphKnowledge
from app.knowledge import normalize_name
from app.model import Document, Section
from app.rules import RULE_SOURCE_TYPE
from app.stores.graph import GraphReader
from app.stores.manifest import Manifest
from app.text.sentences import sentence_spans


def label_brands(manifest: Manifest, knowledge: GraphKnowledge) -> dict[str, list[str]]:
    """Brand names of the indexed labels → drug ids, through each label's generic name
    ("PLAVIX" → "clopidogrel bisulfate" → clopidogrel)."""
    base = DrugNameResolver(knowledge)
    brands: dict[str, list[str]] = {}
    for doc in manifest.documents_of_type("label"):
        names = doc.metadata.get("brand_names") or [doc.metadata.get("brand_name")]
        generic = doc.metadata.get("generic_name")
        if not isinstance(generic, str) or not isinstance(names, list):
            continue
        target = base.resolve(generic)
        for brand in names:
            if target.resolved and isinstance(brand, str) and normalize_name(brand) != normalize_name(generic):
                brands.setdefault(brand, []).extend(target.drug_ids)
    return brands


def local_drug_names(manifest: Manifest, aliases: AliasStore, knowledge: GraphKnowledge) -> dict[str, list[str]]:
    """Drug id → names the graph lacks: brands of the indexed labels and hospital aliases (for entity linking)."""
    out: dict[str, list[str]] = {}
    for brand, ids in label_brands(manifest, knowledge).items():
        for drug_id in dict.fromkeys(ids):
            out.setdefault(drug_id, []).append(brand)
    for alias, drug_id in aliases.all().items():
        out.setdefault(drug_id, []).append(alias)
    return out


class DrugCatalog:
    """The drug assistant's reads: a name resolver and each drug's labels, over the manifest, the graph and the
    hospital aliases (the stores belong to whoever opened them)."""

    def __init__(self, knowledge: GraphKnowledge, manifest: Manifest, graph: GraphReader, aliases: AliasStore) -> None:
        self.knowledge = knowledge
        self.manifest = manifest
        self.graph = graph
        self.aliases = aliases
        self._lock = threading.Lock()
        self._resolver: DrugNameResolver | None = None
        self._resolver_key: tuple[str, str] | None = None
        self._cache_generation: str | None = None
        self._label_ids: dict[str, list[str]] = {}
        self._documents: dict[str, Document | None] = {}
        self._sentences: dict[tuple[str, str], list[tuple[Section, int, int]]] = {}
        self._described: dict[str, tuple[str, ...]] = {}
        self._rule_book: tuple[DrugNameResolver, RuleBook] | None = None  # bound with that resolver
        self.classes_of: dict[str, list[dict[str, str]]] = {}
        names = {c.id: c.name for c in self.knowledge.classes}
        for member in self.knowledge.class_members:
            entry = {"id": member.class_id, "name": names.get(member.class_id, member.class_id),
                     "source": member.source}
            if entry not in self.classes_of.setdefault(member.drug_id, []):
                self.classes_of[member.drug_id].append(entry)

    @property
    def resolver(self) -> DrugNameResolver:
        key = (self.manifest.index_version(), self.aliases.version())
        with self._lock:
            if self._resolver is None or self._resolver_key != key:
                self._resolver = self._build()
                self._resolver_key = key
            return self._resolver

    def rules(self) -> RuleBook:
        """The hospital's indexed rules, bound to drugs by the current name resolver: bound again whenever the
        resolver is rebuilt (the index or the aliases changed)."""
        resolver = self.resolver
        with self._lock:
            if self._rule_book is None or self._rule_book[0] is not resolver:
                rules, broken = bind_rules(self.manifest.documents_of_type(RULE_SOURCE_TYPE), resolver, self.knowledge)
                self._rule_book = (resolver, RuleBook(rules, broken))
            return self._rule_book[1]

    def _build(self) -> DrugNameResolver:
        return DrugNameResolver(self.knowledge, label_brands(self.manifest, self.knowledge), self.aliases.all())

    def _generation(self) -> str:
        generation = self.manifest.index_version()
        if generation != self._cache_generation:  # any index change: every cached label may be stale
            self._label_ids.clear()
            self._documents.clear()
            self._sentences.clear()
            self._described.clear()
            self._cache_generation = generation
        return generation

    def labels_of(self, drug_ids: Sequence[str]) -> dict[str, list[Document]]:
        """Each drug's label documents (stored versions), in document id order; cached per index generation."""
        with self._lock:
            ids = self._label_ids_of(drug_ids)
            return {d: [doc for doc in map(self._document, ids[d]) if doc is not None] for d in drug_ids}

    def label_ids(self, drug_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each drug's label document ids (the graph's ``DESCRIBED_BY``); cached per index generation."""
        with self._lock:
            return self._label_ids_of(drug_ids)

    def _label_ids_of(self, drug_ids: Sequence[str]) -> dict[str, list[str]]:
        self._generation()
        missing = [d for d in drug_ids if d not in self._label_ids]
        if missing:
            found = self.graph.labels_of(missing)
            for drug_id in missing:
                self._label_ids[drug_id] = found.get(drug_id, [])
        return {d: list(self._label_ids[d]) for d in drug_ids}

    def described_drugs(self, doc_id: str) -> tuple[str, ...]:
        """Every drug a label document is the label of (a combination product's: several); cached."""
        with self._lock:
            self._generation()
            if doc_id not in self._described:
                links = self.graph.document_links(doc_id)
                self._described[doc_id] = links.described_drugs if links is not None else ()
            return self._described[doc_id]

    def document(self, doc_id: str) -> Document | None:
        with self._lock:
            self._generation()
            return self._document(doc_id)

    def _document(self, doc_id: str) -> Document | None:
        if doc_id not in self._documents:
            self._documents[doc_id] = self.manifest.document(doc_id)
        return self._documents[doc_id]

    def sentences(self, doc: Document) -> list[tuple[Section, int, int]]:
        """A document's sentences as (section, start, end), interaction sections first; cached."""
        key = (doc.id, doc.version)
        with self._lock:
            if key not in self._sentences:
                ordered = sorted(doc.sections, key=lambda s: section_kind(s.heading) != "interactions")
                self._sentences[key] = [(section, s.start, s.end) for section in ordered
                                        for s in sentence_spans(doc.text, section.start, section.end)]
            return self._sentences[key]
