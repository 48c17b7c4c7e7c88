"""The hospital's rules applied to the draft orders of one CDS Hooks call: dose limits and formulary status.

For each draft order (the selected ones at order-select) and each drug it resolves to, the dose-limit rules in effect
are checked against the order's ``dosageInstruction`` and its formulary status is looked up; the cards come from
``app/emr/rule_cards.py``.  The patient's age, weight and eGFR are read only when a rule in play has a population
(one prefetch or FHIR read per call at most), so an order with no such rule costs no FHIR request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from app.drugs.catalog import DrugCatalog
from app.emr import rule_cards
from app.emr.fhir_dosage import dose_regimens, route_of_names, strength_of
from app.emr.fhir_medications import MedicationUse
from app.emr.fhir_patient import PatientFacts, patient_facts
from app.emr.order_rules import DoseFinding, check_dose_limit
from app.rules import DoseLimitRule, FormularyRule


class OrderRuleChecks:
    """Collects the rule cards (``cards``: dose limits exceeded, formulary), the notices (``notices``: doses not
    checked) and the rules applied (``applied``, for the audit) over the draft orders of one call."""

    def __init__(self, catalog: DrugCatalog, read_prefetch: Callable[[str], Any], today: date | None = None) -> None:
        self.catalog = catalog
        self.read_prefetch = read_prefetch
        self.today = today or date.today()
        self.book = catalog.rules()
        self.cards: list[dict[str, Any]] = []
        self.notices: list[dict[str, Any]] = []
        self.applied: list[str] = []
        self._facts: PatientFacts | None = None

    def facts(self) -> PatientFacts:
        if self._facts is None:
            self._facts = patient_facts(self.read_prefetch, self.today)
        return self._facts

    def check(self, use: MedicationUse, drug_ids: tuple[str, ...]) -> None:
        """The rules for one draft order resolved to ``drug_ids``."""
        refs = [use.reference] if use.reference else []
        for drug_id in drug_ids:
            name = self.catalog.resolver.drugs[drug_id].name
            self._dose_limits(use, drug_id, name, refs)
            self._formulary(use, drug_id, name, refs)

    def _dose_limits(self, use: MedicationUse, drug_id: str, name: str, refs: list[str]) -> None:
        limits = self.book.dose_limits(drug_id, self.today)
        if not limits:
            return
        facts = self.facts() if any(isinstance(b.rule, DoseLimitRule) and b.rule.population for b in limits) \
            else PatientFacts()
        is_request = use.resource is not None and use.resource.get_resource_type() == "MedicationRequest"
        regimens = dose_regimens(use.resource, strength_of(use.names, use.medication), use.field,
                                 route_of_names(use.names)) if is_request else []
        findings: list[DoseFinding] = [f for bound in limits for f in check_dose_limit(bound, regimens, facts)]
        self.applied += list(dict.fromkeys(f.rule.id for f in findings))
        worst: dict[str, DoseFinding] = {}
        for f in findings:
            if f.outcome == "exceeded" and (f.rule.id not in worst or (f.amount or 0) > (worst[f.rule.id].amount or 0)):
                worst[f.rule.id] = f
        self.cards += [rule_cards.dose_limit_card(name, drug_id, f, refs) for f in worst.values()]
        unchecked = [f for f in findings if f.outcome == "not_checked" and f.rule.id not in worst]
        if unchecked:
            self.notices.append(rule_cards.dose_not_checked_card(name, drug_id, unchecked))

    def _formulary(self, use: MedicationUse, drug_id: str, name: str, refs: list[str]) -> None:
        current, superseded = self.book.formulary(drug_id, self.today)
        if current is None:
            return
        self.applied.append(current.rule.id)
        if not isinstance(current.rule, FormularyRule) or current.rule.status == "preferred":
            return
        resource = use.resource
        draft = {"intent": getattr(resource, "intent", None),
                 "subject": resource.subject.model_dump(mode="json", exclude_none=True)
                 if getattr(resource, "subject", None) is not None else None}
        self.cards.append(rule_cards.formulary_card(name, drug_id, current, refs, draft, superseded))
