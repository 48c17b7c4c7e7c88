"""The dose regimen of a FHIR R4 MedicationRequest (app/emr/fhir_dosage.py), read from orders as an EHR sends them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.emr.fhir_dosage import (
    DoseRegimen,
    Strength,
    amount_per,
    canonical_unit,
    convert,
    dose_regimens,
    route_of_concept,
    route_of_names,
    route_of_text,
    strength_of,
    unchecked_reason,
)
from app.emr.fhir_medications import parse_resource

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
METHOTREXATE = "Methotrexate 2.5 MG Oral Tablet"
ORAL = {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route (qualifier value)"}]}
INTRAVENOUS = {"coding": [{"system": SNOMED, "code": "47625008", "display": "Intravenous route (qualifier value)"}]}


def qty(value: float, unit: str, code: str | None = None, system: str = UCUM) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": system, "code": code or unit}


def dose(value: float, unit: str, code: str | None = None) -> list[dict[str, Any]]:
    return [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/dose-rate-type",
                                  "code": "ordered", "display": "Ordered"}]},
             "doseQuantity": qty(value, unit, code)}]


def every(frequency: int, period: float, unit: str, **more: Any) -> dict[str, Any]:
    return {"repeat": {"frequency": frequency, "period": period, "periodUnit": unit, **more}}


def order(*dosages: dict[str, Any], name: str = METHOTREXATE, rxnorm: str = "105586", **more: Any) -> Any:
    """A draft MedicationRequest as a CDS client sends it in order-sign's draftOrders, validated like the service."""
    data = {
        "resourceType": "MedicationRequest", "id": "draft-1", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/example"}, "authoredOn": "2026-03-02",
        "requester": {"reference": "Practitioner/p1", "display": "Dr. A"},
        "medicationCodeableConcept": {"text": name, "coding": [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm, "display": name}]},
        **more,
    }
    if dosages:
        data["dosageInstruction"] = list(dosages)
    return parse_resource(data, "context.draftOrders.entry.0.resource")


def one(request: Any, strength: Strength | tuple[float, str] | None = None, **kw: Any) -> DoseRegimen:
    regimens = dose_regimens(request, strength, **kw)
    assert len(regimens) == 1, regimens
    return regimens[0]


# --- units ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "canonical"), [
    ("mg", "mg"), ("MG", "mg"), ("milligram", "mg"), ("milligrams", "mg"), ("mcg", "ug"), ("ug", "ug"),
    ("µg", "ug"), ("μg", "ug"), ("microgram", "ug"), ("g", "g"), ("gram", "g"), ("ng", "ng"), ("kg", "kg"),
    ("mL", "mL"), ("ml", "mL"), ("milliliter", "mL"), ("L", "L"), ("mmol", "mmol"), ("umol", "umol"),
    ("meq", "meq"), ("mEq", "meq"), ("[meq]", "meq"), ("U", "U"), ("unit", "U"), ("units", "U"), ("[U]", "U"),
    ("[iU]", "[iU]"), ("IU", "[iU]"), ("iu", "[iU]"),
])
def test_canonical_unit(written: str, canonical: str) -> None:
    assert canonical_unit(written) == canonical


@pytest.mark.parametrize("unknown", [None, "", "{tbl}", "tablet", "scoop", "mg/kg", "%"])
def test_canonical_unit_unknown(unknown: str | None) -> None:
    assert canonical_unit(unknown) is None


def test_convert_within_a_dimension_only() -> None:
    assert convert(1, "g", "mg") == 1000
    assert convert(4000, "mg", "g") == 4
    assert convert(250, "mcg", "mg") == 0.25
    assert convert(0.5, "mg", "mcg") == 500
    assert convert(1, "L", "mL") == 1000
    assert convert(2, "mmol", "umol") == 2000
    assert convert(20, "mEq", "meq") == 20
    assert convert(10, "mg", "mL") is None
    assert convert(10, "U", "[iU]") is None  # UCUM does not relate units to international units
    assert convert(10, "tablet", "mg") is None


