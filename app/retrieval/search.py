"""Hybrid search: analyse the query, ask every channel, fuse, apply the evidence prior, re-rank.

``Searcher`` is built once per process (FastAPI lifespan, CLI command) over the stores a ``Runtime`` opened;
``search`` is what the API and the CLI (single and batch, which the evaluation harness runs) call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from app.config import Settings
from app.drugs.catalog import DrugCatalog, local_drug_names
from app.drugs.tables import table_doc_ids
from app.errors import FieldError
from app.model import SOURCE_TYPES, ScoredChunk, SearchFilters
from app.retrieval.aspects import ASPECT_QUERY_WORDS
from app.retrieval.channels import Channel, DenseChannel, GraphChannel, LexicalChannel, QueryContext
from app.retrieval.facts import fact_passages
from app.retrieval.focus import apply_focus, query_focus
from app.retrieval.fusion import (
    EvidencePrior,
    FusedHit,
    apply_prior,
    convex_fusion,
    credit_blind_channels,
    diversify,
    weighted_rrf,
)
from app.retrieval.graph_links import LinkMemory
from app.retrieval.grounding import Grounding, OwnDocuments, ground
from app.retrieval.guidelines import GuidelineNotes
from app.retrieval.query import AnalyzedQuery, LinkedEntity, QueryAnalyzer
from app.retrieval.question import QuestionFocus, QuestionReader, names_in, without_names
from app.retrieval.rerank import RerankOutcome
from app.retrieval.rerankers import build_reranker
from app.stores.graph import GraphReader
from app.stores.manifest import Manifest
from app.stores.vectors import VectorStore, parse_published
from app.text.analysis import Analyzer
from app.text.embedding import CachedEmbedder
from app.text.validity import text_problem

CHANNELS = ("bm25", "dense", "graph")
MAX_K = 100
OWN_DEPTH = 24  # passages searched within the focus drugs' own documents
MAX_LEAD_DOCUMENTS = 4  # own labels whose aspect sections' opening passages join the evidence
MAX_LEADS = 4
MAX_QUERY_CHARS = 2000


class SearchRequestError(FieldError):
    """A search request that cannot run; ``field`` names the offending input."""


def parse_filters(raw: Any, prefix: str = "filters") -> SearchFilters | None:
    """The public filter object (CONTRACT.md) as ``SearchFilters``; errors name the field."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise SearchRequestError(prefix, "must be an object")
    unknown = sorted(set(raw) - {"source_type", "published_from", "language"})
    if unknown:
        raise SearchRequestError(f"{prefix}.{unknown[0]}", "unknown filter")
    source_type = raw.get("source_type")
    if source_type is not None:
        if isinstance(source_type, str):
            source_type = [source_type]
        if not isinstance(source_type, list) or not all(isinstance(s, str) for s in source_type):
            raise SearchRequestError(f"{prefix}.source_type", "must be a list of strings")
        bad = [s for s in source_type if s not in SOURCE_TYPES]
        if bad:
            raise SearchRequestError(f"{prefix}.source_type", f"unknown source type {bad[0]!r}; one of {SOURCE_TYPES}")
    published_from = raw.get("published_from")
    if published_from is not None and (not isinstance(published_from, str) or parse_published(published_from) is None):
        raise SearchRequestError(f"{prefix}.published_from", "must be an ISO date (YYYY, YYYY-MM or YYYY-MM-DD)")
    language = raw.get("language")
    if language is not None and language not in ("en", "zh"):
        raise SearchRequestError(f"{prefix}.language", "must be 'en' or 'zh'")
    if source_type is None and published_from is None and language is None:
        return None
    return SearchFilters(
        source_type=tuple(source_type) if source_type is not None else None,
        published_from=published_from,
        language=language,
    )


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise SearchRequestError("k", f"must be an integer from 1 to {MAX_K}")
    return k


def check_query(query: Any, k: Any, field_name: str = "query") -> tuple[str, int]:
    if not isinstance(query, str) or not query.strip():
        raise SearchRequestError(field_name, "must be a non-empty string")
    problem = text_problem(query)
    if problem is not None:
        raise SearchRequestError(field_name, problem)
    if len(query) > MAX_QUERY_CHARS:
        raise SearchRequestError(field_name, f"longer than {MAX_QUERY_CHARS} characters")
    return query, check_k(k)


