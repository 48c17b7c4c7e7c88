"""The retrieval harness's development sets: each set's own corpus written as generic JSONL the product's reader
accepts, questions in one shape, the per-set summary line with its interval, a reference run read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.eval_sets import SETS, load_questions, write_corpus
from benchmarks.retrieval_eval import (
    SYSTEM,
    EvalSet,
    build_corpus,
    mostly_chinese,
    paired_bootstrap,
    reference_ndcg,
    summary_lines,
)
from indexers.sources.base import Rejected
from indexers.sources.jsonl import read_jsonl


def shared_dir(tmp_path: Path) -> Path:
    shared = tmp_path / "shared"
    bioasq = shared / "bioasq_dev"
    bioasq.mkdir(parents=True)
    (bioasq / "corpus.jsonl").write_text(
        json.dumps({"id": "bq-1", "pmid": "123", "section": "title", "text": "KLF4 organises enhancer networks."})
        + "\n" + json.dumps({"id": "bq-2", "pmid": "456", "section": "abstract", "text": "Herd immunity."}) + "\n",
        encoding="utf-8")
    (bioasq / "questions.jsonl").write_text(json.dumps(
        {"id": "q1", "question": "What does KLF4 organise?", "type": "factoid", "gold": ["bq-1"]}) + "\n",
        encoding="utf-8")
    texts = shared / "zh_instructions_dev" / "texts"
    texts.mkdir(parents=True)
    (texts / "0.txt").write_text("利尿消肿，用于慢性肾炎水肿。孕妇禁用。", encoding="utf-8")
    (texts / "1.txt").write_text("清热解毒，用于咽喉肿痛。", encoding="utf-8")
    (texts / "1.ann").write_text("T1\tDRUG_EFFICACY 0 4\t清热解毒\n", encoding="utf-8")
    (shared / "zh_instructions_dev" / "questions.jsonl").write_text(json.dumps(
        {"id": "zq-0", "query": "利尿消肿的中成药，用法和禁忌是什么？", "gold": ["tc-0"]}, ensure_ascii=False) + "\n",
        encoding="utf-8")
    return shared


def test_own_corpora_are_generic_jsonl_the_indexer_reads(tmp_path: Path) -> None:
    shared = shared_dir(tmp_path)
    bioasq = write_corpus(SETS["bioasq_dev"], shared, tmp_path / "bq")
    documents = [d for d in read_jsonl(bioasq) if not isinstance(d, Rejected)]
    assert [(d.id, d.source_type, d.url) for d in documents] == [
        ("bq-1", "evidence", "https://pubmed.ncbi.nlm.nih.gov/123/"),
        ("bq-2", "evidence", "https://pubmed.ncbi.nlm.nih.gov/456/")]
    zh = write_corpus(SETS["zh_instructions_dev"], shared, tmp_path / "zh")
    documents = [d for d in read_jsonl(zh) if not isinstance(d, Rejected)]
    assert [(d.id, d.language, d.source_type) for d in documents] == [("tc-0", "zh", "label"),
                                                                            ("tc-1", "zh", "label")]
    before = zh.stat().st_mtime_ns
    write_corpus(SETS["zh_instructions_dev"], shared, tmp_path / "zh")  # unchanged documents: file left alone
    assert zh.stat().st_mtime_ns == before
    corpus = build_corpus([zh], 200, 20, 20)
    assert corpus.documents == 2 and mostly_chinese(corpus.texts)
    assert not mostly_chinese(build_corpus([bioasq], 200, 20, 20).texts)


def test_questions_come_in_one_shape(tmp_path: Path) -> None:
    shared = shared_dir(tmp_path)
    assert load_questions(SETS["bioasq_dev"], tmp_path, shared) == [
        {"id": "q1", "query": "What does KLF4 organise?", "gold": ["bq-1"], "type": "factoid"}]
    assert load_questions(SETS["zh_instructions_dev"], tmp_path, shared)[0]["gold"] == ["tc-0"]
    with pytest.raises(FileNotFoundError, match="--shared-dir"):
        load_questions(SETS["bioasq_dev"], tmp_path, tmp_path / "nowhere")
    (tmp_path / "pubmedqa_dev.jsonl").write_text('{"id": 1, "query": "q", "gold": ["d"]}\nnot json\n',
                                                 encoding="utf-8")
    with pytest.raises(ValueError, match="pubmedqa_dev.jsonl:2"):
        load_questions(SETS["pubmedqa_dev"], tmp_path, shared)


def test_summary_line_and_reference_run(tmp_path: Path) -> None:
    evalset = EvalSet("bioasq_dev", [{"id": "a", "query": "x", "gold": ["d1"]}, {"id": "b", "query": "y",
                                                                                 "gold": ["d2"]}])
    (tmp_path / "bioasq_dev.runs.jsonl").write_text(
        json.dumps({"id": "a", "docs": {SYSTEM: ["d1"]}}) + "\n" + json.dumps({"id": "b", "docs": {SYSTEM: ["d9"]}})
        + "\n", encoding="utf-8")
    assert reference_ndcg(tmp_path, evalset, 10) == [1.0, 0.0]
    assert reference_ndcg(tmp_path / "none", evalset, 10) is None
    lo, hi = paired_bootstrap([1.0, 1.0], [1.0, 0.0])
    assert 0.0 <= lo <= hi <= 1.0
    run = {"metrics": {"nDCG@10": 1.0, "R@1": 1.0}}
    base = {"metrics": {"nDCG@10": 0.5, "R@1": 0.5}}
    report = {"sets": {"bioasq_dev": {
        "role": "tune", "corpus": "bioasq_dev", "queries": 2, "best_baseline": "RRF",
        "runs": {SYSTEM: run, "RRF": base},
        "system_vs_best_baseline": {"ndcg_delta": 0.5, "ci95": [0.0, 1.0]},
        "system_vs_reference": {"ndcg_delta": 0.5, "ci95": [0.0, 1.0]}}}}
    lines = summary_lines(report, 10)
    assert lines[0].endswith("Δ vs reference [95% CI] |")
    assert lines[2] == ("| bioasq_dev | tune | bioasq_dev | 2 | 1.000 | RRF | 0.500 | +0.500 [+0.000, +1.000] | 1.000 "
                        "| 0.500 | +0.500 [+0.000, +1.000] |")