# --- the brief's cases ----------------------------------------------------------------------------------------------

def test_methotrexate_10_mg_once_daily_is_70_mg_a_week() -> None:
    request = order({"sequence": 1, "text": "10 mg, Oral, Daily", "route": ORAL,
                     "timing": {"repeat": {"boundsPeriod": {"start": "2026-03-02"}, "frequency": 1, "period": 1,
                                           "periodUnit": "d"}, "code": {"text": "Daily"}},
                     "doseAndRate": dose(10, "mg")})
    regimen = one(request, field="context.draftOrders.entry.0.resource")
    assert (regimen.per_dose, regimen.unit, regimen.per_day, regimen.per_week) == (10, "mg", 10, 70)
    assert regimen.route == "oral" and not regimen.as_needed and regimen.problem is None
    assert regimen.description == "10 mg oral, once a day"
    assert regimen.field == "context.draftOrders.entry.0.resource.dosageInstruction.0"
    assert amount_per(regimen, "week", "mg") == 70 > 25
    assert unchecked_reason(regimen, "week", "mg") is None


def test_methotrexate_four_tablets_once_weekly_from_the_name_strength() -> None:
    strength = strength_of([METHOTREXATE])
    assert strength == Strength(2.5, "mg")
    request = order({"text": "4 tablets by mouth once a week", "route": ORAL,
                     "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk", "dayOfWeek": ["mon"]}},
                     "doseAndRate": dose(4, "tablet", "{tbl}")})
    regimen = one(request, strength)
    assert (regimen.per_dose, regimen.unit, regimen.per_day, regimen.per_week) == (10, "mg", 10, 10)
    assert regimen.description.startswith("4 tablets of 2.5 mg (10 mg) oral, once a week")
    assert amount_per(regimen, "week", "mg") == 10


def test_strength_from_a_contained_medication_ingredient() -> None:
    request = order({"timing": every(1, 1, "wk"),
                     "doseAndRate": dose(3, "TAB", "TAB")}, name="Methotrexate tablets",
                    contained=[{"resourceType": "Medication", "id": "med", "ingredient": [{
                        "itemCodeableConcept": {"text": "methotrexate"}, "isActive": True,
                        "strength": {"numerator": qty(2.5, "mg"),
                                     "denominator": {"value": 1, "unit": "tablet", "code": "TAB",
                                                     "system": "http://terminology.hl7.org/CodeSystem/"
                                                               "v3-orderableDrugForm"}}}]}])
    strength = strength_of(["Methotrexate tablets"], request.contained[0])
    assert strength == Strength(2.5, "mg")
    assert one(request, strength).per_week == 7.5


def test_one_gram_every_six_hours_is_4000_mg_a_day() -> None:
    request = order({"route": INTRAVENOUS, "timing": every(1, 6, "h"), "doseAndRate": dose(1, "g")},
                    name="Ceftriaxone 1000 MG Injection")
    regimen = one(request)
    assert (regimen.per_dose, regimen.unit, regimen.per_day) == (1, "g", 4)
    assert amount_per(regimen, "day", "mg") == 4000
    assert amount_per(regimen, "dose", "mg") == 1000
    assert amount_per(regimen, "week", "g") == 28
    assert regimen.route == "intravenous" and regimen.description == "1 g intravenous, every 6 hours"


def test_micrograms_compare_with_milligrams() -> None:
    regimen = one(order({"timing": every(1, 1, "d"), "doseAndRate": dose(125, "mcg", "ug")}, name="Digoxin"))
    assert regimen.unit == "ug"
    assert amount_per(regimen, "dose", "mg") == 0.125
    assert amount_per(regimen, "day", "mcg") == 125


