"""The new sources served: ADR label sections on a drug card, NDF-RT grades beside ONC's, guideline
recommendations with their grades and caveats, and the coverage report (starter knowledge, real stores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.cli import main as cli_main
from app.cli.wiring import open_indexer
from app.compose import drug_catalog
from app.config import Settings
from app.drugs.service import DrugService
from app.emr.cds_cards import interaction_card
from app.retrieval.search import Searcher
from app.runtime import Runtime

from .conftest import KNOWLEDGE, StarterApp

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def drugs(starter_runtime: Runtime) -> DrugService:
    return DrugService(drug_catalog(starter_runtime))


def _verbatim(rt: Runtime, citation: dict) -> bool:
    doc = rt.manifest.document(citation["doc_id"])
    return (doc is not None and doc.version == citation["version"]
            and doc.text[citation["start"] : citation["end"]] == citation["quote"] and bool(citation["quote"]))


def test_a_drug_only_the_adr_set_holds_shows_cited_adverse_reactions_and_warnings(
        drugs: DrugService, starter_runtime: Runtime) -> None:
    card = drugs.card("tocilizumab")
    assert card["name"] == "tocilizumab" and "actemra" in card["names"]["brands"]
    assert drugs.card("Actemra")["id"] == card["id"]
    adr = next(label for label in card["labels"] if label["doc_id"] == "spl-adr:actemra")
    assert adr["source"] == "spl_adr" and "2016-2017" in adr["label_version"] and "Sci Data" in adr["citation"]
    kinds = {s["kind"] for s in adr["sections"]}
    assert {"boxed_warning", "warnings", "adverse_reactions"} <= kinds
    assert all(_verbatim(starter_runtime, s) for s in adr["sections"])
    boxed = next(s for s in adr["sections"] if s["kind"] == "boxed_warning")
    assert "RISK OF SERIOUS INFECTIONS" in boxed["quote"]
    coverage = card["coverage"]
    assert coverage["label_sections"]["adverse_reactions"] == ["spl-adr:actemra"]
    assert "dosage" in coverage["missing_label_sections"]  # said out loud: no label of it gives a dose
    assert coverage["summary"].startswith("What this service knows about tocilizumab:")


def test_several_labels_of_one_drug_are_shown_apart_newest_first(drugs: DrugService) -> None:
    card = drugs.card("pantoprazole")
    sources = [label["source"] for label in card["labels"]]
    assert "labeledin" in sources
    dates = [label["effective_date"] for label in card["labels"] if label["effective_date"]]
    assert dates == sorted(dates, reverse=True)
    undated = [i for i, label in enumerate(card["labels"]) if not label["effective_date"]]
    assert all(i >= len(dates) for i in undated)
    assert any(i["category"] == "labeled indication" and i["source"].startswith("LabeledIn")
               for i in card["indications"])


def test_ndfrt_grade_with_its_citation(drugs: DrugService, starter_runtime: Runtime) -> None:
    result = drugs.interactions(["amiloride", "irbesartan"])
    pair = result["interactions"][0]
    assert pair["severity"] == "significant" and "NDF-RT" in pair["severity_source"]
    assert [s["source"] for s in pair["sources"]] == ["VA NDF-RT"]
    cited = pair["sources"][0]["citation"]
    assert cited["doc_id"].startswith("ndfrt:") and _verbatim(starter_runtime, cited)
    assert "Significant" in cited["quote"] and "irbesartan" in cited["quote"].lower()


def test_each_source_keeps_its_own_grade_and_the_pair_shows_the_most_severe(
        drugs: DrugService, starter_runtime: Runtime) -> None:
    pair = drugs.interactions(["fluconazole", "simvastatin"])["interactions"][0]
    graded = {s["source"]: s["severity"] for s in pair["sources"]}
    assert graded == {"ONC high-priority": "high", "VA NDF-RT": "critical"}
    assert pair["severity"] == "high" and pair["severity_source"].startswith("ONC high-priority")
    assert all(s["citation"] and _verbatim(starter_runtime, s["citation"]) for s in pair["sources"])
    low_then_ndfrt = drugs.interactions(["lansoprazole", "ketoconazole"])["interactions"][0]
    assert {s["severity"] for s in low_then_ndfrt["sources"]} == {"low", "critical"}
    assert low_then_ndfrt["severity"] == "critical"  # the most severe of the two, named with its source
    card = interaction_card(pair, {}, None, {})
    assert card["indicator"] == "critical"
    assert "Graded by: ONC high-priority: high; VA NDF-RT: critical." in card["detail"]
    assert card["extension"]["medevidence"]["sources"] == pair["sources"]


def test_a_cdc_recommendation_is_found_with_its_grade_and_age(starter_searcher: Searcher) -> None:
    result = starter_searcher.search("avoid prescribing opioid pain medication and benzodiazepines concurrently", 10)
    hit = next(h for h in result.hits if h.chunk.doc_id == "ngc:10953" and h.guideline and h.guideline.grades)
    statement = "Clinicians should avoid prescribing opioid pain medication and benzodiazepines concurrently"
    assert statement in hit.chunk.text
    assert hit.guideline is not None and hit.guideline.developer == "Centers for Disease Control and Prevention"
    assert hit.guideline.year == 2016
    assert "recommendation category: A, evidence type: 3" in hit.guideline.grades
    assert hit.guideline.caveat and hit.guideline.caveat.startswith("older than 5 years (2016)")
    shown = next(h for h in result.to_json()["hits"] if h["chunk_id"] == hit.chunk.chunk_id)
    assert shown["guideline"]["grades"] == list(hit.guideline.grades)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding only the NGC guidelines and the NDF-RT tables (from the shipped files and cache)."""
    data_dir = tmp_path_factory.mktemp("broader") / "data"
    with Runtime.open(Settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE)) as rt:
        summary = open_indexer(rt).index_paths([KNOWLEDGE / "docs" / "ngc_guidelines.jsonl.gz",
                                           KNOWLEDGE / "docs" / "ndfrt.jsonl.gz"])
        assert summary.added == 53 + 514
    return data_dir