@dataclass
class SearchResult:
    query: AnalyzedQuery
    hits: list[FusedHit]
    facts: list[dict[str, Any]] = field(default_factory=list)
    index_version: str = ""
    query_vector: Any = None  # the dense query embedding (reused by answers' relevance floor)
    focus: QuestionFocus = field(default_factory=QuestionFocus)  # what the question is about (question.py)
    rerank: RerankOutcome | None = None  # what the reranker did (None: no reranker configured)

    def to_json(self) -> dict[str, Any]:
        return {
            "hits": [hit_json(h) for h in self.hits],
            "query": {
                "normalized": self.query.normalized,
                "language": self.query.language,
                "english": self.query.english,
                "entities": [e.to_json() for e in self.query.entities],
                "focus": self.focus.to_json() if self.focus.aspects else None,
            },
            "facts": self.facts,
            "index_version": self.index_version,
            "rerank": self.rerank.to_json() if self.rerank is not None else None,
        }


def hit_json(hit: FusedHit) -> dict[str, Any]:
    """A hit as CONTRACT.md shapes it; ``channels`` names every channel (null when it did not find it)."""
    c = hit.chunk
    channels: dict[str, Any] = {name: None for name in CHANNELS}
    channels.update({name: rank.to_json() for name, rank in hit.channels.items()})
    return {
        "doc_id": c.doc_id,
        "chunk_id": c.chunk_id,
        "title": c.title,
        "source_type": c.source_type,
        "section": c.section,
        "start": c.start,
        "end": c.end,
        "text": c.text,
        "url": c.url,
        "published": c.published,
        "language": c.language,
        "version": c.version,
        "score": round(hit.score, 6),
        "prior": round(hit.prior, 4),
        "focus": round(hit.focus, 4),
        "channels": channels,
        "guideline": hit.guideline.to_json() if hit.guideline else None,
    }