@pytest.mark.parametrize(("code", "per_day", "words"), [
    ("QD", 1, "once a day"), ("BID", 2, "twice a day"), ("TID", 3, "3 times a day"), ("QID", 4, "4 times a day"),
    ("Q4H", 6, "every 4 hours"), ("Q6H", 4, "every 6 hours"), ("Q8H", 3, "every 8 hours"),
    ("Q12H", 2, "every 12 hours"), ("AM", 1, "once a day in the morning"), ("QOD", 1, "every other day"),
    ("WK", 1, "once a week"),
])
def test_timing_code(code: str, per_day: int, words: str) -> None:
    request = order({"timing": {"code": {"coding": [{"system": GTS, "code": code}]}},
                     "doseAndRate": dose(500, "mg")}, name="Metformin 500 MG Oral Tablet")
    regimen = one(request, default_route=route_of_names(["Metformin 500 MG Oral Tablet"]))
    assert regimen.per_day == 500 * per_day
    assert regimen.description == f"500 mg oral, {words}"


def test_timing_code_by_text_only() -> None:
    regimen = one(order({"timing": {"code": {"text": "BID"}}, "doseAndRate": dose(5, "mg")}))
    assert regimen.per_day == 10


def test_every_other_day_can_put_four_doses_in_a_week() -> None:
    regimen = one(order({"timing": {"code": {"coding": [{"system": GTS, "code": "QOD"}]}},
                         "doseAndRate": dose(10, "mg")}))
    assert (regimen.per_day, regimen.per_week) == (10, 40)


def test_time_of_day_counts_the_times() -> None:
    regimen = one(order({"timing": {"repeat": {"timeOfDay": ["08:00:00", "20:00:00"]}},
                         "doseAndRate": dose(5, "mg")}))
    assert (regimen.per_day, regimen.per_week) == (10, 70)
    assert "at 08:00, 20:00" in regimen.description


@pytest.mark.parametrize(("when", "times"), [(["MORN", "EVE"], 2), (["AC", "HS"], 4), (["HS"], 1), (["C"], 3)])
def test_when_event_codes(when: list[str], times: int) -> None:
    regimen = one(order({"timing": {"repeat": {"when": when}}, "doseAndRate": dose(10, "U", "U")},
                        name="Insulin lispro 100 UNT/ML Injectable Solution"))
    assert regimen.unit == "U" and regimen.per_day == 10 * times


def test_frequency_with_when_keeps_the_frequency() -> None:
    regimen = one(order({"timing": every(2, 1, "d", when=["MORN", "EVE"]), "doseAndRate": dose(5, "mg")}))
    assert regimen.per_day == 10 and regimen.description.endswith("twice a day in the morning and in the evening")


def test_day_of_week_twice_a_week() -> None:
    regimen = one(order({"timing": {"repeat": {"dayOfWeek": ["mon", "thu"]}}, "doseAndRate": dose(7.5, "mg")}))
    assert (regimen.per_dose, regimen.per_day, regimen.per_week) == (7.5, 7.5, 15)
    assert regimen.description.endswith("once on Mon, Thu")


def test_day_of_week_with_a_daily_frequency() -> None:
    regimen = one(order({"timing": every(2, 1, "d", dayOfWeek=["mon", "wed", "fri"]), "doseAndRate": dose(5, "mg")}))
    assert (regimen.per_day, regimen.per_week) == (10, 30)


def test_frequency_range_and_period_range_take_the_most() -> None:
    regimen = one(order({"timing": every(1, 4, "h", frequencyMax=2, periodMax=6), "doseAndRate": dose(1, "mg")}))
    assert regimen.per_day == 12  # up to 2 times every 4 hours
    assert regimen.description.endswith("1–2 times every 4–6 hours")


def test_prn_bounded_by_max_dose_per_period() -> None:
    request = order({"text": "1 g every 4-6 hours as needed for pain, max 4 g/24 h", "asNeededCodeableConcept": {
                         "coding": [{"system": SNOMED, "code": "22253000", "display": "Pain"}]},
                     "timing": every(1, 4, "h", periodMax=6), "route": ORAL, "doseAndRate": dose(1000, "mg"),
                     "maxDosePerPeriod": {"numerator": qty(4, "g"), "denominator": qty(24, "h")}},
                    name="Acetaminophen 500 MG Oral Tablet")
    regimen = one(request)
    assert regimen.as_needed
    assert regimen.per_dose == 1000 and regimen.per_day == 4000  # not the 6 g every 4 hours would allow
    assert regimen.per_week == 28000
    assert regimen.description == "1000 mg oral, every 4–6 hours as needed, at most 4 g per 24 hours"