def test_cli_search_interactions_and_coverage(small_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(small_index)]
    assert cli_main(["search", "avoid opioids and benzodiazepines concurrently", "--json", *data]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    cdc = next(h for h in hits if h["doc_id"] == "ngc:10953")
    assert cdc["guideline"]["year"] == 2016 and cdc["guideline"]["caveat"]
    assert cli_main(["interactions", "amiloride", "irbesartan", *data]) == 0
    out = capsys.readouterr().out
    assert "significant (VA NDF-RT" in out and "graded significant by VA NDF-RT: ndfrt:" in out
    assert cli_main(["coverage", *data]) == 0
    table = capsys.readouterr().out
    assert "\nngc " in table and "VA NDF-RT" in table and "guidelines 53" in table
    assert cli_main(["coverage", "--json", *data]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {s["source"] for s in report["sources"]} == {"ngc", "ndfrt"}


def test_coverage_report_and_api(drugs: DrugService, starter_app: StarterApp) -> None:
    report = drugs.knowledge_coverage()
    sources = {s["source"]: s for s in report["sources"]}
    assert sources["ngc"]["documents"] == 53 and sources["ndfrt"]["documents"] == 514
    assert sources["spl_adr"]["drugs"] >= 150 and sources["labeledin"]["drugs"] >= 200
    totals = report["totals"]
    assert totals["drugs_with_label_text"] >= 450
    assert totals["guidelines"] == 53
    assert totals["graded_interaction_pairs"]["VA NDF-RT"] > 2500
    assert totals["indications_by_source"]["LabeledIn"] > 1000
    with starter_app(dev_mode=True) as app, TestClient(app) as client:
        served = client.get("/v1/coverage")
        assert served.status_code == 200 and served.json()["totals"] == totals


def test_coverage_counts_the_hospitals_own_documents(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=KNOWLEDGE)
    protocol = tmp_path / "protocols.jsonl"
    protocol.write_text(json.dumps({"id": "hosp-vte-001", "title": "VTE prophylaxis protocol",
                                    "source_type": "guideline", "text": "Enoxaparin 40 mg daily for VTE "
                                    "prophylaxis in medical inpatients unless contraindicated."}) + "\n",
                        encoding="utf-8")
    with Runtime.open(settings) as rt:
        open_indexer(rt).index_paths([protocol])
        report = DrugService(drug_catalog(rt)).knowledge_coverage()
        local = next(s for s in report["sources"] if s["source"] == "local")
        assert local["local"] and local["documents"] == 1 and local["source_types"] == {"guideline": 1}
        assert local["origins"] == ["protocols.jsonl"]
