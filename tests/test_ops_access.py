"""Limits before authentication, and who may read /metrics, /docs and /openapi.json (a real server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.runtime import Runtime
from testkit.http_server import serving

from .conftest import StarterApp

pytestmark = pytest.mark.slow
OPS = ("/metrics", "/openapi.json", "/docs")


@pytest.fixture(scope="module")
def guarded(starter_runtime: Runtime, starter_app: StarterApp) -> Iterator[tuple[str, dict[str, str]]]:
    keys = starter_runtime.keys
    secrets = {"reader": keys.create("reader", "r")[1], "admin": keys.create("admin", "a")[1]}
    with starter_app(ops_access="admin", unauthenticated_per_minute=60, unauthenticated_burst=3) as app, \
            serving(app) as base:
        yield base, secrets


def test_requests_without_a_valid_key_are_rate_limited_per_address(guarded: tuple[str, dict[str, str]]) -> None:
    base, secrets = guarded
    statuses = [httpx.post(f"{base}/v1/search", json={"query": "warfarin"},
                           headers={"Authorization": f"Bearer me_wrong{i}"}).status_code for i in range(5)]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
    limited = httpx.post(f"{base}/v1/search", json={"query": "warfarin"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    ok = httpx.post(f"{base}/v1/search", json={"query": "warfarin"},
                    headers={"Authorization": f"Bearer {secrets['admin']}"})
    assert ok.status_code == 200  # a valid key has its own budget


def test_metrics_and_docs_for_the_role_the_settings_name(guarded: tuple[str, dict[str, str]]) -> None:
    base, secrets = guarded
    for path in OPS:
        assert httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {secrets['reader']}"}).status_code == 403
        assert httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {secrets['admin']}"}).status_code == 200
    assert httpx.get(f"{base}/healthz").status_code == 200  # liveness stays open


def test_metrics_and_docs_for_the_networks_the_settings_name(starter_app: StarterApp, tmp_path: Path) -> None:
    with starter_app(ops_networks=["10.0.0.0/8"]) as app, serving(app) as base:
        assert all(httpx.get(f"{base}{path}").status_code == 403 for path in OPS)
    with starter_app(ops_networks=["127.0.0.0/8", "::1/128"]) as app, serving(app) as base:
        assert all(httpx.get(f"{base}{path}").status_code == 200 for path in OPS)
    with pytest.raises(ValueError, match="ops_networks"):
        Settings(data_dir=tmp_path, ops_networks=["not-a-network"])
