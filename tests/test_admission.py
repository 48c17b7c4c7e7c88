"""Overload: a bounded number at work, a bounded queue, 503 ``overloaded`` with ``Retry-After`` past it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.api.admission import Admission
from testkit.http_server import serving

from .conftest import StarterApp


async def _slow_app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app whose every request takes 0.2 s of waiting (a stand-in for work, not for a component)."""
    await asyncio.sleep(0.2)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(app: Any, path: str) -> Any:
    async def run() -> int:
        status: dict[str, int] = {}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        await app({"type": "http", "path": path, "method": "POST", "headers": []}, receive, send)
        return status["code"]

    return run()


def test_at_most_n_at_work_m_waiting_the_rest_refused_at_once() -> None:
    rejected: list[int] = []
    app = Admission(_slow_app, max_concurrent=2, max_queued=3, on_reject=lambda: rejected.append(1))

    async def burst() -> tuple[list[int], float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        codes = await asyncio.gather(*(_call(app, "/v1/search") for _ in range(9)))
        return list(codes), loop.time() - started

    codes, seconds = asyncio.run(burst())
    assert sorted(codes) == [200] * 5 + [503] * 4 and len(rejected) == 4
    assert seconds < 0.2 * 3 + 0.15  # the queue drains two at a time: three rounds, no unbounded wait
    assert asyncio.run(_call(app, "/healthz")) == 200  # probes are never queued
    assert asyncio.run(_call(Admission(_slow_app, 0, 0), "/v1/search")) == 200  # 0: no bound


@pytest.mark.slow
def test_an_overloaded_service_answers_503_with_retry_after(starter_app: StarterApp) -> None:

    async def crowd(base: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120) as client:
            asks = [client.post(f"{base}/v1/ask", json={"question": "What are the contraindications of warfarin?"})
                    for _ in range(8)]
            return list(await asyncio.gather(*asks))

    with starter_app(dev_mode=True, max_concurrent_requests=1, max_queued_requests=1) as app, serving(app) as base:
        responses = asyncio.run(crowd(base))
        assert httpx.get(f"{base}/healthz").status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
    refused = [r for r in responses if r.status_code == 503]
    assert refused and len(refused) <= 6 and all(r.status_code in (200, 503) for r in responses)
    assert all(r.headers["retry-after"] == "1" and r.json()["error"]["code"] == "overloaded" for r in refused)
    assert f"medevidence_overloaded_total {float(len(refused))}" in metrics
