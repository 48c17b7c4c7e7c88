"""Chunk index in a Qdrant collection through qdrant-client (see :mod:`app.stores.vectors`).

The same code serves a Qdrant server (``QdrantClient(url=..., api_key=...)``) and
qdrant-client's local mode (``QdrantClient(path=...)`` or ``QdrantClient(":memory:")``).
Writes use ``wait=True``, so an acknowledged write is applied (and in the server's WAL).
Local mode has no payload indexes: :meth:`QdrantClientVectorStore.ensure` skips its
warning, and filters still work there by scanning.

"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from app.model import Chunk, ScoredChunk, SearchFilters, SparseVec, point_id_for
from app.stores.vectors import (
    DENSE_VECTOR,
    INTEGER_INDEXES,
    KEYWORD_INDEXES,
    PUBLISHED_TS,
    SCROLL_PAGE,
    SPARSE_VECTOR,
    UPSERT_BATCH,
    check_upsert_args,
    ordered_chunks,
    point_payload,
    published_from_ts,
    query_vector,
)


def _filter(filters: SearchFilters | None) -> qm.Filter | None:
    """SearchFilters as a qdrant-client filter (None when nothing restricts)."""
    if filters is None:
        return None
    must: list[qm.Condition] = []
    if filters.source_type:
        must.append(qm.FieldCondition(key="source_type", match=qm.MatchAny(any=list(filters.source_type))))
    if filters.language:
        must.append(qm.FieldCondition(key="language", match=qm.MatchValue(value=filters.language)))
    if filters.doc_ids is not None:
        must.append(qm.FieldCondition(key="doc_id", match=qm.MatchAny(any=list(filters.doc_ids))))
    ts = published_from_ts(filters)
    if ts is not None:
        must.append(qm.FieldCondition(key=PUBLISHED_TS, range=qm.Range(gte=ts)))
    return qm.Filter(must=must) if must else None


def _sparse(vec: SparseVec) -> qm.SparseVector:
    return qm.SparseVector(indices=[int(i) for i in vec.indices], values=[float(v) for v in vec.values])


def _scored(points: Sequence[qm.ScoredPoint]) -> list[ScoredChunk]:
    return [ScoredChunk(chunk=Chunk.from_payload(p.payload or {}), score=float(p.score)) for p in points]


class QdrantClientVectorStore:
    """The chunk index as collection ``collection`` of ``client``; :meth:`close` closes the client.

    ``shards`` and ``replication_factor`` apply when :meth:`ensure` creates the collection.
    """

    def __init__(
        self, client: QdrantClient, collection: str, shards: int = 1, replication_factor: int = 1
    ) -> None:
        self.client = client
        self.collection = collection
        self.shards = shards
        self.replication_factor = replication_factor
        self._exists = False
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------

    def ensure(self, dense_dim: int) -> None:
        """Create the collection and payload indexes if absent (idempotent)."""
        self._check_open()
        if not self.client.collection_exists(self.collection):
            dense = qm.VectorParams(size=dense_dim, distance=qm.Distance.COSINE)
            try:
                self.client.create_collection(
                    self.collection,
                    vectors_config={DENSE_VECTOR: dense},
                    sparse_vectors_config={SPARSE_VECTOR: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
                    shard_number=self.shards,
                    replication_factor=self.replication_factor,
                )
            except Exception:
                # Another process may have created it between the check and the call.
                if not self.client.collection_exists(self.collection):
                    raise
        info = self.client.get_collection(self.collection)
        vectors = info.config.params.vectors
        stored = vectors.get(DENSE_VECTOR) if isinstance(vectors, dict) else None
        if stored is None or stored.size != dense_dim:
            raise ValueError(
                f"collection {self.collection!r} has no {dense_dim}-d {DENSE_VECTOR!r} vector: {vectors}"
            )
        schema = dict(info.payload_schema or {})
        wanted = [(key, qm.PayloadSchemaType.KEYWORD) for key in KEYWORD_INDEXES]
        wanted += [(key, qm.PayloadSchemaType.INTEGER) for key in INTEGER_INDEXES]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Payload indexes have no effect in the local Qdrant")
            for key, kind in wanted:
                if key not in schema:
                    self.client.create_payload_index(self.collection, key, kind, wait=True)
        self._exists = True

    def flush(self) -> None:
        """Nothing to do: every write was acknowledged with ``wait=True``."""
        self._check_open()

    def optimize(self) -> bool:
        """Nothing to do: the server (or local mode's exhaustive search) needs no manual step."""
        self._check_open()
        return False

    def close(self) -> None:
        """Close the client; idempotent."""
        if not self._closed:
            self.client.close()
            self._closed = True

    # -- writes ----------------------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[SparseVec]) -> None:
        """Write chunks by point id in batches of UPSERT_BATCH; empty sparse vectors are omitted."""
        matrix = check_upsert_args(chunks, dense, sparse)
        self._check_open()
        if not self._ready():
            raise RuntimeError(f"collection {self.collection!r} does not exist yet: call ensure() first")
        rows = matrix.tolist()
        for start in range(0, len(chunks), UPSERT_BATCH):
            points = []
            for i in range(start, min(start + UPSERT_BATCH, len(chunks))):
                vectors: dict[str, qm.Vector] = {DENSE_VECTOR: rows[i]}
                if sparse[i].indices:
                    vectors[SPARSE_VECTOR] = _sparse(sparse[i])
                chunk = chunks[i]
                points.append(qm.PointStruct(id=chunk.point_id, vector=vectors, payload=point_payload(chunk)))
            self.client.upsert(self.collection, points=points, wait=True)

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Delete all points whose payload doc_id is one of ``doc_ids``."""
        if not doc_ids or not self._ready():
            return
        condition = qm.FieldCondition(key="doc_id", match=qm.MatchAny(any=list(doc_ids)))
        self._delete(qm.Filter(must=[condition]))

    def delete_stale_versions(self, doc_id: str, keep_version: str) -> None:
        """Delete the points of ``doc_id`` whose payload version differs from ``keep_version``."""
        if not self._ready():
            return
        self._delete(
            qm.Filter(
                must=[qm.FieldCondition(key="doc_id", match=qm.MatchValue(value=doc_id))],
                must_not=[qm.FieldCondition(key="version", match=qm.MatchValue(value=keep_version))],
            )
        )

    # -- reads -----------------------------------------------------------------------

    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> set[str]:
        """Scroll the chunk_id payload of the given documents (all when None)."""
        if not self._ready() or (doc_ids is not None and not doc_ids):
            return set()
        flt = None
        if doc_ids is not None:
            flt = qm.Filter(must=[qm.FieldCondition(key="doc_id", match=qm.MatchAny(any=list(doc_ids)))])
        found: set[str] = set()
        offset: qm.ExtendedPointId | None = None
        while True:
            records, offset = self.client.scroll(
                self.collection,
                scroll_filter=flt,
                limit=SCROLL_PAGE,
                offset=offset,
                with_payload=["chunk_id"],
                with_vectors=False,
            )
            found.update(str(r.payload["chunk_id"]) for r in records if r.payload)
            if offset is None:
                return found

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """Retrieve chunks by point id, in the requested order."""
        if not chunk_ids or not self._ready():
            return []
        ids: list[qm.ExtendedPointId] = list(dict.fromkeys(point_id_for(cid) for cid in chunk_ids))
        records = self.client.retrieve(self.collection, ids=ids, with_payload=True, with_vectors=False)
        return ordered_chunks(chunk_ids, [r.payload for r in records])

    def count(self) -> int:
        """Exact point count."""
        if not self._ready():
            return 0
        return int(self.client.count(self.collection, exact=True).count)

    def search_dense(
        self, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity on the dense vector."""
        if not self._ready():
            return []
        response = self.client.query_points(
            self.collection,
            query=query_vector(vector),
            using=DENSE_VECTOR,
            query_filter=_filter(filters),
            limit=k,
            with_payload=True,
        )
        return _scored(response.points)

    def search_sparse(
        self, query: SparseVec, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        """Best chunks by IDF-weighted dot product on the bm25 sparse vector."""
        if not query.indices or not self._ready():
            return []
        response = self.client.query_points(
            self.collection,
            query=_sparse(query),
            using=SPARSE_VECTOR,
            query_filter=_filter(filters),
            limit=k,
            with_payload=True,
        )
        return _scored(response.points)

    # -- helpers -----------------------------------------------------------------------

    def _delete(self, flt: qm.Filter) -> None:
        self.client.delete(self.collection, points_selector=qm.FilterSelector(filter=flt), wait=True)

    def _ready(self) -> bool:
        """Whether the collection exists (checked with the server until it does)."""
        self._check_open()
        if not self._exists:
            self._exists = self.client.collection_exists(self.collection)
        return self._exists

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"vector store {self.collection!r} is closed")
