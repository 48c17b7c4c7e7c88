"""Embedded chunk index: one qdrant-edge shard directory (see :mod:`app.stores.vectors`).

Durability: the shard keeps its write-ahead log on (the engine default).  Every update is
in the memory-mapped WAL when ``EdgeShard.update`` returns, and ``EdgeShard.load`` replays
it, so a process killed right after :meth:`EdgeVectorStore.upsert` returns (even by
SIGKILL) loses nothing.  ``update`` itself issues no fsync/msync, though, so those pages
sit in the OS page cache: only :meth:`EdgeVectorStore.flush` (also run by
:meth:`~EdgeVectorStore.close`), which syncs the WAL and the segments, protects against
an operating-system crash or power loss.

Only one ``EdgeShard`` may hold a directory at a time (the engine locks the WAL); a second
store on the same directory, in this or another process, fails to open.

The engine has no background optimizer: new points go to appendable segments that are
searched exhaustively.  :meth:`EdgeVectorStore.optimize` merges segments and builds the
HNSW and sparse indexes; ``medevidence index`` runs it at the end of every run.  It holds the
GIL while it works, so a serving process does not call it.

Payloads (the chunk texts and their citation fields) are kept in RAM by default
(``payload_in_ram``): read from the memory-mapped file on demand, a payload not read
recently cost about 0.1 ms per returned chunk on the 100k-chunk benchmark corpus, as much
as the sparse search itself.  The placement is part of the shard's persisted config; opening
a shard with the other placement rewrites that config, and the engine moves the segments at
the next :meth:`~EdgeVectorStore.optimize`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import qdrant_edge as qe

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

CONFIG_FILE = "edge_config.json"


def _filter(filters: SearchFilters | None) -> qe.Filter | None:
    """SearchFilters as a qdrant-edge filter (None when nothing restricts)."""
    if filters is None:
        return None
    must: list[qe.FieldCondition] = []
    if filters.source_type:
        must.append(qe.FieldCondition(key="source_type", match=qe.MatchAny(any=list(filters.source_type))))
    if filters.language:
        must.append(qe.FieldCondition(key="language", match=qe.MatchValue(value=filters.language)))
    if filters.doc_ids is not None:
        must.append(qe.FieldCondition(key="doc_id", match=qe.MatchAny(any=list(filters.doc_ids))))
    ts = published_from_ts(filters)
    if ts is not None:
        must.append(qe.FieldCondition(key=PUBLISHED_TS, range=qe.RangeFloat(gte=float(ts))))
    return qe.Filter(must=list(must)) if must else None


def _sparse(vec: SparseVec) -> qe.SparseVector:
    return qe.SparseVector(indices=[int(i) for i in vec.indices], values=[float(v) for v in vec.values])


def _scored(points: Sequence[qe.ScoredPoint]) -> list[ScoredChunk]:
    return [ScoredChunk(chunk=Chunk.from_payload(p.payload or {}), score=float(p.score)) for p in points]


#: Payload placement by its name in the persisted config.
PAYLOAD_MEMORY = {"cached": qe.Memory.Cached, "cold": qe.Memory.Cold}


def _persisted_config(shard_dir: Path) -> dict[str, Any] | None:
    """The shard's persisted edge_config.json, None if absent or unreadable."""
    try:
        config = json.loads((Path(shard_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def _payload_memory_of(config: dict[str, Any]) -> str:
    """"cold" or "cached"; configs written before ``payload_memory`` existed say ``on_disk_payload``
    (true or absent: "cold")."""
    memory = config.get("payload_memory")
    if isinstance(memory, str):
        return memory.lower()
    return "cached" if config.get("on_disk_payload") is False else "cold"


def _dense_dim_of(config: dict[str, Any]) -> int | None:
    try:
        return int(config["vectors"][DENSE_VECTOR]["size"])
    except (KeyError, TypeError, ValueError):
        return None


def stored_payload_memory(shard_dir: Path) -> str | None:
    """The payload placement in a shard's persisted config ("cold" or "cached"), None if unreadable."""
    config = _persisted_config(shard_dir)
    return None if config is None else _payload_memory_of(config)


class EdgeVectorStore:
    """The chunk index in the qdrant-edge shard directory ``path / name``.

    The shard is opened when the directory already holds one, else created by
    :meth:`ensure`.
    """

    def __init__(self, path: Path, name: str, payload_in_ram: bool = True) -> None:
        self.shard_dir = Path(path) / name
        self._payload_memory = "cached" if payload_in_ram else "cold"
        self._shard: qe.EdgeShard | None = None
        self._closed = False
        if (self.shard_dir / CONFIG_FILE).exists():
            self._shard = self._load()

    # -- lifecycle -----------------------------------------------------------------

    def ensure(self, dense_dim: int) -> None:
        """Create the shard with its vectors and payload indexes if absent (idempotent)."""
        self._check_open()
        if self._shard is None and (self.shard_dir / CONFIG_FILE).exists():  # made by another process
            self._shard = self._load()
        if self._shard is None:
            self.shard_dir.mkdir(parents=True, exist_ok=True)
            self._shard = qe.EdgeShard.create(str(self.shard_dir), self._config(dense_dim))
        else:
            stored = self._stored_dim()
            if stored is not None and stored != dense_dim:
                raise ValueError(f"{self.shard_dir} holds {stored}-d vectors, not {dense_dim}-d")
        existing = set(self._shard.info().payload_schema)
        for key in KEYWORD_INDEXES:
            if key not in existing:
                self._shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword))
        for key in INTEGER_INDEXES:
            if key not in existing:
                self._shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Integer))

    def flush(self) -> None:
        """Sync the WAL and segments to disk (the WAL alone already survives a killed process)."""
        shard = self._reader()
        if shard is not None:
            shard.flush()

    def optimize(self) -> bool:
        """Merge segments and build the HNSW and sparse indexes (blocking); True if anything changed."""
        shard = self._reader()
        return bool(shard.optimize()) if shard is not None else False

    def close(self) -> None:
        """Flush and close the shard; idempotent."""
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None
        self._closed = True

    # -- writes ----------------------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[SparseVec]) -> None:
        """Write chunks by point id in batches of UPSERT_BATCH; empty sparse vectors are omitted."""
        matrix = check_upsert_args(chunks, dense, sparse)
        shard = self._writable()
        rows = matrix.tolist()
        for start in range(0, len(chunks), UPSERT_BATCH):
            points = []
            for i in range(start, min(start + UPSERT_BATCH, len(chunks))):
                vectors: dict[str, list[float] | qe.SparseVector | list[list[float]]] = {
                    DENSE_VECTOR: rows[i]
                }
                if sparse[i].indices:
                    vectors[SPARSE_VECTOR] = _sparse(sparse[i])
                chunk = chunks[i]
                points.append(qe.Point(id=chunk.point_id, vector=vectors, payload=point_payload(chunk)))
            shard.update(qe.UpdateOperation.upsert_points(points))

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Delete all points whose payload doc_id is one of ``doc_ids``."""
        shard = self._reader()
        if not doc_ids or shard is None:
            return
        condition = qe.FieldCondition(key="doc_id", match=qe.MatchAny(any=list(doc_ids)))
        shard.update(qe.UpdateOperation.delete_points_by_filter(qe.Filter(must=[condition])))

    def delete_stale_versions(self, doc_id: str, keep_version: str) -> None:
        """Delete the points of ``doc_id`` whose payload version differs from ``keep_version``."""
        shard = self._reader()
        if shard is None:
            return
        stale = qe.Filter(
            must=[qe.FieldCondition(key="doc_id", match=qe.MatchValue(value=doc_id))],
            must_not=[qe.FieldCondition(key="version", match=qe.MatchValue(value=keep_version))],
        )
        shard.update(qe.UpdateOperation.delete_points_by_filter(stale))

    # -- reads -----------------------------------------------------------------------

    def chunk_ids(self, doc_ids: Sequence[str] | None = None) -> set[str]:
        """Scroll the chunk_id payload of the given documents (all when None)."""
        shard = self._reader()
        if shard is None or (doc_ids is not None and not doc_ids):
            return set()
        flt = None
        if doc_ids is not None:
            flt = qe.Filter(must=[qe.FieldCondition(key="doc_id", match=qe.MatchAny(any=list(doc_ids)))])
        found: set[str] = set()
        offset = None
        while True:
            request = qe.ScrollRequest(
                offset=offset,
                limit=SCROLL_PAGE,
                filter=flt,
                with_payload=qe.PayloadSelector.Include(["chunk_id"]),
                with_vector=False,
            )
            records, offset = shard.scroll(request)
            found.update(str(r.payload["chunk_id"]) for r in records if r.payload)
            if offset is None:
                return found

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """Retrieve chunks by point id, in the requested order."""
        shard = self._reader()
        if shard is None or not chunk_ids:
            return []
        ids: list[int | UUID | str] = list(dict.fromkeys(point_id_for(cid) for cid in chunk_ids))
        records = shard.retrieve(ids, with_payload=True, with_vector=False)
        return ordered_chunks(chunk_ids, [r.payload for r in records])

    def count(self) -> int:
        """Exact point count."""
        shard = self._reader()
        return 0 if shard is None else int(shard.count(qe.CountRequest(exact=True)))

    def search_dense(
        self, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity on the dense vector."""
        nearest = qe.Query.Nearest(query_vector(vector), using=DENSE_VECTOR)
        flt = _filter(filters)
        return self._query(qe.QueryRequest(limit=k, query=nearest, filter=flt, with_payload=True))

    def search_sparse(
        self, query: SparseVec, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        """Best chunks by IDF-weighted dot product on the bm25 sparse vector."""
        if not query.indices:
            return []
        nearest = qe.Query.Nearest(_sparse(query), using=SPARSE_VECTOR)
        flt = _filter(filters)
        return self._query(qe.QueryRequest(limit=k, query=nearest, filter=flt, with_payload=True))

    # -- helpers -----------------------------------------------------------------------

    def _query(self, request: qe.QueryRequest) -> list[ScoredChunk]:
        shard = self._reader()
        return [] if shard is None else _scored(shard.query(request))

    def _reader(self) -> qe.EdgeShard | None:
        """The open shard, or None before ensure(); a closed store raises RuntimeError."""
        self._check_open()
        return self._shard

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"vector store {self.shard_dir} is closed")

    def _writable(self) -> qe.EdgeShard:
        self._check_open()
        if self._shard is None:
            raise RuntimeError(f"vector store {self.shard_dir} does not exist yet: call ensure() first")
        return self._shard

    def _config(self, dense_dim: int) -> qe.EdgeConfig:
        return qe.EdgeConfig(
            vectors={DENSE_VECTOR: qe.EdgeVectorParams(size=dense_dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            payload_memory=PAYLOAD_MEMORY[self._payload_memory],
        )

    def _load(self) -> qe.EdgeShard:
        """Open the shard; a persisted payload placement other than the wanted one is rewritten (the
        engine moves the segments at the next optimisation)."""
        config = _persisted_config(self.shard_dir)
        dim = None if config is None else _dense_dim_of(config)
        if config is None or dim is None or _payload_memory_of(config) == self._payload_memory:
            return qe.EdgeShard.load(str(self.shard_dir))
        return qe.EdgeShard.load(str(self.shard_dir), self._config(dim))

    def _stored_dim(self) -> int | None:
        """Dense dimension recorded in the shard's persisted edge_config.json, if readable."""
        config = _persisted_config(self.shard_dir)
        return None if config is None else _dense_dim_of(config)
