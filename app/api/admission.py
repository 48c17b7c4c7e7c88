"""Admission: a bounded number of requests at work, a bounded queue, and 503 + Retry-After past it.

On two cores a search or an answer is CPU work; thirty clients at once do not get answers thirty times faster,
they all wait longer (measured: p50 ~44 ms alone, ~2.7 s under 50 clients), and without a bound the wait has none.
``Admission`` lets at most ``max_concurrent`` requests to the work routes (``/v1``, the EMR panel's API, CDS
Hooks) run at once, holds at most ``max_queued`` more waiting their turn in arrival order, and answers any
request beyond that at once with 503 ``overloaded`` and ``Retry-After``, so a client (or a load balancer) can go
elsewhere or come back instead of waiting without end.  Health, metrics and the page are not admitted: a
probe must see an overloaded service as alive.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

WORK_PREFIXES = ("/v1/", "/emr/api/", "/cds-services/")
RETRY_AFTER_S = 1


class Admission:
    """ASGI middleware (``max_concurrent`` 0: no bound)."""

    def __init__(self, app: Any, max_concurrent: int, max_queued: int, on_reject: Any = None) -> None:
        self.app = app
        self.max_concurrent = max_concurrent
        self.max_queued = max_queued
        self.on_reject = on_reject
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.max_concurrent <= 0 or not scope["path"].startswith(WORK_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made in the server's event loop
            self._slots = asyncio.Semaphore(self.max_concurrent)
        if self._slots.locked() and self._waiting >= self.max_queued:
            await self._reject(send)
            return
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()

    async def _reject(self, send: Any) -> None:
        if self.on_reject is not None:
            self.on_reject()
        body = json.dumps({"error": {"code": "overloaded", "message": (
            f"the service is at capacity ({self.max_concurrent} at work, {self.max_queued} waiting); "
            f"retry in {RETRY_AFTER_S} s"), "field": None}}).encode()
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_S).encode())]})
        await send({"type": "http.response.body", "body": body})
