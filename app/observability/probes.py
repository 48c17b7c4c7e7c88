"""What /metrics reads from the open runtime at scrape time: index size and the embedding cache's hit rate."""

from __future__ import annotations

from collections.abc import Callable

from app.stores.manifest import Manifest
from app.text.embedding import CachedEmbedder


def index_probes(manifest: Manifest, embedder: CachedEmbedder) -> dict[str, tuple[str, Callable[[], float]]]:
    cache = embedder.cache

    def hit_rate() -> float:
        total = cache.hits + cache.misses
        return cache.hits / total if total else 0.0

    return {
        "medevidence_index_documents": ("Documents in the index", lambda: manifest.counts()["documents"]),
        "medevidence_index_chunks": ("Chunks in the index", lambda: manifest.counts()["chunks"]),
        "medevidence_index_pending_operations": ("Index operations logged but not yet applied",
                                                 lambda: manifest.counts()["pending"]),
        "medevidence_embedding_cache_hit_ratio": ("Share of embedding lookups served from the vector cache",
                                                  hit_rate),
    }
