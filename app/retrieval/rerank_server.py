"""Re-ranking by a server: vLLM's rerank API (``vllm serve BAAI/bge-reranker-v2-m3 --runner pooling``,
Qwen3-Reranker…), which follows the Jina/Cohere rerank shape, so Jina- and Cohere-compatible servers work too.

Request, ``POST <MEDEVIDENCE_RERANKER_URL>/v1/rerank`` (a URL already ending in ``/rerank`` is used as is)::

    {"model": "bge-reranker-v2-m3", "query": "…", "documents": ["…", …], "top_n": N}

``documents`` are the ``embed_text`` of the top N fused hits (N = ``MEDEVIDENCE_RERANK_DEPTH`` or fewer);
``model`` is left out when ``MEDEVIDENCE_RERANKER_MODEL`` is unset (vLLM then uses the model it serves). Answer
(vLLM; Cohere's has no ``document``, Jina's no ``id``)::

    {"id": "…", "model": "…", "usage": {…}, "results": [{"index": 1, "document": {"text": "…"},
                                                          "relevance_score": 0.98}, …]}

Only ``results[].index`` and ``relevance_score`` are read, and only an answer that scores each document sent
exactly once is used. Anything else falls back to the fused order, flagged in the ``RerankOutcome``: no answer
within ``MEDEVIDENCE_RERANKER_TIMEOUT_S`` (connect, each read, and the whole answer), a refused connection, an
HTTP error, an answer that is not JSON or scores the wrong documents. After a failure the server is not asked
again for ``MEDEVIDENCE_RERANKER_COOLDOWN_S`` (those queries are flagged ``cooling_down``), so a server that is
down costs one timeout per cool-down, not one per query. Each kind of failure is logged once (a warning) until
the server answers again (an info line).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.retrieval.fusion import FusedHit
from app.retrieval.rerank import RerankOutcome, fused_order, reordered

log = logging.getLogger("medevidence.rerank")
MAX_ANSWER_BYTES = 8_000_000  # vLLM echoes every document: 100 passages of ~2 KB are 0.2 MB


def rerank_endpoint(url: str) -> str:
    """The URL to POST to: ``url`` itself when it ends in ``/rerank`` (``/v1/rerank``, ``/v2/rerank``, vLLM's
    ``/rerank``); ``<url>/rerank`` for a ``…/v1`` base (as MEDEVIDENCE_LLM_URL is written); else
    ``<url>/v1/rerank``."""
    base = url.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"MEDEVIDENCE_RERANKER_URL: not an http(s) URL: {url!r}")
    if parts.path.endswith("/rerank"):
        return base
    if parts.path.endswith("/v1"):
        return f"{base}/rerank"
    return f"{base}/v1/rerank"


class RerankFailure(Exception):
    """Why a server re-ranking was not used: ``reason`` is one of ``RerankOutcome``'s."""

    def __init__(self, reason: str, note: str) -> None:
        super().__init__(note)
        self.reason = reason
        self.note = note


