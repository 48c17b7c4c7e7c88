"""What every request passes through: request ids (into logs and answer traces), body limits, security headers,
per-caller rate limits, CORS, OIDC bearer tokens, Prometheus metrics and trace/audit retention."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from app.api.ratelimit import RateLimiter
from app.config import Settings
from app.observability.logs import REQUEST_ID, JsonFormatter
from app.observability.retention import purge_once
from app.runtime import Runtime
from app.stores.audit import AuditStore
from app.stores.manifest import VECTORS_INDEX_KEY
from app.stores.traces import TraceStore
from testkit.jwks_server import serving_jwks, signed_token

from .conftest import StarterApp

ISSUER = "https://idp.hospital.example/realms/clinic"
EMR_ORIGIN = "https://emr.hospital.example"


@pytest.fixture(scope="module")
def idp_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(idp_key: Any) -> Iterator[str]:
    with serving_jwks(idp_key.public_key(), "idp-1", "RS256") as url:
        yield url


@pytest.fixture(scope="module")
def service(starter_runtime: Runtime, starter_app: StarterApp, jwks_url: str
            ) -> Iterator[tuple[TestClient, dict[str, str], Settings]]:
    keys = starter_runtime.keys
    secrets = {role: keys.create(role, f"test-{role}")[1] for role in ("reader", "admin")}
    secrets["limited"] = keys.create("reader", "test-limited")[1]
    with starter_app(rate_limit_per_minute=60, rate_limit_burst=3, max_request_bytes=4096, cors_origins=[EMR_ORIGIN],
                     oidc_issuer=ISSUER, oidc_jwks_url=jwks_url) as app, TestClient(app) as client:
        yield client, secrets, app.state.settings


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def oidc_token(key: Any, roles: list[str], aud: str = "medevidence", **claims: Any) -> str:
    return signed_token(key, ISSUER, "dr-house", roles, aud, **claims)


def test_keys_and_roles(service: tuple[TestClient, dict[str, str], Settings]) -> None:
    client, secrets, _ = service
    assert client.post("/v1/search", json={"query": "warfarin"}).status_code == 401
    reader_on_documents = client.delete("/v1/documents/anything", headers=bearer(secrets["reader"]))
    assert reader_on_documents.status_code == 403
    assert reader_on_documents.json()["error"]["field"] == "Authorization"


def test_request_id_reaches_headers_logs_and_the_answer_trace(
        service: tuple[TestClient, dict[str, str], Settings], caplog: pytest.LogCaptureFixture) -> None:
    client, secrets, _ = service
    with caplog.at_level(logging.INFO, logger="medevidence.access"):
        answer = client.post("/v1/ask", json={"question": "What is the maximum daily dose of acetaminophen?"},
                             headers={**bearer(secrets["reader"]), "X-Request-ID": "req-abc.123"})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "req-abc.123"
    line = next(r for r in caplog.records if getattr(r, "route", None) == "/v1/ask")
    assert json.loads(JsonFormatter().format(line))["status"] == 200
    trace = client.get(f"/v1/answers/{answer.json()['answer_id']}", headers=bearer(secrets["reader"])).json()
    assert trace["request_id"] == "req-abc.123"
    assert trace["caller"] and trace["caller"] != secrets["reader"]  # the key id, never the secret
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert generated != "bad id with spaces" and len(generated) == 32


def test_json_log_lines_carry_the_request_id() -> None:
    token = REQUEST_ID.set("rid-1")
    try:
        record = logging.LogRecord("medevidence", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["message"] == "hello world" and line["request_id"] == "rid-1" and line["level"] == "info"


def test_body_limit_and_security_headers(service: tuple[TestClient, dict[str, str], Settings]) -> None:
    client, secrets, _ = service
    too_big = client.post("/v1/search", content=b"{" + b" " * 5000 + b"}",
                          headers={**bearer(secrets["admin"]), "Content-Type": "application/json"})
    assert too_big.status_code == 413 and too_big.json()["error"]["field"] == "body"

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    streamed = client.post("/v1/search", content=chunks(),
                           headers={**bearer(secrets["admin"]), "Content-Type": "application/json"})
    assert streamed.status_code == 413  # no Content-Length: counted as it arrives
    ok = client.post("/v1/search", json={"query": "warfarin"}, headers=bearer(secrets["admin"]))
    assert ok.headers["x-content-type-options"] == "nosniff" and ok.headers["cache-control"] == "no-store"
    assert ok.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" in client.get("/").headers


def test_rate_limit_answers_429_with_retry_after(service: tuple[TestClient, dict[str, str], Settings]) -> None:
    client, secrets, _ = service
    statuses = [client.get("/v1/drugs/warfarin", headers=bearer(secrets["limited"])) for _ in range(4)]
    assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
    assert statuses[3].status_code == 429 and int(statuses[3].headers["retry-after"]) >= 1
    assert statuses[3].json()["error"]["code"] == "rate_limited"
    assert client.get("/v1/drugs/warfarin", headers=bearer(secrets["admin"])).status_code == 200  # per caller


def test_rate_limiter_refills() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    assert limiter.acquire("a", now=0) is None and limiter.acquire("a", now=0) is None
    assert limiter.acquire("a", now=0) == 1
    assert limiter.acquire("a", now=1.01) is None  # one token per second
    assert RateLimiter(per_minute=0, burst=1).acquire("a") is None  # 0: off


def test_cors_allows_only_the_configured_origins(service: tuple[TestClient, dict[str, str], Settings]) -> None:
    client, _, _ = service
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = client.options("/v1/search", headers={"Origin": EMR_ORIGIN, **preflight})
    assert allowed.headers.get("access-control-allow-origin") == EMR_ORIGIN
    refused = client.options("/v1/search", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers


def test_oidc_bearer_tokens(service: tuple[TestClient, dict[str, str], Settings], idp_key: Any) -> None:
    client, _, _ = service
    reader = oidc_token(idp_key, ["medevidence-reader"])
    assert client.post("/v1/search", json={"query": "warfarin"}, headers=bearer(reader)).status_code == 200
    assert client.delete("/v1/documents/x", headers=bearer(reader)).status_code == 403
    admin = oidc_token(idp_key, ["medevidence-admin"])
    assert client.get("/v1/documents/no-such-doc", headers=bearer(admin)).status_code == 404
    assert client.post("/v1/search", json={"query": "x"},
                       headers=bearer(oidc_token(idp_key, ["other-app"]))).status_code == 403
    wrong_aud = oidc_token(idp_key, ["medevidence-reader"], aud="another-service")
    assert client.post("/v1/search", json={"query": "x"}, headers=bearer(wrong_aud)).status_code == 401
    forged = oidc_token(rsa.generate_private_key(public_exponent=65537, key_size=2048), ["medevidence-admin"])
    assert client.post("/v1/search", json={"query": "x"}, headers=bearer(forged)).status_code == 401


def test_metrics(service: tuple[TestClient, dict[str, str], Settings]) -> None:
    client, secrets, _ = service
    client.post("/v1/search", json={"query": "clopidogrel omeprazole"}, headers=bearer(secrets["admin"]))
    text = client.get("/metrics").text
    assert 'medevidence_http_request_duration_seconds_count{method="POST",route="/v1/search",status="200"}' in text
    for channel in ("bm25", "dense", "graph"):
        assert f'medevidence_retrieval_channel_duration_seconds_count{{channel="{channel}"}}' in text
    documents = next(line for line in text.splitlines() if line.startswith("medevidence_index_documents "))
    assert float(documents.split()[1]) > 100
    assert 'medevidence_answers_total{mode="extractive"' in text  # the ask in the request-id test
    assert "medevidence_embedding_cache_hit_ratio" in text


def test_retention_purges_old_traces_and_audit_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'traces.sqlite'}"
    traces, audit = TraceStore(url), AuditStore(url)
    try:
        response = {"answer_id": "old", "conversation_id": "c", "mode": "extractive", "model": "m",
                    "settings_hash": "h", "index_version": "1", "prompt_version": "p", "abstained": False}
        traces.save(response, {"question": "q", "standalone_question": "q"})
        traces.save({**response, "answer_id": "new"}, {"question": "q", "standalone_question": "q"})
        call: dict[str, Any] = {"hook_instance": "i", "service_id": "s", "hook": "patient-view", "client": "c",
                                "patient": None, "user": None, "fhir_fetches": 0, "duration_ms": 1.0, "detail": {}}
        audit.record_call(call, [{"uuid": "u1", "indicator": "info", "summary": "s"}])
        with traces.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE answers SET created_at = '2020-01-01 00:00:00.000000' WHERE answer_id='old'")
            conn.exec_driver_sql("UPDATE cds_calls SET created_at = '2020-01-01 00:00:00.000000'")
        removed = purge_once(30, traces, audit)
        assert removed["answers"] == 1 and removed["cds_calls"] == 1 and removed["cds_cards"] == 0
        assert traces.get("old") is None and traces.get("new") is not None
        assert audit.purge(datetime.now(UTC) + timedelta(days=1))["cds_cards"] == 1
    finally:
        traces.close()
        audit.close()


def test_readiness_says_when_the_index_was_built_for_another_model_or_chunking(
        service: tuple[TestClient, dict[str, str], Settings], starter_runtime: Runtime) -> None:
    client, _, _ = service
    manifest = starter_runtime.manifest
    current = manifest.get_meta(VECTORS_INDEX_KEY)
    manifest.set_meta(VECTORS_INDEX_KEY, "chunks_000000000000")
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["index"]["ok"] is False
        assert "medevidence index" in ready.json()["checks"]["index"]["detail"]
    finally:
        manifest.set_meta(VECTORS_INDEX_KEY, current or starter_runtime.settings.index_name())
    assert client.get("/readyz").json()["checks"]["index"]["ok"] is True
