"""Faults on real loopback servers: the LLM down, slow or talking garbage; a store gone; malformed input.

- The LLM: ``/v1/ask`` (JSON and SSE) on a uvicorn-served app over the starter index, its ``llm_url`` a closed
  port or ``FaultyLLM`` below (an OpenAI-compatible server on loopback that stalls, trickles, answers 500 or
  sends bytes no OpenAI client can read).  Every answer is a 200, extractive, ``degraded: true``, grounded.
- A store: an app on its own runtime (tmp data dir) whose graph store, then vector store, is closed underneath
  it: ``/readyz`` 503 naming the check, ``/v1/search`` and ``/v1/ask`` a JSON 503 ``store_unavailable``.
- Input: malformed JSONL, binary files, malformed XML, an oversized request: each rejected with its file and
  line (or a 413), and the index as it was.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli.wiring import open_indexer, serving_indexer
from app.config import Settings
from app.consistency import check_consistency
from app.main import create_app
from app.runtime import Runtime
from testkit.http_server import LoopbackServer, QuietHandler, free_port, serving

from .answer_support import assert_grounded, sse_events
from .conftest import FIXTURES, KNOWLEDGE, StarterApp

pytestmark = pytest.mark.slow

QUESTION = "What are the contraindications of warfarin?"
QUESTION_ZH = "华法林和阿司匹林合用的出血风险"
LLM_TIMEOUT_S = 1.0
LLM_TOTAL_TIMEOUT_S = 3.0


def _chunk(delta: dict[str, str]) -> bytes:
    body = {"id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": 1, "model": "fault-llm",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]}
    return f"data: {json.dumps(body)}\n\n".encode()


class FaultyLLM(LoopbackServer):
    """An OpenAI-compatible server on loopback whose chat completions fail the way ``mode`` says.

    ``/v1/models`` always answers (the server is up); every chat request is counted."""

    def __init__(self) -> None:
        self.mode = "http500"
        self.chat_requests = 0
        self.released = threading.Event()  # ends every stall when the server stops
        faults: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
            "http500": self._http500, "stall": self._stall, "stall_mid_stream": self._stall_mid_stream,
            "trickle": self._trickle, "invalid_json": self._invalid_json, "broken_sse": self._broken_sse,
            "html_page": self._html_page, "bare_done": self._bare_done,
        }
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                send(self, 200, json.dumps({"object": "list", "data": [{"id": "fault-llm", "object": "model"}]})
                     .encode(), "application/json")

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length", 0)))
                owner.chat_requests += 1
                try:
                    faults[owner.mode](self)
                except OSError:  # the client gave up first (its timeout): that is the point
                    self.close_connection = True

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"{self.base}/v1"

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        super().__exit__(*exc)

    # -- the faults --------------------------------------------------------------------------
    @staticmethod
    def _http500(h: BaseHTTPRequestHandler) -> None:
        send(h, 500, b'{"error": {"message": "CUDA out of memory", "type": "InternalServerError"}}',
             "application/json")

    def _stall(self, h: BaseHTTPRequestHandler) -> None:
        """Nothing at all until long past the client's timeout."""
        self.released.wait(60)

    def _stall_mid_stream(self, h: BaseHTTPRequestHandler) -> None:
        """The headers and one reasoning token, then silence."""
        _event_stream(h)
        h.wfile.write(_chunk({"role": "assistant", "reasoning_content": "The label says"}))
        h.wfile.flush()
        self.released.wait(60)

    def _trickle(self, h: BaseHTTPRequestHandler) -> None:
        """A reasoning token every 0.4 s, forever: each within the token timeout, the whole past its limit."""
        _event_stream(h)
        while not self.released.wait(0.4):
            h.wfile.write(_chunk({"reasoning_content": " hmm"}))
            h.wfile.flush()

    @staticmethod
    def _invalid_json(h: BaseHTTPRequestHandler) -> None:
        _event_stream(h)
        h.wfile.write(b'data: {"id": "chatcmpl-fault", "choices": [{"delta": {"content": "Warfarin is\n\n')
        h.wfile.write(b"data: [DONE]\n\n")

    @staticmethod
    def _broken_sse(h: BaseHTTPRequestHandler) -> None:
        """Two events of a promised longer body, then the connection closes."""
        events = _chunk({"role": "assistant", "content": ""}) + _chunk({"reasoning_content": "Block [1]"})
        _event_stream(h, length=len(events) + 500)
        h.wfile.write(events)
        h.wfile.flush()

    @staticmethod
    def _html_page(h: BaseHTTPRequestHandler) -> None:
        """A proxy's error page, with a 200."""
        send(h, 200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")

    @staticmethod
    def _bare_done(h: BaseHTTPRequestHandler) -> None:
        """A stream that ends before any completion chunk."""
        _event_stream(h)
        h.wfile.write(b"data: [DONE]\n\n")


def send(h: BaseHTTPRequestHandler, status: int, payload: bytes, ctype: str) -> None:
    h.send_response(status)
    h.send_header("content-type", ctype)
    h.send_header("content-length", str(len(payload)))
    h.end_headers()
    h.wfile.write(payload)


def _event_stream(h: BaseHTTPRequestHandler, length: int | None = None) -> None:
    h.send_response(200)
    h.send_header("content-type", "text/event-stream")
    if length is None:
        h.send_header("connection", "close")
    else:
        h.send_header("content-length", str(length))
    h.end_headers()
    h.close_connection = True


#: mode -> what the answer trace's error says (the fault reached the LLM client, and that is why it degraded)
FAULTS = {
    "http500": "InternalServerError",
    "stall": "Timeout",
    "stall_mid_stream": "Timeout",
    "trickle": f"exceeded {LLM_TOTAL_TIMEOUT_S:.0f} s",
    "invalid_json": "JSONDecodeError",
    "broken_sse": "APIConnectionError|RemoteProtocolError|incomplete",
    "html_page": "no completion chunk",
    "bare_done": "no completion chunk",
}


@pytest.fixture(scope="module")
def faulty_llm() -> Iterator[FaultyLLM]:
    with FaultyLLM() as server:
        yield server


def _llm_settings(llm_url: str, **extra: Any) -> dict[str, Any]:
    return {"llm_url": llm_url, "llm_timeout_s": LLM_TIMEOUT_S, "llm_total_timeout_s": LLM_TOTAL_TIMEOUT_S,
            "llm_max_retries": 1, "dev_mode": True, **extra}


@pytest.fixture(scope="module")
def faulty_api(starter_app: StarterApp, faulty_llm: FaultyLLM) -> Iterator[str]:
    with starter_app(serving_indexer, **_llm_settings(faulty_llm.url, llm_model="fault-llm")) as app, \
            serving(app) as base:
        yield base


def _ask_json(base: str, rt: Runtime) -> dict[str, Any]:
    r = httpx.post(f"{base}/v1/ask", json={"question": QUESTION}, timeout=120)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["mode"] == "extractive" and answer["degraded"] is True, answer
    assert not answer["abstained"] and answer["citations"], answer
    assert_grounded(answer, rt)
    return answer


def _ask_sse(base: str, rt: Runtime) -> dict[str, Any]:
    with httpx.stream("POST", f"{base}/v1/ask", json={"question": QUESTION_ZH, "stream": True}, timeout=120) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    names = [n for n, _ in events]
    assert names[0] == "evidence" and names[-2:] == ["citations", "done"] and "error" not in names, names
    done = events[-1][1]
    assert done["mode"] == "extractive" and done["degraded"] is True and done["citations"], done
    assert "".join(d["text"] for n, d in events if n == "delta").strip() == done["answer"]
    assert_grounded(done, rt)
    return done


def _trace_errors(base: str, answer_id: str) -> list[str]:
    trace = httpx.get(f"{base}/v1/answers/{answer_id}", timeout=30).json()
    return list(trace["errors"])


@pytest.mark.parametrize("mode", list(FAULTS))
def test_a_failing_llm_degrades_to_extractive_answers(mode: str, faulty_api: str, faulty_llm: FaultyLLM,
                                                      starter_runtime: Runtime) -> None:
    faulty_llm.mode = mode
    for ask in (_ask_json, _ask_sse):
        faulty_llm.chat_requests = 0
        started = time.perf_counter()
        answer = ask(faulty_api, starter_runtime)
        elapsed = time.perf_counter() - started
        assert faulty_llm.chat_requests >= 1, "the LLM was never asked"
        errors = _trace_errors(faulty_api, answer["answer_id"])
        assert errors and errors[0].startswith("llm: ") and re.search(FAULTS[mode], errors[0]), errors
        # two attempts (one retry) of at most the token timeout each, the whole answer's limit, and the rest
        assert elapsed < 2 * LLM_TIMEOUT_S + LLM_TOTAL_TIMEOUT_S + 20, f"{mode}: {elapsed:.1f} s"


def test_an_llm_down_degrades_and_readiness_says_so(starter_app: StarterApp, starter_runtime: Runtime) -> None:
    """``llm_url`` a closed loopback port, no ``llm_model`` (so even the model lookup fails)."""
    with starter_app(**_llm_settings(f"http://127.0.0.1:{free_port()}/v1")) as app, serving(app) as base:
        ready = httpx.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 503
        model = ready.json()["checks"]["model"]
        assert model["ok"] is False and model["detail"]["fallback"] == "extractive answers (degraded)"
        assert all(ready.json()["checks"][store]["ok"] for store in ("manifest", "vectors", "graph"))
        for ask in (_ask_json, _ask_sse):
            answer = ask(base, starter_runtime)
            assert answer["model"] != "unavailable"  # the extractive answerer's id
            assert _trace_errors(base, answer["answer_id"])[0].startswith("llm: ")


# -- a store gone underneath a running app ------------------------------------------------------


@pytest.fixture
def fragile_service(tmp_path: Path) -> Iterator[tuple[str, Runtime]]:
    """An app on its own runtime (empty index, no LLM): its stores may be closed under it."""
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=KNOWLEDGE, dev_mode=True)
    rt = Runtime.open(settings)
    try:
        with serving(create_app(settings, runtime=rt)) as base:
            yield base, rt
    finally:
        rt.close()


