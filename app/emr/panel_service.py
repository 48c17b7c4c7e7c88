"""What the EMR side panel shows for a session: the patient's medications, cited interaction alerts, answers.

Medications come from the EHR's FHIR server (the patient's active MedicationRequests and
MedicationStatements, with ``_include=…:medication``) read with the session's access token, or from the
demo Bundle.  They are resolved through the drug name resolver and checked by ``check_interactions``; each
alert carries the CDS Hooks indicator of its severity (``cds_cards.INDICATOR``; a pair a local hospital rule binds
takes the more urgent of that and the rule's, ``rule_cards.LOCAL_INDICATOR``), its cited evidence and the local
rules beside it.

Questions go to the one answer engine with the resolved medication names appended, so retrieval links the
drugs.  The patient id is used for the FHIR reads only: it never enters a question, a trace or a log line
(logs carry its keyed pseudonym).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from app.answer.ask import Asker, AskRequest
from app.config import Settings
from app.drugs.catalog import DrugCatalog
from app.drugs.interactions import MAX_DRUGS, check_interactions
from app.emr.cds_cards import INDICATOR, INDICATOR_RANK
from app.emr.fhir_client import FhirClient, FhirFetchError, render_template
from app.emr.fhir_medications import (
    ACTIVE_MEDICATION_SEARCHES,
    FhirInputError,
    flatten,
    medication_index,
    medication_reader,
    medication_uses,
    resolve_use,
)
from app.emr.id_token import EhrUser, reviewer_for
from app.emr.panel_sessions import DEMO_BANNER, HEADER, PanelSession, PanelSessions
from app.emr.pseudonym import Pseudonymizer
from app.emr.rule_cards import LOCAL_INDICATOR
from app.emr.smart_launch import SmartLauncher
from app.errors import ServiceError
from app.retrieval.search import MAX_QUERY_CHARS

log = logging.getLogger("medevidence.emr")
MAX_QUESTION_CHARS = 1500
DEV_REVIEWER = ("emr:dev-demo", "EMR demo (dev mode)")
ROLE = {"MedicationRequest": "prescribed", "MedicationStatement": "reported"}


class PanelError(ServiceError):
    """A panel request that cannot be answered (no session, a FHIR read that failed…)."""


def _patient_name(patient: dict[str, Any]) -> str | None:
    for name in patient.get("name") or []:
        if not isinstance(name, dict):
            continue
        if isinstance(name.get("text"), str) and name["text"].strip():
            return str(name["text"]).strip()
        parts = [*(g for g in name.get("given") or [] if isinstance(g, str)), name.get("family")]
        text = " ".join(p for p in parts if isinstance(p, str) and p.strip())
        if text:
            return text
    return None


def _focus_drugs(app_context: str | None) -> list[str]:
    """Drug ids a CDS card's ``appContext`` points the panel at (``{"drugs": [...]}``); none otherwise."""
    try:
        data = json.loads(app_context) if app_context else None
    except ValueError:
        return []
    drugs = data.get("drugs") if isinstance(data, dict) else None
    return [d for d in drugs if isinstance(d, str)][:MAX_DRUGS] if isinstance(drugs, list) else []


