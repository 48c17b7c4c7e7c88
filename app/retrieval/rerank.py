"""Optional re-ranking of the fused hits: one ``Reranker`` protocol, two ways to run it.

- ``CrossEncoderReranker`` (``rerank_cross_encoder.py``): a local sentence-transformers ``CrossEncoder`` folder
  (``MEDEVIDENCE_RERANKER_MODEL_PATH``), on CPU in the app's process.
- ``ServerReranker`` (``rerank_server.py``): a reranking server (``MEDEVIDENCE_RERANKER_URL``): vLLM's
  ``/v1/rerank``, or any server speaking the same Jina/Cohere-compatible request and answer.

Both re-score the top ``MEDEVIDENCE_RERANK_DEPTH`` fused hits (the top-N budget); the rest keep their fused
order below them. Each re-scored hit records ``channels["rerank"] = ChannelRank(rank, score)``. Neither ever
raises into the search: a failure (a model error, a server that is slow, down or answers nonsense) returns the
fused order unchanged, and the ``RerankOutcome`` says so (``reranked=False`` with a ``reason`` and a ``note``)
for the search result and the answer trace. ``rerankers.build_reranker`` picks one from the settings.

What is scored is ``chunk.embed_text`` (title, section, passage), the text the dense encoder embeds: a passage
such as "It is contraindicated in pregnancy." names its drug only in the title. A chunk is at most
``MEDEVIDENCE_CHUNK_MAX_TOKENS`` (300) of the chunker's word tokens plus a title line: a few hundred model tokens
(a local cross-encoder truncates to its window; see docs/deploy.md on servers with a 512-token window).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from app.model import ChannelRank
from app.retrieval.fusion import FusedHit

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
