"""Builds the shipped embedding cache: vectors of every starter-knowledge chunk.

``knowledge/embeddings/<model>.npz`` holds (text hash -> float16 vector) for the chunks
that the default chunking makes of ``knowledge/docs``, so a fresh clone indexes the
starter knowledge without running the encoder.  Resumable: finished vectors are kept in
a work cache (SQLite) until the archive is written.

    python -m indexers.embedding_cache_build --knowledge knowledge
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

from app.config import Settings
from app.documents import parse_document
from app.text.embedding import SentenceTransformerEmbedder, VectorCache, default_model_path, shipped_cache_file
from indexers.chunking import ChunkingConfig, chunk_document

SLAB = 2048


def starter_chunk_texts(knowledge_dir: Path, cfg: ChunkingConfig) -> dict[str, str]:
    """text hash -> embedded text, for every chunk of the starter knowledge."""
    texts: dict[str, str] = {}
    for path in sorted((knowledge_dir / "docs").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                doc = parse_document(json.loads(line))
                for chunk in chunk_document(doc, cfg):
                    texts[chunk.text_hash] = chunk.embed_text
    return texts


def build(out_dir: Path, work_cache: Path | None = None) -> dict[str, object]:
    settings = Settings(knowledge_dir=out_dir)
    cfg = ChunkingConfig(settings.chunk_max_tokens, settings.chunk_min_tokens, settings.chunk_overlap_tokens)
    texts = starter_chunk_texts(out_dir, cfg)
    model_id = settings.embedding_model_id
    target = shipped_cache_file(out_dir, model_id)
    cache = VectorCache(work_cache or Path("build") / "embedding-work.sqlite", model_id, target)
    keys = sorted(texts)
    found = cache.get_many(keys)
    todo = [k for k in keys if k not in found]
    print(f"{len(keys)} chunks, {len(found)} cached, {len(todo)} to embed", file=sys.stderr)
    if todo:
        model = SentenceTransformerEmbedder(Path(settings.embedding_model_path or default_model_path()), model_id)
        started = time.perf_counter()
        for first in range(0, len(todo), SLAB):
            part = todo[first : first + SLAB]
            vectors = model.encode([texts[k] for k in part])
            cache.put_many(dict(zip(part, vectors, strict=True)))
            done = first + len(part)
            rate = done / (time.perf_counter() - started)
            print(f"  {done}/{len(todo)} embedded ({rate:.1f} chunks/s)", file=sys.stderr)
        found = cache.get_many(keys)
    vectors = np.stack([found[k] for k in keys]).astype(np.float16)
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez(target, model_id=np.array(model_id), hashes=np.array(keys), vectors=vectors)
    cache.close()
    return {"chunks": len(keys), "embedded": len(todo), "file": str(target), "bytes": target.stat().st_size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge", type=Path, default=Path("knowledge"))
    parser.add_argument("--work-cache", type=Path, default=Path("build") / "embedding-work.sqlite")
    args = parser.parse_args(argv)
    print(json.dumps(build(args.knowledge, args.work_cache)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
