"""Hybrid search over the whole starter knowledge, indexed once for this module (embedded stores).

Covers the channels, filters pushed down, valid spans in every hit, the cross-lingual guarantee
and the batch search path of the CLI.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from app.cli import _search_batch
from app.cli.wiring import open_indexer
from app.compose import open_searcher
from app.documents import parse_document
from app.model import SearchFilters
from app.retrieval.channels import QueryContext
from app.retrieval.graph_links import LinkSnapshot
from app.retrieval.search import CHANNELS, Searcher, SearchRequestError, hit_json, parse_filters
from app.runtime import Runtime

pytestmark = pytest.mark.slow

WARFARIN, ASPIRIN = "DB00682", "DB00945"


@pytest.fixture(scope="module")
def searcher(starter_searcher: Searcher) -> Searcher:
    return starter_searcher


def _top(engine: Searcher, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[str]:
    return [h.chunk.chunk_id for h in engine.search(query, k, filters).hits]


def _overlap(a: list[str], b: list[str]) -> float:
    return len(set(a) & set(b)) / max(len(a), len(b), 1)


def test_every_hit_cites_an_exact_span(searcher: Searcher) -> None:
    result = searcher.search("华法林和阿司匹林合用的出血风险", 10)
    assert len(result.hits) == 10
    for hit in result.hits:
        doc = searcher.manifest.document(hit.chunk.doc_id)
        assert doc is not None and doc.version == hit.chunk.version
        assert doc.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
        body = hit_json(hit)
        assert set(body["channels"]) == set(CHANNELS)
        assert all(v is None or set(v) == {"rank", "score"} for v in body["channels"].values())
        assert any(v is not None for v in body["channels"].values())
    assert result.index_version.startswith(searcher.settings.index_name())


def test_chinese_question_and_english_twin_reach_the_same_label_evidence(searcher: Searcher) -> None:
    zh = searcher.search("华法林和阿司匹林合用的出血风险", 10)
    en = searcher.search("warfarin acetylsalicylic acid coadministration bleeding risk", 10)
    zh_ids = [h.chunk.chunk_id for h in zh.hits]
    assert _overlap(zh_ids, [h.chunk.chunk_id for h in en.hits]) >= 0.8
    warfarin_labels = {d for d in (h.chunk.doc_id for h in zh.hits) if WARFARIN in _described(searcher, d)}
    assert warfarin_labels, "the warfarin label is among the hits"
    sections = {h.chunk.section for h in zh.hits if h.chunk.doc_id in warfarin_labels}
    assert "Drug Interactions" in sections
    assert any(h.chunk.source_type == "label" and ASPIRIN in _described(searcher, h.chunk.doc_id) for h in zh.hits)


def _described(searcher: Searcher, doc_id: str) -> tuple[str, ...]:
    links = searcher.graph.document_links(doc_id)
    return links.described_drugs if links else ()


def test_each_channel_ranks_on_its_own(searcher: Searcher) -> None:
    query = searcher.query_analyzer.analyze("warfarin contraindications")
    ctx = QueryContext(query, searcher._encode)
    lexical, dense, graph = (c.search(ctx, 20, None) for c in searcher.channels)
    assert lexical and dense and graph
    assert all("warfarin" in f"{h.chunk.title} {h.chunk.text}".lower() for h in lexical[:5])
    assert [h.score for h in dense] == sorted((h.score for h in dense), reverse=True)
    # The graph channel reads passages from documents linked to warfarin, its label first.
    assert WARFARIN in _described(searcher, graph[0].chunk.doc_id)
    linked = {row["doc_id"] for row in searcher.graph.documents_for([WARFARIN])}
    assert {h.chunk.doc_id for h in graph} <= linked
    assert graph[0].chunk.section == "Contraindications"


def test_graph_channel_needs_a_drug(searcher: Searcher) -> None:
    query = searcher.query_analyzer.analyze("What are the symptoms of asthma?")
    assert query.entities and not query.drug_ids
    assert searcher.graph_channel.search(QueryContext(query, searcher._encode), 10, None) == []


def test_interaction_facts_carry_their_citation(searcher: Searcher) -> None:
    knowledge = searcher.catalog.knowledge
    names = {d.id: d.name for d in knowledge.drugs}
    pair = next(i for i in knowledge.interactions if i.severity == "high" and i.drug_a in names and i.drug_b in names
                and names[i.drug_a].isalpha() and names[i.drug_b].isalpha())
    result = searcher.search(f"{names[pair.drug_a]} and {names[pair.drug_b]} interaction", 10)
    facts = [f for f in result.facts if {f["drug_a"], f["drug_b"]} == {pair.drug_a, pair.drug_b}]
    assert facts and facts[0]["severity"] == "high" and "Phansalkar" in facts[0]["citation"]
    stating = set(facts[0]["evidence_chunk_ids"])
    assert stating, "an interaction document passage naming both drugs is among the hits"
    assert stating <= {h.chunk.chunk_id for h in result.hits}


@pytest.mark.parametrize("filters", [
    SearchFilters(source_type=("evidence",)),
    SearchFilters(source_type=("interaction", "guideline")),
    SearchFilters(published_from="2015-01-01"),
])
def test_filters_hold_for_every_channel(searcher: Searcher, filters: SearchFilters) -> None:
    result = searcher.search("warfarin bleeding risk", 30, filters)
    assert result.hits
    for hit in result.hits:
        if filters.source_type:
            assert hit.chunk.source_type in filters.source_type
        if filters.published_from:
            assert hit.chunk.published is not None and hit.chunk.published >= filters.published_from
    assert searcher.search("warfarin", 10, SearchFilters(language="zh")).hits == []  # no Chinese documents yet


def test_filter_parsing_names_the_field() -> None:
    assert parse_filters({"source_type": ["label"], "language": "en"}) == SearchFilters(("label",), None, "en")
    for raw, field in [({"source_type": ["blog"]}, "filters.source_type"), ({"published_from": "soon"},
                       "filters.published_from"), ({"language": "fr"}, "filters.language"), ({"colour": 1},
                       "filters.colour"), ([], "filters")]:
        with pytest.raises(SearchRequestError) as info:
            parse_filters(raw)
        assert info.value.field == field


def test_cross_lingual_twins_overlap(searcher: Searcher) -> None:
    """For drugs and diseases with a Chinese name, "<中文名> <问题词>" and its English twin agree.

    The sample takes Chinese names that identify their entity: where two records share a Chinese
    name (ICD-10 and Disease Ontology both list 登革热), the name links to one of them only."""
    knowledge = searcher.catalog.knowledge
    analyzer = searcher.query_analyzer

    def identifies(record_id: str, name: str) -> bool:
        return analyzer.analyze(name).entity_ids == [record_id]

    rng = random.Random(20261201)
    drugs = rng.sample([d for d in knowledge.drugs if d.names_zh and identifies(d.id, d.names_zh[0])], 25)
    diseases = rng.sample([d for d in knowledge.diseases if d.names_zh and identifies(d.id, d.names_zh[0])], 15)
    pairs = [(f"{d.names_zh[0]} 禁忌", f"{d.name} contraindications") for d in drugs]
    pairs += [(f"{d.names_zh[0]} 治疗", f"{d.name} treatment") for d in diseases]
    failures = []
    for zh, en in pairs:
        overlap = _overlap(_top(searcher, zh), _top(searcher, en))
        if overlap < 0.8:
            failures.append((zh, en, overlap))
    assert not failures


def test_batch_search_reports_bad_lines_and_writes_the_rest(searcher: Searcher, tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text("\n".join([
        json.dumps({"id": "q1", "query": "warfarin contraindications"}),
        "{not json",
        json.dumps({"id": "q2", "query": "华法林 禁忌", "filters": {"source_type": ["label"]}}),
        json.dumps({"id": "q3", "query": "x", "filters": {"language": "fr"}}),
        json.dumps({"query": "no id"}),
    ]) + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    assert _search_batch(searcher, queries, output, 5) == 2
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2"]
    assert len(rows[0]["hits"]) == 5 and all(h["source_type"] == "label" for h in rows[1]["hits"])
    assert {"doc_id", "chunk_id", "start", "end", "text", "version", "score", "channels"} <= set(rows[0]["hits"][0])


def test_graph_candidates_follow_index_changes(searcher: Searcher, starter_runtime: Runtime) -> None:
    """The graph channel caches candidates per index generation: an edit is seen at once."""
    query = searcher.query_analyzer.analyze("warfarin monitoring")
    assert "test-cache-1" not in {d.doc_id for d in searcher.graph_channel.documents(query)}
    note = parse_document({"id": "test-cache-1", "title": "Warfarin note", "source_type": "guideline",
                           "sections": [{"heading": "Monitoring", "text": "Warfarin needs INR monitoring."}]})
    indexer = open_indexer(starter_runtime)
    indexer.index_documents([note], "test")
    assert "test-cache-1" in {d.doc_id for d in searcher.graph_channel.documents(query)}
    assert "test-cache-1" in {h.chunk.doc_id for h in searcher.search("warfarin INR monitoring note", 10).hits}
    indexer.delete(["test-cache-1"])
    assert "test-cache-1" not in {d.doc_id for d in searcher.graph_channel.documents(query)}
    assert "test-cache-1" not in {h.chunk.doc_id for h in searcher.search("warfarin INR monitoring note", 10).hits}


def test_graph_links_held_in_memory_follow_index_changes(starter_runtime: Runtime) -> None:
    """A warmed searcher answers the graph channel from links in memory, read for the index generation;
    after an edit the graph answers until the background reload has caught up, then memory does."""
    engine = open_searcher(starter_runtime)
    rt = starter_runtime

    def linked(query: str) -> set[str]:
        return {d.doc_id for d in engine.graph_channel.documents(engine.query_analyzer.analyze(query))}

    def caught_up() -> LinkSnapshot:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            current = rt.manifest.index_version()
            snapshot = engine.graph_links.snapshot
            if snapshot is not None and snapshot.generation == current:
                return snapshot
            engine.graph_links.documents_for([WARFARIN], current)  # what a search does: starts a reload
            time.sleep(0.2)
        raise AssertionError("the links in memory never caught up with the index")

    try:
        engine.warm_up()
        assert caught_up().documents_for([WARFARIN])
        note = parse_document({"id": "test-links-1", "title": "Warfarin and aspirin", "source_type": "guideline",
                               "sections": [{"heading": "Bleeding", "text": "Warfarin with aspirin raises bleeding."}]})
        indexer = open_indexer(rt)
        indexer.index_documents([note], "test")
        assert "test-links-1" in linked("warfarin aspirin bleeding")  # from the graph, at once
        snapshot = caught_up()
        ids = engine.query_analyzer.analyze("warfarin or aspirin alone").entity_ids
        assert "test-links-1" in {r["doc_id"] for r in snapshot.documents_for(ids)}
        assert "test-links-1" in linked("aspirin and warfarin doses")  # a new combination: from memory
        indexer.delete(["test-links-1"])
        assert "test-links-1" not in linked("warfarin, aspirin")
        assert "test-links-1" not in {r["doc_id"] for r in caught_up().documents_for(ids)}
        assert "test-links-1" not in linked("aspirin; warfarin; bleeding")
    finally:
        engine.close()


def test_query_focus_prefers_the_named_document_and_the_asked_section(searcher: Searcher) -> None:
    """MedQuAD has a GARD and a GHR page titled "Paramyotonia congenita"; only the GHR one answers
    "Is it inherited?" (an Inheritance section): the named title and the asked section put it first."""
    top = searcher.search("Is paramyotonia congenita inherited ?", 5).hits[0]
    assert (top.chunk.doc_id, top.chunk.section) == ("medquad:ghr:0000771", "Inheritance")
    assert top.focus == pytest.approx(1.0 + searcher.focus_weights[0] + searcher.focus_weights[1])
    for question in ("What are the contraindications of warfarin?", "华法林 禁忌"):
        hits = searcher.search(question, 5).hits
        assert "CONTRAINDICATIONS" in hits[0].chunk.section.upper(), [h.chunk.section for h in hits]
        assert hits[0].focus > 1.0 and hit_json(hits[0])["focus"] == round(hits[0].focus, 4)
