"""The medical knowledge graph: one small ``GraphStore`` protocol, two ways to reach it.

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

from app.config import Settings
from app.graph_model import DocumentLinks, GraphKnowledge


class GraphStoreError(RuntimeError):
    """The graph store cannot be opened or used (with what to do about it in the message)."""


class GraphStoreLocked(GraphStoreError):
    """The embedded graph folder is held by another process (or by another open store of this one)."""


@runtime_checkable
class GraphStore(Protocol):
    """What the indexer and the assistants need from the knowledge graph."""

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

    def document_versions(self) -> dict[str, str]:
        """Document id → version of every document in the graph."""
        ...

    def document_links(self, doc_id: str) -> DocumentLinks | None:
        """The stored version, title, source type and links of one document, or None."""
        ...

    def counts(self) -> dict[str, int]:
        """Nodes per label and edges per type."""
        ...

    def drug_by_name(self, name: str) -> dict[str, Any] | None:
        """A drug's properties (+ ``classes``) by name, id, synonym, Chinese name or brand."""
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

    def path_between(self, drug_a: str, drug_b: str) -> dict[str, list[str]] | None:
        """A shortest path between two drugs (ids, names, labels, types) or None."""
        ...

    def close(self) -> None:
        """Release the connection (and stop the embedded database)."""
        ...


def connect_neo4j(settings: Settings) -> GraphStore:
    """The Neo4j 5 server at ``settings.neo4j_uri``; fails early with a clear message."""
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, ClientError, ServiceUnavailable

    from app.stores.graph_cypher import CypherGraphStore

    if not settings.neo4j_uri:
        raise GraphStoreError("MEDEVIDENCE_NEO4J_URI is not set")
    # A cluster's retries are for a leader change (seconds), not an outage: fail within them so /readyz and a
    # 503 say so, rather than a search hanging on the driver's default of 30 s of retries per transaction.
    driver = GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, settings.neo4j_password),
                                  max_transaction_retry_time=settings.neo4j_retry_s, connection_timeout=5.0)
    try:
        driver.verify_connectivity()
        with driver.session(database=settings.neo4j_database) as session:
            session.run("RETURN 1").consume()
    except (ServiceUnavailable, AuthError, ClientError) as exc:
        driver.close()
        hint = ""
        if isinstance(exc, ClientError) and "DatabaseNotFound" in (exc.code or ""):
            hint = (f"; create database {settings.neo4j_database!r} (Neo4j Enterprise) or set "
                    "MEDEVIDENCE_NEO4J_DATABASE=neo4j (Community has that one database)")
        raise GraphStoreError(f"cannot use Neo4j at {settings.neo4j_uri}: {exc}{hint}") from exc
    return CypherGraphStore(driver, settings.neo4j_database, description=f"neo4j {settings.neo4j_uri}",
                            uri=settings.neo4j_uri)


def open_graph_store(settings: Settings) -> GraphStore:
    """Neo4j when ``settings.neo4j_uri`` is set, else the embedded ArcadeDB under the data dir."""
    if settings.neo4j_uri:
        return connect_neo4j(settings)
    from app.stores.arcadedb_embedded import open_embedded_graph_store

    return open_embedded_graph_store(settings)
