"""Prometheus metrics of one running app (its own registry: two apps in one process never share counters).

Request latency per route template, retrieval latency per channel, answers by mode and outcome, LLM latency and
tokens (when the server reports usage), rate-limited requests; index size and embedding-cache hit rate are read
when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class _Snapshot(Collector):
    """Gauges computed at scrape time from callables (index size, cache hit rate)."""

    def __init__(self, probes: dict[str, tuple[str, Callable[[], float]]]) -> None:
        self._probes = probes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (description, probe) in self._probes.items():
            try:
                value = float(probe())
            except Exception:  # noqa: BLE001 - a store that cannot answer is /readyz's business, not a scrape error
                continue
            yield GaugeMetricFamily(name, description, value=value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram("medevidence_http_request_duration_seconds", "HTTP request latency by route",
                                  ["method", "route", "status"], registry=self.registry, buckets=LATENCY_BUCKETS)
        self.channels = Histogram("medevidence_retrieval_channel_duration_seconds", "Retrieval latency per channel",
                                  ["channel"], registry=self.registry, buckets=LATENCY_BUCKETS)
        self.answers = Counter("medevidence_answers_total", "Answers by mode and outcome",
                               ["mode", "outcome"], registry=self.registry)
        self.llm = Histogram("medevidence_llm_generate_duration_seconds", "LLM generation time per answer",
                             registry=self.registry, buckets=LATENCY_BUCKETS)
        self.llm_tokens = Counter("medevidence_llm_tokens_total", "Tokens the LLM server reported",
                                  ["kind"], registry=self.registry)
        self.rate_limited = Counter("medevidence_rate_limited_total", "Requests refused with 429",
                                    registry=self.registry)
        self.overloaded = Counter("medevidence_overloaded_total", "Requests refused with 503 at capacity",
                                  registry=self.registry)

    def watch(self, probes: dict[str, tuple[str, Callable[[], float]]]) -> None:
        self.registry.register(_Snapshot(probes))

    def observe_channel(self, channel: str, seconds: float) -> None:
        self.channels.labels(channel).observe(seconds)

    def observe_answer(self, response: dict[str, Any]) -> None:
        outcome = "abstained" if response.get("abstained") else ("degraded" if response.get("degraded") else "answered")
        self.answers.labels(response.get("mode", "unknown"), outcome).inc()
        if response.get("mode") == "llm" or response.get("degraded"):
            generate_ms = (response.get("timings_ms") or {}).get("generate")
            if isinstance(generate_ms, int | float):
                self.llm.observe(generate_ms / 1000)
        for kind, count in (response.get("usage") or {}).items():
            if kind in ("prompt_tokens", "completion_tokens") and isinstance(count, int):
                self.llm_tokens.labels(kind.removesuffix("_tokens")).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