def test_prn_with_no_frequency_is_bounded_by_the_cap_alone() -> None:
    request = order({"asNeededBoolean": True, "doseAndRate": dose(2, "tablet", "{tbl}"),
                     "maxDosePerPeriod": {"numerator": qty(8, "tablet", "{tbl}"), "denominator": qty(1, "d")}},
                    name="Acetaminophen 500 MG Oral Tablet")
    regimen = one(request, strength_of(["Acetaminophen 500 MG Oral Tablet"]))
    assert (regimen.per_dose, regimen.per_day, regimen.per_week) == (1000, 4000, 28000)


def test_prn_with_no_frequency_and_no_cap_checks_the_dose_only() -> None:
    regimen = one(order({"asNeededBoolean": True, "doseAndRate": dose(5, "mg")}))
    assert regimen.per_dose == 5 and regimen.per_day is None and regimen.problem is None
    assert amount_per(regimen, "day", "mg") is None
    assert unchecked_reason(regimen, "day", "mg") == "the order does not say how often the dose is given"


def test_max_dose_per_administration_caps_the_dose() -> None:
    regimen = one(order({"timing": every(1, 1, "d"), "doseAndRate": [
        {"doseRange": {"low": qty(5, "mg"), "high": qty(20, "mg")}}], "maxDosePerAdministration": qty(15, "mg")}))
    assert regimen.per_dose == 15 and regimen.per_week == 105


def test_dose_range_uses_the_top() -> None:
    request = order({"timing": every(3, 1, "d"), "doseAndRate": [
        {"doseRange": {"low": qty(1, "tablet", "{tbl}"), "high": qty(2, "tablet", "{tbl}")}}]})
    regimen = one(request, (2.5, "mg"))
    assert (regimen.per_dose, regimen.per_day) == (5, 15)
    assert regimen.description.startswith("1–2 tablets of 2.5 mg (5 mg)")


def test_dose_range_with_a_low_end_only_says_so() -> None:
    regimen = one(order({"timing": every(1, 1, "d"), "doseAndRate": [{"doseRange": {"low": qty(5, "mg")}}]}))
    assert regimen.per_dose == 5
    assert regimen.notes == ("the dose range has no upper end: its lower end is used",)


def test_calculated_dose_is_used_when_the_ordered_one_is_per_kg() -> None:
    request = order({"timing": every(1, 8, "h"), "doseAndRate": [
        {"type": {"coding": [{"code": "ordered"}]}, "doseQuantity": qty(15, "mg/kg", "mg/kg")},
        {"type": {"coding": [{"code": "calculated"}]}, "doseQuantity": qty(1050, "mg")}]}, name="Vancomycin")
    assert one(request).per_day == 3150


def test_ordered_dose_wins_over_calculated() -> None:
    request = order({"timing": every(1, 1, "d"), "doseAndRate": [
        {"type": {"coding": [{"code": "calculated"}]}, "doseQuantity": qty(12, "mg")},
        {"type": {"coding": [{"code": "ordered"}]}, "doseQuantity": qty(10, "mg")}]})
    assert one(request).per_dose == 10


def test_dose_per_kg_alone_is_not_checked() -> None:
    regimen = one(order({"timing": every(1, 1, "d"), "doseAndRate": dose(15, "mg/kg")}))
    assert regimen.per_dose is None and "per body weight" in (regimen.problem or "")


