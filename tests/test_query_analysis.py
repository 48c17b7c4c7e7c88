"""Query analysis on the real knowledge: normalisation, language, entity linking, English rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.knowledge import load_graph_knowledge
from app.retrieval.query import QueryAnalyzer, detect_query_language, normalize, read_glossary

from .conftest import KNOWLEDGE


@pytest.fixture(scope="module")
def analyzer() -> QueryAnalyzer:
    return QueryAnalyzer.from_knowledge(load_graph_knowledge(KNOWLEDGE), KNOWLEDGE)


def test_normalize() -> None:
    assert normalize("  Ｗａｒｆａｒｉｎ　５ｍｇ？ ") == "Warfarin 5mg?"


@pytest.mark.parametrize(("text", "language"), [
    ("warfarin contraindications", "en"),
    ("华法林和阿司匹林合用的出血风险", "zh"),
    ("华法林 5 mg 的剂量", "zh"),
    ("warfarin 和 aspirin 合用的出血风险", "mixed"),
])
def test_language(text: str, language: str) -> None:
    assert detect_query_language(text) == language


def test_chinese_question_links_both_drugs_and_renders_in_english(analyzer: QueryAnalyzer) -> None:
    query = analyzer.analyze("华法林和阿司匹林合用的出血风险")
    assert [(e.surface, e.name) for e in query.entities] == [
        ("华法林", "Warfarin"), ("阿司匹林", "Acetylsalicylic acid")]
    assert all(query.normalized[e.start:e.end] == e.surface for e in query.entities)
    assert query.english == "warfarin acetylsalicylic acid coadministration bleeding risk"
    assert "aspirin" in query.lexical.split()  # the English synonym the labels use
    assert "华法林和阿司匹林合用的出血风险" in query.lexical  # Chinese words still reach Chinese documents


def test_english_twin_links_the_same_entities(analyzer: QueryAnalyzer) -> None:
    zh = analyzer.analyze("华法林和阿司匹林合用的出血风险")
    en = analyzer.analyze("Bleeding risk of warfarin with ASPIRIN")
    assert en.language == "en" and en.english == en.normalized
    assert en.entity_ids == zh.entity_ids
    assert en.drug_ids == ["DB00682", "DB00945"]


def test_disease_and_longest_match(analyzer: QueryAnalyzer) -> None:
    query = analyzer.analyze("2型糖尿病 治疗")
    assert [e.kind for e in query.entities] == ["disease"]
    assert query.english == "type 2 diabetes mellitus treatment"
    english = analyzer.analyze("treatment of type 2 diabetes mellitus")
    assert english.entity_ids == query.entity_ids


def test_unknown_words_do_not_link(analyzer: QueryAnalyzer) -> None:
    query = analyzer.analyze("what is the best choice of words")
    assert query.entities == ()


def test_glossary_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "terms.tsv"
    path.write_text("# comment\n禁忌\tcontraindications\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"terms.tsv:3:"):
        read_glossary(path)
