"""The stores and engines of one running MedEvidence, opened once from the settings.

Both composition roots (the CLI and ``create_app``) open a ``Runtime`` and pass it down;
nothing else constructs clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.config import Settings
from app.graph_model import GraphKnowledge
from app.knowledge import load_graph_knowledge
from app.stores.graph import GraphStore
from app.stores.lock import DataDirLock
from app.stores.manifest import Manifest
from app.stores.open import open_graph_store, open_vector_store
from app.stores.vectors import VectorStore
from app.text.analysis import Analyzer
from app.text.embedding import CachedEmbedder


@dataclass
class Runtime:
    settings: Settings
    manifest: Manifest
    vectors: VectorStore
    graph: GraphStore
    embedder: CachedEmbedder
    analyzer: Analyzer
    lock: DataDirLock
    knowledge: GraphKnowledge | None = field(default=None)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        lock = DataDirLock(settings.data_dir)
        lock.acquire()
        opened: list[object] = []
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
        except BaseException:
            for thing in reversed(opened):
                thing.close()  # type: ignore[attr-defined]
            lock.release()
            raise
        analyzer = Analyzer(
            user_dict=settings.knowledge_dir / "vocab" / "medical_userdict.txt",
            k1=settings.bm25_k1,
            b=settings.bm25_b,
        )
        return cls(settings, manifest, vectors, graph, embedder, analyzer, lock)

    def load_knowledge(self) -> GraphKnowledge:
        """The graph knowledge files (entities, names), read once."""
        if self.knowledge is None:
            self.knowledge = load_graph_knowledge(self.settings.knowledge_dir)
        return self.knowledge

    def index_version(self) -> str:
        """The index's name (what shapes it) and its generation (bumped by every change)."""
        return f"{self.settings.index_name()}@{self.manifest.index_version()}"

    def close(self) -> None:
        """Close every store; a failure to close one does not keep the others (or the lock) open."""
        errors: list[BaseException] = []
        for closer in (self.vectors.close, self.graph.close, self.embedder.close, self.manifest.close):
            try:
                closer()
            except Exception as exc:  # noqa: BLE001 - reported after the rest are closed
                errors.append(exc)
        self.lock.release()
        if errors:
            raise errors[0]

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
