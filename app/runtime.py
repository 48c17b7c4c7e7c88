"""The stores and engines of one running MedEvidence, opened once from the settings, closed once.

Both composition roots (the CLI and ``create_app``) open a ``Runtime`` and hand each component the parts it
uses (a store, the analyzer, the encoder, the settings), never the ``Runtime`` itself. Nothing else opens a store
or a client: the index stores (manifest, vectors, graph, embedding cache, kept files, hospital aliases) open
with the runtime; the service's own stores (API keys, answer traces, the CDS audit) open on first use, so a CLI
command that never serves does not reach for a trace database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from app.auth import KeyStore
from app.config import Settings
from app.drugs.aliases import AliasStore
from app.graph_model import GraphKnowledge
from app.knowledge import load_graph_knowledge
from app.stores.audit import AuditStore
from app.stores.files import FileStore
from app.stores.graph import GraphStore
from app.stores.lock import DataDirLock
from app.stores.manifest import Manifest
from app.stores.open import open_graph_store, open_vector_store
from app.stores.reviews import ReviewStore
from app.stores.traces import TraceStore, default_url
from app.stores.vectors import VectorStore
from app.text.analysis import Analyzer
from app.text.embedding import CachedEmbedder
from app.text.redaction import redact

#: Settings read when the index stores open: a runtime that shares them (``reconfigured``) may not change these;
#: the service stores (keys, traces, audit) it opens for itself, under its own settings.
STORE_SETTINGS = frozenset({
    "data_dir", "knowledge_dir", "qdrant_url", "qdrant_api_key", "qdrant_shards", "qdrant_replication_factor",
    "edge_payload_in_ram", "neo4j_uri", "neo4j_user", "neo4j_password", "neo4j_database", "neo4j_retry_s",
    "embedding_model_id", "embedding_model_path", "embedding_languages", "embedding_batch_size",
    "chunk_max_tokens", "chunk_min_tokens", "chunk_overlap_tokens", "bm25_k1", "bm25_b",
})


@dataclass
class Runtime:
    settings: Settings
    manifest: Manifest
    vectors: VectorStore
    graph: GraphStore
    embedder: CachedEmbedder
    analyzer: Analyzer
    files: FileStore
    aliases: AliasStore
    lock: DataDirLock
    knowledge: GraphKnowledge | None = field(default=None)
    _service: dict[str, Any] = field(default_factory=dict, repr=False)  # keys, traces, audit, once opened
    _service_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _owner: Runtime | None = field(default=None, repr=False)  # the runtime whose stores this one shares

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        lock = DataDirLock(settings.data_dir)
        lock.acquire()
        opened: list[Any] = []
        try:
            manifest = Manifest(settings.manifest_path)
            opened.append(manifest)
            embedder = CachedEmbedder(settings)
            opened.append(embedder)
            vectors = open_vector_store(settings)
            opened.append(vectors)
            vectors.ensure(embedder.dim)
            graph = open_graph_store(settings)
            opened.append(graph)
            graph.ensure_schema()
            aliases = AliasStore(settings.aliases_path)
            opened.append(aliases)
        except BaseException:
            for thing in reversed(opened):
                thing.close()
            lock.release()
            raise
        analyzer = Analyzer(
            user_dict=settings.knowledge_dir / "vocab" / "medical_userdict.txt",
            k1=settings.bm25_k1,
            b=settings.bm25_b,
        )
        return cls(settings, manifest, vectors, graph, embedder, analyzer, FileStore(settings.files_dir), aliases,
                   lock)

    def reconfigured(self, **overrides: Any) -> Runtime:
        """This runtime's open stores under settings that differ only where no store is concerned (authentication,
        limits, the answer model...): what a second app over the same index needs, without opening it twice.
        Closing it closes only the service stores it opened itself."""
        touched = sorted(STORE_SETTINGS & set(overrides))
        if touched:
            raise ValueError(f"{', '.join(touched)}: the stores are open with these; open another Runtime")
        owner = self._owner or self
        return Runtime(self.settings.model_copy(update=overrides), self.manifest, self.vectors, self.graph,
                       self.embedder, self.analyzer, self.files, self.aliases, self.lock, owner.load_knowledge(),
                       _owner=owner)

    def load_knowledge(self) -> GraphKnowledge:
        """The graph knowledge files (entities, names), read once."""
        if self.knowledge is None:
            self.knowledge = load_graph_knowledge(self.settings.knowledge_dir)
        return self.knowledge

    def index_version(self) -> str:
        """The index's name (what shapes it) and its generation (bumped by every change)."""
        return self.manifest.qualified_version(self.settings.index_name())

    @property
    def keys(self) -> KeyStore:
        """The API keys (hashed), opened on first use."""
        return self._service_store("keys", lambda: open_key_store(self.settings))

    @property
    def traces(self) -> TraceStore:
        """The answer traces (SQLite under the data dir, or ``MEDEVIDENCE_TRACES_URL``), opened on first use."""
        return self._service_store("traces", lambda: TraceStore(
            self.settings.traces_url or default_url(self.settings.data_dir),
            redact if self.settings.redact_identifiers else None))

    @property
    def audit(self) -> AuditStore:
        """The CDS Hooks audit log (beside the traces), opened on first use."""
        return self._service_store("audit", lambda: AuditStore(
            self.settings.traces_url or default_url(self.settings.data_dir)))

    @property
    def reviews(self) -> ReviewStore:
        """The clinicians' reviews of answers (beside the traces), opened on first use."""
        return self._service_store("reviews", lambda: ReviewStore(
            self.settings.traces_url or default_url(self.settings.data_dir)))

    def _service_store(self, name: str, opener: Any) -> Any:
        with self._service_lock:  # two first requests at once open one store, not two
            if name not in self._service:
                self._service[name] = opener()
            return self._service[name]

    def close(self) -> None:
        """Close every store; a failure to close one does not keep the others (or the lock) open."""
        with self._service_lock:
            closers = [store.close for store in self._service.values()]
            self._service.clear()
        if self._owner is None:
            closers += [self.vectors.close, self.graph.close, self.embedder.close, self.aliases.close,
                        self.manifest.close]
        errors: list[BaseException] = []
        for closer in closers:
            try:
                closer()
            except Exception as exc:  # noqa: BLE001 - reported after the rest are closed
                errors.append(exc)
        if self._owner is None:
            self.lock.release()
        if errors:
            raise errors[0]

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_key_store(settings: Settings) -> KeyStore:
    """The API keys alone, for ``medevidence keys create``: no data-dir lock, so a key can be made while the
    server runs (the store is SQLite with its own locking)."""
    return KeyStore(settings.keys_path)
