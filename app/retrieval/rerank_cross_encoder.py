"""A local cross-encoder reranker: a sentence-transformers ``CrossEncoder`` folder, on CPU in the app's process
(``MEDEVIDENCE_RERANKER_MODEL_PATH``); the ``Reranker`` protocol and its outcome are in ``rerank.py``."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from app.retrieval.fusion import FusedHit
from app.retrieval.rerank import RerankOutcome, fused_order, reordered


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity: a cpuset; a container's CPU quota is not seen)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def effective_threads(configured: int) -> int:
    """``MEDEVIDENCE_RERANKER_THREADS`` as used: at most the usable CPUs; 0 stays 0: torch's own setting is left
    alone (its default: one thread per physical core, or OMP_NUM_THREADS)."""
    return min(configured, usable_cpus())


class CrossEncoderReranker:
    """Re-scores the top fused hits with a local cross-encoder folder (never downloaded), on CPU.

    One re-ranking runs at a time (a lock), with ``threads`` torch intra-op threads (``MEDEVIDENCE_RERANKER_THREADS``,
    at most the usable CPUs): set in the searching thread just before ``predict`` and restored just after, so the
    rest of the process (the torch passage encoder) keeps its own setting. 0 leaves torch's setting alone."""

    def __init__(self, model_path: Path, depth: int = 30, threads: int = 4,
                 languages: frozenset[str] = frozenset({"en", "zh"})) -> None:
        if not Path(model_path).is_dir():
            raise FileNotFoundError(f"MEDEVIDENCE_RERANKER_MODEL_PATH: no model folder at {model_path}")
        from sentence_transformers import CrossEncoder

        self._model = CrossEncoder(str(model_path), device="cpu", local_files_only=True)
        self.name = f"cross-encoder:{Path(model_path).name}"
        self.languages = languages
        self.depth = depth
        self.threads = effective_threads(threads)
        self._lock = threading.Lock()

    def close(self) -> None:
        return None

    def rerank(self, query: str, hits: Sequence[FusedHit]) -> RerankOutcome:
        import torch

        started = time.perf_counter()
        head, tail = list(hits[: self.depth]), list(hits[self.depth :])
        if not head:
            return fused_order(self.name, hits, "no_hits", "nothing to re-rank", started)
        pairs = [(query, h.chunk.embed_text) for h in head]
        try:
            with self._lock:
                before = torch.get_num_threads()
                if self.threads:
                    torch.set_num_threads(self.threads)
                try:
                    raw = self._model.predict(pairs, show_progress_bar=False)
                finally:
                    if self.threads:
                        torch.set_num_threads(before)
            scores = [float(s) for s in raw]
            if len(scores) != len(head) or not all(math.isfinite(s) for s in scores):
                raise ValueError(f"{len(scores)} scores for {len(head)} passages, or a score that is not a number")
        except Exception as exc:  # a failing model must not fail the search
            note = f"cross-encoder failed: {type(exc).__name__}: {exc}"[:300]
            return fused_order(self.name, hits, "model_error", note, started)
        return RerankOutcome(reordered(head, tail, scores), self.name, True, scored=len(head),
                             ms=(time.perf_counter() - started) * 1000)
