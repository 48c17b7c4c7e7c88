"""One contract for every ``Reranker``: the reranking server (vLLM's rerank API, recorded answers replayed on
loopback; always) and the local cross-encoder (a tiny random model built offline into a temporary folder; slow:
it loads sentence-transformers).

What a search may rely on: the top ``depth`` hits come back re-ordered by the reranker's scores, each with its
``rerank`` rank and score; the rest keep their fused order below them; the same hit objects, none lost or added;
and a failure never raises: it returns the fused order untouched, flagged with a reason and a note.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.retrieval.fusion import FusedHit
from app.retrieval.rerank import CHANNEL, Reranker
from app.retrieval.rerank_cross_encoder import CrossEncoderReranker
from app.retrieval.rerank_server import ServerReranker
from tests.rerank_support import QUERY, RECORDED_ORDER, RerankReplayServer, hits, tiny_cross_encoder

DEPTH = 4


@dataclass
class Harness:
    reranker: Reranker
    break_it: Callable[[], None]  # from now on the reranker fails (model error, server error)
    failure: str  # the reason its outcome then gives
    expected_order: list[int] | None  # the ordinals of the top DEPTH hits it ranks, when known in advance


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_cross_encoder(tmp_path_factory.mktemp("cross-encoder"))


@pytest.fixture(params=["server", pytest.param("cross-encoder", marks=pytest.mark.slow)])
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    if request.param == "server":
        with RerankReplayServer() as server:
            reranker = ServerReranker(server.url, model="bge-reranker-v2-m3", depth=DEPTH, timeout_s=2.0,
                                      cooldown_s=0.0)

            def server_error() -> None:
                server.script.status = 500

            yield Harness(reranker, server_error, "http_error", RECORDED_ORDER)
            reranker.close()
        return
    local = CrossEncoderReranker(request.getfixturevalue("model_folder"), depth=DEPTH, threads=1)

    def model_error() -> None:
        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("out of memory")

        monkeypatch.setattr(local._model, "predict", broken)

    yield Harness(local, model_error, "model_error", None)
    local.close()


def ordinals(found: list[FusedHit]) -> list[int]:
    return [h.chunk.ordinal for h in found]


def test_it_is_a_reranker_with_a_name(harness: Harness) -> None:
    assert isinstance(harness.reranker, Reranker)
    assert isinstance(harness.reranker.name, str) and harness.reranker.name


def test_the_top_hits_are_reordered_by_score_and_the_rest_keep_their_order(harness: Harness) -> None:
    found = hits()
    given = list(found)
    outcome = harness.reranker.rerank(QUERY, found)
    assert found == given  # the caller's list is not reordered in place
    assert outcome.reranked and outcome.reason is None and outcome.note is None and outcome.scored == DEPTH
    assert outcome.reranker == harness.reranker.name and outcome.ms >= 0
    assert sorted(map(id, outcome.hits)) == sorted(map(id, found))  # the same hits, none lost or added
    assert sorted(ordinals(outcome.hits[:DEPTH])) == list(range(DEPTH))
    assert outcome.hits[DEPTH:] == found[DEPTH:]
    ranks = [h.channels[CHANNEL] for h in outcome.hits[:DEPTH]]
    assert [r.rank for r in ranks] == list(range(1, DEPTH + 1))
    assert all(a.score >= b.score for a, b in zip(ranks, ranks[1:], strict=False))
    assert all(CHANNEL not in h.channels for h in outcome.hits[DEPTH:])
    if harness.expected_order is not None:
        assert ordinals(outcome.hits[:DEPTH]) == harness.expected_order
    assert outcome.to_json() == {"reranker": harness.reranker.name, "reranked": True, "reason": None, "note": None,
                                 "scored": DEPTH, "ms": round(outcome.ms, 1)}


def test_nothing_to_rerank(harness: Harness) -> None:
    outcome = harness.reranker.rerank(QUERY, [])
    assert (outcome.hits, outcome.reranked, outcome.reason, outcome.scored) == ([], False, "no_hits", 0)


def test_a_failure_keeps_the_fused_order_flagged_and_never_raises(harness: Harness) -> None:
    harness.break_it()
    found = hits()
    outcome = harness.reranker.rerank(QUERY, found)
    assert [id(h) for h in outcome.hits] == [id(h) for h in found]
    assert all(CHANNEL not in h.channels for h in outcome.hits)
    assert (outcome.reranked, outcome.reason, outcome.scored) == (False, harness.failure, 0)
    assert outcome.note and outcome.to_json()["note"] == outcome.note