def parse_scores(data: bytes, n: int) -> list[float]:
    """Each sent document's score, by its index, from a rerank answer; ``RerankFailure`` unless every one of
    the ``n`` documents is scored exactly once with a finite number."""
    try:
        answer = json.loads(data)
    except ValueError:
        raise RerankFailure("bad_response", f"answer is not JSON ({len(data)} bytes)") from None
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        raise RerankFailure("bad_response", "answer has no results list")
    if len(results) != n:
        raise RerankFailure("bad_response", f"{len(results)} results for {n} documents")
    scores: list[float | None] = [None] * n
    for result in results:
        index = result.get("index") if isinstance(result, dict) else None
        score = result.get("relevance_score") if isinstance(result, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
            raise RerankFailure("bad_response", f"result index {index!r} is not one of the {n} documents sent")
        if scores[index] is not None:
            raise RerankFailure("bad_response", f"document {index} scored twice")
        if not isinstance(score, int | float) or isinstance(score, bool) or not math.isfinite(score):
            raise RerankFailure("bad_response", f"relevance_score {score!r} of document {index} is not a number")
        scores[index] = float(score)
    return [s for s in scores if s is not None]


def server_message(data: bytes) -> str:
    """The error message of an error answer (vLLM: ``{"error": {"message": …}}``, older: ``{"message": …}``)."""
    try:
        answer = json.loads(data)
    except ValueError:
        return data[:200].decode("utf-8", "replace")
    error = answer.get("error", answer) if isinstance(answer, dict) else answer
    message = error.get("message") if isinstance(error, dict) else error
    return str(message)[:200]


class ServerReranker:
    """Re-scores the top fused hits with a reranking server; thread-safe (one HTTP client, pooled)."""

    def __init__(self, url: str, *, model: str | None = None, depth: int = 30, timeout_s: float = 2.0,
                 cooldown_s: float = 30.0, api_key: str | None = None,
                 languages: frozenset[str] = frozenset({"en", "zh"}),
                 clock: Callable[[], float] = time.monotonic, transport: httpx.BaseTransport | None = None) -> None:
        self.endpoint = rerank_endpoint(url)
        self.model = model
        self.name = f"server:{model or urlsplit(self.endpoint).netloc}"
        self.languages = languages
        self.depth = depth
        self.timeout_s = timeout_s
        self.cooldown_s = cooldown_s
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s), headers=headers, transport=transport)
        self._clock = clock
        self._lock = threading.Lock()
        self._retry_at = float("-inf")  # the cool-down after a failure ends here (clock time)
        self._last_failure = ""
        self._warned: set[str] = set()  # failure kinds logged since the server last answered

    def close(self) -> None:
        self._client.close()

    def rerank(self, query: str, hits: Sequence[FusedHit]) -> RerankOutcome:
        started = time.perf_counter()
        head, tail = list(hits[: self.depth]), list(hits[self.depth :])
        if not head:
            return fused_order(self.name, hits, "no_hits", "nothing to re-rank", started)
        with self._lock:
            wait = self._retry_at - self._clock()
            if wait > 0:
                return fused_order(self.name, hits, "cooling_down",
                                   f"reranking server not asked for another {wait:.0f} s after: {self._last_failure}",
                                   started)
        try:
            scores = self.scores(query, [h.chunk.embed_text for h in head])
        except RerankFailure as failure:
            self._failed(failure)
            return fused_order(self.name, hits, failure.reason, f"reranking server: {failure.note}", started)
        self._answered()
        return RerankOutcome(reordered(head, tail, scores), self.name, True, scored=len(head),
                             ms=(time.perf_counter() - started) * 1000)

    def scores(self, query: str, documents: Sequence[str]) -> list[float]:
        """The server's score of each document (in the order sent); ``RerankFailure`` on any failure."""
        body: dict[str, Any] = {"query": query, "documents": list(documents), "top_n": len(documents)}
        if self.model:
            body = {"model": self.model, **body}
        deadline = time.monotonic() + self.timeout_s
        late = RerankFailure("timeout", f"no answer within {self.timeout_s:g} s")
        try:
            with self._client.stream("POST", self.endpoint, json=body) as response:
                data = bytearray()
                for part in response.iter_bytes():
                    data += part
                    if len(data) > MAX_ANSWER_BYTES:
                        raise RerankFailure("bad_response", f"answer longer than {MAX_ANSWER_BYTES} bytes")
                    if time.monotonic() > deadline:
                        raise late
                status = response.status_code
        except httpx.TimeoutException:
            raise late from None
        except httpx.HTTPError as exc:
            raise RerankFailure("unreachable", f"{type(exc).__name__}: {exc}"[:300]) from None
        if time.monotonic() > deadline:
            raise late
        if status >= 400:
            raise RerankFailure("http_error", f"HTTP {status}: {server_message(bytes(data))}")
        return parse_scores(bytes(data), len(documents))

    def _failed(self, failure: RerankFailure) -> None:
        with self._lock:
            self._retry_at = self._clock() + self.cooldown_s
            self._last_failure = failure.note
            first = failure.reason not in self._warned
            self._warned.add(failure.reason)
        if first:
            log.warning("reranking server %s: %s; fused order kept, not asked again for %g s (each kind of failure "
                        "is logged once until it answers again)", self.endpoint, failure.note, self.cooldown_s)

    def _answered(self) -> None:
        with self._lock:
            recovered = bool(self._warned)
            self._warned.clear()
            self._retry_at = float("-inf")
        if recovered:
            log.info("reranking server %s answers again", self.endpoint)
