"""The reranking-server client against recorded vLLM rerank answers replayed on loopback: what it sends, how it
re-orders, and that every failure keeps the fused order, flagged, without asking a failed server on every query.
Also the factory and the settings that choose a reranker."""

from __future__ import annotations

import copy
import json
import logging
import time
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from app.config import Settings
from app.retrieval.fusion import FusedHit
from app.retrieval.rerank import CHANNEL, Reranker, RerankOutcome
from app.retrieval.rerank_server import ServerReranker, rerank_endpoint
from app.retrieval.rerankers import build_reranker
from tests.rerank_support import QUERY, RECORDED_ORDER, RerankReplayServer, closed_port, hits, recorded

MODEL = "bge-reranker-v2-m3"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def server_reranker(url: str, **extra: Any) -> ServerReranker:
    options: dict[str, Any] = {"model": MODEL, "depth": 4, "timeout_s": 2.0, "cooldown_s": 30.0, **extra}
    return ServerReranker(url, **options)


def ids(found: list[FusedHit]) -> list[int]:
    return [h.chunk.ordinal for h in found]


def assert_fused_order_kept(outcome: RerankOutcome, before: list[FusedHit], reason: str) -> None:
    assert [id(h) for h in outcome.hits] == [id(h) for h in before]
    assert not any(CHANNEL in h.channels for h in outcome.hits)
    assert (outcome.reranked, outcome.reason, outcome.scored) == (False, reason, 0)
    assert outcome.note and outcome.to_json()["reason"] == reason


def test_recorded_answer_reorders_the_top_n_and_the_rest_keep_their_order() -> None:
    found = hits()
    with RerankReplayServer() as server:
        reranker = server_reranker(server.url)
        outcome = reranker.rerank(QUERY, found)
        reranker.close()
        [sent] = server.script.requests
    # Only the top N = depth documents went out, as their embed_text, with top_n = N and the model name.
    assert sent["path"] == "/v1/rerank" and sent["headers"]["content-type"] == "application/json"
    assert sent["body"] == {"model": MODEL, "query": QUERY, "documents": [h.chunk.embed_text for h in found[:4]],
                            "top_n": 4}
    assert [r["document"]["text"] for r in recorded()["results"]] == [found[i].chunk.embed_text
                                                                       for i in RECORDED_ORDER]
    assert ids(outcome.hits) == [*RECORDED_ORDER, 4, 5]
    scores = {r["index"]: r["relevance_score"] for r in recorded()["results"]}
    for rank, hit in enumerate(outcome.hits[:4], start=1):
        assert hit.channels[CHANNEL].rank == rank
        assert hit.channels[CHANNEL].score == scores[hit.chunk.ordinal]
    assert all(CHANNEL not in h.channels for h in outcome.hits[4:])
    assert [h.score for h in outcome.hits[4:]] == [found[4].score, found[5].score]  # fused scores untouched
    assert outcome.reranked and outcome.reason is None and outcome.note is None and outcome.scored == 4
    assert outcome.to_json() == {"reranker": f"server:{MODEL}", "reranked": True, "reason": None, "note": None,
                                 "scored": 4, "ms": round(outcome.ms, 1)}
    assert isinstance(reranker, Reranker)


def test_fewer_hits_than_the_depth_sends_them_all() -> None:
    found = hits()[:4]
    with RerankReplayServer() as server:
        outcome = server_reranker(server.url, depth=30).rerank(QUERY, found)
        body = server.script.requests[0]["body"]
    assert body["top_n"] == 4 and len(body["documents"]) == 4
    assert ids(outcome.hits) == RECORDED_ORDER


def test_cohere_shaped_answer_without_documents_is_read() -> None:
    with RerankReplayServer() as server:
        server.script.fixture = "rerank_cohere_shape.json"
        outcome = server_reranker(server.url).rerank(QUERY, hits())
    assert outcome.reranked and ids(outcome.hits) == [*RECORDED_ORDER, 4, 5]


def test_no_hits_asks_nothing() -> None:
    with RerankReplayServer() as server:
        outcome = server_reranker(server.url).rerank(QUERY, [])
        assert server.script.requests == []
    assert (outcome.hits, outcome.reranked, outcome.reason) == ([], False, "no_hits")


@pytest.mark.parametrize(("tail", "path"), [("", "/v1/rerank"), ("/", "/v1/rerank"), ("/v1", "/v1/rerank"),
                                            ("/v1/", "/v1/rerank"), ("/rerank", "/rerank"),
                                            ("/v1/rerank", "/v1/rerank"), ("/v2/rerank", "/v2/rerank")])
