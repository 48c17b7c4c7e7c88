"""Document-level retrieval metrics (pure functions, binary relevance).

A ranking is a list of document ids in rank order, as they come from chunk hits: a document
counts at the rank of its first chunk and later chunks of the same document are dropped
(``dedupe_docs``), so rank ``r`` below always means "the r-th distinct document".  ``gold`` is
the set of relevant document ids; it must not be empty.

- ``recall_at_k``: fraction of the gold documents among the first ``k`` distinct documents.
- ``reciprocal_rank``: 1 / rank of the first gold document within the first ``k`` (0 if none).
- ``ndcg_at_k``: DCG = sum over ranks r <= k of rel(r) / log2(r + 1); IDCG puts min(|gold|, k)
  relevant documents first.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence

DEFAULT_CUTOFFS: tuple[int, ...] = (1, 5, 10)


def dedupe_docs(doc_ids: Iterable[str]) -> list[str]:
    """Distinct document ids in order of first appearance."""
    seen: set[str] = set()
    out: list[str] = []
    for doc_id in doc_ids:
        if doc_id not in seen:
            seen.add(doc_id)
            out.append(doc_id)
    return out


def _check(gold: Collection[str], k: int) -> None:
    if not gold:
        raise ValueError("gold must name at least one relevant document")
    if k < 1:
        raise ValueError("k must be at least 1")


def recall_at_k(ranking: Sequence[str], gold: Collection[str], k: int) -> float:
    _check(gold, k)
    top = set(dedupe_docs(ranking)[:k])
    relevant = set(gold)
    return len(top & relevant) / len(relevant)


def reciprocal_rank(ranking: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    _check(gold, k)
    relevant = set(gold)
    for rank, doc_id in enumerate(dedupe_docs(ranking)[:k], start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranking: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    _check(gold, k)
    relevant = set(gold)
    dcg = sum(1.0 / math.log2(rank + 1)
              for rank, doc_id in enumerate(dedupe_docs(ranking)[:k], start=1) if doc_id in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


def query_metrics(ranking: Sequence[str], gold: Collection[str], k: int = 10,
                  cutoffs: Sequence[int] = DEFAULT_CUTOFFS) -> dict[str, float]:
    """All metrics of one query: ``R@c`` for each cutoff, ``MRR`` and ``nDCG@k``."""
    out = {f"R@{c}": recall_at_k(ranking, gold, c) for c in cutoffs}
    out["MRR"] = reciprocal_rank(ranking, gold, k)
    out[f"nDCG@{k}"] = ndcg_at_k(ranking, gold, k)
    return out


def mean_metrics(per_query: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Macro average over queries (every query weighs the same); empty input gives {}."""
    if not per_query:
        return {}
    names = list(per_query[0])
    return {name: sum(q[name] for q in per_query) / len(per_query) for name in names}


def evaluate(rankings: Mapping[str, Sequence[str]], gold: Mapping[str, Collection[str]], k: int = 10,
             cutoffs: Sequence[int] = DEFAULT_CUTOFFS) -> dict[str, float]:
    """Mean metrics over every query of ``gold``; a query without a ranking scores 0 everywhere."""
    per_query = [query_metrics(rankings.get(qid, []), docs, k, cutoffs) for qid, docs in gold.items()]
    return mean_metrics(per_query)
