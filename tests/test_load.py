"""The load benchmark, bounded for CI: 50 clients for 10 s on /v1/search over loopback, the starter index.

``benchmarks.load`` runs the clients in a child process; the app here is served in dev mode (no keys, no rate
limit).  Full figures (60 s, data/eval): ``python -m benchmarks.load`` -> benchmarks/results/load.md.
"""

from __future__ import annotations

import pytest

from app.main import create_app
from app.runtime import Runtime
from benchmarks.load import QUERIES, measure, warm_up

from .http_server import serving

pytestmark = pytest.mark.slow

CLIENTS = 50
SECONDS = 10.0


def test_fifty_clients_for_ten_seconds_without_an_error(starter_runtime: Runtime,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert any(not q.isascii() for q in QUERIES) and any(q.isascii() for q in QUERIES)  # Chinese and English
    settings = starter_runtime.settings.model_copy(update={"dev_mode": True})
    with serving(create_app(settings, runtime=starter_runtime)) as base:
        warm_up(base)
        single = measure(base, 1, 3.0)
        load = measure(base, CLIENTS, SECONDS)
    with capsys.disabled():
        print(f"\n/v1/search, {CLIENTS} clients for {SECONDS:g} s: {load['requests']} requests, "
              f"{load['errors']} errors, {load['throughput_rps']:.1f} req/s, p50 {load['p50_ms']:.0f} ms, "
              f"p95 {load['p95_ms']:.0f} ms, p99 {load['p99_ms']:.0f} ms; one client: p50 {single['p50_ms']:.0f} ms")
    assert single["errors"] == 0 and single["ok"] > 0, single
    assert load["errors"] == 0, load["error_kinds"]
    assert load["requests"] > 0 and load["throughput_rps"] > 0, load
    assert load["clients"] == CLIENTS and load["wall_seconds"] >= SECONDS
