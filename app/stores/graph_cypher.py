"""The graph store over the official ``neo4j`` driver, in portable parameterised Cypher.

One implementation serves Neo4j 5 and ArcadeDB's Bolt plugin: only values travel as parameters,
labels and relationship types are constants of this module, no APOC, no procedures.  Every write
runs in a managed transaction (``execute_write``): atomic, retried on transient errors; ArcadeDB's
auto-commit statements are avoided on purpose (an auto-commit ``UNWIND ... MERGE`` of relationships
can fail half-applied there with a spurious "concurrent modification").

Knowledge nodes and edges carry ``kv``, the version of the knowledge that wrote them: after a
load, whatever another version wrote is removed, so the graph converges to exactly the knowledge.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any, LiteralString, TypeVar

from neo4j import Driver, ManagedTransaction

from app.graph_model import EDGE_TYPES, NODE_LABELS, DocumentLinks, GraphKnowledge, is_disease_id

T = TypeVar("T")
BATCH_ROWS = 2000
BATCH_DOCUMENTS = 250

SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT drug_id IF NOT EXISTS FOR (n:Drug) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT disease_id IF NOT EXISTS FOR (n:Disease) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT drugclass_id IF NOT EXISTS FOR (n:DrugClass) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT document_id IF NOT EXISTS FOR (n:Document) REQUIRE n.id IS UNIQUE",
)
_MERGE_NODES: dict[str, LiteralString] = {
    "Drug": "UNWIND $rows AS r MERGE (n:Drug {id: r.id}) SET n += r.props, n.kv = $kv",
    "Disease": "UNWIND $rows AS r MERGE (n:Disease {id: r.id}) SET n += r.props, n.kv = $kv",
    "DrugClass": "UNWIND $rows AS r MERGE (n:DrugClass {id: r.id}) SET n += r.props, n.kv = $kv",
}
_MERGE_EDGES: dict[str, LiteralString] = {
    "MEMBER_OF": "UNWIND $rows AS r MATCH (a:Drug {id: r.a}) MATCH (b:DrugClass {id: r.b}) "
    "MERGE (a)-[e:MEMBER_OF]->(b) SET e.source = r.source, e.kv = $kv",
    "TREATS": "UNWIND $rows AS r MATCH (a:Drug {id: r.a}) MATCH (b:Disease {id: r.b}) "
    "MERGE (a)-[e:TREATS]->(b) SET e.source = r.source, e.kv = $kv",
    "PALLIATES": "UNWIND $rows AS r MATCH (a:Drug {id: r.a}) MATCH (b:Disease {id: r.b}) "
    "MERGE (a)-[e:PALLIATES]->(b) SET e.source = r.source, e.kv = $kv",
    "LABELED_FOR": "UNWIND $rows AS r MATCH (a:Drug {id: r.a}) MATCH (b:Disease {id: r.b}) "
    "MERGE (a)-[e:LABELED_FOR]->(b) SET e.source = r.source, e.kv = $kv",
    "INTERACTS_WITH": "UNWIND $rows AS r MATCH (a:Drug {id: r.a}) MATCH (b:Drug {id: r.b}) "
    "MERGE (a)-[e:INTERACTS_WITH {source: r.source}]->(b) "
    "SET e.severity = r.severity, e.citation = r.citation, e.kv = $kv",
}
_STALE_NODES: dict[str, LiteralString] = {
    "Drug": "MATCH (n:Drug) WHERE n.kv IS NULL OR n.kv <> $kv DETACH DELETE n",
    "Disease": "MATCH (n:Disease) WHERE n.kv IS NULL OR n.kv <> $kv DETACH DELETE n",
    "DrugClass": "MATCH (n:DrugClass) WHERE n.kv IS NULL OR n.kv <> $kv DETACH DELETE n",
}
_STALE_EDGES: dict[str, LiteralString] = {
    "MEMBER_OF": "MATCH ()-[e:MEMBER_OF]->() WHERE e.kv IS NULL OR e.kv <> $kv DELETE e",
    "TREATS": "MATCH ()-[e:TREATS]->() WHERE e.kv IS NULL OR e.kv <> $kv DELETE e",
    "PALLIATES": "MATCH ()-[e:PALLIATES]->() WHERE e.kv IS NULL OR e.kv <> $kv DELETE e",
    "LABELED_FOR": "MATCH ()-[e:LABELED_FOR]->() WHERE e.kv IS NULL OR e.kv <> $kv DELETE e",
    "INTERACTS_WITH": "MATCH ()-[e:INTERACTS_WITH]->() WHERE e.kv IS NULL OR e.kv <> $kv DELETE e",
}
_COUNT: dict[str, LiteralString] = {
    "Drug": "MATCH (n:Drug) RETURN count(n) AS c",
    "Disease": "MATCH (n:Disease) RETURN count(n) AS c",
    "DrugClass": "MATCH (n:DrugClass) RETURN count(n) AS c",
    "Document": "MATCH (n:Document) RETURN count(n) AS c",
    "MEMBER_OF": "MATCH ()-[e:MEMBER_OF]->() RETURN count(e) AS c",
    "TREATS": "MATCH ()-[e:TREATS]->() RETURN count(e) AS c",
    "PALLIATES": "MATCH ()-[e:PALLIATES]->() RETURN count(e) AS c",
    "LABELED_FOR": "MATCH ()-[e:LABELED_FOR]->() RETURN count(e) AS c",
    "INTERACTS_WITH": "MATCH ()-[e:INTERACTS_WITH]->() RETURN count(e) AS c",
    "DESCRIBED_BY": "MATCH ()-[e:DESCRIBED_BY]->() RETURN count(e) AS c",
    "MENTIONS": "MATCH ()-[e:MENTIONS]->() RETURN count(e) AS c",
}
_UPSERT_DOCUMENTS: LiteralString = (
    "UNWIND $docs AS r MERGE (d:Document {id: r.id}) "
    "SET d.version = r.version, d.title = r.title, d.source_type = r.source_type"
)
_DROP_MENTIONS: LiteralString = "UNWIND $ids AS id MATCH (d:Document {id: id})-[e:MENTIONS]->() DELETE e"
_DROP_DESCRIBED: LiteralString = (  # anchored on the document: ArcadeDB plans left to right
    "UNWIND $ids AS id MATCH (d:Document {id: id}) MATCH (d)<-[e:DESCRIBED_BY]-() DELETE e"
)
_LINK: tuple[tuple[str, LiteralString], ...] = (  # after the drop, in the same transaction: CREATE is exact
    ("drugs", "UNWIND $docs AS r MATCH (d:Document {id: r.id}) UNWIND r.ids AS e MATCH (x:Drug {id: e}) "
     "CREATE (d)-[:MENTIONS]->(x)"),
    ("diseases", "UNWIND $docs AS r MATCH (d:Document {id: r.id}) UNWIND r.ids AS e MATCH (x:Disease {id: e}) "
     "CREATE (d)-[:MENTIONS]->(x)"),
    ("described", "UNWIND $docs AS r MATCH (d:Document {id: r.id}) UNWIND r.ids AS e MATCH (x:Drug {id: e}) "
     "CREATE (x)-[:DESCRIBED_BY]->(d)"),
)
_DELETE_DOCUMENTS: LiteralString = "UNWIND $ids AS id MATCH (d:Document {id: id}) DETACH DELETE d"
_VERSIONS: LiteralString = "MATCH (d:Document) RETURN d.id AS id, d.version AS version"
_DOCUMENT: LiteralString = (
    "MATCH (d:Document {id: $id}) OPTIONAL MATCH (d)-[:MENTIONS]->(m) "
    "WITH d, collect(DISTINCT m.id) AS mentions OPTIONAL MATCH (d)<-[:DESCRIBED_BY]-(x:Drug) "
    "RETURN d.id AS id, d.version AS version, d.title AS title, d.source_type AS source_type, mentions, "
    "collect(DISTINCT x.id) AS described"
)
_INTERACTIONS: LiteralString = (
    "MATCH (a:Drug) WHERE a.id IN $ids MATCH (a)-[e:INTERACTS_WITH]->(b:Drug) WHERE b.id IN $ids "
    "RETURN a.id AS drug_a, a.name AS name_a, b.id AS drug_b, b.name AS name_b, e.severity AS severity, "
    "e.source AS source, e.citation AS citation ORDER BY severity, drug_a, drug_b, source"
)
_DOCUMENTS_FOR: tuple[tuple[str, LiteralString], ...] = (  # anchored on the entities: few, indexed by id
    ("described", "MATCH (x:Drug) WHERE x.id IN $ids MATCH (x)-[:DESCRIBED_BY]->(d:Document) "
     "RETURN d.id AS doc_id, d.source_type AS source_type, collect(DISTINCT x.id) AS entities"),
    ("mentions", "MATCH (x:Drug) WHERE x.id IN $ids MATCH (d:Document)-[:MENTIONS]->(x) "
     "RETURN d.id AS doc_id, d.source_type AS source_type, collect(DISTINCT x.id) AS entities"),
    ("mentions", "MATCH (x:Disease) WHERE x.id IN $ids MATCH (d:Document)-[:MENTIONS]->(x) "
     "RETURN d.id AS doc_id, d.source_type AS source_type, collect(DISTINCT x.id) AS entities"),
)
_ALL_DOCUMENT_LINKS: tuple[tuple[str, LiteralString], ...] = (  # the same links, for every entity
    ("described", "MATCH (x:Drug)-[:DESCRIBED_BY]->(d:Document) "
     "RETURN d.id AS doc_id, d.source_type AS source_type, collect(DISTINCT x.id) AS entities"),
    ("mentions", "MATCH (d:Document)-[:MENTIONS]->(x:Drug) "
     "RETURN d.id AS doc_id, d.source_type AS source_type, collect(DISTINCT x.id) AS entities"),
    ("mentions", "MATCH (d:Document)-[:MENTIONS]->(x:Disease) "
     "RETURN d.id AS doc_id, d.source_type AS source_type, collect(DISTINCT x.id) AS entities"),
)
_LABELS_OF: LiteralString = (
    "MATCH (x:Drug) WHERE x.id IN $ids MATCH (x)-[:DESCRIBED_BY]->(d:Document) RETURN x.id AS drug, d.id AS doc_id"
)



def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CypherGraphStore:
    """``GraphStore`` over a ``neo4j.Driver`` (Neo4j 5 server or ArcadeDB's Bolt plugin)."""

    def __init__(
        self,
        driver: Driver,
        database: str,
        *,
        schema: Sequence[LiteralString] = SCHEMA,
        on_close: Callable[[], None] | None = None,
        description: str = "graph",
        uri: str = "",
    ) -> None:
        self._driver = driver
        self.uri = uri
        self._database = database
        self._schema = tuple(schema)
        self._on_close = on_close
        self.description = description
        self.timings: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"CypherGraphStore({self.description}, database={self._database!r})"

    # -- plumbing -------------------------------------------------------------------------
    def _write(self, work: Callable[..., T], **kwargs: Any) -> T:
        with self._driver.session(database=self._database) as session:
            return session.execute_write(work, **kwargs)

    def _execute(self, query: LiteralString, **params: Any) -> None:
        self._write(_run, query=query, params=params)

    def _read(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        return self._read_all([("", query)], **params)[0][1]

    def _read_all(self, queries: Sequence[tuple[str, LiteralString]],
                  **params: Any) -> list[tuple[str, list[dict[str, Any]]]]:
        """Several labelled queries in one read transaction (one round of session set-up, not one each)."""
        def work(tx: ManagedTransaction) -> list[tuple[str, list[dict[str, Any]]]]:
            return [(label, tx.run(query, params).data()) for label, query in queries]

        with self._driver.session(database=self._database) as session:
            return session.execute_read(work)

    def _write_batches(self, query: LiteralString, rows: Sequence[dict[str, Any]], **params: Any) -> None:
        for batch in _chunks(rows, BATCH_ROWS):
            self._execute(query, rows=list(batch), **params)

    # -- GraphStore -----------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Uniqueness constraints on every label's ``id`` and an index on drug names."""
        for statement in self._schema:
            self._execute(statement)

    def load_knowledge(self, knowledge: GraphKnowledge) -> None:
        """MERGE every entity and edge (batched UNWIND), then drop what other versions wrote."""
        kv = knowledge.version
        nodes = {
            "Drug": [{"id": d.id, "props": _props(asdict(d))}
                     for d in knowledge.drugs],
            "Disease": [{"id": d.id, "props": _props(asdict(d))} for d in knowledge.diseases],
            "DrugClass": [{"id": c.id, "props": {"name": c.name}} for c in knowledge.classes],
        }
        for label, rows in nodes.items():
            self._write_batches(_MERGE_NODES[label], rows, kv=kv)
        edges: dict[str, list[dict[str, Any]]] = {
            "MEMBER_OF": [{"a": m.drug_id, "b": m.class_id, "source": m.source}
                          for m in knowledge.class_members],
            "TREATS": [{"a": i.drug_id, "b": i.disease_id, "source": i.source}
                       for i in knowledge.indications if i.kind == "TREATS"],
            "PALLIATES": [{"a": i.drug_id, "b": i.disease_id, "source": i.source}
                          for i in knowledge.indications if i.kind == "PALLIATES"],
            "LABELED_FOR": [{"a": i.drug_id, "b": i.disease_id, "source": i.source}
                            for i in knowledge.indications if i.kind == "LABELED_FOR"],
            "INTERACTS_WITH": [{"a": i.drug_a, "b": i.drug_b, "source": i.source, "severity": i.severity,
                                "citation": i.citation} for i in knowledge.interactions],
        }
        for edge_type, rows in edges.items():
            self._write_batches(_MERGE_EDGES[edge_type], rows, kv=kv)
        for query in (*_STALE_EDGES.values(), *_STALE_NODES.values()):
            self._execute(query, kv=kv)

    def replace_document_links(self, links: Sequence[DocumentLinks]) -> None:
        """Per batch, in one transaction: upsert the documents, drop their links, write the new ones."""
        unique = list({link.doc_id: link for link in links}.values())
        for batch in _chunks(unique, BATCH_DOCUMENTS):
            docs = [{"id": k.doc_id, "version": k.version, "title": k.title, "source_type": k.source_type}
                    for k in batch]
            targets = {
                "drugs": [(k.doc_id, [e for e in k.mentions if not is_disease_id(e)]) for k in batch],
                "diseases": [(k.doc_id, [e for e in k.mentions if is_disease_id(e)]) for k in batch],
                "described": [(k.doc_id, list(k.described_drugs)) for k in batch],
            }
            links_by_kind = {kind: [{"id": doc, "ids": sorted(set(ids))} for doc, ids in rows if ids]
                             for kind, rows in targets.items()}
            self._write(_relink, docs=docs, links=links_by_kind)

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Remove the documents and every link they have."""
        for batch in _chunks(list(dict.fromkeys(doc_ids)), BATCH_ROWS):
            self._execute(_DELETE_DOCUMENTS, ids=list(batch))

    def document_versions(self) -> dict[str, str]:
        """Document id → version, for every document in the graph."""
        return {row["id"]: row["version"] for row in self._read(_VERSIONS)}

    def document_links(self, doc_id: str) -> DocumentLinks | None:
        """What the graph holds for one document (links sorted), or None."""
        rows = self._read(_DOCUMENT, id=doc_id)
        if not rows:
            return None
        row = rows[0]
        return DocumentLinks(row["id"], row["version"], row["title"], row["source_type"],
                             tuple(sorted(row["described"])), tuple(sorted(row["mentions"])))

    def counts(self) -> dict[str, int]:
        """Nodes per label and edges per type (every label and type, zeros included)."""
        return {name: int(self._read(_COUNT[name])[0]["c"]) for name in (*NODE_LABELS, *EDGE_TYPES)}

    def interactions_between(self, drug_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The listed interactions among these drugs (each pair once per source list)."""
        return self._read(_INTERACTIONS, ids=sorted(set(drug_ids)))

    def documents_for(self, entity_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Documents linked to these entities: ``doc_id``, ``source_type``, ``described`` (the drugs it
        is the label of) and ``mentions`` (the entities it names), each a sorted list of entity ids."""
        ids = sorted(set(entity_ids))
        if not ids:
            return []
        return self._merge_links(self._read_all(_DOCUMENTS_FOR, ids=ids))

    def all_document_links(self) -> list[dict[str, Any]]:
        """Every linked document with all its entities, in one read transaction (a consistent snapshot)."""
        return self._merge_links(self._read_all(_ALL_DOCUMENT_LINKS))

    @staticmethod
    def _merge_links(parts: Sequence[tuple[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for kind, rows in parts:
            for row in rows:
                entry = found.setdefault(row["doc_id"], {"doc_id": row["doc_id"], "source_type": row["source_type"],
                                                         "described": [], "mentions": []})
                entry[kind] = sorted(set(entry[kind]) | set(row["entities"]))
        return [found[doc_id] for doc_id in sorted(found)]

    def labels_of(self, drug_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each drug's label documents (``DESCRIBED_BY``), doc ids sorted; drugs without labels are absent."""
        out: dict[str, list[str]] = {}
        for row in self._read(_LABELS_OF, ids=sorted(set(drug_ids))):
            out.setdefault(row["drug"], []).append(row["doc_id"])
        return {drug: sorted(set(docs)) for drug, docs in out.items()}

    def close(self) -> None:
        """Close the driver, then run ``on_close`` (stops an embedded server); idempotent."""
        atexit.unregister(self.close)
        try:
            self._driver.close()
        finally:
            if self._on_close is not None:
                callback, self._on_close = self._on_close, None
                callback()


def _run(tx: ManagedTransaction, query: LiteralString, params: dict[str, Any]) -> None:
    tx.run(query, params).consume()


def _relink(tx: ManagedTransaction, docs: list[dict[str, Any]], links: dict[str, list[dict[str, Any]]]) -> None:
    """One batch of documents: upsert, drop their links, create the new links (one transaction)."""
    ids = [d["id"] for d in docs]
    tx.run(_UPSERT_DOCUMENTS, docs=docs).consume()
    tx.run(_DROP_MENTIONS, ids=ids).consume()
    tx.run(_DROP_DESCRIBED, ids=ids).consume()
    for kind, query in _LINK:
        if links[kind]:
            tx.run(query, docs=links[kind]).consume()


def _props(record: dict[str, Any]) -> dict[str, Any]:
    """Node properties from a record: lists for tuples, no id (it is the MERGE key)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in record.items() if k != "id"}
