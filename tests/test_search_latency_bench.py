"""The concurrency part of benchmarks/search_latency.py: bounded client levels, error counting, the thread choice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from benchmarks.search_latency import Plan, _drive, choose_threads
from testkit.http_server import serving

T = TypeVar("T")


def in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop in its own thread (as the benchmark's child process does): a test
    run earlier in this process (a browser's sync API) may have left an event loop running in this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _stub(fail_every: int = 0) -> FastAPI:
    app = FastAPI()
    seen = [0]

    @app.post("/v1/search")
    async def search(body: dict[str, Any]) -> Any:
        seen[0] += 1
        if fail_every and seen[0] % fail_every == 0:
            return JSONResponse({"error": "boom"}, status_code=500)
        return {"hits": [], "query": body["query"]}

    return app


def test_a_level_stops_at_its_request_budget_and_counts_errors() -> None:
    with serving(_stub(fail_every=5)) as base:
        started = time.perf_counter()
        out = in_own_loop(_drive(base, 8, 40, 30.0, ["a", "b", "c"]))
        assert time.perf_counter() - started < 10
    assert (out["clients"], out["requests"], out["ok"], out["errors"]) == (8, 40, 32, 8)
    assert out["error_kinds"] == {"HTTP 500": 8}
    assert out["p50_ms"] <= out["p95_ms"] <= out["p99_ms"]


def test_a_level_stops_at_its_time_budget() -> None:
    with serving(_stub()) as base:
        out = in_own_loop(_drive(base, 2, 10**9, 0.5, ["a"]))
    assert out["errors"] == 0 and 0 < out["requests"] < 10**9 and out["wall_seconds"] < 5


def test_rounds_alternate_the_order_of_thread_counts() -> None:
    assert Plan((1, 2, 4), rounds=3).order() == [(1, 1), (1, 2), (1, 4), (2, 4), (2, 2), (2, 1), (3, 1), (3, 2),
                                                   (3, 4)]


def test_the_choice_is_the_lowest_loaded_p95_with_ties_to_fewer_threads() -> None:
    def run(threads: int, p95s: tuple[float, float], single: float = 20.0) -> dict[str, Any]:
        levels = [{"clients": 1, "p95_ms": single}, {"clients": 8, "p95_ms": p95s[0]},
                  {"clients": 32, "p95_ms": p95s[1]}]
        return {"threads": threads, "levels": levels}

    clear = [{"runs": [run(1, (150, 700)), run(2, (130, 500)), run(4, (300, 900))]}]
    assert choose_threads(clear)["chosen"] == 2
    tie = [{"runs": [run(0, (100, 500)), run(1, (100, 520), single=500.0), run(2, (100, 500))]}]
    assert choose_threads(tie) == {"summed_loaded_p95_ms": {"0": 600.0, "1": 620.0, "2": 600.0},
                                   "lowest": 2, "chosen": 1}
