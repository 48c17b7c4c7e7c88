"""The REST API on a real HTTP server on loopback: health, auth, documents, error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.auth import KeyStore
from app.cli.wiring import serving_indexer
from app.config import Settings
from app.main import create_app
from testkit.http_server import serving

from .conftest import KNOWLEDGE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    data_dir: Path = tmp_path_factory.mktemp("api") / "data"
    settings = Settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE)
    keys = KeyStore(settings.keys_path)
    _, admin = keys.create("admin", "test-admin")
    _, reader = keys.create("reader", "test-reader")
    keys.close()
    with serving(create_app(settings, indexer_factory=serving_indexer), start_timeout=120) as base:
        yield base, {"admin": admin, "reader": reader}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_health_and_readiness(server: tuple[str, dict[str, str]]) -> None:
    base, _ = server
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"manifest", "vectors", "graph", "index", "recovery", "model"}
    assert body["checks"]["recovery"] == {"ok": True, "detail": "nothing pending"}
    assert body["checks"]["model"] == {"ok": True, "detail": {"mode": "extractive", "model": "extractive-mmr-v1"}}


def test_documents_need_an_admin_key(server: tuple[str, dict[str, str]]) -> None:
    base, keys = server
    doc = {"id": "api-1", "text": "Aspirin."}
    missing = httpx.post(f"{base}/v1/documents", json=doc)
    assert missing.status_code == 401
    assert missing.json()["error"]["field"] == "Authorization"
    wrong = httpx.post(f"{base}/v1/documents", json=doc, headers=_auth("mek_nope_nope"))
    assert wrong.status_code == 401
    reader = httpx.post(f"{base}/v1/documents", json=doc, headers=_auth(keys["reader"]))
    assert reader.status_code == 403
    assert reader.json()["error"]["code"] == "forbidden"


def test_add_get_update_delete_document(server: tuple[str, dict[str, str]]) -> None:
    base, keys = server
    admin = _auth(keys["admin"])
    doc = {
        "id": "hosp/formulary-0042",
        "title": "华法林剂量方案",
        "sections": [{"heading": "剂量", "text": "华法林起始剂量为每日2至5毫克。"}],
        "source_type": "guideline",
    }
    created = httpx.post(f"{base}/v1/documents", json=doc, headers=admin, timeout=120)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "added"
    assert created.json()["chunks"] == 1
    same = httpx.post(f"{base}/v1/documents", json=doc, headers=admin, timeout=120)
    assert same.json()["status"] == "unchanged"
    fetched = httpx.get(f"{base}/v1/documents/hosp/formulary-0042", headers=admin)
    assert fetched.status_code == 200
    body = fetched.json()
    assert body["language"] == "zh"
    assert body["text"] == "华法林起始剂量为每日2至5毫克。"
    assert body["version"] == created.json()["version"]
    edited = {**doc, "sections": [{"heading": "剂量", "text": "华法林起始剂量为每日5毫克。"}]}
    updated = httpx.post(f"{base}/v1/documents", json=edited, headers=admin, timeout=120)
    assert updated.json()["status"] == "updated"
    assert updated.json()["version"] != created.json()["version"]
    removed = httpx.delete(f"{base}/v1/documents/hosp/formulary-0042", headers=admin, timeout=120)
    assert removed.status_code == 200
    gone = httpx.get(f"{base}/v1/documents/hosp/formulary-0042", headers=admin)
    assert gone.status_code == 404
    assert gone.json()["error"] == {
        "code": "not_found",
        "message": "no document with id 'hosp/formulary-0042'",
        "field": "id",
    }


def test_invalid_document_names_the_field(server: tuple[str, dict[str, str]]) -> None:
    base, keys = server
    bad = httpx.post(
        f"{base}/v1/documents",
        json={"id": "x", "text": "t", "source_type": "blog"},
        headers=_auth(keys["admin"]),
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "source_type"
    not_json = httpx.post(
        f"{base}/v1/documents",
        content=b"[1, 2]",
        headers={**_auth(keys["admin"]), "content-type": "application/json"},
    )
    assert not_json.status_code == 422
    assert not_json.json()["error"]["code"] == "invalid_request"


def test_search_contract_auth_and_errors(server: tuple[str, dict[str, str]]) -> None:
    base, keys = server
    doc = {"id": "api-search-1", "title": "华法林用药说明", "source_type": "guideline",
           "sections": [{"heading": "出血风险", "text": "华法林与阿司匹林合用会增加出血风险。应监测INR。"}]}
    assert httpx.post(f"{base}/v1/documents", json=doc, headers=_auth(keys["admin"]), timeout=120).status_code == 201
    assert httpx.post(f"{base}/v1/search", json={"query": "华法林"}).status_code == 401
    found = httpx.post(f"{base}/v1/search", json={"query": "华法林 出血风险", "k": 3, "filters": {"language": "zh"}},
                       headers=_auth(keys["reader"]), timeout=60)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["query"]["entities"][0]["name"] == "Warfarin"
    hit = body["hits"][0]
    assert hit["doc_id"] == "api-search-1" and hit["language"] == "zh"
    assert set(hit["channels"]) == {"bm25", "dense", "graph"} and hit["channels"]["bm25"]["rank"] == 1
    stored = httpx.get(f"{base}/v1/documents/api-search-1", headers=_auth(keys["admin"])).json()
    assert stored["text"][hit["start"] : hit["end"]] == hit["text"]
    for payload, field in [({"query": ""}, "query"), ({"query": "x", "k": 0}, "k"),
                           ({"query": "x", "filters": {"published_from": "soon"}}, "filters.published_from"),
                           ({"query": "x", "filters": {"source_type": ["blog"]}}, "filters.source_type.0"),
                           ({"query": "x", "colour": "red"}, "colour")]:
        bad = httpx.post(f"{base}/v1/search", json=payload, headers=_auth(keys["reader"]))
        assert bad.status_code == 422, payload
        assert bad.json()["error"]["field"] == field, bad.json()
