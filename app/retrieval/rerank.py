"""Optional re-ranking of the fused hits: one ``Reranker`` protocol, two ways to run it.

- ``CrossEncoderReranker``: a local sentence-transformers ``CrossEncoder`` folder
  (``MEDEVIDENCE_RERANKER_MODEL_PATH``), on CPU in the app's process.
- ``ServerReranker`` (``rerank_server.py``): a reranking server (``MEDEVIDENCE_RERANKER_URL``): vLLM's
  ``/v1/rerank``, or any server speaking the same Jina/Cohere-compatible request and answer.

Both re-score the top ``MEDEVIDENCE_RERANK_DEPTH`` fused hits (the top-N budget); the rest keep their fused
order below them. Each re-scored hit records ``channels["rerank"] = ChannelRank(rank, score)``. Neither ever
raises into the search: a failure (a model error, a server that is slow, down or answers nonsense) returns the
fused order unchanged, and the ``RerankOutcome`` says so (``reranked=False`` with a ``reason`` and a ``note``)
for the search result and the answer trace.

What is scored is ``chunk.embed_text`` (title, section, passage), the text the dense encoder embeds: a passage
such as "It is contraindicated in pregnancy." names its drug only in the title. A chunk is at most
``MEDEVIDENCE_CHUNK_MAX_TOKENS`` (300) of the chunker's word tokens plus a title line: a few hundred model tokens
(a local cross-encoder truncates to its window; see docs/deploy.md on servers with a 512-token window).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from app.model import ChannelRank
from app.retrieval.fusion import FusedHit

if TYPE_CHECKING:
    from app.config import Settings

CHANNEL = "rerank"  # the key of a re-scored hit's ChannelRank, whichever reranker scored it


@dataclass(frozen=True)
class RerankOutcome:
    """The hits after re-ranking, and whether they were re-ranked.

    ``reason`` (machine-readable) and ``note`` (for people) say why not: ``no_hits``, ``model_error``
    (cross-encoder), ``timeout``, ``unreachable``, ``http_error``, ``bad_response``, ``cooling_down``
    (server)."""

    hits: list[FusedHit] = field(repr=False)
    reranker: str
    reranked: bool
    reason: str | None = None
    note: str | None = None
    scored: int = 0  # hits re-scored (at most the depth)
    ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"reranker": self.reranker, "reranked": self.reranked, "reason": self.reason, "note": self.note,
                "scored": self.scored, "ms": round(self.ms, 1)}


@runtime_checkable
class Reranker(Protocol):
    """Re-orders the top fused hits; never raises (a failure keeps the fused order, flagged in the outcome)."""

    name: str
    languages: frozenset[str]  # the question goes to it as asked only in these, else in its English rendering

    def rerank(self, query: str, hits: Sequence[FusedHit]) -> RerankOutcome: ...

    def close(self) -> None: ...


def reordered(head: list[FusedHit], tail: list[FusedHit], scores: Sequence[float]) -> list[FusedHit]:
    """``head`` sorted by ``scores`` (highest first; a tie keeps the fused order), each hit's rank and score
    recorded as the ``rerank`` channel, then ``tail`` as it was."""
    order = sorted(range(len(head)), key=lambda i: -scores[i])
    for rank, i in enumerate(order, start=1):
        head[i].channels[CHANNEL] = ChannelRank(rank, float(scores[i]))
    return [head[i] for i in order] + tail


def fused_order(name: str, hits: Sequence[FusedHit], reason: str, note: str, started: float) -> RerankOutcome:
    """The fallback: the hits as fusion ordered them, untouched, and why."""
    return RerankOutcome(list(hits), name, False, reason, note, 0, (time.perf_counter() - started) * 1000)


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


def build_reranker(settings: Settings) -> Reranker | None:
    """The reranker the settings ask for: a server (``reranker_url``), a local folder (``reranker_model_path``),
    or none. Both set is refused: the operator meant one of them, and silently preferring either would leave a
    configured model unused without a word."""
    if settings.reranker_url and settings.reranker_model_path:
        raise ValueError("set MEDEVIDENCE_RERANKER_URL (a reranking server) or MEDEVIDENCE_RERANKER_MODEL_PATH "
                         "(a local cross-encoder folder), not both")
    if settings.reranker_url:
        from app.retrieval.rerank_server import ServerReranker

        api_key = settings.reranker_api_key.get_secret_value() if settings.reranker_api_key else None
        return ServerReranker(settings.reranker_url, model=settings.reranker_model, depth=settings.rerank_depth,
                              timeout_s=settings.reranker_timeout_s, cooldown_s=settings.reranker_cooldown_s,
                              api_key=api_key, languages=frozenset(settings.reranker_languages))
    if settings.reranker_model_path:
        return CrossEncoderReranker(settings.reranker_model_path, settings.rerank_depth, settings.reranker_threads,
                                    frozenset(settings.reranker_languages))
    return None
