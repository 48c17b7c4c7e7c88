"""What /metrics reads from the open runtime at scrape time: index size and the embedding cache's hit rate."""

from __future__ import annotations

from collections.abc import Callable

from app.runtime import Runtime


def index_probes(rt: Runtime) -> dict[str, tuple[str, Callable[[], float]]]:
    cache = rt.embedder.cache

    def hit_rate() -> float:
        total = cache.hits + cache.misses
        return cache.hits / total if total else 0.0

    return {
        "medevidence_index_documents": ("Documents in the index", lambda: rt.manifest.counts()["documents"]),
        "medevidence_index_chunks": ("Chunks in the index", lambda: rt.manifest.counts()["chunks"]),
        "medevidence_index_pending_operations": ("Index operations logged but not yet applied",
                                                 lambda: rt.manifest.counts()["pending"]),
        "medevidence_embedding_cache_hit_ratio": ("Share of embedding lookups served from the vector cache",
                                                  hit_rate),
    }