class PanelService:
    def __init__(self, catalog: DrugCatalog, asker: Asker, pseudonyms: Pseudonymizer, fhir_timeout_s: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.catalog = catalog
        self.asker = asker
        self.pseudonyms = pseudonyms
        self.fhir_timeout_s = fhir_timeout_s
        self.transport = transport  # tests may route FHIR reads in-process; production: real HTTP

    # -- reading the EHR -----------------------------------------------------------------------
    def _resources(self, session: PanelSession, fhir: FhirClient | None) -> list[tuple[Any, str]]:
        if session.bundle is not None:
            return flatten(session.bundle, "demo bundle")
        assert fhir is not None
        resources: list[tuple[Any, str]] = []
        for template in ACTIVE_MEDICATION_SEARCHES.values():
            query = render_template(template, {"patientId": session.patient_id})
            assert query is not None  # a session always has its patient
            resources += flatten(fhir.search(query), template.split("?")[0])
        return resources

    def _banner(self, session: PanelSession, fhir: FhirClient | None) -> dict[str, Any] | None:
        if session.demo:
            return {"name": DEMO_BANNER, "synthetic": True}
        if not session.need_patient_banner or fhir is None:
            return None
        patient = fhir.read(f"Patient/{session.patient_id}")
        return {"name": _patient_name(patient) or "Unnamed patient", "synthetic": False,
                "birth_date": patient.get("birthDate"), "gender": patient.get("gender")}

    def _fhir(self, session: PanelSession) -> FhirClient | None:
        if session.demo or not session.fhir_base:
            return None
        return FhirClient(session.fhir_base, session.access_token, self.fhir_timeout_s, self.transport)

    # -- the panel ---------------------------------------------------------------------------
    def context(self, session: PanelSession) -> dict[str, Any]:
        fhir = self._fhir(session)
        try:
            resources = self._resources(session, fhir)
            banner = self._banner(session, fhir)
            status = {field: getattr(r, "status", None) for r, field in resources}
            kinds = {field: r.get_resource_type() for r, field in resources}
            uses = medication_uses(resources, "active", medication_index(resources), medication_reader(fhir))
        except FhirFetchError as exc:
            raise PanelError(502, "fhir_unavailable", f"the patient's record could not be read: {exc}") from exc
        except FhirInputError as exc:
            raise PanelError(502, "fhir_invalid", f"the EHR sent a resource that is not valid FHIR ({exc.field})") \
                from exc
        finally:
            if fhir is not None:
                fhir.close()
        resolver = self.catalog.resolver
        medications: list[dict[str, Any]] = []
        unresolved: list[dict[str, Any]] = []
        ids: list[str] = []
        for use in uses:
            found = resolve_use(resolver, use)
            drugs = [{"drug_id": d, "name": resolver.drugs[d].name} for d in found.drug_ids]
            medications.append({"label": use.label, "status": status.get(use.field), "role": ROLE[kinds[use.field]],
                                "resolved": found.resolved, "drugs": drugs, "matched_by": found.matched_by,
                                "matched_name": found.input if found.resolved else None,
                                "suggestions": [] if found.resolved else list(found.suggestions)})
            if not found.resolved:
                unresolved.append({"label": use.label, "suggestions": list(found.suggestions)})
            ids += found.drug_ids
        ids = list(dict.fromkeys(ids))
        checked = ids[:MAX_DRUGS]
        pairs = check_interactions(self.catalog, checked)["interactions"] if len(checked) > 1 else []
        focus = set(_focus_drugs(session.app_context))
        alerts = sorted(({**p, "indicator": alert_indicator(p), "focus": {p["a_id"], p["b_id"]} <= focus}
                         for p in pairs if p["severity"] or p["local_rules"]),
                        key=lambda p: INDICATOR_RANK[p["indicator"]])
        session.medications = tuple(resolver.drugs[d].name for d in ids)
        log.info("EMR panel context for %s: %d medications, %d alerts, %d not recognised",
                 self.pseudonyms.patient(session.patient_id), len(medications), len(alerts), len(unresolved))
        return {
            "demo": session.demo,
            "can_review": session.reviewer is not None,
            "banner": banner,
            "medications": medications,
            "interactions": alerts,
            "unresolved": unresolved,
            "pairs_checked": len(pairs),
            "not_checked_over_limit": ids[MAX_DRUGS:],
            "focus_drugs": sorted(focus),
            "severity_scale": {severity: {"indicator": indicator} for severity, indicator in INDICATOR.items()},
        }

    def ask(self, session: PanelSession, question: Any) -> dict[str, Any]:
        """An answer (the ``/v1/ask`` shape) to ``question`` with the patient's medications as context."""
        if not isinstance(question, str) or not question.strip():
            raise PanelError(422, "invalid_request", "must be a non-empty string", "question")
        if len(question) > MAX_QUESTION_CHARS:
            raise PanelError(422, "invalid_request", f"longer than {MAX_QUESTION_CHARS} characters", "question")
        if session.medications is None:
            self.context(session)
        answer = self.asker.ask(AskRequest(with_medications(question.strip(), session.medications or ())))
        session.answer_ids.add(answer["answer_id"])
        return answer


def with_medications(question: str, names: tuple[str, ...] | list[str]) -> str:
    """``question (current medications: a, b, c)``, with as many names as fit the query limit."""
    if not names:
        return question
    room = MAX_QUERY_CHARS - len(question) - len(" (current medications: )")
    shown: list[str] = []
    for name in names:
        if len(", ".join([*shown, name])) > room:
            break
        shown.append(name)
    return f"{question} (current medications: {', '.join(shown)})" if shown else question


class EmrPanel:
    """The side panel's parts, built once in the app's lifespan: the SMART launcher, sessions and service."""

    def __init__(self, settings: Settings, catalog: DrugCatalog, asker: Asker,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.pseudonyms = Pseudonymizer.from_file(settings.pseudonym_key_path)
        self.launcher = SmartLauncher(settings, transport)
        self.sessions = PanelSessions(settings.emr_session_minutes)
        self.service = PanelService(catalog, asker, self.pseudonyms, settings.fhir_timeout_s, transport)

    @property
    def demo_enabled(self) -> bool:
        return self.settings.emr_demo or self.settings.dev_mode

    def demo_session(self) -> PanelSession:
        """A session on the synthetic patient; in dev mode (authentication off, every API caller an admin) its user
        may also review the answers asked in it, as ``DEV_REVIEWER``."""
        return self.sessions.demo(reviewer=DEV_REVIEWER if self.settings.dev_mode else None)

    def callback(self, code: str | None, state: str | None, error: str | None,
                 error_description: str | None) -> PanelSession:
        """The SMART callback: a new session from the token the EHR granted; its user reviews in the panel when the
        verified id_token's fhirUser is one of ``settings.emr_reviewers``."""
        grant = self.launcher.complete(code, state, error, error_description)
        reviewer = reviewer_for(grant.user, grant.iss, self.settings.emr_reviewers)
        session = self.sessions.from_grant(grant, reviewer)
        log.info("EMR panel launched from %s for %s by %s, %s (scope: %s)", grant.iss,
                 self.pseudonyms.patient(grant.patient), _user_for_log(grant.user),
                 f"reviewer {reviewer[0]}" if reviewer else "not a panel reviewer", grant.scope)
        return session

    def session(self, session_id: str | None) -> PanelSession:
        found = self.sessions.get(session_id)
        if found is None:
            raise PanelError(401, "unauthorized", "no live panel session: launch the panel from the EHR again",
                             HEADER)
        return found


def _user_for_log(user: EhrUser | None) -> str:
    """Who launched, for the log: a staff resource by its reference (what an administrator lists in
    MEDEVIDENCE_EMR_REVIEWERS); a patient or relative by its type only (no patient id in a log line)."""
    if user is None:
        return "an unknown user (no verified id_token)"
    if user.fhir_user is None:
        return "a user without fhirUser"
    kind = user.fhir_user.rstrip("/").rsplit("/", 2)[-2] if user.fhir_user.count("/") else ""
    return user.fhir_user[:300] if kind in ("Practitioner", "PractitionerRole") else f"a {kind[:40] or 'user'}"


def alert_indicator(pair: dict[str, Any]) -> str:
    """The most urgent of the pair's national indicator and its local rules' (a local rule lists beside, and may
    raise, never lower, the national one)."""
    indicators = [INDICATOR[pair["severity"]]] if pair["severity"] else []
    indicators += [LOCAL_INDICATOR[r["severity"]] for r in pair["local_rules"]]
    return min(indicators, key=lambda i: INDICATOR_RANK[i])