def test_the_url_may_be_a_base_or_the_endpoint(tail: str, path: str) -> None:
    with RerankReplayServer() as server:
        outcome = server_reranker(server.url + tail).rerank(QUERY, hits())
        assert server.script.requests[0]["path"] == path
    assert outcome.reranked
    assert rerank_endpoint("https://rerank.hospital.internal/api/") == "https://rerank.hospital.internal/api/v1/rerank"
    for bad in ("reranker:8000", "ftp://reranker/", ""):
        with pytest.raises(ValueError, match="MEDEVIDENCE_RERANKER_URL"):
            rerank_endpoint(bad)


def test_api_key_is_sent_as_bearer_and_an_unset_model_is_left_out() -> None:
    with RerankReplayServer() as server:
        server_reranker(server.url, api_key="s3cret").rerank(QUERY, hits())
        server_reranker(server.url, model=None).rerank(QUERY, hits())
        keyed, plain = server.script.requests
    assert keyed["headers"]["authorization"] == "Bearer s3cret" and keyed["body"]["model"] == MODEL
    assert "authorization" not in plain["headers"] and "model" not in plain["body"]
    assert set(plain["body"]) == {"query", "documents", "top_n"}
    assert ServerReranker("http://127.0.0.1:1", model=None).name == "server:127.0.0.1:1"


def _mutated(change: Any) -> bytes:
    answer = copy.deepcopy(recorded())
    change(answer)
    return json.dumps(answer).encode()


BAD_ANSWERS: dict[str, dict[str, Any]] = {
    "not-json": dict(fixture="rerank_truncated.json"),
    "index-out-of-range": dict(fixture="rerank_index_out_of_range.json"),
    "three-of-four": dict(body=_mutated(lambda a: a["results"].pop())),
    "duplicate-index": dict(body=_mutated(lambda a: a["results"][1].update(index=a["results"][0]["index"]))),
    "score-not-a-number": dict(body=_mutated(lambda a: a["results"][0].update(relevance_score="high"))),
    "score-nan": dict(body=json.dumps(recorded()).replace("0.98828125", "NaN").encode()),
    "index-a-string": dict(body=_mutated(lambda a: a["results"][0].update(index="1"))),
    "no-results": dict(body=b'{"id": "score-1", "model": "bge-reranker-v2-m3", "data": []}'),
    "a-list": dict(body=b"[]"),
}


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
def test_an_answer_that_does_not_score_each_document_once_keeps_the_fused_order(case: str) -> None:
    found = hits()
    with RerankReplayServer() as server:
        for name, value in BAD_ANSWERS[case].items():
            setattr(server.script, name, value)
        outcome = server_reranker(server.url).rerank(QUERY, found)
    assert_fused_order_kept(outcome, found, "bad_response")


@pytest.mark.parametrize(("status", "fixture", "said"), [
    (500, None, "HTTP 500: CUDA out of memory"),
    (404, "rerank_model_not_found.json", "HTTP 404: The model `bge-reranker-large` does not exist."),
    (401, None, "HTTP 401"),
])
def test_an_http_error_keeps_the_fused_order(status: int, fixture: str | None, said: str) -> None:
    found = hits()
    with RerankReplayServer() as server:
        server.script.status = status
        if fixture:
            server.script.fixture = fixture
        else:
            server.script.body = b'{"error": {"message": "CUDA out of memory", "type": "InternalServerError", ' \
                                 b'"param": null, "code": 500}}' if status == 500 else b'{"error": "Unauthorized"}'
        outcome = server_reranker(server.url).rerank(QUERY, found)
    assert_fused_order_kept(outcome, found, "http_error")
    assert outcome.note is not None and said in outcome.note


def test_a_slow_server_is_abandoned_at_the_timeout() -> None:
    found = hits()
    with RerankReplayServer() as server:
        server.script.delay_s = 3.0
        started = time.perf_counter()
        outcome = server_reranker(server.url, timeout_s=0.3).rerank(QUERY, found)
        waited = time.perf_counter() - started
    assert_fused_order_kept(outcome, found, "timeout")
    assert 0.25 < waited < 1.5 and outcome.note == "reranking server: no answer within 0.3 s"


def test_a_refused_connection_keeps_the_fused_order() -> None:
    found = hits()
    outcome = server_reranker(f"http://127.0.0.1:{closed_port()}").rerank(QUERY, found)
    assert_fused_order_kept(outcome, found, "unreachable")
    assert outcome.note is not None and "ConnectError" in outcome.note


