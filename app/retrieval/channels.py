"""Retrieval channels: lexical (BM25 sparse), dense, and the knowledge graph — one Protocol.

Each channel returns its own ranked chunks with its own scores; fusion happens elsewhere.
Filters are always pushed down into the vector store's query (never applied afterwards).

Each channel declares the passage languages it can judge (``languages``, None: any) and how its scores are
floored for convex fusion (``score_floor``).  The dense channel judges only passages in its embedder's
languages (all-MiniLM-L6-v2: English; its vectors of Chinese text are noise), and embeds the question as asked
only when the embedder reads its language, else the question's English rendering.  The lexical channel
searches passages in the question's own language with the question's own words, and English passages with
its English rendering: the rendering exists to reach English evidence, not to search Chinese evidence.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from app.model import ScoredChunk, SearchFilters
from app.retrieval.fusion import ScoreFloor
from app.retrieval.graph_links import LinkMemory
from app.retrieval.query import AnalyzedQuery
from app.stores.graph import GraphReader
from app.stores.vectors import VectorStore
from app.text.analysis import Analyzer


@dataclass
class QueryContext:
    """One analysed query and what channels share for it (the query vector is computed once)."""

    query: AnalyzedQuery
    encode: Callable[[str], np.ndarray]
    encoder_languages: frozenset[str] | None = None  # what the embedder reads (None: any)
    _vector: np.ndarray | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def vector(self) -> np.ndarray:
        with self._lock:  # channels run concurrently; the first to need the vector computes it
            if self._vector is None:
                self._vector = self.encode(self.query.dense_text(self.encoder_languages))
            return self._vector


class Channel(Protocol):
    name: str
    languages: frozenset[str] | None  # the passage languages it can judge; None: any
    score_floor: ScoreFloor  # its scores' floor in convex fusion (fusion.py)

    def search(self, ctx: QueryContext, k: int, filters: SearchFilters | None) -> list[ScoredChunk]:
        """Up to ``k`` chunks, best first, with this channel's score."""
        ...


PASSAGE_LANGUAGES = ("en", "zh")  # what documents are indexed in (``SearchFilters.language``)


def in_language(filters: SearchFilters | None, language: str) -> SearchFilters | None:
    """``filters`` narrowed to passages in ``language``; None when they already ask for another language."""
    if filters is not None and filters.language is not None and filters.language != language:
        return None
    return replace(filters or SearchFilters(), language=language)


class LexicalChannel:
    """BM25: our analyzer's query terms against the sparse vectors (IDF applied by the engine).

    An English question searches every passage with its words.  A Chinese or mixed one searches Chinese
    passages with its own words and English passages with its English rendering; the two lists are merged
    by score relative to each list's best (BM25 scores of two different queries are not on one scale), the
    lower list scaled up to the higher one's top."""

    name = "bm25"
    languages: frozenset[str] | None = None
    score_floor: ScoreFloor = "zero"

    def __init__(self, vectors: VectorStore, analyzer: Analyzer) -> None:
        self._vectors = vectors
        self._analyzer = analyzer

    def search(self, ctx: QueryContext, k: int, filters: SearchFilters | None) -> list[ScoredChunk]:
        query = ctx.query
        if query.language == "en":
            return self._vectors.search_sparse(self._analyzer.query_vector(query.lexical), k, filters)
        lists: list[list[ScoredChunk]] = []
        for language, text in (("zh", query.lexical_own), ("en", query.lexical_english)):
            narrowed = in_language(filters, language)
            vector = self._analyzer.query_vector(text)
            if narrowed is not None and vector.indices:
                lists.append(self._vectors.search_sparse(vector, k, narrowed))
        return merge_by_top([hits for hits in lists if hits], k)


def merge_by_top(lists: Sequence[Sequence[ScoredChunk]], k: int) -> list[ScoredChunk]:
    """One list of up to ``k`` from lists whose scores are on different scales: each list's scores are scaled so
    that its best equals the best of all; ties keep the order of the lists."""
    if len(lists) == 1:
        return list(lists[0][:k])
    tops = [max((h.score for h in hits), default=0.0) for hits in lists]
    best = max(tops, default=0.0)
    merged = [ScoredChunk(h.chunk, h.score * (best / top if top > 0 else 1.0))
              for hits, top in zip(lists, tops, strict=True) for h in hits]
    merged.sort(key=lambda h: -h.score)
    return merged[:k]


