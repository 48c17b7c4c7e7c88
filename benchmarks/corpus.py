"""Corpora of any size built from the real starter chunks, deterministically (copy and perturb).

- ``size`` at most the starter's chunk count: a seeded sample of the starter chunks, unchanged.
- Larger: every starter chunk once (copy 0), then perturbed copies 1, 2, ... until ``size`` (the last
  copy is a seeded sample).  A copy gets other document ids (``<doc_id>~<copy>``), its chunk text loses a
  seeded ``DROP`` share of its words (title and section are kept), and its dense vector is the cached
  vector of the original plus seeded Gaussian noise (``NOISE`` per coordinate, then renormalised: cosine
  about 0.97 to the original), so copies are near duplicates, not ties, and nothing is re-embedded.

The same ``seed`` and ``size`` give the same chunks, texts and vectors on every run.  Chunks of copies
are benchmark material only: their ``text`` no longer equals their document's ``text[start:end]``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.model import Chunk

SEED = 20261201
DROP = 0.10
NOISE = 0.0128
UPSERT_BLOCK = 5000
STORE_NAME = "bench"


@dataclass
class BaseCorpus:
    """The starter chunks, sorted by chunk id, and their cached MiniLM vectors (one row each)."""

    chunks: list[Chunk]
    dense: np.ndarray


def load_base(rt: Any) -> BaseCorpus:
    """Every chunk of an open runtime's index, with its vector from the vector cache."""
    chunks = rt.vectors.get_chunks(sorted(rt.vectors.chunk_ids()))
    dense = rt.embedder.encode_keyed([c.text_hash for c in chunks], [c.embed_text for c in chunks])
    return BaseCorpus(chunks, np.asarray(dense, dtype=np.float32))


def perturb_text(text: str, rng: np.random.Generator) -> str:
    """Drop a seeded ``DROP`` share of the words (never the first, so no chunk becomes empty)."""
    words = text.split(" ")
    keep = rng.random(len(words)) >= DROP
    keep[0] = True
    return " ".join(w for w, k in zip(words, keep, strict=True) if k)


def plan(base_size: int, size: int, seed: int = SEED) -> list[tuple[int, np.ndarray]]:
    """(copy number, base rows) blocks that make up a corpus of ``size`` chunks."""
    if size < 1 or base_size < 1:
        raise ValueError("size and base_size must be at least 1")
    if size <= base_size:
        return [(0, np.sort(np.random.default_rng(seed).permutation(base_size)[:size]))]
    blocks = [(0, np.arange(base_size))]
    left, copy = size - base_size, 1
    while left > 0:
        n = min(left, base_size)
        rows = np.arange(base_size) if n == base_size else np.sort(
            np.random.default_rng((seed, copy, 1)).permutation(base_size)[:n])
        blocks.append((copy, rows))
        left, copy = left - n, copy + 1
    return blocks


def copy_block(base: BaseCorpus, copy: int, rows: np.ndarray, seed: int = SEED) -> tuple[list[Chunk], np.ndarray]:
    """The chunks and vectors of one block: originals for copy 0, perturbed near duplicates after."""
    if copy == 0:
        return [base.chunks[i] for i in rows], base.dense[rows]
    rng = np.random.default_rng((seed, copy))
    chunks = [replace(c, doc_id=f"{c.doc_id}~{copy}", text=perturb_text(c.text, rng))
              for c in (base.chunks[i] for i in rows)]
    noisy = base.dense[rows] + rng.standard_normal((len(rows), base.dense.shape[1])).astype(np.float32) * NOISE
    noisy /= np.maximum(np.linalg.norm(noisy, axis=1, keepdims=True), 1e-12)
    return chunks, noisy.astype(np.float32)


def scaled(base: BaseCorpus, size: int, seed: int = SEED) -> Iterator[tuple[int, list[Chunk], np.ndarray]]:
    """(copy, chunks, vectors) blocks of a ``size``-chunk corpus, in a fixed order."""
    for copy, rows in plan(len(base.chunks), size, seed):
        chunks, dense = copy_block(base, copy, rows, seed)
        yield copy, chunks, dense


@dataclass
class Built:
    """A scaled corpus: its chunks, vectors, our analyzer's tokens and (when stored) its qdrant-edge store."""

    chunks: list[Chunk]
    dense: np.ndarray
    tokens: list[list[str]]
    avgdl: float
    copy_cosine: float | None  # mean cosine of a perturbed vector to its original (None: no copies)
    store: Any = None
    load_seconds: float = 0.0
    optimize_seconds: float = 0.0


def make_corpus(base: BaseCorpus, analyzer: Any, size: int, seed: int = SEED) -> Built:
    """Chunks, vectors and interned tokens of a ``size``-chunk corpus (no store yet)."""
    chunks: list[Chunk] = []
    blocks: list[np.ndarray] = []
    cosines: list[float] = []
    for copy, rows in plan(len(base.chunks), size, seed):
        part, dense = copy_block(base, copy, rows, seed)
        chunks += part
        blocks.append(dense)
        if copy:
            cosines.append(float(np.mean(np.sum(base.dense[rows] * dense, axis=1))))
    tokens = [[sys.intern(t) for t in analyzer.tokens(c.embed_text)] for c in chunks]
    avgdl = sum(map(len, tokens)) / max(len(tokens), 1)
    return Built(chunks, np.concatenate(blocks), tokens, avgdl, float(np.mean(cosines)) if cosines else None)


def store_corpus(built: Built, analyzer: Any, path: Path, name: str = STORE_NAME) -> Built:
    """Write ``built`` into a fresh qdrant-edge store at ``path/name`` and optimise it once.

    BM25 document vectors use the corpus's own average length, as the indexer would on this corpus;
    qdrant-edge has no background optimiser, so a bulk load is followed by one ``optimize``."""
    from app.stores.vectors_edge import EdgeVectorStore

    store = EdgeVectorStore(path, name)
    store.ensure(built.dense.shape[1])
    started = time.perf_counter()
    for start in range(0, len(built.chunks), UPSERT_BLOCK):
        end = start + UPSERT_BLOCK
        sparse = [analyzer.document_vector_from_tokens(t, built.avgdl) for t in built.tokens[start:end]]
        store.upsert(built.chunks[start:end], built.dense[start:end], sparse)
    built.load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    store.optimize()
    built.optimize_seconds = time.perf_counter() - started
    built.store = store
    return built


def export(built: Built, directory: Path) -> None:
    """``dense.npy`` and ``chunks.jsonl`` (chunk id, doc id, text the encoders see) for the baselines."""
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "dense.npy", built.dense)
    with (directory / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for c in built.chunks:
            fh.write(json.dumps({"id": c.chunk_id, "doc": c.doc_id, "text": c.embed_text}, ensure_ascii=False) + "\n")


@dataclass
class Exported:
    chunk_ids: list[str]
    doc_ids: list[str]
    texts: list[str]
    dense: np.ndarray


def load_export(directory: Path) -> Exported:
    ids: list[str] = []
    docs: list[str] = []
    texts: list[str] = []
    with (directory / "chunks.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            ids.append(row["id"])
            docs.append(row["doc"])
            texts.append(row["text"])
    return Exported(ids, docs, texts, np.load(directory / "dense.npy"))
