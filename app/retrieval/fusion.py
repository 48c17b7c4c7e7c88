"""Pure functions: fusing the channels' ranked lists (convex combination or weighted RRF), the credit of
channels blind to a passage's language, and the evidence prior.

- **Convex combination** (the default, ``MEDEVIDENCE_FUSION=convex``): each channel's scores are scaled to
  [0, 1] over its own candidate list, ``(s - floor) / (top - floor)``, and summed with the channel's weight;
  a passage a channel did not list gets 0 from it.  The floor is the score's theoretical minimum where it has
  one (BM25 and the graph: 0) and the list's lowest score for cosine similarity, whose useful range is narrow
  and query-dependent.  Bruch, Gai and Ingber ("An Analysis of Fusion Functions for Hybrid Retrieval", ACM TOIS
  2023) found it beats RRF in and out of domain with few labelled queries; RRF throws the scores away.
- **Weighted RRF** (``MEDEVIDENCE_FUSION=rrf``) follows Qdrant's formula so the engine's one-call dense+sparse
  fusion and ours agree: an item at 1-based rank ``r`` of channel ``c`` adds ``w_c / (k + r - 1)``.

Per-channel ranks and raw scores are kept on every fused item, which is what makes a hit explain itself.

What each step is worth on the development sets (``python -m benchmarks.retrieval_eval``, sets and roles in
``benchmarks/eval_sets.py``; the whole study, with intervals, in ``docs/retrieval.md``), nDCG@10 (Chinese: R@1):

| configuration | BioASQ dev | MedQuAD tune | PubMedQA dev | MedQuAD held-out | zh instructions |
| --- | ---: | ---: | ---: | ---: | ---: |
| before: weighted RRF, BM25 1.5 / 0.75, dense on every passage | 0.837 | 0.990 | 0.982 | 0.991 | 0.127 |
| now: convex 0.6 / 0.4 / 0.4, BM25 0.9 / 0.4, language-aware | 0.866 | 0.988 | 0.983 | 0.990 | 0.753 |
| now with RRF instead of convex | 0.841 | 0.988 | 0.982 | 0.991 | 0.753 |
| now with BM25 1.5 / 0.75 | 0.851 | 0.989 | 0.986 | 0.992 | 0.747 |
| now without the graph channel | 0.865 | 0.988 | 0.983 | 0.990 | 0.753 |
| now without the evidence prior | 0.866 | 0.988 | 0.983 | 0.990 | 0.753 |
| now without the query focus (focus.py) | 0.866 | 0.960 | 0.983 | 0.952 | 0.753 |
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from app.model import ChannelRank, Chunk, Hit, ScoredChunk

FusedHit = Hit  # a search hit (app/model.py): what fusion, the prior, focus and re-ranking pass along


def _fuse(ranked: Mapping[str, Sequence[ScoredChunk]],
          contribution: Callable[[str, Sequence[ScoredChunk]], Callable[[int, float], float]]) -> list[FusedHit]:
    """Sum, per chunk, what each channel's list contributes (``contribution(channel, hits)`` gives a function of
    the 1-based position and the score); each hit keeps every channel's rank and raw score.  A chunk listed
    twice by one channel counts at its first place.  Ties keep the order of first appearance, channels taken
    in the order given, so the result is deterministic."""
    fused: dict[str, FusedHit] = {}
    for channel, hits in ranked.items():
        if not hits:
            continue
        add = contribution(channel, hits)
        for position, hit in enumerate(hits, start=1):
            entry = fused.get(hit.chunk.chunk_id)
            if entry is None:
                entry = fused[hit.chunk.chunk_id] = FusedHit(hit.chunk, 0.0)
            if channel in entry.channels:
                continue
            entry.channels[channel] = ChannelRank(position, hit.score)
            entry.score += add(position, hit.score)
    return sorted(fused.values(), key=lambda h: -h.score)  # stable: first appearance breaks ties


def weighted_rrf(
    ranked: Mapping[str, Sequence[ScoredChunk]], weights: Mapping[str, float], k: int = 60
) -> list[FusedHit]:
    """Fuse ranked lists (channel name → hits, best first) by weighted reciprocal rank (see the module)."""

    def contribution(channel: str, hits: Sequence[ScoredChunk]) -> Callable[[int, float], float]:
        weight = weights.get(channel, 1.0)
        return lambda position, score: weight / (k + position - 1)

    return _fuse(ranked, contribution)


ScoreFloor = Literal["zero", "list_min"]


def convex_fusion(ranked: Mapping[str, Sequence[ScoredChunk]], weights: Mapping[str, float],
                  floors: Mapping[str, ScoreFloor]) -> list[FusedHit]:
    """Fuse ranked lists by a weighted sum of min-max scaled scores (see the module).

    A channel whose list is empty adds nothing; one whose scores are all equal gives each of its passages 1.
    """

    def contribution(channel: str, hits: Sequence[ScoredChunk]) -> Callable[[int, float], float]:
        weight = weights.get(channel, 1.0)
        top = max(h.score for h in hits)
        floor = 0.0 if floors.get(channel, "zero") == "zero" else min(h.score for h in hits)
        span = top - floor
        if span <= 0:
            return lambda position, score: weight
        return lambda position, score: weight * max(0.0, (score - floor) / span)

    return _fuse(ranked, contribution)


def credit_blind_channels(hits: Sequence[FusedHit], weights: Mapping[str, float],
                          readable: Mapping[str, frozenset[str] | None]) -> list[FusedHit]:
    """A channel whose model cannot read a passage's language has no say on it: that passage's fused score is
    scaled by ``sum(all weights) / sum(weights of the channels that can read it)``, so a Chinese passage that
    the lexical channel ranks first is not pushed below English passages merely because an English-only
    embedder was never allowed to rank it.  ``readable``: channel -> the languages it reads (None: any)."""
    total = sum(weights.get(c, 1.0) for c in readable)
    if total <= 0 or all(langs is None for langs in readable.values()):
        return list(hits)
    scale: dict[str, float] = {}
    for hit in hits:
        language = hit.chunk.language
        if language not in scale:
            seeing = sum(weights.get(c, 1.0) for c, langs in readable.items() if langs is None or language in langs)
            scale[language] = total / seeing if seeing > 0 else 1.0
        hit.score *= scale[language]
    return sorted(hits, key=lambda h: -h.score)


def diversify(hits: Sequence[FusedHit], per_section: int) -> list[FusedHit]:
    """Keep the order, but move a section's passages beyond its first ``per_section`` below every
    other section's: two neighbouring passages of "Clinical Studies" should not hide the same
    label's "Drug Interactions"."""
    if per_section <= 0:
        return list(hits)
    seen: dict[tuple[str, str], int] = {}
    kept: list[FusedHit] = []
    deferred: list[FusedHit] = []
    for hit in hits:
        key = (hit.chunk.doc_id, hit.chunk.section)
        count = seen.get(key, 0)
        seen[key] = count + 1
        (kept if count < per_section else deferred).append(hit)
    return kept + deferred


