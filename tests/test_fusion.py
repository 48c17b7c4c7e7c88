"""Fusion is pure: weighted RRF (Qdrant's formula), diversification, the evidence prior, graph scoring."""

from __future__ import annotations

from datetime import date

import pytest

from app.model import Chunk, ScoredChunk
from app.retrieval.channels import score_graph_documents
from app.retrieval.fusion import EvidencePrior, FusedHit, apply_prior, diversify, study_design, weighted_rrf


def chunk(doc: str, ordinal: int = 0, source_type: str = "evidence", published: str | None = None,
          text: str = "text") -> Chunk:
    return Chunk(doc_id=doc, version="v1", ordinal=ordinal, section="S", start=0, end=len(text), text=text,
                 title=doc, source_type=source_type, published=published)


def scored(*chunks: Chunk) -> list[ScoredChunk]:
    return [ScoredChunk(c, float(10 - i)) for i, c in enumerate(chunks)]


A, B, C, D = chunk("a"), chunk("b"), chunk("c"), chunk("d")


def test_rrf_scores_ranks_and_channels() -> None:
    fused = weighted_rrf({"bm25": scored(A, B, C), "dense": scored(B, D)}, {"bm25": 1.0, "dense": 1.0}, k=60)
    assert [h.chunk.doc_id for h in fused] == ["b", "a", "d", "c"]
    by_doc = {h.chunk.doc_id: h for h in fused}
    assert by_doc["b"].score == pytest.approx(1 / 61 + 1 / 60)
    assert by_doc["a"].score == pytest.approx(1 / 60)
    assert by_doc["c"].score == pytest.approx(1 / 62)
    assert by_doc["b"].channels["bm25"].rank == 2 and by_doc["b"].channels["dense"].rank == 1
    assert by_doc["b"].channels["bm25"].score == 9.0
    assert "dense" not in by_doc["a"].channels


def test_rrf_weights_and_ties() -> None:
    # Equal scores keep the order of first appearance (channels in the order given).
    tied = weighted_rrf({"bm25": scored(A), "dense": scored(B)}, {}, k=60)
    assert [h.chunk.doc_id for h in tied] == ["a", "b"]
    weighted = weighted_rrf({"bm25": scored(A), "dense": scored(B)}, {"bm25": 0.5, "dense": 1.0}, k=60)
    assert [h.chunk.doc_id for h in weighted] == ["b", "a"]
    silent = weighted_rrf({"bm25": scored(A), "graph": scored(B)}, {"graph": 0.0}, k=60)
    assert silent[-1].chunk.doc_id == "b" and silent[-1].score == 0.0
    assert silent[-1].channels["graph"].rank == 1  # a zero-weight channel still explains itself


def test_rrf_counts_a_repeated_chunk_once_at_its_best_rank() -> None:
    fused = weighted_rrf({"bm25": [ScoredChunk(A, 3.0), ScoredChunk(A, 1.0), ScoredChunk(B, 0.5)]}, {}, k=10)
    assert fused[0].score == pytest.approx(1 / 10) and fused[0].channels["bm25"].rank == 1
    assert fused[1].channels["bm25"].rank == 3


def test_diversify_moves_extra_passages_of_one_section_down() -> None:
    hits = [FusedHit(chunk("x", i), 1.0 - i / 10) for i in range(3)] + [FusedHit(chunk("y"), 0.5)]
    assert [(h.chunk.doc_id, h.chunk.ordinal) for h in diversify(hits, 2)] == [
        ("x", 0), ("x", 1), ("y", 0), ("x", 2)]
    assert [(h.chunk.doc_id, h.chunk.ordinal) for h in diversify(hits, 1)] == [
        ("x", 0), ("y", 0), ("x", 1), ("x", 2)]
    assert diversify(hits, 0) == hits


def test_evidence_prior() -> None:
    prior = EvidencePrior({"label": 0.1, "evidence": 0.0}, {"rct": 0.05}, recency_weight=0.2, half_life_years=10,
                          today=date(2026, 1, 1))
    assert prior.factor(chunk("l", source_type="label")) == pytest.approx(1.1)
    trial = chunk("t", text="A randomized controlled trial of warfarin.", published="2016-03-01")
    assert study_design(trial) == "rct"
    assert prior.factor(trial) == pytest.approx(1.0 + 0.05 + 0.2 * 0.5)
    assert study_design(chunk("g", source_type="guideline", text="a randomized trial")) is None
    hits = [FusedHit(chunk("e"), 1.0), FusedHit(chunk("l", source_type="label"), 0.95)]
    reranked = apply_prior(hits, prior)
    assert [h.chunk.doc_id for h in reranked] == ["l", "e"] and reranked[0].prior == pytest.approx(1.1)


def test_evidence_prior_remembers_designs_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.retrieval.fusion as fusion

    monkeypatch.setattr(fusion, "DESIGN_CACHE_SIZE", 2)
    prior = EvidencePrior({}, {"rct": 0.05, "cohort": 0.02}, recency_weight=0.0, half_life_years=10,
                          today=date(2026, 1, 1))
    trial = chunk("t", text="A randomized controlled trial of warfarin.")
    cohort = chunk("c", text="A prospective cohort of 900 patients.")
    label = chunk("l", source_type="label", text="A randomized trial is cited in this label.")
    assert [prior.factor(c) for c in (trial, cohort, trial)] == [pytest.approx(1.05), pytest.approx(1.02),
                                                                  pytest.approx(1.05)]
    assert prior.factor(label) == 1.0 and label.chunk_id not in prior._designs  # labels have no design
    assert prior.factor(chunk("n", text="A narrative review.")) == 1.0
    assert len(prior._designs) <= 2

def test_graph_documents_rank_by_coverage_then_label() -> None:
    rows = [
        {"doc_id": "mentions-one", "source_type": "evidence", "described": [], "mentions": ["DB1"]},
        {"doc_id": "label-of-one", "source_type": "label", "described": ["DB1"], "mentions": ["DB1"]},
        {"doc_id": "mentions-both", "source_type": "interaction", "described": [], "mentions": ["DB1", "DB2"]},
        {"doc_id": "label-naming-both", "source_type": "label", "described": ["DB1"], "mentions": ["DB2"]},
        {"doc_id": "other", "source_type": "label", "described": ["DB9"], "mentions": ["DB9"]},
    ]
    ranked = [d.doc_id for d in score_graph_documents(rows, ["DB1", "DB2"])]
    assert ranked == ["label-naming-both", "mentions-both", "label-of-one", "mentions-one"]
