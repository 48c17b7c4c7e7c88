"""Cross-store consistency: the manifest, the vector store and the graph must agree."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.stores.graph import GraphReader
from app.stores.manifest import Manifest
from app.stores.vectors import VectorStore

_SHOWN = 5


@dataclass
class ConsistencyReport:
    documents: int = 0
    chunks: int = 0
    pending: int = 0
    missing_vectors: list[str] = field(default_factory=list)
    orphan_vectors: list[str] = field(default_factory=list)
    missing_graph_documents: list[str] = field(default_factory=list)
    orphan_graph_documents: list[str] = field(default_factory=list)
    stale_graph_documents: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.pending
            or self.missing_vectors
            or self.orphan_vectors
            or self.missing_graph_documents
            or self.orphan_graph_documents
            or self.stale_graph_documents
        )

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "documents": self.documents,
            "chunks": self.chunks,
            "pending": self.pending,
            "missing_vectors": len(self.missing_vectors),
            "orphan_vectors": len(self.orphan_vectors),
            "missing_graph_documents": len(self.missing_graph_documents),
            "orphan_graph_documents": len(self.orphan_graph_documents),
            "stale_graph_documents": len(self.stale_graph_documents),
        }

    def describe(self) -> str:
        lines = [f"{self.documents} documents, {self.chunks} chunks: {'consistent' if self.ok else 'INCONSISTENT'}"]
        for name in (
            "missing_vectors",
            "orphan_vectors",
            "missing_graph_documents",
            "orphan_graph_documents",
            "stale_graph_documents",
        ):
            items = getattr(self, name)
            if items:
                lines.append(f"  {name}: {len(items)} (e.g. {', '.join(sorted(items)[:_SHOWN])})")
        if self.pending:
            lines.append(f"  pending: {self.pending} unfinished index operations (run `medevidence index` to resume)")
        return "\n".join(lines)


def check_consistency(manifest: Manifest, vectors: VectorStore, graph: GraphReader) -> ConsistencyReport:
    manifest_versions = manifest.versions()
    manifest_chunks = manifest.chunk_ids()
    vector_chunks = vectors.chunk_ids()
    graph_versions = graph.document_versions()
    return ConsistencyReport(
        documents=len(manifest_versions),
        chunks=len(manifest_chunks),
        pending=manifest.counts()["pending"],
        missing_vectors=sorted(manifest_chunks - vector_chunks),
        orphan_vectors=sorted(vector_chunks - manifest_chunks),
        missing_graph_documents=sorted(set(manifest_versions) - set(graph_versions)),
        orphan_graph_documents=sorted(set(graph_versions) - set(manifest_versions)),
        stale_graph_documents=sorted(
            d for d, v in manifest_versions.items() if d in graph_versions and graph_versions[d] != v
        ),
    )
