"""Convex fusion of min-max scaled channel scores, the credit of channels blind to a passage's language, and the
lexical and dense channels' language handling over a real embedded store (Chinese and English passages)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.model import Chunk, ScoredChunk, SearchFilters
from app.retrieval.channels import DenseChannel, LexicalChannel, QueryContext, merge_by_top
from app.retrieval.fusion import FusedHit, ScoreFloor, convex_fusion, credit_blind_channels
from app.retrieval.query import AnalyzedQuery
from app.stores.vectors_edge import EdgeVectorStore
from app.text.analysis import Analyzer


def chunk(doc: str, language: str = "en", text: str = "text") -> Chunk:
    return Chunk(doc_id=doc, version="v1", ordinal=0, section="S", start=0, end=len(text), text=text, title=doc,
                 source_type="label", language=language)


A, B, C, D = chunk("a"), chunk("b"), chunk("c"), chunk("d")


def test_convex_scales_each_channel_to_its_own_range() -> None:
    bm25 = [ScoredChunk(A, 10.0), ScoredChunk(B, 5.0), ScoredChunk(C, 2.0)]  # floor 0: a=1, b=.5, c=.2
    dense = [ScoredChunk(B, 0.9), ScoredChunk(D, 0.7), ScoredChunk(C, 0.5)]  # floor = list min: b=1, d=.5, c=0
    fused = convex_fusion({"bm25": bm25, "dense": dense}, {"bm25": 0.6, "dense": 0.4},
                          {"bm25": "zero", "dense": "list_min"})
    scores = {h.chunk.doc_id: h.score for h in fused}
    assert scores == pytest.approx({"a": 0.6, "b": 0.6 * 0.5 + 0.4, "c": 0.6 * 0.2, "d": 0.4 * 0.5})
    assert [h.chunk.doc_id for h in fused] == ["b", "a", "d", "c"]
    b = next(h for h in fused if h.chunk.doc_id == "b")
    assert (b.channels["bm25"].rank, b.channels["bm25"].score) == (2, 5.0)  # raw score and rank kept
    assert (b.channels["dense"].rank, b.channels["dense"].score) == (1, 0.9)


def test_convex_weights_decide_and_edge_cases_hold() -> None:
    bm25, dense = [ScoredChunk(A, 3.0)], [ScoredChunk(B, 0.8)]
    floors: dict[str, ScoreFloor] = {"bm25": "zero", "dense": "list_min"}
    assert [h.chunk.doc_id for h in convex_fusion({"bm25": bm25, "dense": dense}, {"bm25": 0.6, "dense": 0.4},
                                                  floors)] == ["a", "b"]
    assert [h.chunk.doc_id for h in convex_fusion({"bm25": bm25, "dense": dense}, {"bm25": 0.3, "dense": 0.7},
                                                  floors)] == ["b", "a"]
    # one passage, or equal scores: each gets the whole weight; an empty list adds nothing
    assert convex_fusion({"dense": dense, "graph": []}, {"dense": 0.4}, floors)[0].score == pytest.approx(0.4)
    # a chunk listed twice by one channel counts once, at its first place
    twice = convex_fusion({"bm25": [ScoredChunk(A, 4.0), ScoredChunk(A, 1.0), ScoredChunk(B, 2.0)]}, {"bm25": 1.0},
                          floors)
    assert [(h.chunk.doc_id, h.score) for h in twice] == [("a", 1.0), ("b", 0.5)]


def test_a_channel_blind_to_a_language_gets_no_say_on_its_passages() -> None:
    zh, en = chunk("zh", "zh"), chunk("en", "en")
    hits = [FusedHit(en, 1.0), FusedHit(zh, 0.6)]  # the zh passage was judged by bm25 alone (weight .6 of 1.0)
    credited = credit_blind_channels(hits, {"bm25": 0.6, "dense": 0.4},
                                     {"bm25": None, "dense": frozenset({"en"})})
    assert [(h.chunk.doc_id, h.score) for h in credited] == [("en", 1.0), ("zh", pytest.approx(1.0))]
    untouched = credit_blind_channels([FusedHit(zh, 0.6)], {"bm25": 0.6, "dense": 0.4}, {"bm25": None, "dense": None})
    assert untouched[0].score == 0.6


def test_merge_by_top_puts_two_queries_lists_on_one_scale() -> None:
    merged = merge_by_top([[ScoredChunk(A, 20.0), ScoredChunk(B, 10.0)], [ScoredChunk(C, 4.0), ScoredChunk(D, 1.0)]],
                          3)
    assert [(h.chunk.doc_id, h.score) for h in merged] == [("a", 20.0), ("c", 20.0), ("b", 10.0)]


ZH_TEXT = "利尿消肿，用于慢性肾炎水肿。口服，一次6克，一日2次。孕妇禁用。"
EN_TEXT = "Diuretic for edema of chronic nephritis; take 6 g twice a day; contraindicated in pregnancy."


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeVectorStore]:
    analyzer = Analyzer()
    chunks = [chunk("zh-doc", "zh", ZH_TEXT), chunk("en-doc", "en", EN_TEXT),
              chunk("en-other", "en", "Warfarin dosing in atrial fibrillation.")]
    dense = np.eye(3, 4, dtype=np.float32)  # zh-doc, en-doc, en-other on three axes
    sparse = [analyzer.document_vector(c.embed_text, 20.0)[0] for c in chunks]
    built = EdgeVectorStore(tmp_path / "edge", "languages")
    built.ensure(4)
    built.upsert(chunks, dense, sparse)
    yield built
    built.close()


def zh_question() -> AnalyzedQuery:
    question = "利尿消肿，用于慢性肾炎水肿的中成药"
    return AnalyzedQuery(question, question, "zh", (), "chronic nephritis edema diuretic")


def test_lexical_channel_searches_chinese_passages_with_the_question_and_english_ones_with_its_rendering(
        store: EdgeVectorStore) -> None:
    channel = LexicalChannel(store, Analyzer())
    ctx = QueryContext(zh_question(), lambda text: np.zeros(4, dtype=np.float32))
    found = [h.chunk.doc_id for h in channel.search(ctx, 10, None)]
    assert found[:2] == ["zh-doc", "en-doc"] or found[:2] == ["en-doc", "zh-doc"]
    assert "en-other" not in found
    assert [h.chunk.doc_id for h in channel.search(ctx, 10, SearchFilters(language="zh"))] == ["zh-doc"]
    assert [h.chunk.doc_id for h in channel.search(ctx, 10, SearchFilters(language="en"))] == ["en-doc"]


def test_dense_channel_judges_only_passages_its_embedder_reads(store: EdgeVectorStore) -> None:
    toward_zh_doc = np.asarray([1.0, 0.1, 0.0, 0.0], dtype=np.float32)
    encoded: list[str] = []

    def encode(text: str) -> np.ndarray:
        encoded.append(text)
        return toward_zh_doc

    english_only = DenseChannel(store, frozenset({"en"}))
    ctx = QueryContext(zh_question(), encode, frozenset({"en"}))
    assert [h.chunk.doc_id for h in english_only.search(ctx, 10, None)][0] == "en-doc"
    assert "zh-doc" not in [h.chunk.doc_id for h in english_only.search(ctx, 10, None)]
    assert english_only.search(ctx, 10, SearchFilters(language="zh")) == []
    assert encoded == ["chronic nephritis edema diuretic"]  # the English rendering, for English passages
    multilingual = DenseChannel(store, frozenset({"en", "zh"}))
    assert multilingual.languages is None
    ctx = QueryContext(zh_question(), encode, frozenset({"en", "zh"}))
    assert [h.chunk.doc_id for h in multilingual.search(ctx, 10, None)][0] == "zh-doc"
    assert encoded[-1] == zh_question().normalized  # the question as asked


def test_fusion_settings_name_the_bad_field(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from app.config import Settings

    assert Settings().fusion == "convex" and Settings().embedding_languages == ("en",)
    monkeypatch.setenv("MEDEVIDENCE_CONVEX_WEIGHTS", '{"bm25": 0.5, "sparse": 0.5}')
    with pytest.raises(ValidationError, match="convex_weights(.|\n)*unknown channel 'sparse'"):
        Settings()
    monkeypatch.setenv("MEDEVIDENCE_CONVEX_WEIGHTS", '{"bm25": 0, "dense": 0}')
    with pytest.raises(ValidationError, match="convex_weights"):
        Settings()
    monkeypatch.delenv("MEDEVIDENCE_CONVEX_WEIGHTS")
    monkeypatch.setenv("MEDEVIDENCE_FUSION", "borda")
    with pytest.raises(ValidationError, match="fusion"):
        Settings()
    monkeypatch.delenv("MEDEVIDENCE_FUSION")
    monkeypatch.setenv("MEDEVIDENCE_EMBEDDING_LANGUAGES", '["en", "zh"]')
    assert Settings().embedding_languages == ("en", "zh")


def test_a_model_gets_the_question_as_asked_only_in_a_language_it_reads() -> None:
    question = zh_question()
    assert question.dense_text(frozenset({"en"})) == "chronic nephritis edema diuretic"
    assert question.dense_text(frozenset({"en", "zh"})) == question.normalized
    assert question.dense_text(None) == question.normalized
    mixed = AnalyzedQuery("warfarin 华法林 INR", "warfarin 华法林 INR", "mixed", (), "warfarin INR")
    assert mixed.dense_text(frozenset({"zh"})) == "warfarin INR"  # a mixed question needs both languages
    english = AnalyzedQuery("warfarin dose", "warfarin dose", "en", (), "warfarin dose")
    assert english.dense_text(frozenset({"en"})) == "warfarin dose"