def test_two_concurrent_instructions_add_up() -> None:
    request = order(
        {"sequence": 1, "timing": {"repeat": {"when": ["MORN"]}}, "doseAndRate": dose(5, "mg"), "route": ORAL},
        {"sequence": 1, "timing": {"repeat": {"when": ["EVE"]}}, "doseAndRate": dose(0.01, "g"), "route": ORAL},
        name="Prednisolone 5 MG Oral Tablet")
    regimen = one(request)
    assert (regimen.per_dose, regimen.unit, regimen.per_day, regimen.per_week) == (10, "mg", 15, 105)
    assert regimen.route == "oral" and regimen.field == "dosageInstruction.0, dosageInstruction.1"
    assert " + " in regimen.description


def test_instructions_without_sequence_are_read_as_concurrent() -> None:
    request = order({"timing": every(1, 1, "d"), "doseAndRate": dose(10, "mg")},
                    {"timing": every(1, 1, "d"), "doseAndRate": dose(10, "mg")})
    assert one(request).per_week == 140


def test_concurrent_routes_that_differ_leave_the_route_open() -> None:
    request = order({"timing": every(1, 1, "d"), "doseAndRate": dose(10, "mg"), "route": ORAL},
                    {"timing": every(1, 1, "d"), "doseAndRate": dose(10, "mg"), "route": INTRAVENOUS})
    regimen = one(request)
    assert regimen.route is None and regimen.per_day == 20
    assert "given by several routes: intravenous, oral" in regimen.notes


def test_concurrent_instruction_that_cannot_be_read_leaves_the_group_unchecked() -> None:
    request = order({"timing": every(1, 1, "d"), "doseAndRate": dose(10, "mg")}, {"text": "plus extra as directed"})
    regimen = one(request)
    assert regimen.per_day is None
    assert regimen.problem == "dosageInstruction.1: the dose is free text only: not checked"


def test_concurrent_units_that_do_not_add_up() -> None:
    request = order({"timing": every(1, 1, "d"), "doseAndRate": dose(10, "mg")},
                    {"timing": every(1, 1, "d"), "doseAndRate": dose(5, "mL")})
    assert "do not add up: mg, mL" in (one(request).problem or "")


def test_sequential_instructions_are_separate_regimens() -> None:
    request = order(  # a taper: 40 mg daily for a week, then 20 mg daily for a week
        {"sequence": 2, "timing": every(1, 1, "d", boundsDuration=qty(7, "days", "d")), "doseAndRate": dose(20, "mg")},
        {"sequence": 1, "timing": every(1, 1, "d", boundsDuration=qty(7, "days", "d")), "doseAndRate": dose(40, "mg")},
        name="Prednisone 20 MG Oral Tablet")
    first, second = dose_regimens(request)
    assert (first.per_day, first.per_week, first.field) == (40, 280, "dosageInstruction.1")
    assert (second.per_day, second.per_week, second.field) == (20, 140, "dosageInstruction.0")


def test_count_and_bounds_lower_the_week() -> None:
    three_days = one(order({"timing": every(1, 1, "d", boundsDuration=qty(3, "d")), "doseAndRate": dose(10, "mg")}))
    assert (three_days.per_day, three_days.per_week) == (10, 30)
    single = one(order({"timing": {"repeat": {"count": 1}}, "doseAndRate": dose(50, "mg")}))
    assert (single.per_dose, single.per_day, single.per_week) == (50, 50, 50)


def test_missing_dosage_gives_no_regimen() -> None:
    assert dose_regimens(order()) == []


def test_free_text_only_is_not_checked() -> None:
    regimen = one(order({"text": "Take as directed by your rheumatologist"}))
    assert regimen.problem == "the dose is free text only: not checked"
    assert regimen.description == "Take as directed by your rheumatologist"
    assert amount_per(regimen, "dose", "mg") is None
    assert unchecked_reason(regimen, "week", "mg") == regimen.problem


def test_unknown_unit_is_named() -> None:
    regimen = one(order({"timing": every(1, 1, "d"), "doseAndRate": [
        {"doseQuantity": {"value": 3, "unit": "scoops"}}]}))
    assert regimen.problem == "the dose is in 'scoops', which is not a known unit"


