"""Hospital rules applied (app/drugs/local_rules.py, app/emr/order_rules.py, order_checks.py, rule_cards.py): local
interaction rules beside the national sources, drug cards, the CLI, and CDS Hooks order-sign / order-select dose-limit
and formulary checks of real FHIR R4 MedicationRequests — on an index holding a rules file, replaced and deleted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from app.cli import main as cli_main
from app.cli.wiring import open_indexer
from app.compose import drug_catalog
from app.config import Settings
from app.drugs.cards import drug_card
from app.drugs.catalog import DrugCatalog
from app.drugs.interactions import check_interactions
from app.main import create_app
from app.runtime import Runtime

from .conftest import FIXTURES, KNOWLEDGE

EXAMPLES = KNOWLEDGE / "rules" / "examples.rules.jsonl"
PATIENT = "pt-rules-1"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
MORE_RULES = [
    {"id": "loc-statin-macrolide", "kind": "interaction", "drugs": ["statins", "clarithromycin"],
     "severity": "moderate", "message": "Statins with clarithromycin: hold the statin for the course.",
     "source": "P&T Committee", "effective": "2026-02-01"},
    {"id": "loc-zh", "kind": "interaction", "drugs": ["华法林", "acetaminophen"], "severity": "low",
     "message": "Warfarin with regular acetaminophen: check the INR within a week.",
     "source": "Anticoagulation Service", "effective": "2026-02-01"},
    {"id": "loc-future", "kind": "interaction", "drugs": ["warfarin", "omeprazole"], "severity": "high",
     "message": "Warfarin with omeprazole: monitor INR.", "source": "P&T Committee", "effective": "2099-01-01"},
    {"id": "loc-apap", "kind": "dose_limit", "drug": "acetaminophen",
     "max_dose": {"value": 4, "unit": "g", "per": "day"},
     "message": "Acetaminophen: at most 4 g a day from all sources.", "source": "P&T Committee",
     "effective": "2026-02-01"},
    {"id": "loc-eso-old", "kind": "formulary", "drug": "esomeprazole", "status": "restricted",
     "message": "Esomeprazole is restricted to GI service.", "source": "Formulary Subcommittee",
     "effective": "2025-01-01"},
    {"id": "loc-unknown", "kind": "formulary", "drug": "notadrugzzz", "status": "restricted",
     "message": "Not a drug anyone knows.", "source": "Formulary Subcommittee", "effective": "2026-01-01"},
]


def _rules() -> list[dict[str, Any]]:
    shipped = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return shipped + MORE_RULES


def _write(path: Path, rules: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rules), encoding="utf-8")


def _open(tmp: Path) -> tuple[Runtime, Path]:
    folder = tmp / "rules"
    folder.mkdir()
    _write(folder / "pharmacy.rules.jsonl", _rules())
    rt = Runtime.open(Settings(data_dir=tmp / "data", knowledge_dir=KNOWLEDGE, dev_mode=True))
    summary = open_indexer(rt).index_paths([folder])
    assert (summary.added, summary.rejected) == (len(_rules()), 0), summary.rejects
    return rt, folder


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, Path]]:
    rt, folder = _open(tmp_path_factory.mktemp("rules"))
    with rt:
        yield rt, folder


@pytest.fixture(scope="module")
def catalog(indexed: tuple[Runtime, Path]) -> DrugCatalog:
    return drug_catalog(indexed[0])


@pytest.fixture(scope="module")
def cds(indexed: tuple[Runtime, Path]) -> Iterator[TestClient]:
    rt = indexed[0]
    with TestClient(create_app(rt.settings, runtime=rt)) as client:
        yield client


def _verbatim(rt: Runtime, citation: dict[str, Any]) -> None:
    doc = rt.manifest.document(citation["doc_id"])
    assert doc is not None and doc.version == citation["version"]
    assert doc.text[citation["start"]:citation["end"]] == citation["quote"]


def _pair(result: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    return next(p for p in result["interactions"] if {p["a"].lower(), p["b"].lower()} == {a, b})


# -- interactions and drug cards ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_local_interaction_rules_are_listed_beside_the_national_grade_and_cited(
        indexed: tuple[Runtime, Path], catalog: DrugCatalog) -> None:
    result = check_interactions(catalog, ["simvastatin", "amlodipine", "clarithromycin"])
    local_only = _pair(result, "simvastatin", "amlodipine")
    assert local_only["severity"] is None  # no national source in this index grades it
    assert [r["rule_id"] for r in local_only["local_rules"]] == ["example-pt-2026-014"]
    assert "local rule example-pt-2026-014" in local_only["summary"]
    rule = local_only["local_rules"][0]
    assert rule["severity"] == "high" and rule["citation"]["source_type"] == "local_rule"
    for citation in [rule["citation"], *rule["citations"]]:
        _verbatim(indexed[0], citation)
    # A class rule ("statins") binds simvastatin; the ONC grade of the pair is kept, the local rule listed beside it.
    national = _pair(result, "simvastatin", "clarithromycin")
    assert national["severity"] == "high" and national["sources"]
    assert [r["rule_id"] for r in national["local_rules"]] == ["loc-statin-macrolide"]
    assert _pair(result, "amlodipine", "clarithromycin")["local_rules"] == []
    # Pairs a national source grades come first, then the pair only a local rule names.
    order = [(p["a"], p["b"]) for p in result["interactions"]]
    assert order.index((national["a"], national["b"])) < order.index((local_only["a"], local_only["b"]))


@pytest.mark.slow
def test_rule_names_resolve_like_any_medication_name_chinese_included(catalog: DrugCatalog) -> None:
    result = check_interactions(catalog, ["warfarin", "Tylenol"])
    assert [r["rule_id"] for r in _pair(result, "warfarin", "acetaminophen")["local_rules"]] == ["loc-zh"]


@pytest.mark.slow
def test_a_rule_applies_from_its_effective_date(catalog: DrugCatalog) -> None:
    now = check_interactions(catalog, ["warfarin", "omeprazole"], today=date(2026, 12, 7))
    assert _pair(now, "warfarin", "omeprazole")["local_rules"] == []
    later = check_interactions(catalog, ["warfarin", "omeprazole"], today=date(2099, 1, 1))
    assert [r["rule_id"] for r in _pair(later, "warfarin", "omeprazole")["local_rules"]] == ["loc-future"]
    card = drug_card(catalog, catalog.resolver.resolve("warfarin").drug_ids[0], today=date(2026, 12, 7))
    future = next(r for r in card["local_rules"]["rules"] if r["rule_id"] == "loc-future")
    assert future["in_effect"] is False


@pytest.mark.slow
def test_the_latest_formulary_rule_wins_and_the_drug_card_shows_it(
        indexed: tuple[Runtime, Path], catalog: DrugCatalog) -> None:
    esomeprazole = catalog.resolver.resolve("埃索美拉唑").drug_ids[0]
    card = drug_card(catalog, esomeprazole, today=date(2026, 12, 7))
    local = card["local_rules"]
    assert local["formulary"] == {"status": "non-formulary", "rule_id": "example-formulary-007",
                                  "alternatives": ["omeprazole", "pantoprazole"]}
    superseded = {r["rule_id"]: r["superseded"] for r in local["rules"]}
    assert superseded == {"example-formulary-007": False, "loc-eso-old": True}
    for rule in local["rules"]:
        _verbatim(indexed[0], rule["citation"])


@pytest.mark.slow
def test_a_rule_naming_no_known_drug_is_kept_with_the_name_it_could_not_resolve(catalog: DrugCatalog,
                                                                               cds: TestClient) -> None:
    unknown = next(r for r in catalog.rules().rules if r.rule.id == "loc-unknown")
    assert unknown.unresolved == ("notadrugzzz",) and not unknown.drug_ids
    listing = cds.get("/v1/rules").json()
    assert len(listing["rules"]) == len(_rules()) and listing["broken"] == []
    assert listing["in_effect"] == len(_rules()) - 1  # loc-future
    assert listing["with_unresolved_names"] == ["loc-unknown"]
    statins = next(r for r in listing["rules"] if r["rule_id"] == "loc-statin-macrolide")
    assert {"Simvastatin", "Atorvastatin", "Clarithromycin"} <= set(statins["drugs"])


@pytest.mark.slow
def test_medevidence_interactions_shows_the_local_rule_with_its_citation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert cli_main(["index", str(EXAMPLES), *data]) == 0
    capsys.readouterr()
    assert cli_main(["interactions", "simvastatin", "amlodipine", *data]) == 0
    out = capsys.readouterr().out
    assert "local rule (high): example-pt-2026-014 — Example P&T Committee, effective 2026-03-01" in out
    assert "with amlodipine, do not exceed simvastatin 20 mg daily." in out
    assert "cite: rule:example-pt-2026-014 Rule [0:94] v" in out
    # A committee's typo binds nothing: indexing says so, and `medevidence rules` lists it (exit status 2).
    typo = tmp_path / "ward.rules.jsonl"
    _write(typo, [{**MORE_RULES[0], "id": "typo-1", "drugs": ["simvastatine", "clarithromycin"]}])
    assert cli_main(["index", str(typo), *data]) == 0
    err = capsys.readouterr().err
    assert "warning: rule typo-1: 'simvastatine' names no known drug or drug class" in err
    assert "did you mean: " in err and "simvastatin" in err.split("did you mean: ")[1]
    assert cli_main(["rules", *data]) == 2
    listed = capsys.readouterr().out
    assert "4 rule(s), 4 in effect today" in listed and "WARNING: 'simvastatine' names no known drug" in listed
    assert "example-pt-2026-021 (dose limit, in effect) binds: Methotrexate" in listed


# -- CDS Hooks: FHIR R4 draft orders --------------------------------------------------------------------------------

def _order(rid: str, medication: str, *dosage: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "MedicationRequest", "id": rid, "status": "draft", "intent": "order",
                            "subject": {"reference": f"Patient/{PATIENT}"},
                            "medicationCodeableConcept": {"text": medication}}
    if dosage:
        body["dosageInstruction"] = list(dosage)
    return body


def _dose(value: float, unit: str, code: str, *, frequency: int = 1, period: float = 1, period_unit: str = "d",
          route: tuple[str, str] | None = ("26643006", "Oral route")) -> dict[str, Any]:
    dosage: dict[str, Any] = {
        "timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": period_unit}},
        "doseAndRate": [{"doseQuantity": {"value": value, "unit": unit, "system": UCUM, "code": code}}]}
    if route:
        dosage["route"] = {"coding": [{"system": SNOMED, "code": route[0], "display": route[1]}]}
    return dosage


def _patient(birth: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": PATIENT, "birthDate": birth}


def _sign(client: TestClient, *drafts: dict[str, Any], hook: str = "order-sign", patient: dict[str, Any] | None = None,
          selections: list[str] | None = None) -> list[dict[str, Any]]:
    context: dict[str, Any] = {"userId": "Practitioner/dr-1", "patientId": PATIENT,
                               "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                               "entry": [{"resource": d} for d in drafts]}}
    if selections is not None:
        context["selections"] = selections
    prefetch: dict[str, Any] = {"medicationRequests": None, "medicationStatements": None}
    if patient is not None:
        prefetch["patient"] = patient
    body = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, "prefetch": prefetch}
    response = client.post("/cds-services/medevidence-medication-safety", json=body)
    assert response.status_code == 200, response.text
    jsonschema.validate(response.json(), json.loads((FIXTURES / "cds_hooks" / "schemas" / "response.schema.json")
                                                    .read_text()))
    return list(response.json()["cards"])


def _rule_cards(cards: list[dict[str, Any]], check: str) -> list[dict[str, Any]]:
    return [c for c in cards if c.get("extension", {}).get("medevidence", {}).get("check") == check]


@pytest.mark.slow
def test_methotrexate_10_mg_orally_once_daily_gets_a_card_citing_the_dose_limit(
        indexed: tuple[Runtime, Path], cds: TestClient) -> None:
    cards = _sign(cds, _order("mtx-1", "Methotrexate 2.5 MG Oral Tablet", _dose(10, "mg", "mg")),
                  patient=_patient("1961-04-02"))
    [card] = _rule_cards(cards, "dose_limit")
    ext = card["extension"]["medevidence"]
    assert card["indicator"] == "critical" and len(card["summary"]) < 140
    assert (ext["rule_id"], ext["outcome"], ext["amount"]) == ("example-pt-2026-021", "exceeded", 70)
    assert "70 mg a week" in card["summary"] and "25 mg a week" in card["summary"]
    assert "rule:example-pt-2026-021" in card["detail"] and ext["notes"] == []
    for citation in ext["citations"]:
        _verbatim(indexed[0], citation)
    assert card["overrideReasons"] and card["suggestions"][0]["actions"][0] == {
        "type": "delete", "description": "Remove the draft order for Methotrexate",
        "resourceId": "MedicationRequest/mtx-1"}


@pytest.mark.slow
def test_a_population_rule_says_when_the_patients_age_is_unknown_and_skips_a_child(cds: TestClient) -> None:
    order = _order("mtx-2", "methotrexate", _dose(10, "mg", "mg"))
    [unknown_age] = _rule_cards(_sign(cds, order), "dose_limit")
    assert unknown_age["extension"]["medevidence"]["outcome"] == "exceeded"
    assert any("age is not known" in n for n in unknown_age["extension"]["medevidence"]["notes"])
    assert _rule_cards(_sign(cds, order, patient=_patient("2019-05-01")), "dose_limit") == []


@pytest.mark.slow
def test_weekly_tablets_within_the_limit_and_an_intravenous_order_get_no_dose_card(cds: TestClient) -> None:
    weekly = _order("mtx-3", "Methotrexate 2.5 MG Oral Tablet",
                    _dose(4, "tablet", "{tbl}", period=1, period_unit="wk"))
    assert _rule_cards(_sign(cds, weekly, patient=_patient("1970-01-01")), "dose_limit") == []
    iv = _order("mtx-4", "methotrexate injection", _dose(1, "g", "g", route=("47625008", "Intravenous route")))
    assert _rule_cards(_sign(cds, iv, patient=_patient("1970-01-01")), "dose_limit") == []


@pytest.mark.slow
def test_units_are_converted_g_and_mg(cds: TestClient) -> None:
    q4h = _order("apap-1", "Acetaminophen 500 MG Oral Tablet", _dose(1000, "mg", "mg", frequency=1, period=4,
                                                                     period_unit="h"))
    [card] = _rule_cards(_sign(cds, q4h), "dose_limit")
    assert (card["extension"]["medevidence"]["rule_id"], card["extension"]["medevidence"]["amount"]) == ("loc-apap", 6)
    q6h = _order("apap-2", "acetaminophen", _dose(0.65, "g", "g", frequency=1, period=6, period_unit="h"))
    assert _rule_cards(_sign(cds, q6h), "dose_limit") == []


@pytest.mark.slow
def test_a_missing_or_free_text_dose_gets_an_info_card_saying_it_was_not_checked(cds: TestClient) -> None:
    for order in (_order("apap-3", "acetaminophen"),
                  {**_order("apap-4", "acetaminophen"), "dosageInstruction": [{"text": "two tablets when needed"}]},
                  _order("apap-5", "acetaminophen", _dose(2, "puff", "{puff}"))):
        [card] = _rule_cards(_sign(cds, order), "dose_limit")
        assert card["indicator"] == "info" and "not checked" in card["summary"]
        assert card["extension"]["medevidence"]["outcome"] == "not_checked"
        assert all(card["extension"]["medevidence"]["reasons"])


@pytest.mark.slow
def test_a_non_formulary_drug_gets_its_alternatives_as_suggestions(cds: TestClient) -> None:
    [card] = _rule_cards(_sign(cds, _order("eso-1", "esomeprazole 40 mg", _dose(40, "mg", "mg"))), "formulary")
    assert card["indicator"] == "warning" and card["extension"]["medevidence"]["rule_id"] == "example-formulary-007"
    assert "Supersedes: loc-eso-old" in card["detail"]
    assert [s["label"] for s in card["suggestions"]] == ["Order omeprazole instead of Esomeprazole",
                                                        "Order pantoprazole instead of Esomeprazole"]
    delete, create = card["suggestions"][0]["actions"]
    assert delete["type"] == "delete" and delete["resourceId"] == "MedicationRequest/eso-1"
    assert create["type"] == "create" and create["resource"]["medicationCodeableConcept"] == {"text": "omeprazole"}
    assert create["resource"]["subject"] == {"reference": f"Patient/{PATIENT}"}
    assert "dosageInstruction" not in create["resource"]


@pytest.mark.slow
def test_order_select_checks_only_the_selected_orders(cds: TestClient) -> None:
    mtx = _order("mtx-5", "methotrexate", _dose(10, "mg", "mg"))
    eso = _order("eso-2", "esomeprazole")
    cards = _sign(cds, mtx, eso, hook="order-select", selections=["MedicationRequest/eso-2"])
    assert _rule_cards(cards, "dose_limit") == [] and len(_rule_cards(cards, "formulary")) == 1


@pytest.mark.slow
def test_a_local_interaction_rule_between_a_draft_and_another_order_is_a_card_of_its_own(cds: TestClient) -> None:
    cards = _sign(cds, _order("simva-1", "simvastatin 40 mg tablet"), _order("amlo-1", "amlodipine 5 mg"),
                  hook="order-select", selections=["MedicationRequest/simva-1"])
    local = [c for c in cards if c.get("extension", {}).get("medevidence", {}).get("rule_id") == "example-pt-2026-014"]
    assert len(local) == 1 and local[0]["indicator"] == "critical"
    assert local[0]["source"]["label"].startswith("MedEvidence · local rule example-pt-2026-014")


@pytest.mark.slow
def test_ask_may_cite_a_rule_as_evidence(indexed: tuple[Runtime, Path], cds: TestClient) -> None:
    response = cds.post("/v1/ask", json={"question": "What is the maximum weekly dose of oral methotrexate?"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert not answer["abstained"]
    cited = [c for c in answer["citations"] if c["doc_id"] == "rule:example-pt-2026-021"]
    assert cited and cited[0]["source_type"] == "local_rule"
    _verbatim(indexed[0], cited[0])


@pytest.mark.slow
def test_the_extractive_answer_says_the_local_rule_first(cds: TestClient) -> None:
    from app.answer.evidence import Evidence
    from app.answer.generator import GenerationRequest
    from app.model import Chunk
    from app.retrieval.aspects import BY_NAME
    from app.retrieval.question import FocusDrug, QuestionFocus

    def block(n: int, doc_id: str, source_type: str, section: str, text: str) -> Evidence:
        chunk = Chunk(doc_id=doc_id, version="v1", ordinal=0, section=section, start=0, end=len(text), text=text,
                      title=doc_id, source_type=source_type)
        return Evidence(n, chunk, 1.0, {})

    label = block(1, "label:simvastatin", "label", "Drug Interactions",
                  "If simvastatin is given with amlodipine, do not exceed 20 mg of simvastatin daily. "
                  "Simvastatin is a statin that lowers LDL cholesterol in patients with hyperlipidemia.")
    rule = block(2, "rule:pt-1", "local_rule", "Rule",
                 "Our committee: simvastatin with amlodipine needs a pharmacist's check before the first dose.")
    focus = QuestionFocus(drugs=(FocusDrug("DB00641", "Simvastatin", "simvastatin", "linked", ("simvastatin",)),
                                 FocusDrug("DB00381", "Amlodipine", "amlodipine", "linked", ("amlodipine",))),
                          aspects=(BY_NAME["information"],))
    extractive = cds.app.state.asker.extractive  # type: ignore[attr-defined]
    question = "Can I give simvastatin with amlodipine?"
    picked = extractive.select(GenerationRequest(question, "en", [label, rule], focus=focus,
                                                 own_documents=frozenset({"label:simvastatin"})))
    assert picked[0][0] == 2 and picked[1][0] == 1  # the hospital's rule, then the label
    without = extractive.select(GenerationRequest(question, "en", [label], focus=focus,
                                                  own_documents=frozenset({"label:simvastatin"})))
    assert without[0][0] == 1


# -- versions: a replaced or deleted rules file applies no rule --------------------------------------------------

@pytest.mark.slow
def test_no_rule_applies_after_its_file_is_replaced_or_deleted(tmp_path: Path) -> None:
    rt, folder = _open(tmp_path)
    with rt, TestClient(create_app(rt.settings, runtime=rt)) as client:
        order = _order("mtx-9", "methotrexate", _dose(10, "mg", "mg"))
        assert _rule_cards(_sign(client, order), "dose_limit")
        rules = [r if r["id"] != "example-pt-2026-021" else {**r, "max_dose": {"value": 100, "unit": "mg",
                                                                               "per": "week"}}
                 for r in _rules()]
        _write(folder / "pharmacy.rules.jsonl", rules)
        assert open_indexer(rt).index_paths([folder]).updated == 1
        assert _rule_cards(_sign(client, order), "dose_limit") == []  # 70 mg a week is within the new 100
        (folder / "pharmacy.rules.jsonl").unlink()
        (folder / "other.rules.jsonl").write_text("", encoding="utf-8")
        summary = open_indexer(rt).index_paths([folder], prune=True)
        assert summary.deleted == len(_rules())
        catalog = drug_catalog(rt)
        assert catalog.rules().rules == []
        cards = _sign(client, order, _order("eso-9", "esomeprazole"), _order("simva-9", "simvastatin"),
                      _order("amlo-9", "amlodipine"))
        assert not [c for c in cards if c.get("extension", {}).get("medevidence", {}).get("kind") == "local_rule"]
        assert all(p["local_rules"] == [] for p in check_interactions(catalog, ["simvastatin", "amlodipine"])[
            "interactions"])


# -- the clinician page -------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.browser
def test_the_page_shows_local_rules_in_the_interaction_table_and_the_drug_card(
        indexed: tuple[Runtime, Path], browser: Any) -> None:
    from testkit.browser_support import axe_serious, screenshot, watched_page
    from testkit.http_server import serving

    rt = indexed[0]
    with serving(create_app(rt.settings, runtime=rt)) as site, \
            watched_page(browser, bypass_csp=True) as page:  # axe is injected
        page.goto(site + "/")
        page.get_by_role("tab", name="Drugs").click()
        page.get_by_label("Interaction check").fill("辛伐他汀\namlodipine\nclarithromycin")
        page.get_by_role("button", name="Check interactions").click()
        page.wait_for_selector("#interaction-table")
        pair = page.locator("#interaction-table tr", has_text="Simvastatin + Amlodipine")
        assert "sev-local" in (pair.get_attribute("class") or "")
        rule = pair.locator(".local-rule[data-rule-id='example-pt-2026-014']")
        assert "do not exceed simvastatin 20 mg daily" in rule.inner_text()
        assert "rule:example-pt-2026-014 [0:94]" in rule.inner_text()
        national = page.locator("#interaction-table tr", has_text="Simvastatin + Clarithromycin")
        assert "sev-high" in (national.get_attribute("class") or "")  # the national grade stays
        assert national.locator(".local-rule[data-rule-id='loc-statin-macrolide']").count() == 1
        page.locator("#drug-name").fill("esomeprazole")
        page.locator("#drug-form button[type=submit]").click()
        page.wait_for_selector("#drug-card .local-rules")
        assert "Formulary: non-formulary — alternatives: omeprazole, pantoprazole" in page.locator(
            "#drug-card .local-rules").inner_text()
        screenshot(page, "local-rules.png")
        assert axe_serious(page) == [] and page.errors == []
        assert [u for u in page.requests if not u.startswith(site)] == []  # nothing leaves this server


@pytest.mark.slow
def test_the_order_sign_benchmark_runs_and_its_baseline_checks_no_rule(indexed: tuple[Runtime, Path]) -> None:
    from app.emr.cds_service import CdsHooksService
    from app.emr.order_checks import OrderRuleChecks
    from app.emr.pseudonym import Pseudonymizer
    from benchmarks.order_rules import NoRuleChecks, bench, bench_checks_alone

    rt = indexed[0]
    catalog = drug_catalog(rt)
    pseudonyms = Pseudonymizer.from_file(rt.settings.pseudonym_key_path)
    services = {mode: CdsHooksService(catalog, rt.audit, pseudonyms, "info", 5.0, rule_checks=checks)
                for mode, checks in (("with_rules", OrderRuleChecks), ("baseline", NoRuleChecks))}
    report = bench(services, runs=2)
    assert report["cards"]["dose_limit"] == ["Methotrexate 70 mg a week exceeds the local limit of 25 mg a week"]
    assert report["cards"]["with_rules"] > report["cards"]["baseline"]
    assert bench_checks_alone(catalog, runs=2)["n"] == 2
