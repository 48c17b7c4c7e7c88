"""Document-level retrieval metrics against hand-computed values."""

from __future__ import annotations

import pytest

from benchmarks.metrics import (
    dedupe_docs,
    evaluate,
    mean_metrics,
    ndcg_at_k,
    query_metrics,
    recall_at_k,
    reciprocal_rank,
)


def test_dedupe_keeps_first_rank() -> None:
    assert dedupe_docs(["a", "b", "a", "c", "b", "d"]) == ["a", "b", "c", "d"]
    assert dedupe_docs([]) == []


def test_single_gold_at_third_distinct_rank() -> None:
    ranking = ["a", "b", "a", "c", "d"]  # distinct: a b c d -> c at rank 3
    gold = {"c"}
    assert recall_at_k(ranking, gold, 1) == 0.0
    assert recall_at_k(ranking, gold, 2) == 0.0
    assert recall_at_k(ranking, gold, 3) == 1.0
    assert recall_at_k(ranking, gold, 10) == 1.0
    assert reciprocal_rank(ranking, gold) == pytest.approx(1 / 3)
    assert ndcg_at_k(ranking, gold) == pytest.approx(0.5)  # 1/log2(4); ideal 1/log2(2) = 1


def test_gold_first() -> None:
    assert query_metrics(["g", "x"], ["g"]) == {"R@1": 1.0, "R@5": 1.0, "R@10": 1.0, "MRR": 1.0, "nDCG@10": 1.0}


def test_duplicate_doc_hits_count_once() -> None:
    # Five chunks of "a" before the gold document: it is the 2nd distinct document, not the 6th hit.
    ranking = ["a", "a", "a", "a", "a", "g"]
    assert recall_at_k(ranking, {"g"}, 1) == 0.0
    assert recall_at_k(ranking, {"g"}, 2) == 1.0
    assert reciprocal_rank(ranking, {"g"}) == 0.5
    assert ndcg_at_k(ranking, {"g"}) == pytest.approx(0.6309297536)  # 1/log2(3)
    # Repeated gold hits give no extra gain.
    assert ndcg_at_k(["g", "g", "g"], {"g"}) == 1.0
    assert recall_at_k(["g", "g"], {"g", "h"}, 10) == 0.5


def test_no_gold_found() -> None:
    ranking = ["a", "b", "c"]
    assert query_metrics(ranking, {"z"}) == {"R@1": 0.0, "R@5": 0.0, "R@10": 0.0, "MRR": 0.0, "nDCG@10": 0.0}
    assert query_metrics([], {"z"})["nDCG@10"] == 0.0


def test_gold_beyond_k_is_not_counted() -> None:
    ranking = [f"d{i}" for i in range(10)] + ["g"]  # g is the 11th distinct document
    assert query_metrics(ranking, {"g"}, k=10) == {"R@1": 0.0, "R@5": 0.0, "R@10": 0.0, "MRR": 0.0, "nDCG@10": 0.0}
    assert reciprocal_rank(ranking, {"g"}, k=11) == pytest.approx(1 / 11)


def test_two_gold_documents() -> None:
    ranking = ["x", "b", "y", "d"]
    gold = ["b", "d"]
    assert recall_at_k(ranking, gold, 1) == 0.0
    assert recall_at_k(ranking, gold, 2) == 0.5
    assert recall_at_k(ranking, gold, 3) == 0.5
    assert recall_at_k(ranking, gold, 5) == 1.0
    assert reciprocal_rank(ranking, gold) == 0.5
    # DCG = 1/log2(3) + 1/log2(5) = 1.0616063; IDCG = 1 + 1/log2(3) = 1.6309298
    assert ndcg_at_k(ranking, gold) == pytest.approx(0.6509209298)


def test_two_gold_documents_one_found_first() -> None:
    ranking = ["b", "x"]
    gold = {"b", "d"}
    assert recall_at_k(ranking, gold, 1) == 0.5
    assert reciprocal_rank(ranking, gold) == 1.0
    assert ndcg_at_k(ranking, gold) == pytest.approx(1 / 1.6309297536)  # 0.6131472
    # With k = 1 the ideal list holds one relevant document, so a gold document first is perfect.
    assert ndcg_at_k(ranking, gold, 1) == 1.0


def test_empty_gold_or_bad_k_is_an_error() -> None:
    with pytest.raises(ValueError):
        recall_at_k(["a"], [], 10)
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], set(), 10)
    with pytest.raises(ValueError):
        reciprocal_rank(["a"], {"a"}, 0)


def test_mean_and_evaluate() -> None:
    assert mean_metrics([]) == {}
    gold = {"q1": ["a"], "q2": ["b", "c"], "q3": ["z"]}
    rankings = {"q1": ["a"], "q2": ["x", "c", "c", "b"]}  # q3 has no ranking: scores 0
    result = evaluate(rankings, gold, k=10, cutoffs=(1, 2))
    # q1: R@1 1, R@2 1, MRR 1, nDCG 1.  q2: distinct x c b -> R@1 0, R@2 0.5, MRR 1/2,
    # nDCG (1/log2(3) + 1/log2(4)) / (1 + 1/log2(3)) = 1.1309298 / 1.6309298 = 0.6934264.  q3: all 0.
    assert result["R@1"] == pytest.approx(1 / 3)
    assert result["R@2"] == pytest.approx(1.5 / 3)
    assert result["MRR"] == pytest.approx(1.5 / 3)
    assert result["nDCG@10"] == pytest.approx((1 + 1.1309297536 / 1.6309297536) / 3)
