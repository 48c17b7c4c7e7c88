"""Open the configured stores: which implementation serves each store seam is decided here, from the settings.

The Protocols (``vectors.VectorStore``, ``graph.GraphStore``) and their implementations never import this module,
so no store module imports another in a loop; the composition (``app.runtime``) calls these once.
"""

from __future__ import annotations

from app.config import Settings
from app.stores.graph import GraphStore, GraphStoreError
from app.stores.vectors import EDGE_DIR, VectorStore


def open_vector_store(settings: Settings) -> VectorStore:
    """The configured chunk index (not yet ensured).

    With ``settings.qdrant_url`` set: a Qdrant server collection named
    ``settings.index_name()``.  Otherwise: the qdrant-edge shard directory
    ``settings.data_dir / "qdrant-edge" / settings.index_name()``.
    """
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        from app.stores.vectors_client import QdrantClientVectorStore

        client = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key)
        return QdrantClientVectorStore(
            client,
            settings.index_name(),
            shards=settings.qdrant_shards,
            replication_factor=settings.qdrant_replication_factor,
        )
    from app.stores.vectors_edge import EdgeVectorStore

    return EdgeVectorStore(settings.data_dir / EDGE_DIR, settings.index_name(),
                           payload_in_ram=settings.edge_payload_in_ram)


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