def _assert_store_unavailable(response: httpx.Response, store: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "store_unavailable" and f"the {store} store" in error["message"], error
    assert "Traceback" not in response.text and response.headers.get("retry-after")
    assert response.headers.get("x-request-id")  # answered inside the serving middleware


def test_a_store_going_down_makes_the_service_unready_and_requests_503(
        fragile_service: tuple[str, Runtime]) -> None:
    base, rt = fragile_service
    ready = httpx.get(f"{base}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    assert httpx.post(f"{base}/v1/search", json={"query": "warfarin 华法林"}, timeout=60).status_code == 200

    rt.graph.close()  # the embedded ArcadeDB stops and its driver closes, under the running app
    ready = httpx.get(f"{base}/readyz", timeout=30)
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["graph"]["ok"] is False and checks["graph"]["detail"], checks
    assert checks["vectors"]["ok"] and checks["manifest"]["ok"] and checks["model"]["ok"], checks
    # The graph channel answers which documents name a drug from links held in memory for the index
    # generation; a two-drug question still reads the interaction facts from the graph.
    search = httpx.post(f"{base}/v1/search", json={"query": "atorvastatin with clarithromycin myopathy"}, timeout=60)
    _assert_store_unavailable(search, "graph")
    ask = httpx.post(f"{base}/v1/ask", json={"question": "Can metformin be taken with warfarin?"}, timeout=60)
    _assert_store_unavailable(ask, "graph")
    body = {"question": "Does clarithromycin interact with simvastatin?", "stream": True}
    with httpx.stream("POST", f"{base}/v1/ask", json=body, timeout=60) as r:
        events = sse_events(r)  # the stream was open already: the failure is its last event, not a cut connection
    assert r.status_code == 200 and events[-1][0] == "error", events

    rt.vectors.close()  # now the vector store too
    checks = httpx.get(f"{base}/readyz", timeout=30).json()["checks"]
    assert checks["vectors"]["ok"] is False and "closed" in checks["vectors"]["detail"], checks
    _assert_store_unavailable(httpx.post(f"{base}/v1/search", json={"query": "insulin"}, timeout=60), "vectors")
    assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200  # alive, not ready


def test_store_client_errors_from_closed_ports_map_to_their_store() -> None:
    """The server-mode failures, raised by the real clients against a closed loopback port."""
    from neo4j import GraphDatabase
    from qdrant_client import QdrantClient

    from app.api.errors import unavailable_store

    port = free_port()
    driver = GraphDatabase.driver(f"bolt://127.0.0.1:{port}", auth=("neo4j", "x"), connection_timeout=2)
    with pytest.raises(Exception) as graph_error:
        driver.verify_connectivity()
    driver.close()
    assert unavailable_store(graph_error.value) == "graph", repr(graph_error.value)
    client = QdrantClient(url=f"http://127.0.0.1:{port}", timeout=2, check_compatibility=False)
    with pytest.raises(Exception) as vector_error:
        client.get_collections()
    client.close()
    assert unavailable_store(vector_error.value) == "vectors", repr(vector_error.value)
    assert unavailable_store(RuntimeError("something else")) is None
    assert unavailable_store(ValueError("vector store x is closed")) is None


# -- malformed and oversized input -----------------------------------------------------------------


def _snapshot(rt: Runtime) -> dict[str, Any]:
    return {"versions": rt.manifest.versions(), "vectors": rt.vectors.count(),
            "graph": rt.graph.document_versions()}


GOOD_DOC = {"id": "faults-good-1", "title": "Ward note", "text": "Warfarin needs INR checks.", "source_type": "other"}


def _malformed_inputs(root: Path) -> dict[str, Path]:
    """Bad files next to two good documents (one JSONL line, one MedQuAD XML)."""
    root.mkdir()
    mixed = root / "mixed.jsonl"
    mixed.write_bytes(b"\n".join([
        json.dumps(GOOD_DOC).encode(),
        b'{"id": "truncated", "text": ',
        b'["not", "an", "object"]',
        b'{"id": "bad-utf8", "text": "\xff\xfe"}',
        b'{"id": "no-text"}',
    ]) + b"\n")
    binary = root / "scan.jsonl"  # a PNG saved with the wrong name
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4)
    not_gzip = root / "export.jsonl.gz"
    not_gzip.write_bytes(b"PK\x03\x04" + bytes(range(200)))
    pdf = root / "label.pdf"  # a PDF cut after its catalogue: the file reader reports it and indexes the rest
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n")
    collection = root / "medquad" / "1_Faults_QA"
    collection.mkdir(parents=True)
    shutil.copy(FIXTURES / "sources" / "medquad" / "3_GHR_QA" / "0000708.xml", collection / "9990708.xml")
    (collection / "9990709.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Document id="9990709" source="Faults">\n<Focus>x</Focus>\n'
        "<QAPairs>\n<QAPair pid=\"1\"><Question qid=\"1\">What?</Question><Answer>Text.</QAPair>\n</QAPairs>\n"
        "</Document>\n", encoding="utf-8")
    return {"mixed": mixed, "binary": binary, "not_gzip": not_gzip, "pdf": pdf, "medquad": root / "medquad",
            "bad_xml": collection / "9990709.xml"}


def test_malformed_input_is_rejected_with_file_and_line_and_the_index_kept(
        starter_runtime: Runtime, tmp_path: Path) -> None:
    rt = starter_runtime
    before = _snapshot(rt)
    inputs = _malformed_inputs(tmp_path / "in")
    indexer = open_indexer(rt)
    added = ["faults-good-1", "medquad:ghr:9990708"]
    try:
        summary = indexer.index_paths([inputs[k] for k in ("mixed", "binary", "not_gzip", "pdf", "medquad")])
        rejects = summary.rejects
        assert summary.added == 2, summary.to_json()
        assert sorted(d for d in rt.manifest.versions() if d not in before["versions"]) == sorted(added)

        def by_line(path: Path) -> dict[int, str]:
            found = [r[len(str(path)) + 1:].partition(": ") for r in rejects if r.startswith(f"{path}:")]
            return {int(line): reason for line, _, reason in found}

        mixed = by_line(inputs["mixed"])
        assert sorted(mixed) == [2, 3, 4, 5], rejects
        assert "invalid JSON" in mixed[2] and "expected a JSON object" in mixed[3]
        assert "UTF-8" in mixed[4] and "text" in mixed[5]
        binary_lines = [n for n, line in enumerate(inputs["binary"].read_bytes().split(b"\n"), 1) if line.strip()]
        assert sorted(by_line(inputs["binary"])) == binary_lines, rejects  # every line of it, each by number
        assert by_line(inputs["not_gzip"])[0].startswith("cannot read file"), rejects  # line 0: the whole file
        assert by_line(inputs["pdf"])[0].startswith("not a readable PDF"), rejects
        # The XML parser's position is in the reason (the Rejected line is 0: the whole file).
        bad_xml = [r for r in rejects if r.startswith(f"{inputs['bad_xml']}:")]
        assert len(bad_xml) == 1 and "invalid XML" in bad_xml[0] and "line 5" in bad_xml[0], rejects
        assert summary.rejected == len(rejects)
    finally:
        indexer.delete(added)
    assert _snapshot(rt) == before, "an already indexed document changed"
    report = check_consistency(rt.manifest, rt.vectors, rt.graph)
    assert report.ok, report.describe()


def test_an_oversized_document_is_refused_and_nothing_is_written(faulty_api: str,
                                                                  starter_runtime: Runtime) -> None:
    """On an app that can write documents (it has an indexer), a body past ``max_request_bytes`` is a 413."""
    limit = starter_runtime.settings.max_request_bytes
    before = _snapshot(starter_runtime)
    big = {"id": "faults-oversized", "text": "Warfarin needs INR checks. " * (limit // 20)}
    payload = json.dumps(big).encode()
    assert len(payload) > limit
    declared = httpx.post(f"{faulty_api}/v1/documents", content=payload, timeout=60,
                          headers={"Content-Type": "application/json"})

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 65_536):
            yield payload[start:start + 65_536]

    streamed = httpx.post(f"{faulty_api}/v1/documents", content=chunks(), timeout=60,
                          headers={"Content-Type": "application/json"})  # no Content-Length: counted as it comes
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json()["error"] == {"code": "too_large", "field": "body",
                                            "message": f"the request body exceeds {limit} bytes"}
    assert _snapshot(starter_runtime) == before
