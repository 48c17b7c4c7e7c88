"""Our lexical channel (BM25 sparse vectors in Qdrant-edge with the IDF modifier) agrees with rank_bm25."""

from __future__ import annotations

import gzip
import json
from itertools import islice
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from app.documents import parse_document
from app.stores.vectors_edge import EdgeVectorStore
from app.text.analysis import Analyzer
from indexers.chunking import ChunkingConfig, chunk_document

from .conftest import KNOWLEDGE

K = 10


def _real_chunks() -> list:  # type: ignore[type-arg]
    chunks = []
    for name in ("medquad", "pubmedqa", "openfda", "nlm180"):
        with gzip.open(KNOWLEDGE / "docs" / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in islice(fh, 120):
                chunks.extend(chunk_document(parse_document(json.loads(line)), ChunkingConfig()))
    return chunks


def test_top10_agrees_with_rank_bm25(tmp_path: Path) -> None:
    analyzer = Analyzer(user_dict=KNOWLEDGE / "vocab" / "medical_userdict.txt")
    chunks = _real_chunks()
    assert len(chunks) > 1000
    corpus = [analyzer.tokens(c.embed_text) for c in chunks]
    avgdl = sum(map(len, corpus)) / len(corpus)
    sparse = [analyzer.document_vector_from_tokens(tokens, avgdl) for tokens in corpus]
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(len(chunks), 384)).astype(np.float32)
    store = EdgeVectorStore(tmp_path / "edge", "bm25_reference")
    store.ensure(384)
    store.upsert(chunks, dense, sparse)
    reference = BM25Okapi(corpus, k1=1.5, b=0.75)

    # Queries: section headings with titles, and sentences taken from the middle of real chunks.
    queries = [f"{c.title} {c.section}" for c in chunks[::97]][:20]
    queries += [c.text.split(". ")[1] if ". " in c.text else c.text[:120] for c in chunks[50::131]][:20]
    overlaps = []
    for query in queries:
        tokens = list(dict.fromkeys(analyzer.tokens(query)))
        if not tokens:
            continue
        ours = [hit.chunk.chunk_id for hit in store.search_sparse(analyzer.query_vector(query), K, None)]
        scores = reference.get_scores(tokens)
        top = [chunks[i].chunk_id for i in np.argsort(-scores, kind="stable")[:K]]
        overlaps.append(len(set(ours) & set(top)) / K)
    store.close()
    assert len(overlaps) >= 30
    mean = sum(overlaps) / len(overlaps)
    assert mean >= 0.9, f"mean top-{K} overlap with rank_bm25 is {mean:.3f}"
