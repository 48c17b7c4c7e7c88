"""The local cross-encoder reranker: what it scores, its explicit torch thread setting, and its failures. The model
is a tiny random BERT cross-encoder built offline into a temporary folder (tests/rerank_support.py)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.retrieval.rerank import CHANNEL
from app.retrieval.rerank_cross_encoder import CrossEncoderReranker, effective_threads, usable_cpus
from app.retrieval.rerankers import build_reranker
from tests.rerank_support import QUERY, hits, tiny_cross_encoder


def test_threads_are_capped_at_the_usable_cpus_and_zero_leaves_torch_alone() -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    assert usable_cpus() == cpus
    assert effective_threads(1) == 1
    assert effective_threads(0) == 0
    assert effective_threads(10_000) == cpus
    assert effective_threads(2) == min(2, cpus)


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_cross_encoder(tmp_path_factory.mktemp("cross-encoder") / "tiny-ce")


@pytest.mark.slow
def test_it_scores_the_question_against_each_passage_with_title_and_section(model_folder: Path) -> None:
    from sentence_transformers import CrossEncoder

    found = hits()
    reranker = CrossEncoderReranker(model_folder, depth=5, threads=1)
    outcome = reranker.rerank(QUERY, found)
    reference = CrossEncoder(str(model_folder), device="cpu", local_files_only=True)
    expected = [float(s) for s in reference.predict([(QUERY, h.chunk.embed_text) for h in found[:5]],
                                                    show_progress_bar=False)]
    order = sorted(range(5), key=lambda i: -expected[i])
    assert [h.chunk.ordinal for h in outcome.hits] == [*order, 5]
    for rank, i in enumerate(order, start=1):
        assert outcome.hits[rank - 1].channels[CHANNEL].rank == rank
        assert math.isclose(outcome.hits[rank - 1].channels[CHANNEL].score, expected[i], rel_tol=1e-5)
    assert len(set(expected)) == 5  # the scores tell the passages apart, so the order above means something
    assert reranker.name == "cross-encoder:tiny-ce"


@pytest.mark.slow
def test_it_predicts_with_its_own_thread_count_and_restores_the_callers(model_folder: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    seen: list[int] = []

    def spied(threads: int) -> CrossEncoderReranker:
        reranker = CrossEncoderReranker(model_folder, depth=5, threads=threads)
        predict = reranker._model.predict

        def spying(*args: Any, **kwargs: Any) -> Any:
            seen.append(torch.get_num_threads())
            return predict(*args, **kwargs)

        monkeypatch.setattr(reranker._model, "predict", spying)
        return reranker

    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        assert spied(1).rerank(QUERY, hits()).reranked
        assert seen == [1] and torch.get_num_threads() == 3
        assert spied(0).rerank(QUERY, hits()).reranked  # 0: torch's setting, untouched
        assert seen == [1, 3] and torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_the_settings_build_it_and_a_model_that_answers_nonsense_keeps_the_fused_order(
        model_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = build_reranker(Settings(reranker_model_path=model_folder, rerank_depth=3, reranker_threads=1))
    assert isinstance(built, CrossEncoderReranker) and (built.depth, built.threads) == (3, 1)
    outcome = built.rerank(QUERY, hits())
    assert outcome.scored == 3 and [h.chunk.ordinal for h in outcome.hits[3:]] == [3, 4, 5]
    monkeypatch.setattr(built._model, "predict", lambda *a, **k: [float("nan")] * 3)
    found = hits()
    failed = built.rerank(QUERY, found)
    assert (failed.reranked, failed.reason) == (False, "model_error") and failed.hits == found
    assert failed.note is not None and failed.note.startswith("cross-encoder failed: ValueError")
