"""Optional cross-encoder re-ranking (sentence-transformers ``CrossEncoder``, local folder only)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from app.retrieval.fusion import ChannelRank, FusedHit


class CrossEncoderReranker:
    """Re-scores the top fused hits with a cross-encoder; the rest keep their order below them."""

    name = "rerank"

    def __init__(self, model_path: Path, depth: int = 30) -> None:
        from sentence_transformers import CrossEncoder

        if not Path(model_path).is_dir():
            raise FileNotFoundError(f"MEDEVIDENCE_RERANKER_MODEL_PATH: no model folder at {model_path}")
        self._model = CrossEncoder(str(model_path), device="cpu", local_files_only=True)
        self._depth = depth
        self._lock = threading.Lock()

    def rerank(self, query: str, hits: Sequence[FusedHit]) -> list[FusedHit]:
        head, tail = list(hits[: self._depth]), list(hits[self._depth :])
        if not head:
            return list(hits)
        with self._lock:
            scores = self._model.predict([(query, h.chunk.embed_text) for h in head], show_progress_bar=False)
        order = sorted(range(len(head)), key=lambda i: -float(scores[i]))
        for rank, i in enumerate(order, start=1):
            head[i].channels[self.name] = ChannelRank(rank, float(scores[i]))
        return [head[i] for i in order] + tail
