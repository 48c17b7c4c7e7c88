"""The pure parts of applying hospital rules to a draft order: the patient's facts from FHIR R4
(app/emr/fhir_patient.py), a rule's population (app/emr/order_rules.py), a dose limit against real dosage
instructions, and the EMR panel's indicator for a pair a local rule binds.  Nothing indexed: the rules are bound by
hand to the drug ids they name."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.drugs.local_rules import BoundRule
from app.emr.fhir_dosage import dose_regimens, strength_of
from app.emr.fhir_medications import parse_resource
from app.emr.fhir_patient import PatientFacts, age_on, patient_facts
from app.emr.order_rules import check_dose_limit, population_match
from app.emr.panel_service import alert_indicator
from app.rules import Population, parse_rule, rule_document

TODAY = date(2026, 12, 7)
MTX = {"id": "mtx", "kind": "dose_limit", "drug": "methotrexate", "route": "oral",
       "max_dose": {"value": 25, "unit": "mg", "per": "week"}, "population": {"age_min": 18},
       "message": "Oral methotrexate: at most 25 mg a week.", "source": "P&T", "effective": "2026-01-01"}


def _bound(obj: dict[str, Any]) -> BoundRule:
    return BoundRule(parse_rule(obj), rule_document(obj), (frozenset({"DB00563"}),), ())


def _observation(code: str, value: float, unit: str, when: str, status: str = "final") -> dict[str, Any]:
    return {"resourceType": "Observation", "status": status, "effectiveDateTime": when,
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}


def _searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def test_patient_facts_come_from_the_patient_and_the_latest_usable_observations() -> None:
    prefetch = {
        "patient": {"resourceType": "Patient", "id": "p", "birthDate": "2008-12-08"},
        "weight": _searchset(_observation("29463-7", 150, "[lb_av]", "2026-11-01"),
                             _observation("29463-7", 80, "kg", "2025-01-01"),
                             _observation("29463-7", 90, "kg", "2026-12-01", status="entered-in-error")),
        "egfr": _searchset(_observation("98979-8", 42, "mL/min/{1.73_m2}", "2026-10-10")),
    }
    facts = patient_facts(prefetch.get, TODAY)
    assert facts.age_years == 17  # the 18th birthday is tomorrow
    assert facts.weight_kg == pytest.approx(68.04, abs=0.01)  # 150 lb, the latest; the erroneous one skipped
    assert facts.egfr == 42


def test_missing_or_invalid_patient_data_is_unknown_never_an_error() -> None:
    assert patient_facts(lambda key: None, TODAY) == PatientFacts()
    broken = {"patient": {"resourceType": "Patient", "birthDate": "not a date"}, "weight": {"not": "fhir"}}
    assert patient_facts(broken.get, TODAY) == PatientFacts()
    assert age_on(date(2000, 2, 29), date(2026, 2, 28)) == 25


def test_a_population_holds_fails_or_is_left_unverified() -> None:
    adults_with_low_egfr = Population(age_min=18, egfr_below=30)
    assert population_match(adults_with_low_egfr, PatientFacts(age_years=70, egfr=25)).applies
    assert not population_match(adults_with_low_egfr, PatientFacts(age_years=70, egfr=60)).applies
    assert not population_match(adults_with_low_egfr, PatientFacts(age_years=12)).applies
    unknown = population_match(adults_with_low_egfr, PatientFacts(age_years=70))
    assert unknown.applies and unknown.unverified == (
        "the rule is for patients with an eGFR below 30 mL/min/1.73 m2; the patient's eGFR is not known",)
    assert population_match(None, PatientFacts()).applies


def _order(*dosage: dict[str, Any], name: str = "Methotrexate 2.5 MG Oral Tablet") -> Any:
    return parse_resource({"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
                           "subject": {"reference": "Patient/p"}, "medicationCodeableConcept": {"text": name},
                           "dosageInstruction": list(dosage)}, "draft")


def _dose(value: float, code: str, frequency: int, period: float, unit: str,
          route: str | None = None) -> dict[str, Any]:
    dosage: dict[str, Any] = {"timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": unit}},
                              "doseAndRate": [{"doseQuantity": {"value": value, "unit": code,
                                                                "system": "http://unitsofmeasure.org", "code": code}}]}
    if route:
        dosage["route"] = {"text": route}
    return dosage


@pytest.mark.parametrize(("dosage", "outcome", "amount"), [
    (_dose(10, "mg", 1, 1, "d"), "exceeded", 70),           # the daily-for-weekly error
    (_dose(4, "{tbl}", 1, 1, "wk"), "within", 10),           # four 2.5 mg tablets once a week
    (_dose(0.015, "g", 1, 1, "wk"), "within", 15),           # g converted to mg
    (_dose(30000, "ug", 1, 1, "wk"), "exceeded", 30),        # µg converted to mg
])
def test_a_dose_limit_against_dosage_instructions(dosage: dict[str, Any], outcome: str, amount: float) -> None:
    order = _order(dosage)
    regimens = dose_regimens(order, strength_of(["Methotrexate 2.5 MG Oral Tablet"]))
    [finding] = check_dose_limit(_bound(MTX), regimens, PatientFacts(age_years=50))
    assert (finding.outcome, finding.amount) == (outcome, pytest.approx(amount))


def test_a_rule_for_another_route_or_population_does_not_apply_and_a_missing_dose_is_not_checked() -> None:
    adult = PatientFacts(age_years=50)
    iv = dose_regimens(_order(_dose(1, "g", 1, 1, "d", route="intravenous")))
    assert check_dose_limit(_bound(MTX), iv, adult) == []
    assert check_dose_limit(_bound(MTX), dose_regimens(_order(_dose(10, "mg", 1, 1, "d"))),
                            PatientFacts(age_years=9)) == []
    [none] = check_dose_limit(_bound(MTX), [], adult)
    assert none.outcome == "not_checked" and none.reason == "the order has no dosage instruction"
    [no_frequency] = check_dose_limit(_bound(MTX), dose_regimens(_order(
        {"doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg", "system": "http://unitsofmeasure.org",
                                           "code": "mg"}}]})), adult)
    assert no_frequency.outcome == "not_checked" and "how often" in str(no_frequency.reason)


def test_the_panel_shows_the_more_urgent_of_the_national_grade_and_a_local_rule() -> None:
    local = {"severity": "high"}
    assert alert_indicator({"severity": "low", "local_rules": [local]}) == "critical"
    assert alert_indicator({"severity": "high", "local_rules": [{"severity": "info"}]}) == "critical"
    assert alert_indicator({"severity": None, "local_rules": [{"severity": "moderate"}]}) == "warning"