class DenseChannel:
    """Cosine similarity of the query embedding to the chunk embeddings, over the passages in the languages its
    embedder reads (every passage when it reads them all)."""

    name = "dense"
    score_floor: ScoreFloor = "list_min"

    def __init__(self, vectors: VectorStore, languages: frozenset[str] | None = None) -> None:
        self._vectors = vectors
        readable = None if languages is None else frozenset(languages) & frozenset(PASSAGE_LANGUAGES)
        self.languages = None if readable is None or readable == frozenset(PASSAGE_LANGUAGES) else readable

    def search(self, ctx: QueryContext, k: int, filters: SearchFilters | None) -> list[ScoredChunk]:
        if self.languages is not None:
            if len(self.languages) != 1:  # reads no language passages are indexed in
                return []
            filters = in_language(filters, next(iter(self.languages)))
            if filters is None:
                return []
        return self._vectors.search_dense(ctx.vector, k, filters)


@dataclass(frozen=True)
class GraphDocument:
    doc_id: str
    source_type: str
    described: tuple[str, ...]
    mentions: tuple[str, ...]
    score: float


def score_graph_documents(rows: Sequence[dict[str, Any]], entity_ids: Sequence[str]) -> list[GraphDocument]:
    """Rank documents linked to the query's entities (pure).

    Coverage of the query's entities comes first (a two-drug question wants documents naming
    both), then being the label of a linked drug, then mentions.
    """
    wanted = set(entity_ids)
    scored: list[GraphDocument] = []
    for row in rows:
        described = tuple(e for e in row.get("described", ()) if e in wanted)
        mentions = tuple(e for e in row.get("mentions", ()) if e in wanted)
        covered = set(described) | set(mentions)
        if not covered:
            continue
        coverage = len(covered) / max(len(wanted), 1)
        score = 2.0 * coverage + 0.5 * len(described) + 0.1 * len(mentions)
        scored.append(GraphDocument(row["doc_id"], row.get("source_type", ""), described, mentions, score))
    return sorted(scored, key=lambda d: (-d.score, d.doc_id))


class GraphChannel:
    """Evidence reached through the knowledge graph from the entities linked in the query.

    Candidates are the label documents of a linked drug and the documents that mention the linked
    drugs and diseases (all of them first: for an interaction question, the documents naming both
    drugs).  Within the best candidate documents, the passages are chosen by a lexical search
    restricted to those documents, falling back to the dense one.
    """

    name = "graph"
    languages: frozenset[str] | None = None
    score_floor: ScoreFloor = "zero"

    def __init__(self, graph: GraphReader, vectors: VectorStore, analyzer: Analyzer, max_documents: int = 40,
                 chunks_per_document: int = 3, generation: Callable[[], str] | None = None,
                 cache_size: int = 1024, links: LinkMemory | None = None) -> None:
        self._graph = graph
        self._links = links
        self._vectors = vectors
        self._analyzer = analyzer
        self._max_documents = max_documents
        self._per_document = chunks_per_document
        self._generation = generation
        self._cache: OrderedDict[tuple[str, tuple[str, ...]], list[GraphDocument]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    def documents(self, query: AnalyzedQuery) -> list[GraphDocument]:
        """Candidate documents, for questions about drugs: a disease alone is named by too many
        documents for its links to say anything the text channels do not (measured: it hurts).

        Results are kept per (index generation, entities) when the caller gives the generation:
        any change to the index starts a new generation, so a cached list is never stale.  A new
        combination of entities is answered from the links held in memory for the generation
        (``LinkMemory``) when there are, else by the graph."""
        if not query.drug_ids:
            return []
        ids = tuple(sorted(set(query.entity_ids)))  # one cache entry whatever the order they were named in
        if self._generation is None:
            return score_graph_documents(self._graph.documents_for(ids), ids)
        key = (self._generation(), ids)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        rows = self._links.documents_for(ids, key[0]) if self._links is not None else None
        found = score_graph_documents(self._graph.documents_for(ids) if rows is None else rows, ids)
        with self._cache_lock:
            self._cache[key] = found
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return found

    def search(self, ctx: QueryContext, k: int, filters: SearchFilters | None) -> list[ScoredChunk]:
        documents = self.documents(ctx.query)[: self._max_documents]
        if not documents:
            return []
        doc_score = {d.doc_id: d.score for d in documents}
        restricted = replace(filters or SearchFilters(), doc_ids=tuple(doc_score))
        depth = max(k, len(documents)) * self._per_document
        passages = self._vectors.search_sparse(self._analyzer.query_vector(ctx.query.lexical), depth, restricted)
        if not passages:
            passages = self._vectors.search_dense(ctx.vector, depth, restricted)
        best = max((p.score for p in passages), default=1.0) or 1.0
        per_doc: dict[str, int] = {}
        ranked: list[ScoredChunk] = []
        for passage in passages:
            taken = per_doc.get(passage.chunk.doc_id, 0)
            if taken >= self._per_document:
                continue
            per_doc[passage.chunk.doc_id] = taken + 1
            # The document's graph score decides; the passage's match orders within it.
            ranked.append(ScoredChunk(passage.chunk, doc_score[passage.chunk.doc_id] + 0.5 * passage.score / best))
        ranked.sort(key=lambda h: -h.score)
        return ranked[:k]
