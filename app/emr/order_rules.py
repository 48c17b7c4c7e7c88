"""The hospital's dose-limit and formulary rules checked against a draft medication order (pure: no I/O).

A draft MedicationRequest's dose regimen (``app/emr/fhir_dosage.py``: dose × frequency / period, UCUM units
converted) is compared with each dose-limit rule in effect for the ordered drug, in the rule's own unit and period
(per dose, per day, per week).  Each comparison ends in one of three outcomes, and none is silent:

- ``exceeded``: the order gives more than the limit (a card citing the rule);
- ``within``: checked, within the limit (no card);
- ``not_checked``: the dose could not be read or compared (no structured dose, a unit that cannot be converted,
  a per-day limit on an order with no frequency…): an info card says the dose was *not* checked, and why.

A rule bound to a population applies when the patient is in it; when a fact it needs (age, weight, eGFR) is not
known, the rule is applied and the card says which condition could not be verified.  A rule for another route
(``oral`` against an intravenous order) does not apply; an order whose route is not stated is checked, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.drugs.local_rules import BoundRule
from app.emr.fhir_dosage import DoseRegimen, amount_per, route_of_text, unchecked_reason
from app.emr.fhir_patient import PatientFacts
from app.rules import DoseLimitRule, Population

Outcome = Literal["exceeded", "within", "not_checked"]
#: Relative slack for float arithmetic (1 g written as 1000 mg must not "exceed" 1000 mg).
TOLERANCE = 1e-9
PER_WORDS = {"dose": "per dose", "day": "a day", "week": "a week"}


@dataclass(frozen=True)
class PopulationMatch:
    applies: bool
    unverified: tuple[str, ...] = ()  # the rule's conditions the patient's facts could not settle


@dataclass(frozen=True)
class DoseFinding:
    """One dose-limit rule compared with one dosage instruction of a draft order."""

    bound: BoundRule
    outcome: Outcome
    regimen: DoseRegimen | None
    amount: float | None  # the order's amount in the limit's unit and period (when compared)
    reason: str | None  # why not checked
    notes: tuple[str, ...]  # population conditions not verified, an unstated route

    @property
    def rule(self) -> DoseLimitRule:
        assert isinstance(self.bound.rule, DoseLimitRule)
        return self.bound.rule


def population_match(population: Population | None, facts: PatientFacts) -> PopulationMatch:
    """Whether a rule's population holds for the patient; conditions on unknown facts are listed, not assumed false."""
    if population is None:
        return PopulationMatch(True)
    checks = (
        ("age", facts.age_years, population.age_min, lambda v, x: v >= x, "aged {x:g} or older"),
        ("age", facts.age_years, population.age_max, lambda v, x: v <= x, "aged {x:g} or younger"),
        ("weight", facts.weight_kg, population.weight_min_kg, lambda v, x: v >= x, "weighing {x:g} kg or more"),
        ("weight", facts.weight_kg, population.weight_max_kg, lambda v, x: v <= x, "weighing {x:g} kg or less"),
        ("eGFR", facts.egfr, population.egfr_below, lambda v, x: v < x, "with an eGFR below {x:g} mL/min/1.73 m2"),
    )
    unverified = []
    for fact, value, bound, holds, words in checks:
        if bound is None:
            continue
        if value is None:
            unverified.append(f"the rule is for patients {words.format(x=bound)}; the patient's {fact} is not known")
        elif not holds(value, bound):
            return PopulationMatch(False)
    return PopulationMatch(True, tuple(unverified))


def check_dose_limit(bound: BoundRule, regimens: list[DoseRegimen], facts: PatientFacts) -> list[DoseFinding]:
    """The rule against each dosage instruction of one draft order ([] when the rule does not apply to it)."""
    rule = bound.rule
    assert isinstance(rule, DoseLimitRule)
    match = population_match(rule.population, facts)
    if not match.applies:
        return []
    if not regimens:
        return [DoseFinding(bound, "not_checked", None, None, "the order has no dosage instruction",
                            match.unverified)]
    wanted_route = route_of_text(rule.route) if rule.route else None
    findings = []
    for regimen in regimens:
        notes = list(match.unverified)
        if wanted_route and regimen.route and regimen.route != wanted_route:
            continue  # a limit for another route
        if wanted_route and not regimen.route:
            notes.append(f"the rule is for the {rule.route} route; the order does not state its route")
        findings.append(_compare(bound, rule, regimen, tuple(notes)))
    return findings


def _compare(bound: BoundRule, rule: DoseLimitRule, regimen: DoseRegimen, notes: tuple[str, ...]) -> DoseFinding:
    limit = rule.max_dose
    amount = amount_per(regimen, limit.per, limit.unit)
    if amount is None:
        why = unchecked_reason(regimen, limit.per, limit.unit) or "the order's dose cannot be compared"
        return DoseFinding(bound, "not_checked", regimen, None, why, notes)
    outcome: Outcome = "exceeded" if amount > limit.value * (1 + TOLERANCE) else "within"
    return DoseFinding(bound, outcome, regimen, amount, None, notes)


def limit_text(rule: DoseLimitRule) -> str:
    """"25 mg a week"."""
    return f"{rule.max_dose.value:g} {rule.max_dose.unit} {PER_WORDS[rule.max_dose.per]}"
