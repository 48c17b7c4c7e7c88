"""The load benchmark, bounded for CI: clients for 10 s on /v1/search over loopback, the starter index.

``benchmarks.load`` runs the clients in a child process; the app here is served in dev mode (no keys, no rate
limit) with the default admission (8 at work, 32 queued).  30 clients fit: not one error.  50 do not: the excess
is answered 503 ``overloaded`` with ``Retry-After`` (the clients honour it) and nothing else fails.  Full figures
(60 s, data/eval): ``python -m benchmarks.load`` -> benchmarks/results/load.md.
"""

from __future__ import annotations

import pytest

from app.runtime import Runtime
from benchmarks.load import QUERIES, measure, warm_up
from testkit.http_server import serving

from .conftest import StarterApp

pytestmark = pytest.mark.slow

CLIENTS = 30
OVERLOAD = 50
SECONDS = 10.0


def test_thirty_clients_without_an_error_and_fifty_bounded_by_503s(starter_runtime: Runtime, starter_app: StarterApp,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert any(not q.isascii() for q in QUERIES) and any(q.isascii() for q in QUERIES)  # Chinese and English
    settings = starter_runtime.settings
    assert settings.max_concurrent_requests + settings.max_queued_requests < OVERLOAD
    with starter_app(dev_mode=True) as app, serving(app) as base:
        warm_up(base)
        single = measure(base, 1, 3.0)
        load = measure(base, CLIENTS, SECONDS)
        overload = measure(base, OVERLOAD, SECONDS)
    with capsys.disabled():
        for r in (load, overload):
            print(f"\n/v1/search, {r['clients']} clients for {SECONDS:g} s: {r['requests']} requests, "
                  f"{r['error_kinds']}, {r['throughput_rps']:.1f} req/s, p50 {r['p50_ms']:.0f} ms, "
                  f"p95 {r['p95_ms']:.0f} ms; one client: p50 {single['p50_ms']:.0f} ms")
    assert single["errors"] == 0 and single["ok"] > 0, single
    assert load["errors"] == 0, load["error_kinds"]
    assert load["requests"] > 0 and load["throughput_rps"] > 0, load
    assert load["clients"] == CLIENTS and load["wall_seconds"] >= SECONDS
    assert set(overload["error_kinds"]) <= {"HTTP 503"} and overload["ok"] > 0, overload
