"""The CDS Hooks services: discovery, medication-safety cards at order time and at chart open, feedback.

- ``medevidence-medication-safety`` (``order-select`` and ``order-sign``): interactions between the draft
  orders (the selected ones, at order-select) and the patient's active medications and other draft orders, and
  the hospital's own rules (``app/emr/order_rules.py``): local interaction rules, dose limits checked against each
  draft's ``dosageInstruction``, formulary status with the alternatives as suggestions;
- ``medevidence-patient-view`` (``patient-view``): interactions among the active medications.

Active medications come from the prefetch the client sent (a key prefetched as null: none); a key the
client did not send is read from ``fhirServer`` with ``fhirAuthorization``, and when that cannot be done
the answer is the spec's 412.  A medication that could not be identified is named in an info card.
Every call, card and feedback goes to the audit store under patient/user pseudonyms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from app.drugs.catalog import DrugCatalog
from app.drugs.interactions import MAX_DRUGS, check_interactions
from app.emr import cds_cards, rule_cards
from app.emr.cds_request import CdsRequest, CdsRequestError, parse_request
from app.emr.fhir_client import FhirClient, FhirFetchError, render_template
from app.emr.fhir_medications import (
    ACTIVE_MEDICATION_SEARCHES,
    FhirInputError,
    MedicationUse,
    flatten,
    medication_index,
    medication_reader,
    medication_uses,
    resolve_use,
)
from app.emr.fhir_patient import PATIENT_PREFETCH
from app.emr.order_checks import OrderRuleChecks
from app.emr.pseudonym import Pseudonymizer
from app.stores.audit import AuditStore

ORDER_HOOKS = ("order-sign", "order-select")
PREFETCH = ACTIVE_MEDICATION_SEARCHES
MEDICATION_SAFETY = "medevidence-medication-safety"
PATIENT_VIEW = "medevidence-patient-view"
SAFETY_DESCRIPTION = ("Cited drug–drug interactions between the medications being ordered (the selected ones at "
                      "order-select) and the patient's active medications and other draft orders: ONC "
                      "high-priority and non-interruptive lists, VA NDF-RT, FDA label text; and the hospital's own "
                      "interaction, dose-limit and formulary rules, with each draft's dose checked.")
# (id, hook, title, description): the spec lets one service id answer several hooks.
SERVICES = (
    (MEDICATION_SAFETY, "order-select", "MedEvidence medication safety", SAFETY_DESCRIPTION),
    (MEDICATION_SAFETY, "order-sign", "MedEvidence medication safety", SAFETY_DESCRIPTION),
    (PATIENT_VIEW, "patient-view", "MedEvidence interaction review",
     "Cited drug–drug interactions among the patient's active medications."),
)
HOOKS = {service_id: tuple(hook for sid, hook, _, _ in SERVICES if sid == service_id)
         for service_id, _, _, _ in SERVICES}
FEEDBACK_OUTCOMES = ("accepted", "overridden")


class UnknownService(LookupError):
    pass


class PrefetchUnavailable(RuntimeError):
    """Needed data was neither prefetched nor readable from the FHIR server (the spec's 412)."""


def _is_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


class CdsHooksService:
    def __init__(self, catalog: DrugCatalog, audit: AuditStore, pseudonyms: Pseudonymizer, min_indicator: str,
                 fhir_timeout_s: float, transport: httpx.BaseTransport | None = None,
                 rule_checks: type[OrderRuleChecks] = OrderRuleChecks) -> None:
        self.catalog = catalog
        self.rule_checks = rule_checks  # the hospital rules applied to draft orders (a benchmark times without)
        self.audit = audit
        self.pseudonyms = pseudonyms
        self.min_indicator = min_indicator
        self.fhir_timeout_s = fhir_timeout_s
        self.transport = transport  # tests may route FHIR reads in-process; production: real HTTP

    @staticmethod
    def discovery() -> dict[str, Any]:
        return {"services": [
            {"hook": hook, "id": service_id, "title": title, "description": description, "prefetch": dict(PREFETCH),
             "usageRequirements": "Send a JWT signed by a key in your registered JWKS (CDS Hooks 'Trusting CDS "
                                  "Clients'); prefetch the active medications or give fhirServer and "
                                  "fhirAuthorization."}
            | ({"prefetch": {**PREFETCH, **PATIENT_PREFETCH}} if hook in ORDER_HOOKS else {})
            for service_id, hook, title, description in SERVICES
        ]}

    def call(self, service_id: str, body: Any, client: str, panel_url: str | None) -> dict[str, Any]:
        if service_id not in HOOKS:
            raise UnknownService(service_id)
        started = time.perf_counter()
        request = parse_request(body, HOOKS[service_id])
        fhir = FhirClient(request.fhir_server, request.access_token, self.fhir_timeout_s, self.transport) \
            if request.fhir_server else None
        try:
            cards, detail = self._cards(request, fhir, panel_url)
        finally:
            if fhir is not None:
                fhir.close()
        self.audit.record_call({
            "hook_instance": request.hook_instance, "service_id": service_id, "hook": request.hook,
            "client": client, "patient": self.pseudonyms.patient(request.patient_id),
            "user": self.pseudonyms.user(request.user_id), "fhir_fetches": fhir.requests if fhir else 0,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1), "detail": detail,
        }, cards)
        return {"cards": cards}

    def _cards(self, request: CdsRequest, fhir: FhirClient | None,
               panel_url: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        notices: list[dict[str, Any]] = []
        drafts: list[MedicationUse] = []
        medications: dict[str, Any] = {}
        fetch = medication_reader(fhir)
        if request.hook in ORDER_HOOKS:
            orders = flatten(request.context["draftOrders"], "context.draftOrders")
            medications.update(medication_index(orders))
            drafts = medication_uses(orders, "draft", medications, fetch)
        active = self._active(request, fhir, medications, fetch)
        focus_refs = set(request.context.get("selections") or []) if request.hook == "order-select" else None
        focus = [u for u in drafts if focus_refs is None or u.reference in focus_refs]
        others = [u for u in drafts if u not in focus] + active
        resolver = self.catalog.resolver
        ids: dict[str, list[MedicationUse]] = {}
        focus_drugs: list[tuple[MedicationUse, tuple[str, ...]]] = []
        unresolved: list[tuple[str, tuple[str, ...]]] = []
        for use in (*focus, *others):
            result = resolve_use(resolver, use)
            if not result.resolved:
                unresolved.append((use.label, result.suggestions))
            for drug_id in result.drug_ids:
                ids.setdefault(drug_id, []).append(use)
            if use in focus:
                focus_drugs.append((use, result.drug_ids))
        focus_ids = {d for d, uses in ids.items() if any(u in focus for u in uses)}
        checked = list(ids)[:MAX_DRUGS]
        if len(ids) > MAX_DRUGS:
            notices.append(cds_cards.notice_card(
                f"Only {MAX_DRUGS} of {len(ids)} medications were checked",
                "The list was longer than one check allows; the orders and the first active medications were "
                "checked."))
        pairs = check_interactions(self.catalog, checked)["interactions"] if len(checked) > 1 else []
        if request.hook in ORDER_HOOKS:
            pairs = [p for p in pairs if p["a_id"] in focus_ids or p["b_id"] in focus_ids]
        roles = {d: "draft order" if d in focus_ids else
                 ("other draft order" if all(u.role == "draft" for u in uses) else "active medication")
                 for d, uses in ids.items()}
        draft_refs = {d: [u.reference for u in uses if u.role == "draft" and u.reference]
                      for d, uses in ids.items() if d in focus_ids}
        local_cards = [rule_cards.local_interaction_card(p, rule, roles, draft_refs)
                       for p in pairs for rule in p["local_rules"]]
        rule_checks = self.rule_checks(self.catalog, lambda key: self._patient_prefetch(request, fhir, key))
        for use, drug_ids in focus_drugs:
            rule_checks.check(use, drug_ids)
        cards = cds_cards.by_urgency(
            [cds_cards.interaction_card(p, roles, panel_url, draft_refs) for p in pairs if p["severity"]]
            + local_cards + rule_checks.cards, self.min_indicator)
        unresolved_notice = cds_cards.unresolved_card(unresolved)
        cards += [*([unresolved_notice] if unresolved_notice else []), *rule_checks.notices, *notices]
        detail = {"index_version": self.catalog.manifest.index_version(),
                  "checked": [{"drug_id": d, "role": roles[d]} for d in checked],
                  "unresolved": [name for name, _ in unresolved], "pairs_with_interaction": len(
                      [p for p in pairs if p["severity"]]),
                  "local_rules": sorted({r["rule_id"] for p in pairs for r in p["local_rules"]}) + rule_checks.applied}
        return cards, detail

    @staticmethod
    def _prefetched(request: CdsRequest, fhir: FhirClient | None, key: str, template: str,
                    search: bool = True) -> tuple[Any, bool]:
        """A prefetch key's data and whether it was read from ``fhirServer``: as prefetched (a null key: None),
        else — missing, or prefetched as an OperationOutcome (the client could not fetch it) — read from the FHIR
        server; ``PrefetchUnavailable`` (the spec's 412) when that cannot be done."""
        if key in request.prefetch and not _is_outcome(request.prefetch[key]):
            return request.prefetch[key], False
        query = render_template(template, request.context)
        if fhir is None or query is None:
            raise PrefetchUnavailable(f"prefetch {key} was not sent and there is no fhirServer to read it from")
        try:
            return (fhir.search(query) if search else fhir.read(query)), True
        except FhirFetchError as exc:
            raise PrefetchUnavailable(f"prefetch {key} was not sent and {exc}") from exc

    def _patient_prefetch(self, request: CdsRequest, fhir: FhirClient | None, key: str) -> Any:
        """A ``PATIENT_PREFETCH`` resource, or None when it cannot be had (a dose rule's population is then
        reported as not verified, never a 412)."""
        try:
            return self._prefetched(request, fhir, key, PATIENT_PREFETCH[key], search=key != "patient")[0]
        except PrefetchUnavailable:
            return None

    def _active(self, request: CdsRequest, fhir: FhirClient | None, medications: dict[str, Any],
                fetch: Callable[[str], Any] | None) -> list[MedicationUse]:
        """The patient's active medications, each key ``_prefetched`` (one neither prefetched nor readable is a 412;
        so is a server's answer that is not valid FHIR, while the client's own bad prefetch is a 400)."""
        resources: list[tuple[Any, str]] = []
        for key, template in PREFETCH.items():
            data, from_server = self._prefetched(request, fhir, key, template)
            if data is None:
                continue
            if not from_server:
                resources += flatten(data, f"prefetch.{key}")
                continue
            try:
                resources += flatten(data, f"fhirServer {key}")
            except FhirInputError as exc:
                raise PrefetchUnavailable(f"the FHIR server's {key} is not valid FHIR ({exc.message})") from exc
        medications.update(medication_index(resources))
        return medication_uses(resources, "active", medications, fetch)

    def feedback(self, service_id: str, body: Any, client: str) -> int:
        """Record the clinician's feedback on cards this service returned; the number of items recorded."""
        if service_id not in HOOKS:
            raise UnknownService(service_id)
        items = body.get("feedback") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise CdsRequestError("feedback", "must be a non-empty array")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise CdsRequestError(f"feedback.{i}", "must be an object")
            if not isinstance(item.get("card"), str) or not item["card"]:
                raise CdsRequestError(f"feedback.{i}.card", "must be the uuid of a card")
            if item.get("outcome") not in FEEDBACK_OUTCOMES:
                raise CdsRequestError(f"feedback.{i}.outcome", "must be accepted or overridden")
            if not isinstance(item.get("outcomeTimestamp"), str):
                raise CdsRequestError(f"feedback.{i}.outcomeTimestamp", "must be an ISO 8601 instant")
            accepted = item.get("acceptedSuggestions")
            if accepted is not None and not (isinstance(accepted, list) and all(
                    isinstance(s, dict) and isinstance(s.get("id"), str) for s in accepted)):
                raise CdsRequestError(f"feedback.{i}.acceptedSuggestions", "must be an array of {id}")
            reason = item.get("overrideReason")
            if reason is not None and not isinstance(reason, dict):
                raise CdsRequestError(f"feedback.{i}.overrideReason", "must be an object")
        known = self.audit.known_cards(service_id, [item["card"] for item in items])
        for i, item in enumerate(items):
            if item["card"] not in known:
                raise CdsRequestError(f"feedback.{i}.card", "is not a card this service returned")
        self.audit.record_feedback(service_id, client, items)
        return len(items)