# -- evidence prior ------------------------------------------------------------------------------

DESIGN_CACHE_SIZE = 200_000

_DESIGNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("systematic_review", re.compile(r"\b(meta-analys[ie]s|systematic review)\b", re.I)),
    ("rct", re.compile(r"\brandomi[sz]ed\b.{0,40}\b(trial|study)\b|\bdouble-blind\b", re.I)),
    ("cohort", re.compile(r"\b(cohort|case-control|prospective)\b", re.I)),
    ("case_report", re.compile(r"\bcase (report|series)\b", re.I)),
)


def study_design(chunk: Chunk) -> str | None:
    """The strongest study design a study abstract's chunk states (evidence documents only)."""
    if chunk.source_type != "evidence":
        return None
    text = f"{chunk.title}\n{chunk.text}"
    return next((name for name, pattern in _DESIGNS if pattern.search(text)), None)


@dataclass(frozen=True)
class EvidencePrior:
    """Multiplicative re-ranking by source authority, study design and recency.

    ``prior = 1 + source[source_type] + design[study design] + recency_weight · 2^(−age/half_life)``
    ``+ recommendation_weight`` for a guideline passage holding a graded recommendation (``Hit.guideline``).
    The default weights are small: the prior breaks near-ties in favour of labels, guidelines and
    stronger, newer studies; it does not overrule relevance.
    """

    source_weights: Mapping[str, float]
    design_weights: Mapping[str, float]
    recency_weight: float
    half_life_years: float
    today: date
    recommendation_weight: float = 0.0  # a guideline passage holding a graded recommendation
    # Study design per chunk id (a chunk id names one document version's passage, so it never changes);
    # the patterns cost about 2 ms over a search's 150 candidates.  Cleared when it reaches its bound.
    _designs: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def design(self, chunk: Chunk) -> str | None:
        key = chunk.chunk_id
        try:
            return self._designs[key]
        except KeyError:
            pass
        if len(self._designs) >= DESIGN_CACHE_SIZE:
            self._designs.clear()
        found = self._designs[key] = study_design(chunk)
        return found

    def factor(self, chunk: Chunk, graded: bool = False) -> float:
        prior = 1.0 + self.source_weights.get(chunk.source_type, 0.0)
        if graded:
            prior += self.recommendation_weight
        design = self.design(chunk) if chunk.source_type == "evidence" else None
        if design is not None:
            prior += self.design_weights.get(design, 0.0)
        year = year_of(chunk.published)
        if year is not None and self.recency_weight:
            age = max(0.0, self.today.year - year)
            prior += self.recency_weight * math.pow(2.0, -age / self.half_life_years)
        return prior


def year_of(published: str | None) -> int | None:
    """The year of an ISO date ("2016-03-18", "2016"), or None."""
    if not published or not published[:4].isdigit():
        return None
    return int(published[:4])


def apply_prior(hits: Sequence[FusedHit], prior: EvidencePrior) -> list[FusedHit]:
    """Scale each fused score by the prior and re-sort (stable)."""
    for hit in hits:
        hit.prior = prior.factor(hit.chunk, hit.guideline is not None and bool(hit.guideline.grades))
        hit.score *= hit.prior
    return sorted(hits, key=lambda h: -h.score)
