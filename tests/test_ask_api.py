"""/v1/ask (JSON and SSE), /v1/answers/{id} and `medevidence ask`, on a real HTTP server on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.runtime import Runtime
from testkit.http_server import serving

from .answer_support import assert_grounded, sse_events
from .conftest import ROOT, StarterApp

pytestmark = pytest.mark.slow
WARFARIN_LABEL = "openfda:5a5b5e3a-6556-a542-e063-6294a90a6d3f"


@pytest.fixture(scope="module")
def api(starter_runtime: Runtime) -> Iterator[tuple[str, dict[str, str]]]:
    _, reader = starter_runtime.keys.create("reader", "ask-reader")
    with serving(create_app(starter_runtime.settings, runtime=starter_runtime)) as base:
        yield base, {"Authorization": f"Bearer {reader}"}




def test_ask_json_contract(api: tuple[str, dict[str, str]], starter_runtime: Runtime) -> None:
    base, auth = api
    r = httpx.post(f"{base}/v1/ask", json={"question": "What are the contraindications of warfarin?"}, headers=auth,
                   timeout=120)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert {"answer_id", "mode", "abstained", "answer", "claims", "citations", "model", "settings_hash",
            "timings_ms"} <= set(answer)
    assert set(answer["timings_ms"]) >= {"retrieve", "generate"}
    assert {"n", "doc_id", "title", "url", "section", "start", "end", "quote", "source_type", "evidence_level",
            "published", "version"} <= set(answer["citations"][0])
    assert_grounded(answer, starter_runtime)
    assert any(c["doc_id"] == WARFARIN_LABEL for c in answer["citations"])
    trace = httpx.get(f"{base}/v1/answers/{answer['answer_id']}", headers=auth, timeout=30).json()
    assert trace["question"] == "What are the contraindications of warfarin?"
    assert trace["response"]["answer"] == answer["answer"] and trace["evidence"] and trace["prompt_version"]
    assert all("channels" in ev for ev in trace["evidence"])
    replay = httpx.post(f"{base}/v1/answers/{answer['answer_id']}/replay", headers=auth, timeout=60).json()
    assert replay["same_answer"] is True


def test_ask_streams_server_sent_events(api: tuple[str, dict[str, str]], starter_runtime: Runtime) -> None:
    base, auth = api
    body = {"question": "华法林和阿司匹林合用的出血风险", "stream": True}
    with httpx.stream("POST", f"{base}/v1/ask", json=body, headers=auth, timeout=120) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    names = [n for n, _ in events]
    assert names[0] == "evidence" and names[-2:] == ["citations", "done"] and names.count("delta") >= 1
    done = events[-1][1]
    assert "".join(d["text"] for n, d in events if n == "delta").strip() == done["answer"]
    assert events[-2][1]["citations"] == done["citations"] and done["citations"]
    assert_grounded(done, starter_runtime)
    accept = {**auth, "Accept": "text/event-stream"}
    with httpx.stream("POST", f"{base}/v1/ask", json={"question": "warfarin INR monitoring"}, headers=accept,
                      timeout=120) as r:
        assert [n for n, _ in sse_events(r)][-1] == "done"


def test_ask_errors_name_the_field(api: tuple[str, dict[str, str]]) -> None:
    base, auth = api
    cases = [
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "warfarin", "k": 0}, "k"),
        ({"question": "warfarin", "filters": {"source_type": ["blog"]}}, "filters.source_type.0"),
        ({"question": "warfarin", "filters": {"published_from": "last year"}}, "filters.published_from"),
        ({"question": "warfarin", "conversation_id": "has spaces"}, "conversation_id"),
        ({"question": "warfarin", "temperature": 2}, "temperature"),
        ({}, "question"),
    ]
    for body, field in cases:
        r = httpx.post(f"{base}/v1/ask", json=body, headers=auth, timeout=30)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["field"] == field, (body, r.json())
    assert httpx.post(f"{base}/v1/ask", json={"question": "warfarin"}, timeout=30).status_code == 401
    missing = httpx.get(f"{base}/v1/answers/nope", headers=auth, timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "answer_id"


def test_cli_ask_on_a_fresh_index(tmp_path: Path, starter_runtime: Runtime) -> None:
    """`medevidence index` a JSONL with the warfarin label, then `medevidence ask --json` (no LLM configured)."""
    doc = starter_runtime.manifest.document(WARFARIN_LABEL)
    assert doc is not None
    source = tmp_path / "warfarin.jsonl"
    source.write_text(json.dumps(doc.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
    data_dir = tmp_path / "data"
    env_cmd = [sys.executable, "-m", "app.cli"]
    indexed = subprocess.run([*env_cmd, "index", str(source), "--data-dir", str(data_dir), "--json"], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
    assert indexed.returncode == 0, indexed.stderr
    asked = subprocess.run([*env_cmd, "ask", "What are the contraindications of warfarin?", "--json",
                            "--data-dir", str(data_dir)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["mode"] == "extractive" and not answer["abstained"]
    label_text = doc.text
    for c in answer["citations"]:
        assert c["doc_id"] == WARFARIN_LABEL and label_text[c["start"] : c["end"]] == c["quote"]
    assert any(c["section"] == "Contraindications" for c in answer["citations"])


def test_readiness_reports_an_unreachable_llm(starter_app: StarterApp, starter_runtime: Runtime) -> None:
    """With an LLM configured but down, /readyz says 503 and why; answers still come, degraded."""
    from fastapi.testclient import TestClient

    with starter_app(llm_url="http://127.0.0.1:9/v1", llm_max_retries=0, dev_mode=True) as app, \
            TestClient(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        model = ready.json()["checks"]["model"]
        assert model["ok"] is False and model["detail"]["fallback"] == "extractive answers (degraded)"
        answer = client.post("/v1/ask", json={"question": "What are the contraindications of warfarin?"}).json()
        assert answer["mode"] == "extractive" and answer["degraded"] is True
        assert_grounded(answer, starter_runtime)
