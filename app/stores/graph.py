"""The medical knowledge graph: a writer and a reader Protocol (``GraphStore`` is both), two ways to reach it.

Both go through the official ``neo4j`` Python driver with the same parameterised Cypher
(``app.stores.graph_cypher``):

- embedded (default): ArcadeDB from the ``arcadedb-embedded`` package, started in this process
  with its Bolt plugin on a free loopback port, data under ``settings.data_dir / "graph"``
  (``app.stores.arcadedb_embedded``);
- server: Neo4j 5 at ``settings.neo4j_uri`` (``bolt://`` or ``neo4j://``), database
  ``settings.neo4j_database``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from app.graph_model import DocumentLinks, GraphKnowledge


class GraphStoreError(RuntimeError):
    """The graph store cannot be opened or used (with what to do about it in the message)."""


class GraphStoreLocked(GraphStoreError):
    """The embedded graph folder is held by another process (or by another open store of this one)."""


@runtime_checkable
class GraphWriter(Protocol):
    """What the indexer writes: the knowledge's entities and edges, and each document's links."""

    def ensure_schema(self) -> None:
        """Create the uniqueness constraints and indexes (idempotent)."""
        ...

    def load_knowledge(self, knowledge: GraphKnowledge) -> None:
        """MERGE all entities and edges of the knowledge (idempotent; stale ones are removed)."""
        ...

    def replace_document_links(self, links: Sequence[DocumentLinks]) -> None:
        """Upsert these documents and replace their DESCRIBED_BY / MENTIONS edges (idempotent)."""
        ...

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Remove these documents and their edges (unknown ids are ignored)."""
        ...


@runtime_checkable
class GraphReader(Protocol):
    """What the service reads: a document's links, documents by entity, labels of drugs, interactions."""

    def document_versions(self) -> dict[str, str]:
        """Document id → version of every document in the graph (the consistency check compares them)."""
        ...

    def document_links(self, doc_id: str) -> DocumentLinks | None:
        """The stored version, title, source type and links of one document, or None."""
        ...

    def counts(self) -> dict[str, int]:
        """Nodes per label and edges per type."""
        ...

    def interactions_between(self, drug_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Interactions among these drugs (drug_a, name_a, drug_b, name_b, severity, source, citation)."""
        ...

    def documents_for(self, entity_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Documents linked to these entities (doc_id, source_type, described, mentions), by doc id."""
        ...

    def all_document_links(self) -> list[dict[str, Any]]:
        """Every linked document as ``documents_for`` shapes it, with all its entities (by doc id):
        what a reader holds in memory for one index generation."""
        ...

    def labels_of(self, drug_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each drug's label documents (``DESCRIBED_BY``), doc ids sorted; drugs without labels are absent."""
        ...


@runtime_checkable
class GraphStore(GraphWriter, GraphReader, Protocol):
    """One opened graph (embedded ArcadeDB or a Neo4j server): both sides, and the connection to close."""

    def close(self) -> None:
        """Release the connection (and stop the embedded database)."""
        ...
