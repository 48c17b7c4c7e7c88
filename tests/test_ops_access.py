"""Limits before authentication, and who may read /metrics, /docs and /openapi.json (a real server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import KeyStore
from app.config import Settings
from app.main import create_app
from app.runtime import Runtime

from .conftest import KNOWLEDGE
from .http_server import serving

pytestmark = pytest.mark.slow
OPS = ("/metrics", "/openapi.json", "/docs")


def _service(runtime: Runtime, data_dir: Path, **overrides: Any) -> tuple[Settings, dict[str, str]]:
    settings = Settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE, **overrides)
    keys = KeyStore(settings.keys_path)
    secrets = {"reader": keys.create("reader", "r")[1], "admin": keys.create("admin", "a")[1]}
    keys.close()
    return settings, secrets


@pytest.fixture(scope="module")
def guarded(starter_runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    settings, secrets = _service(starter_runtime, tmp_path_factory.mktemp("ops") / "data", ops_access="admin",
                                 unauthenticated_per_minute=60, unauthenticated_burst=3)
    with serving(create_app(settings, runtime=starter_runtime)) as base:
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


def test_metrics_and_docs_for_the_networks_the_settings_name(starter_runtime: Runtime, tmp_path: Path) -> None:
    settings, _ = _service(starter_runtime, tmp_path / "data", ops_networks=["10.0.0.0/8"])
    with serving(create_app(settings, runtime=starter_runtime)) as base:
        assert all(httpx.get(f"{base}{path}").status_code == 403 for path in OPS)
    settings, _ = _service(starter_runtime, tmp_path / "data2", ops_networks=["127.0.0.0/8", "::1/128"])
    with serving(create_app(settings, runtime=starter_runtime)) as base:
        assert all(httpx.get(f"{base}{path}").status_code == 200 for path in OPS)
    with pytest.raises(ValueError, match="ops_networks"):
        Settings(data_dir=tmp_path, ops_networks=["not-a-network"])
