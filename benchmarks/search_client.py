"""One ``POST /v1/search`` as the load and latency benchmarks' clients send it, and how it failed, if it did."""

from __future__ import annotations

from typing import Any


async def post_search(client: Any, url: str, query: str) -> tuple[str, Any]:
    """Post ``query`` (k=10) with an ``httpx.AsyncClient``; ``("", response)`` for a 200 with a hit list, else the
    error kind ("HTTP 503", "ReadTimeout"…) and the response (None when none came)."""
    import httpx

    try:
        response = await client.post(url, json={"query": query, "k": 10})
        ok = response.status_code == 200 and isinstance(response.json().get("hits"), list)
        return ("" if ok else f"HTTP {response.status_code}"), response
    except (httpx.HTTPError, ValueError) as exc:
        return type(exc).__name__, None