def test_missing_value_and_unit() -> None:
    no_value = one(order({"timing": every(1, 1, "d"), "doseAndRate": [{"doseQuantity": {"unit": "mg"}}]}))
    assert no_value.problem == "the dose has no amount"
    no_unit = one(order({"timing": every(1, 1, "d"), "doseAndRate": [{"doseQuantity": {"value": 2}}]}))
    assert no_unit.problem == "the dose has no unit"


def test_tablets_without_a_known_strength() -> None:
    regimen = one(order({"timing": every(1, 1, "d"), "doseAndRate": dose(2, "tablet", "{tbl}")},
                        name="Methotrexate Oral Tablet"))
    assert regimen.problem == "the dose is given in tablets and the product's strength is unknown"


def test_millilitres_with_a_concentration() -> None:
    name = "Amoxicillin 250 MG/5 ML Oral Suspension"
    strength = strength_of([name])
    assert strength == Strength(50, "mg", "mL")
    regimen = one(order({"timing": {"code": {"coding": [{"system": GTS, "code": "TID"}]}},
                         "doseAndRate": dose(10, "mL")}, name=name), strength)
    assert (regimen.per_dose, regimen.unit, regimen.per_day) == (500, "mg", 1500)


def test_millilitres_without_a_concentration_say_why() -> None:
    regimen = one(order({"timing": every(1, 1, "d"), "doseAndRate": dose(10, "mL")}, name="Lactulose"))
    assert regimen.unit == "mL" and amount_per(regimen, "dose", "mg") is None
    assert unchecked_reason(regimen, "dose", "mg") == ("the order is in mL and the limit in mg: they cannot be "
                                                       "compared (the product's concentration is unknown)")


def test_continuous_infusion_rate() -> None:
    request = order({"route": INTRAVENOUS, "doseAndRate": [{"rateQuantity": qty(2, "mg/h", "mg/h")}]},
                    name="Morphine sulfate 1 MG/ML Injectable Solution")
    regimen = one(request)
    assert (regimen.per_dose, regimen.unit, regimen.per_day, regimen.per_week) == (None, "mg", 48, 336)
    assert regimen.notes == ("a continuous infusion has no single dose: its amount per day assumes it runs all day",)
    assert unchecked_reason(regimen, "dose", "mg") == regimen.notes[0]


def test_intermittent_infusion_rate_times_duration() -> None:
    request = order({"route": INTRAVENOUS, "timing": every(1, 8, "h", duration=30, durationUnit="min"),
                     "doseAndRate": [{"rateRatio": {"numerator": qty(2, "g"), "denominator": qty(1, "h")}}]},
                    name="Piperacillin")
    regimen = one(request)
    assert (regimen.per_dose, regimen.unit, regimen.per_day) == (1, "g", 3)


def test_infusion_rate_without_a_duration_is_not_checked() -> None:
    request = order({"timing": every(1, 8, "h"), "doseAndRate": [{"rateQuantity": qty(100, "mL/h", "mL/h")}]})
    assert one(request).problem == "an infusion rate without a duration is not checked"


def test_event_dates() -> None:
    request = order({"timing": {"event": ["2026-03-02T08:00:00Z", "2026-03-02T20:00:00Z", "2026-03-05T08:00:00Z",
                                          "2026-03-20T08:00:00Z"]}, "doseAndRate": dose(10, "mg")})
    regimen = one(request)
    assert (regimen.per_day, regimen.per_week) == (20, 30)


# --- routes and strengths -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "route"), [
    ("26643006", "oral"), ("47625008", "intravenous"), ("78421000", "intramuscular"), ("34206005", "subcutaneous"),
    ("37161004", "rectal"), ("6064005", "topical"), ("447694001", "inhalation"), ("45890007", "transdermal"),
    ("37839007", "sublingual"),
])
def test_route_by_snomed_code(code: str, route: str) -> None:
    request = order({"route": {"coding": [{"system": SNOMED, "code": code}]}, "doseAndRate": dose(1, "mg")})
    assert one(request).route == route


