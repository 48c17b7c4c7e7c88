"""What a hospital dose rule may depend on about the patient: age, body weight, eGFR — read from FHIR R4.

A dose-limit rule may bind only a population (``age_min``, ``age_max``, ``weight_min_kg``, ``weight_max_kg``,
``egfr_below``).  The facts come from the CDS Hooks prefetch (``PATIENT_PREFETCH``: the Patient, the latest body
weight and eGFR Observations) or, when not prefetched, from the EHR's FHIR server; a fact that cannot be had is
``None``, and the rule check then says so on its card instead of guessing.  Nothing here raises for a missing or
odd fact: a dose check must never fail an order-sign call because a weight is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.emr.fhir_medications import FhirInputError, flatten

LOINC = "http://loinc.org"
BODY_WEIGHT = ("29463-7", "3141-9")
#: eGFR observations (CKD-EPI 2021 and earlier, MDRD; per 1.73 m2).
EGFR = ("98979-8", "62238-1", "33914-3", "48642-3", "48643-1", "50044-7", "77147-7", "88293-6", "88294-4", "69405-9")
PATIENT_PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "weight": "Observation?patient={{context.patientId}}&code=" + ",".join(f"{LOINC}|{c}" for c in BODY_WEIGHT)
              + "&_sort=-date&_count=1",
    "egfr": "Observation?patient={{context.patientId}}&code=" + ",".join(f"{LOINC}|{c}" for c in EGFR)
            + "&_sort=-date&_count=1",
}
_KG = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237, "lbs": 0.45359237}
_AVAILABLE = ("final", "amended", "corrected", "preliminary")


@dataclass(frozen=True)
class PatientFacts:
    age_years: float | None = None
    weight_kg: float | None = None
    egfr: float | None = None  # mL/min/1.73 m2


def age_on(birth: date, today: date) -> float:
    """Whole years completed on ``today``."""
    return float(today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day)))


def _birth_date(resources: list[tuple[Any, str]]) -> date | None:
    for resource, _ in resources:
        if resource.get_resource_type() == "Patient" and isinstance(resource.birthDate, date):
            return resource.birthDate
    return None


def _latest_value(resources: list[tuple[Any, str]], codes: tuple[str, ...],
                  units: dict[str, float] | None) -> float | None:
    """The most recent usable Observation value with one of ``codes``, converted by ``units`` (unit → factor)."""
    best: tuple[str, float] | None = None
    for resource, _ in resources:
        if resource.get_resource_type() != "Observation" or resource.status not in _AVAILABLE:
            continue
        codings = (resource.code.coding or []) if resource.code else []
        if not any(c.system == LOINC and c.code in codes for c in codings):
            continue
        quantity = resource.valueQuantity
        if quantity is None or quantity.value is None:
            continue
        value = float(quantity.value)
        if units is not None:
            factor = units.get(str(quantity.code or quantity.unit or "").strip())
            if factor is None:
                continue
            value *= factor
        when = str(resource.effectiveDateTime or resource.issued or "")
        if best is None or when > best[0]:
            best = (when, value)
    return best[1] if best else None


def patient_facts(read: Callable[[str], Any | None], today: date) -> PatientFacts:
    """The patient's facts; ``read(key)`` returns the prefetched (or fetched) resource for a ``PATIENT_PREFETCH``
    key, or None when it cannot be had.  A resource that is not valid FHIR counts as not had."""
    def resources(key: str) -> list[tuple[Any, str]]:
        data = read(key)
        if data is None:
            return []
        try:
            return flatten(data, f"prefetch.{key}")
        except FhirInputError:
            return []

    birth = _birth_date(resources("patient"))
    return PatientFacts(age_years=age_on(birth, today) if birth else None,
                        weight_kg=_latest_value(resources("weight"), BODY_WEIGHT, _KG),
                        egfr=_latest_value(resources("egfr"), EGFR, None))
