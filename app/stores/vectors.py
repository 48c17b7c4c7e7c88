"""The chunk index: one Qdrant collection (or qdrant-edge shard) of hybrid-searchable chunks.

Every point is one :class:`~app.model.Chunk`, keyed by ``Chunk.point_id`` (a UUID derived
from the chunk id, so writing the same chunk again overwrites it), and carries

* ``"dense"``: a named dense vector (cosine distance, dimension fixed at creation);
* ``"bm25"``: a named sparse vector with Qdrant's IDF modifier.  Documents send BM25
  term-frequency weights, queries send weight 1.0 per term, and the engine multiplies by
  the IDF it keeps up to date itself.  A chunk whose sparse vector is empty is stored
  without one, so it never matches a sparse query;
* the payload ``Chunk.payload()`` plus ``published_ts`` (integer epoch seconds, UTC, of
  ``published``; absent when the chunk has no parseable date) for the date-range filter.

Search filters (:class:`~app.model.SearchFilters`) are turned into engine filter objects
and sent with the query, so a filtered search returns the top ``k`` of the matching subset:
``source_type`` -> match any (None or an empty tuple: no restriction), ``language`` ->
exact match, ``published_from`` -> ``published_ts >= `` that date (undated chunks never
match it).

Two implementations share this contract:

* :class:`app.stores.vectors_edge.EdgeVectorStore`: embedded qdrant-edge shard on disk;
* :class:`app.stores.vectors_client.QdrantClientVectorStore`: a Qdrant server through
  ``qdrant-client``, which also runs against qdrant-client's local mode.

:func:`app.stores.open.open_vector_store` picks one from the settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np

from app.model import Chunk, ScoredChunk, SearchFilters, SparseVec

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "bm25"
PUBLISHED_TS = "published_ts"
KEYWORD_INDEXES: tuple[str, ...] = ("doc_id", "version", "source_type", "language")
INTEGER_INDEXES: tuple[str, ...] = (PUBLISHED_TS,)
UPSERT_BATCH = 256
SCROLL_PAGE = 1024
EDGE_DIR = "qdrant-edge"


@runtime_checkable
class VectorStore(Protocol):
    """Hybrid (dense + BM25 sparse) chunk index.  All methods are synchronous.

    Reads on an index that :meth:`ensure` has not created yet return nothing
    (``count() == 0``, empty searches); writes before :meth:`ensure` raise ``RuntimeError``.
    """

    def ensure(self, dense_dim: int) -> None:
        """Create the index if absent (idempotent); a different existing dimension is a ValueError."""
        ...

    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[SparseVec]) -> None:
        """Write chunks with their dense rows (n x dim float32) and sparse vectors, by point id."""
        ...

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Delete every point of these documents (all versions)."""
        ...

    def delete_stale_versions(self, doc_id: str, keep_version: str) -> None:
        """Delete the points of ``doc_id`` whose version is not ``keep_version``."""
        ...

    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> set[str]:
        """Chunk ids stored for these documents, or for all documents when None."""
        ...

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """Stored chunks in the requested order; unknown ids are skipped."""
        ...

    def count(self) -> int:
        """Exact number of points."""
        ...

    def search_dense(
        self, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        """Top ``k`` chunks by cosine similarity to ``vector``, filters pushed down."""
        ...

    def search_sparse(
        self, query: SparseVec, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        """Top ``k`` chunks by IDF-weighted sparse dot product; no known term -> no result."""
        ...

    def flush(self) -> None:
        """Make every acknowledged write durable on disk."""
        ...

    def optimize(self) -> bool:
        """Merge segments and build the vector indexes now (blocking); True if anything changed.

        Call after a bulk load: qdrant-edge has no background optimizer.  Qdrant servers
        optimize in the background, so there it returns False at once.
        """
        ...

    def close(self) -> None:
        """Flush and release the index; the store is unusable afterwards."""
        ...


def parse_published(value: str | None) -> int | None:
    """Epoch seconds (UTC) of an ISO date or date-time; None when absent or unparseable.

    ``"2021"`` and ``"2021-05"`` mean the first day of that year or month; a date-time
    without a zone is taken as UTC.
    """
    if not value:
        return None
    text = value.strip()
    if len(text) == 4 and text.isdigit():
        text += "-01-01"
    elif len(text) == 7 and text[:4].isdigit() and text[4] == "-" and text[5:].isdigit():
        text += "-01"
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp())


def published_from_ts(filters: SearchFilters | None) -> int | None:
    """The lower bound of the date filter in epoch seconds; a malformed date is a ValueError."""
    if filters is None or not filters.published_from:
        return None
    ts = parse_published(filters.published_from)
    if ts is None:
        raise ValueError(f"published_from is not an ISO date: {filters.published_from!r}")
    return ts


def point_payload(chunk: Chunk) -> dict[str, Any]:
    """The stored payload: ``Chunk.payload()`` plus ``published_ts`` when the date parses."""
    payload = chunk.payload()
    ts = parse_published(chunk.published)
    if ts is not None:
        payload[PUBLISHED_TS] = ts
    return payload


def check_upsert_args(chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[SparseVec]) -> np.ndarray:
    """Validate the three parallel inputs of ``upsert``; returns ``dense`` as float32."""
    matrix = np.asarray(dense, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"dense must be a 2-d array, got shape {matrix.shape}")
    if not len(chunks) == matrix.shape[0] == len(sparse):
        raise ValueError(
            f"chunks ({len(chunks)}), dense rows ({matrix.shape[0]}) and sparse vectors "
            f"({len(sparse)}) differ in length"
        )
    for vec in sparse:
        if len(vec.indices) != len(vec.values):
            raise ValueError("sparse vector has different numbers of indices and values")
    return matrix


def query_vector(vector: np.ndarray) -> list[float]:
    """A 1-d query vector as a list of floats."""
    flat = np.asarray(vector, dtype=np.float32).reshape(-1)
    return [float(x) for x in flat]


def ordered_chunks(chunk_ids: Sequence[str], payloads: Sequence[dict[str, Any] | None]) -> list[Chunk]:
    """Chunks from retrieved payloads, in the order of ``chunk_ids`` (missing ones skipped)."""
    found: dict[str, Chunk] = {}
    for payload in payloads:
        if payload:
            chunk = Chunk.from_payload(payload)
            found[chunk.chunk_id] = chunk
    return [found[cid] for cid in chunk_ids if cid in found]