@pytest.mark.parametrize(("text", "route"), [
    ("PO", "oral"), ("by mouth", "oral"), ("Oral", "oral"), ("IV", "intravenous"), ("IM", "intramuscular"),
    ("SubQ", "subcutaneous"), ("SC", "subcutaneous"), ("Intravenous route (qualifier value)", "intravenous"),
    ("Respiratory tract route (qualifier value)", "inhalation"), ("Sublingual route", "sublingual"),
    ("Transdermal route", "transdermal"), ("Per rectum", "rectal"), ("Topical route", "topical"),
    ("Swallow, oral", "oral"), ("", None), ("as directed", None),
])
def test_route_of_text(text: str, route: str | None) -> None:
    assert route_of_text(text) == route


def test_route_by_text_in_the_order() -> None:
    request = order({"route": {"text": "PO"}, "timing": every(1, 1, "d"), "doseAndRate": dose(10, "mg")})
    assert one(request).route == "oral"
    assert route_of_concept(None) is None


def test_route_falls_back_to_the_dose_form() -> None:
    assert route_of_names([METHOTREXATE]) == "oral"
    assert route_of_names(["Nitroglycerin 0.4 MG Sublingual Tablet"]) == "sublingual"
    assert route_of_names(["Fentanyl 0.025 MG/HR Transdermal System"]) == "transdermal"
    assert route_of_names(["Methotrexate 25 MG/ML Injectable Solution", "Methotrexate Injection"]) is None
    regimen = one(order({"timing": every(1, 1, "d"), "doseAndRate": dose(10, "mg")}),
                  default_route=route_of_names([METHOTREXATE]))
    assert regimen.route == "oral"
    stated = one(order({"route": INTRAVENOUS, "doseAndRate": dose(10, "mg")}), default_route="oral")
    assert stated.route == "intravenous"


def test_strength_of_names() -> None:
    assert strength_of(["Warfarin Sodium 5 MG Oral Tablet [Coumadin]"]) == Strength(5, "mg")
    assert strength_of(["Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler"]) == Strength(0.09, "mg")
    assert strength_of(["Levothyroxine Sodium 0.025 MG Oral Tablet"]) == Strength(0.025, "mg")
    assert strength_of(["Amlodipine 5 MG / Benazepril 10 MG Oral Capsule"]) is None  # a combination
    assert strength_of(["Fentanyl 0.025 MG/HR Transdermal System"]) is None  # a rate, not an amount per patch
    assert strength_of(["Zocor", "Simvastatin 20 MG Oral Tablet"]) == Strength(20, "mg")
    assert strength_of(["methotrexate"]) is None


def test_strength_of_a_combination_medication_is_none() -> None:
    medication = parse_resource({"resourceType": "Medication", "ingredient": [
        {"itemCodeableConcept": {"text": "amlodipine"}, "strength": {"numerator": qty(5, "mg"),
                                                                      "denominator": qty(1, "tablet", "{tbl}")}},
        {"itemCodeableConcept": {"text": "benazepril"}, "strength": {"numerator": qty(10, "mg"),
                                                                      "denominator": qty(1, "tablet", "{tbl}")}}]},
        "Medication")
    assert strength_of(["Amlodipine 5 MG Oral Tablet"], medication) is None


def test_odd_but_valid_timing_never_raises() -> None:
    for timing in ({"repeat": {"frequency": 2}}, {"repeat": {"period": 0, "periodUnit": "d"}},
                   {"repeat": {"boundsDuration": qty(5, "d")}}, {"code": {"text": "whenever"}}, {}):
        regimen = one(order({"timing": timing, "doseAndRate": dose(10, "mg")}))
        assert regimen.per_dose == 10 and regimen.per_day is None and regimen.problem is None


def test_amounts_carry_no_float_noise() -> None:
    regimen = one(order({"timing": {"code": {"coding": [{"system": GTS, "code": "TID"}]}},
                         "doseAndRate": dose(0.1, "mg")}))
    assert regimen.per_day == 0.3 and amount_per(regimen, "day", "mcg") == 300