class Searcher:
    """Runs hybrid searches over the index's stores (thread-safe; channels run concurrently)."""

    def __init__(self, settings: Settings, *, manifest: Manifest, vectors: VectorStore, graph: GraphReader,
                 embedder: CachedEmbedder, analyzer: Analyzer, catalog: DrugCatalog,
                 query_analyzer: QueryAnalyzer | None = None) -> None:
        """The stores belong to the caller (a ``Runtime``); ``catalog`` is the drug catalog over the same stores,
        shared with the drug assistant so the name resolver is built once."""
        self.settings = settings
        self.manifest, self.vectors, self.graph = manifest, vectors, graph
        self.embedder, self.analyzer = embedder, analyzer
        self.catalog = catalog
        knowledge = catalog.knowledge
        if query_analyzer is None:
            query_analyzer = QueryAnalyzer.from_knowledge(
                knowledge, settings.knowledge_dir, local_drug_names(manifest, catalog.aliases, knowledge))
        self.query_analyzer = query_analyzer
        self.question_reader = QuestionReader(knowledge, lambda: self.catalog.resolver, self._occurrences,
                                              query_analyzer.glossary_words)
        self.graph_links = LinkMemory(graph, manifest.index_version)
        self.graph_channel = GraphChannel(graph, vectors, analyzer, settings.graph_max_documents,
                                          generation=manifest.index_version, links=self.graph_links)
        self.encoder_languages = embedder.languages  # the dense channel judges only passages in these
        self.channels: list[Channel] = [LexicalChannel(vectors, analyzer),
                                        DenseChannel(vectors, self.encoder_languages), self.graph_channel]
        # RRF weights: the fusion of the search when MEDEVIDENCE_FUSION=rrf, and always of the search within the
        # focus drugs' own documents (two channels over a few labels, where ranks are all there is to compare).
        self.weights = {"bm25": settings.weight_bm25, "dense": settings.weight_dense, "graph": settings.weight_graph}
        self.fusion = settings.fusion
        self.fusion_weights = dict(settings.convex_weights) if self.fusion == "convex" else self.weights
        self.prior = (
            EvidencePrior(settings.prior_source_weights, settings.prior_design_weights,
                          settings.prior_recency_weight, settings.prior_half_life_years, date.today(),
                          settings.prior_recommendation_weight)
            if settings.evidence_prior else None
        )
        self.reranker = build_reranker(settings)  # a server, a local cross-encoder folder, or None (rerankers.py)
        self.guidelines = GuidelineNotes(manifest, settings.guideline_max_age_years)
        self.per_section = settings.max_chunks_per_section
        self.focus_weights = (settings.focus_section_weight, settings.focus_title_weight)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="channel")  # 3 channels + the facts
        self.channel_observers: list[Callable[[str, float], None]] = []  # (channel, seconds), e.g. metrics

    def warm_up(self) -> None:
        """Load the embedding model, touch every store and hold the graph's document links in memory
        (kept current from here on), so that a long-running server's queries are fast from the first."""
        self.graph_links.enable()
        self.question_reader.read(self.query_analyzer.analyze("valium"))  # the name resolver and word list
        # Two drugs, so the interaction-facts read runs too: its first call in the graph cost ~45 ms.
        self.search("warfarin aspirin 华法林", 1)

    def close(self) -> None:
        self.graph_links.close()
        if self.reranker is not None:
            self.reranker.close()
        self._pool.shutdown(wait=True)

    def _timed(self, channel: Channel, ctx: QueryContext, depth: int,
               filters: SearchFilters | None) -> Sequence[ScoredChunk]:
        started = time.perf_counter()
        try:
            return channel.search(ctx, depth, filters)
        finally:
            for observe in self.channel_observers:
                observe(channel.name, time.perf_counter() - started)

    def _encode(self, text: str) -> Any:
        return self.embedder.encode_query(text)

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> SearchResult:
        analyzed = self.query_analyzer.analyze(query)
        focus = self.question_reader.read(analyzed)
        analyzed = with_focus_drugs(analyzed, focus)
        ctx = QueryContext(analyzed, self._encode, self.encoder_languages)
        depth = max(self.settings.retrieval_candidates, k)
        futures = {c.name: self._pool.submit(self._timed, c, ctx, depth, filters) for c in self.channels}
        # The graph's facts need only the linked drugs: read them while the channels run.
        interactions = (self._pool.submit(self.graph.interactions_between, analyzed.drug_ids)
                        if len(analyzed.drug_ids) >= 2 else None)
        # The query embedding (ONNX Runtime) overlaps the lexical and graph channels, whose engine calls
        # leave the GIL (300k chunks, in process: p50 23.4 -> 20.4 ms); the dense channel waits for it.
        query_vector = ctx.vector
        ranked: dict[str, Sequence[ScoredChunk]] = {name: f.result() for name, f in futures.items()}
        fused = self.fuse(ranked)
        self.guidelines.annotate(fused)
        if self.prior is not None:
            fused = apply_prior(fused, self.prior)
        section_focus = query_focus(list(dict.fromkeys((analyzed.english, analyzed.normalized))))
        # The labels of the named drugs matter only to an asked section (the channel cached them).
        labels = ({d.doc_id for d in self.graph_channel.documents(analyzed) if d.described}
                  if section_focus.intents else set())
        fused = apply_focus(fused, section_focus, self.focus_weights[0], self.focus_weights[1], labels)
        fused = pair_tables_first(fused, focus, analyzed)
        reranked: RerankOutcome | None = None
        if self.reranker is not None:  # never raises: a failure keeps the fused order, flagged in the outcome
            reranked = self.reranker.rerank(analyzed.dense_text(self.reranker.languages), fused)
            fused = reranked.hits
        fused = diversify(fused, self.per_section)
        facts = facts_json(interactions.result(), fused[:k]) if interactions is not None else []
        version = self.manifest.qualified_version(self.settings.index_name())
        return SearchResult(analyzed, fused[:k], facts, version, query_vector, focus, reranked)

    def fuse(self, ranked: Mapping[str, Sequence[ScoredChunk]]) -> list[FusedHit]:
        """The channels' lists as one (fusion.py): convex combination or weighted RRF, then the credit of the
        channels that cannot read a passage's language."""
        if self.fusion == "convex":
            fused = convex_fusion(ranked, self.fusion_weights, {c.name: c.score_floor for c in self.channels})
        else:
            fused = weighted_rrf(ranked, self.weights, self.settings.rrf_k)
        return credit_blind_channels(fused, self.fusion_weights, {c.name: c.languages for c in self.channels})

    # -- focus-grounded evidence (grounding.py) ---------------------------------------------------------
    def ground(self, result: SearchResult, k: int, filters: SearchFilters | None = None) -> Grounding:
        """The evidence for an answer to ``result``'s question: passages about what it asks of what it names,
        or the scoped abstention (``grounding.py``)."""
        focus = result.focus
        drug_ids = [d.id for d in focus.drugs]
        labels = self.catalog.label_ids(drug_ids) if drug_ids else {}
        for group in focus.classes:  # a class's own documents are its members' labels
            members = self.catalog.label_ids(group.member_ids) if group.member_ids else {}
            labels[group.id] = sorted({doc for docs in members.values() for doc in docs})
        tables = {d: table_doc_ids(self.catalog.resolver.drugs[d]) for d in drug_ids}
        own = OwnDocuments(labels, tables, self._outline)
        own_hits: list[FusedHit] = []
        own_ids = [d for ids in labels.values() for d in ids]
        if focus.aspects and focus.aspect.name == "interaction":
            own_ids += [d for ids in tables.values() for d in ids]
        if own_ids:
            own_hits = self._search_within(result, tuple(own_ids), filters)
            if (filters is None and focus.drugs and focus.aspects and focus.aspect.label_aspect
                    and focus.aspect.name != "interaction"):
                own_hits = self._section_leads([d for ids in labels.values() for d in ids], result, own_hits)
        grounding = ground(focus, result.hits, own_hits, own, k)
        if grounding.abstention is None and filters is None and result.facts:  # a filtered question keeps to them
            grounding.hits += fact_passages(self.manifest, self.vectors, result.facts, grounding.hits)
        grounding.hits = self._current(grounding.hits)
        self.guidelines.annotate(grounding.hits)
        self._with_similarity(grounding.hits, result.query_vector)
        return grounding

    def current_versions(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The version each of ``doc_ids`` is indexed at today (absent: removed)."""
        return self.manifest.versions_of(sorted(set(doc_ids)))

    def _current(self, hits: list[FusedHit]) -> list[FusedHit]:
        """The hits whose document is still indexed at that version (an edit since the search made them stale)."""
        versions = self.current_versions([h.chunk.doc_id for h in hits])
        return [h for h in hits if versions.get(h.chunk.doc_id) == h.chunk.version]

    def _with_similarity(self, hits: Sequence[FusedHit], query_vector: Any) -> None:
        """Each hit's dense similarity to the question: the dense channel's cosine where it found the passage,
        else the passage's indexed embedding (the embedding cache) against the query's."""
        missing = [h for h in hits if h.similarity is None and "dense" not in h.channels]
        for h in hits:
            if h.similarity is None and "dense" in h.channels:
                h.similarity = float(h.channels["dense"].score)
        if not missing or query_vector is None:
            return
        q = np.asarray(query_vector, dtype=np.float32)
        found = self.embedder.cache.get_many([h.chunk.text_hash for h in missing])
        fresh = [h for h in missing if h.chunk.text_hash not in found]
        if fresh:
            vectors = self.embedder.encode([h.chunk.embed_text for h in fresh])
            found.update({h.chunk.text_hash: vectors[i] for i, h in enumerate(fresh)})
        for h in missing:
            h.similarity = float(np.asarray(found[h.chunk.text_hash], dtype=np.float32) @ q)

    def _search_within(self, result: SearchResult, doc_ids: tuple[str, ...],
                       filters: SearchFilters | None) -> list[FusedHit]:
        """Passages of ``doc_ids`` for the question and its aspect's words (lexical and dense, fused)."""
        restricted = replace(filters or SearchFilters(), doc_ids=doc_ids)
        words = ASPECT_QUERY_WORDS.get(result.focus.aspect.name, "")
        lexical = self.vectors.search_sparse(
            self.analyzer.query_vector(f"{own_label_query(result)} {words}"), OWN_DEPTH, restricted)
        ranked: dict[str, Sequence[ScoredChunk]] = {"bm25": lexical}
        if result.query_vector is not None:
            ranked["dense"] = self.vectors.search_dense(result.query_vector, OWN_DEPTH, restricted)
        return weighted_rrf(ranked, self.weights, self.settings.rrf_k)

    def _section_leads(self, doc_ids: Sequence[str], result: SearchResult, own_hits: list[FusedHit]) -> list[FusedHit]:
        """The opening passage of each own-label section under the asked aspect's heading, first.  A label opens
        a section with its summary ("Most common adverse reactions (incidence ≥ 5%): …", "… is indicated
        for …", "The recommended starting dose is …"); a search within the label can miss it when the label
        names the drug by brand and the question by generic name.  Only labels of the drug alone; not for a
        filtered question (the filters decide its evidence)."""
        aspect = result.focus.aspect
        # Only a label of the drug alone: a combination product's section opens with the combination
        # ("For patients receiving aliskiren, amlodipine and HCTZ from separate tablets, substitute …").
        wanted = [d for d in dict.fromkeys(doc_ids)
                  if len(self.catalog.described_drugs(d)) == 1 and (doc := self.catalog.document(d)) is not None
                  and any(aspect.section_matches(s.heading) for s in doc.sections)][:MAX_LEAD_DOCUMENTS]
        if not wanted:
            return own_hits
        chunks = self.vectors.get_chunks(sorted(self.manifest.chunk_ids(wanted)))
        first: dict[tuple[str, str], Any] = {}
        for chunk in chunks:
            if aspect.section_matches(chunk.section):
                key = (chunk.doc_id, chunk.section)
                if key not in first or chunk.start < first[key].start:
                    first[key] = chunk
        found = {h.chunk.chunk_id: h for h in own_hits}
        top = max((h.score for h in own_hits), default=1.0)
        ordered = sorted(first.values(), key=lambda c: (wanted.index(c.doc_id), c.start))[:MAX_LEADS]
        leads = [found.get(c.chunk_id) or FusedHit(c, top) for c in ordered]  # the search's own hit, if it had it
        lead_ids = {h.chunk.chunk_id for h in leads}
        return [*leads, *(h for h in own_hits if h.chunk.chunk_id not in lead_ids)]

    def _outline(self, doc_id: str) -> tuple[str, tuple[str, ...]] | None:
        doc = self.catalog.document(doc_id)
        return None if doc is None else (doc.title, tuple(s.heading for s in doc.sections))

    def _occurrences(self, word: str, most: int = 3) -> int:
        """In how many indexed passages ``word`` occurs, counted up to ``most`` (one lexical lookup)."""
        vector = self.analyzer.query_vector(word)
        return len(self.vectors.search_sparse(vector, most, None)) if vector.indices else 0


def pair_tables_first(hits: list[FusedHit], focus: QuestionFocus, query: AnalyzedQuery) -> list[FusedHit]:
    """For a question about two drugs (or more), an interaction-table passage counts only when it names them all:
    the other sections of their tables ("Tizanidine + Verapamil", "Tizanidine + Levofloxacin" …) go after every
    other passage, kept in their order.  With NDF-RT's 5,196 sections, "Fluvoxamine and tizanidine interaction"
    had found tizanidine's other partners instead of the sections that list the pair.  Other questions are left
    as ranked (measured: moving every table passage last for them made the answers of questions about unlabelled
    drugs draw on whatever else named the drug instead of saying that no label of it is indexed)."""
    subjects = focus.subjects()
    if len(subjects) < 2 and len(query.drug_ids) < 2:
        return hits

    def useful(hit: FusedHit) -> bool:
        if hit.chunk.source_type != "interaction" or len(subjects) < 2:
            return True
        text = f"{hit.chunk.section}\n{hit.chunk.text}"
        return all(names_in(text, names) for names in subjects)

    kept = [useful(h) for h in hits]
    return [h for h, k in zip(hits, kept, strict=True) if k] + [h for h, k in zip(hits, kept, strict=True) if not k]


def own_label_query(result: SearchResult) -> str:
    """The lexical query within the focus drugs' own documents.  There every passage is about the drug, so
    its names tell passages apart only by how a label happens to name it ("tocilizumab" in an antibody
    sentence, "ACTEMRA" in the list of common adverse reactions): for a one-drug question they are left
    out and the asked aspect decides (an aspect a label answers: dose, side effects…).  A question about two
    drugs keeps them (the partner is the point), and so does a general one ("can clots still occur on …?")."""
    query = result.query.lexical
    if not result.focus.asks_one_drugs_label:
        return query
    return without_names(query, result.focus.drug_name_forms()) or query


def with_focus_drugs(query: AnalyzedQuery, focus: QuestionFocus) -> AnalyzedQuery:
    """The query with the focus drugs that its entity linking missed (brands, misspellings) linked too, so
    every channel searches for the drug by its names."""
    have = {e.id for e in query.entities}
    extra: list[LinkedEntity] = []
    lowered = query.normalized.lower()
    for drug in focus.drugs:
        if drug.id in have:
            continue
        start = lowered.find(drug.surface.lower()) if drug.surface else -1
        start, end = (start, start + len(drug.surface)) if start >= 0 else (0, 0)
        aliases = tuple(n for n in drug.names[1:4] if n.isascii())
        extra.append(LinkedEntity(drug.id, "drug", drug.name, query.normalized[start:end], start, end, aliases))
    if not extra:
        return query
    return replace(query, entities=(*query.entities, *extra))


def facts_json(interactions: Sequence[Mapping[str, Any]], hits: Sequence[FusedHit]) -> list[dict[str, Any]]:
    """Graph facts among the query's drugs (interactions), with their source citation and the
    hits that state them (passages of the interaction documents naming both drugs)."""
    facts = []
    for row in interactions:
        names = (str(row["name_a"]).lower(), str(row["name_b"]).lower())
        stating = [h.chunk.chunk_id for h in hits if h.chunk.source_type == "interaction"
                   and all(n in f"{h.chunk.section}\n{h.chunk.text}".lower() for n in names)]
        facts.append({"type": "INTERACTS_WITH", **{k: row[k] for k in ("drug_a", "name_a", "drug_b", "name_b",
                                                                        "severity", "source", "citation")},
                      "evidence_chunk_ids": stating})
    return facts