def test_a_failed_server_is_not_asked_again_until_the_cooldown_ends() -> None:
    clock = Clock()
    with RerankReplayServer() as server:
        reranker = server_reranker(server.url, cooldown_s=30.0, clock=clock)
        server.script.status = 503
        assert reranker.rerank(QUERY, hits()).reason == "http_error"
        server.script.status = 200
        clock.now += 29.0
        cooling = reranker.rerank(QUERY, hits())
        assert len(server.script.requests) == 1  # not asked while cooling down
        assert cooling.reason == "cooling_down" and cooling.note is not None and "HTTP 503" in cooling.note
        assert ids(cooling.hits) == [0, 1, 2, 3, 4, 5]
        clock.now += 1.5
        again = reranker.rerank(QUERY, hits())
        assert len(server.script.requests) == 2 and again.reranked
        assert reranker.rerank(QUERY, hits()).reranked and len(server.script.requests) == 3  # closed again
        always = server_reranker(server.url, cooldown_s=0.0, clock=clock)
        server.script.status = 500
        assert [always.rerank(QUERY, hits()).reason for _ in range(2)] == ["http_error", "http_error"]
        assert len(server.script.requests) == 5


def test_each_kind_of_failure_is_logged_once_until_the_server_answers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="medevidence.rerank")
    with RerankReplayServer() as server:
        reranker = server_reranker(server.url, cooldown_s=0.0)
        server.script.status = 500
        reranker.rerank(QUERY, hits())
        reranker.rerank(QUERY, hits())
        server.script.status, server.script.fixture = 200, "rerank_truncated.json"
        reranker.rerank(QUERY, hits())
        reranker.rerank(QUERY, hits())
        server.script.fixture = "rerank_bge_v2_m3.json"
        assert reranker.rerank(QUERY, hits()).reranked
        server.script.status = 500
        reranker.rerank(QUERY, hits())
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "medevidence.rerank"]
    assert [level for level, _ in lines] == ["WARNING", "WARNING", "INFO", "WARNING"]
    assert "HTTP 500" in lines[0][1] and "not JSON" in lines[1][1] and "answers again" in lines[2][1]
    assert QUERY not in " ".join(message for _, message in lines)  # no question text in the log


# -- which reranker the settings build --------------------------------------------------------------------------
def test_the_factory_builds_what_the_settings_ask_for(tmp_path: Any) -> None:
    assert build_reranker(Settings()) is None
    built = build_reranker(Settings(reranker_url="http://reranker:8000", reranker_model=MODEL, rerank_depth=12,
                                    reranker_timeout_s=0.5, reranker_cooldown_s=5, reranker_api_key=SecretStr("k")))
    assert isinstance(built, ServerReranker)
    assert (built.endpoint, built.model, built.depth, built.timeout_s, built.cooldown_s) == (
        "http://reranker:8000/v1/rerank", MODEL, 12, 0.5, 5.0)
    assert built._client.headers["authorization"] == "Bearer k"
    built.close()
    with pytest.raises(ValueError, match="not both"):
        build_reranker(Settings(reranker_url="http://reranker:8000", reranker_model_path=tmp_path))
    with pytest.raises(FileNotFoundError, match="MEDEVIDENCE_RERANKER_MODEL_PATH"):
        build_reranker(Settings(reranker_model_path=tmp_path / "absent"))
    with pytest.raises(ValueError, match="MEDEVIDENCE_RERANKER_URL"):
        build_reranker(Settings(reranker_url="reranker:8000"))


def test_defaults_no_reranker_a_short_timeout_and_a_cooldown() -> None:
    settings = Settings()
    assert settings.reranker_url is None and settings.reranker_model_path is None
    assert (settings.rerank_depth, settings.reranker_timeout_s, settings.reranker_cooldown_s) == (30, 2.0, 30.0)
    assert settings.reranker_threads == 4 and settings.reranker_api_key is None


def test_reranker_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"URL": "http://reranker:8000/v1", "MODEL": MODEL, "API_KEY": "s3cret", "TIMEOUT_S": "1.5",
                        "COOLDOWN_S": "0", "THREADS": "2"}.items():
        monkeypatch.setenv(f"MEDEVIDENCE_RERANKER_{name}", value)
    settings = Settings()
    assert (settings.reranker_url, settings.reranker_model, settings.reranker_timeout_s) == (
        "http://reranker:8000/v1", MODEL, 1.5)
    assert (settings.reranker_cooldown_s, settings.reranker_threads) == (0.0, 2)
    assert settings.reranker_api_key is not None and settings.reranker_api_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings) and "s3cret" not in json.dumps(settings.model_dump(mode="json"))
    monkeypatch.setenv("MEDEVIDENCE_RERANKER_URL", "")  # as compose passes an unset variable
    assert Settings().reranker_url is None


@pytest.mark.parametrize(("name", "value"), [("reranker_timeout_s", 0), ("reranker_timeout_s", 61),
                                             ("reranker_cooldown_s", -1), ("reranker_threads", -1),
                                             ("reranker_threads", 65), ("rerank_depth", 0)])
def test_bad_reranker_settings_are_refused_naming_the_setting(name: str, value: float) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings.model_validate({name: value})