def test_a_medication_with_two_active_ingredients_has_no_single_strength() -> None:
    medication = parse_resource({"resourceType": "Medication", "ingredient": [
        {"itemCodeableConcept": {"text": "sulfamethoxazole"}, "strength": {
            "numerator": qty(800, "mg"), "denominator": qty(1, "tablet", "{tbl}")}},
        {"itemCodeableConcept": {"text": "trimethoprim"}}]}, "Medication")
    assert strength_of(["Bactrim DS"], medication) is None


def test_medication_statement_dosage() -> None:
    statement = parse_resource({"resourceType": "MedicationStatement", "status": "active",
                                "subject": {"reference": "Patient/example"},
                                "medicationCodeableConcept": {"text": METHOTREXATE},
                                "dosage": [{"timing": every(1, 1, "wk"), "doseAndRate": dose(15, "mg")}]}, "x")
    regimen = one(statement)
    assert regimen.per_week == 15 and regimen.field == "dosage.0"


def test_route_text_starting_with_an_abbreviation() -> None:
    assert route_of_text("IV push") == "intravenous"
    assert route_of_text("it is applied to the skin") == "topical"


_QUANTITIES = st.one_of(
    st.builds(qty, st.sampled_from([0, 0.1, 1, 2.5, 1000]),
              st.sampled_from(["mg", "g", "mcg", "mL", "U", "[iU]", "{tbl}", "mg/kg", "scoop", "mg/h", "h", "d"])),
    st.just({"value": 3}), st.just({"unit": "mg"}), st.just({"value": 2, "unit": "tablet"}))
_TIMINGS = st.one_of(
    st.none(),
    st.builds(lambda f, p, u: {"repeat": {"frequency": f, "period": p, "periodUnit": u}},
              st.integers(1, 6), st.sampled_from([0, 0.5, 1, 6, 8]), st.sampled_from(["s", "min", "h", "d", "wk",
                                                                                       "mo", "a"])),
    st.builds(lambda c: {"code": {"coding": [{"system": GTS, "code": c}]}},
              st.sampled_from(["BID", "Q0H", "Q6H", "QOD", "WK", "XYZ"])),
    st.builds(lambda w, d, n: {"repeat": {"when": w, "dayOfWeek": d, "count": n}},
              st.lists(st.sampled_from(["MORN", "AC", "HS", "C"]), max_size=3),
              st.lists(st.sampled_from(["mon", "thu", "sun"]), max_size=3), st.integers(1, 5)))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.fixed_dictionaries({}, optional={
    "sequence": st.integers(1, 2), "text": st.just("as directed"), "asNeededBoolean": st.booleans(),
    "timing": _TIMINGS,
    "doseAndRate": st.lists(st.one_of(st.builds(lambda q: {"doseQuantity": q}, _QUANTITIES),
                                      st.builds(lambda q: {"doseRange": {"high": q}}, _QUANTITIES),
                                      st.builds(lambda q: {"rateQuantity": q}, _QUANTITIES)), max_size=2),
    "maxDosePerPeriod": st.builds(lambda n, d: {"numerator": n, "denominator": d}, _QUANTITIES, _QUANTITIES),
    "maxDosePerAdministration": _QUANTITIES}), min_size=1, max_size=3))
def test_any_valid_dosage_reads_without_raising(dosages: list[dict[str, Any]]) -> None:
    dosages = [{k: v for k, v in d.items() if v is not None and v != []} for d in dosages]
    for regimen in dose_regimens(order(*dosages), (2.5, "mg")):
        known = [v for per in ("dose", "day", "week") if (v := regimen.amount(per)) is not None]
        assert (regimen.problem is None) == bool(known)
        assert regimen.unit is None or canonical_unit(regimen.unit) == regimen.unit
        assert all(v >= 0 for v in known)
        for per in ("dose", "day", "week"):
            assert (amount_per(regimen, per, "mg") is None) == (unchecked_reason(regimen, per, "mg") is not None)
