"""CDS Hooks 2.0 services against the starter knowledge: the spec's example requests, cards checked against a
JSON Schema written from the spec, prefetch and fhirServer reads (a FHIR server on loopback), client JWTs
(a JWKS served on loopback), feedback in the audit store, patient identifiers never stored in clear."""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from app.runtime import Runtime
from testkit.fhir_server import FhirData, fhir_app
from testkit.http_server import serving
from testkit.jwks_server import serving_jwks
from tests.conftest import FIXTURES

from .conftest import StarterApp

CDS = FIXTURES / "cds_hooks"
ISSUER = "https://ehr.example.org/cds-client"
KID = "ehr-signing-2026"
SAFETY = "medevidence-medication-safety"
PATIENT_VIEW = "medevidence-patient-view"
PATIENT = "pt-7f3a9c-rare-id"  # distinctive, so a leak is findable
FHIR_TOKEN = "fhir-token-1b2c3d"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def schema(name: str) -> dict[str, Any]:
    return json.loads((CDS / "schemas" / f"{name}.schema.json").read_text())


def spec_request(name: str) -> dict[str, Any]:
    return json.loads((CDS / "requests" / f"{name}.json").read_text())


def med_request(rid: str, display: str, status: str = "active", patient: str = PATIENT,
                **medication: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
                            "subject": {"reference": f"Patient/{patient}"}}
    body.update(medication or {"medicationCodeableConcept": {"coding": [
        {"system": RXNORM, "code": str(abs(hash(display)) % 10**6), "display": display}]}})
    return body


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def patient_chart(patient: str) -> list[dict[str, Any]]:
    """Active: warfarin (request), simvastatin (request → Medication resource, by brand), clarithromycin
    (statement); stopped: aspirin (must be ignored)."""
    p = patient[-4:]
    return [
        med_request(f"rx-warfarin-{p}", "Warfarin Sodium 5 MG Oral Tablet", patient=patient),
        med_request(f"rx-zocor-{p}", "", patient=patient,
                    medicationReference={"reference": f"Medication/med-zocor-{p}"}),
        {"resourceType": "Medication", "id": f"med-zocor-{p}", "code": {"text": "Zocor 20 MG Oral Tablet"}},
        {"resourceType": "MedicationStatement", "id": f"ms-clarithro-{p}", "status": "active",
         "subject": {"reference": f"Patient/{patient}"},
         "medicationCodeableConcept": {"text": "clarithromycin 500 mg tablet"}},
        med_request(f"rx-aspirin-old-{p}", "Aspirin 81 MG Oral Tablet", status="stopped", patient=patient),
    ]


def signed(key: Any, aud: str, kid: str = KID, alg: str = "ES384", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=alg,
                      headers={"kid": kid, "typ": "JWT"})


@pytest.fixture(scope="module")
def client_key() -> Any:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def jwks_url(client_key: Any) -> Iterator[str]:
    with serving_jwks(client_key.public_key(), KID, "ES384") as url:
        yield url


@pytest.fixture(scope="module")
def fhir() -> Iterator[tuple[FhirData, str]]:
    data = FhirData(patient_chart(PATIENT) + patient_chart("1288992"), token=FHIR_TOKEN, page_size=1)
    with serving(fhir_app(data)) as base:
        yield data, base


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this module's service keeps its audit log (apart from the other tests')."""
    return tmp_path_factory.mktemp("cds")


@pytest.fixture(scope="module")
def api(starter_app: StarterApp, service_dir: Path, jwks_url: str) -> Iterator[TestClient]:
    with starter_app(cds_jwt_issuers={ISSUER: jwks_url}, traces_url=f"sqlite:///{service_dir}/traces.sqlite") as app, \
            TestClient(app) as client:
        yield client


@pytest.fixture
def call(api: TestClient, client_key: Any) -> Any:
    def post(service: str, body: Any, token: str | None = "sign", path: str = "") -> Any:
        url = f"http://testserver/cds-services/{service}{path}"
        headers = {"Authorization": f"Bearer {signed(client_key, url)}"} if token == "sign" else (
            {"Authorization": f"Bearer {token}"} if token else {})
        return api.post(f"/cds-services/{service}{path}", json=body, headers=headers)

    return post


def order_sign(draft: dict[str, Any], active: list[dict[str, Any]] | None, **extra: Any) -> dict[str, Any]:
    body = {"hook": "order-sign", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/dr-1", "patientId": PATIENT, "draftOrders": bundle(draft)}, **extra}
    if active is not None:
        body["prefetch"] = {"medicationRequests": bundle(*active, kind="searchset"), "medicationStatements": None}
    return body


def assert_cited_exactly(rt: Runtime, citations: list[dict[str, Any]]) -> None:
    assert citations
    for c in citations:
        doc = rt.manifest.document(c["doc_id"])
        assert doc is not None and doc.version == c["version"]
        assert doc.text[c["start"]:c["end"]] == c["quote"]


def test_discovery_validates_and_lists_the_hooks(api: TestClient) -> None:
    response = api.get("/cds-services")
    assert response.status_code == 200
    body = response.json()
    jsonschema.validate(body, schema("discovery"))
    hooks = {(s["id"], s["hook"]) for s in body["services"]}
    assert hooks == {(SAFETY, "order-select"), (SAFETY, "order-sign"), (PATIENT_VIEW, "patient-view")}
    for service in body["services"]:
        medications = {"medicationRequests", "medicationStatements"}
        # The order hooks also prefetch what a hospital dose rule's population needs (optional, never a 412).
        patient = {"patient", "weight", "egfr"} if service["hook"] != "patient-view" else set()
        assert set(service["prefetch"]) == medications | patient
        for key, template in service["prefetch"].items():
            if key in medications:
                assert "patient={{context.patientId}}" in template and "status=active" in template
            else:
                assert "{{context.patientId}}" in template


def test_order_sign_with_an_interacting_draft_returns_a_critical_card_citing_the_evidence(
        call: Any, starter_runtime: Runtime, api: TestClient) -> None:
    """The Done-when: a draft clarithromycin order for a patient on simvastatin (ONC high-priority pair)."""
    draft = med_request("draft-clari", "Clarithromycin 500 MG Oral Tablet", status="draft")
    simvastatin = med_request("rx-zocor", "", medicationReference={"reference": "#zocor"},
                              contained=[{"resourceType": "Medication", "id": "zocor", "code": {"text": "Zocor"}}])
    response = call(SAFETY, order_sign(draft, [simvastatin]))
    assert response.status_code == 200, response.text
    body = response.json()
    jsonschema.validate(body, schema("response"))
    card = body["cards"][0]
    assert card["indicator"] == "critical"
    assert len(card["summary"]) < 140 and "Clarithromycin" in card["summary"] and "Simvastatin" in card["summary"]
    ext = card["extension"]["medevidence"]
    assert ext["severity"] == "high" and ext["severity_source"].startswith("ONC high-priority")
    assert_cited_exactly(starter_runtime, ext["citations"])
    quoted = ext["citations"][0]["quote"]
    assert " ".join(quoted.split())[:100] in card["detail"].replace("\\", "")  # detail quotes the evidence
    assert card["links"][0]["type"] == "smart" and card["links"][0]["url"].endswith("/emr/launch")
    assert all(r["display"] for r in card["overrideReasons"])
    action = card["suggestions"][0]["actions"][0]
    assert action["type"] == "delete" and action["resourceId"] == "MedicationRequest/draft-clari"
    assert card["selectionBehavior"] == "at-most-one"
    # the clinician overrides it, with a reason: recorded in the audit store
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-02T10:00:00Z",
                              "overrideReason": {"reason": card["overrideReasons"][1], "userComment": "INR weekly"}}]}
    jsonschema.validate(feedback, schema("feedback"))
    recorded = call(SAFETY, feedback, path="/feedback")
    assert recorded.status_code == 200 and recorded.json() == {"recorded": 1}
    audit = api.app.state.cds.audit  # type: ignore[attr-defined]
    [row] = audit.feedback_of(card["uuid"])
    assert row["outcome"] == "overridden" and row["override_reason"]["reason"]["code"] == "will-monitor"
    assert row["client"] == ISSUER


def test_a_draft_without_interactions_gets_no_card(call: Any) -> None:
    draft = med_request("draft-amox", "Amoxicillin 500 MG Oral Capsule", status="draft")
    response = call(SAFETY, order_sign(draft, [med_request("rx-met", "metformin 500 MG Oral Tablet")]))
    assert response.status_code == 200 and response.json() == {"cards": []}


def test_an_unrecognised_medication_is_said_not_checked(call: Any) -> None:
    draft = med_request("draft-x", "Zyntrafloxamab 10 MG Injection", status="draft")
    cards = call(SAFETY, order_sign(draft, [med_request("rx-w", "warfarin 5 MG Oral Tablet")])).json()["cards"]
    assert [c["indicator"] for c in cards] == ["info"]
    assert "not recognised" in cards[0]["summary"] and "Zyntrafloxamab" in cards[0]["detail"]


@pytest.mark.parametrize("hook", ["order-select", "order-sign", "patient-view"])
def test_the_spec_example_requests(hook: str, call: Any, fhir: tuple[FhirData, str], starter_runtime: Runtime) -> None:
    """Each hook's example request from the spec, pointed at the loopback FHIR server (its prefetch keys are the
    spec example's own, not ours: the service reads what is missing from fhirServer)."""
    data, base = fhir
    body = spec_request(hook)
    jsonschema.validate(body, schema("request"))
    body["fhirServer"] = base
    body["fhirAuthorization"] = {**body.get("fhirAuthorization", {}), "access_token": FHIR_TOKEN,
                                 "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.rs",
                                 "subject": "medevidence"}
    before = len(data.requests)
    response = call(SAFETY if hook.startswith("order") else PATIENT_VIEW, body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    jsonschema.validate(response.json(), schema("response"))
    fetched = data.requests[before:]
    assert fetched and all(r["authorization"] == f"Bearer {FHIR_TOKEN}" for r in fetched)
    assert any(r["query"] and "_page=1" in r["query"] for r in fetched)  # paging followed (page size 1)
    pairs = [set(c["extension"]["medevidence"]["drug_ids"]) for c in cards if "extension" in c]
    for card in cards:
        if "extension" in card:
            assert_cited_exactly(starter_runtime, card["extension"]["medevidence"]["citations"])
    simvastatin, clarithromycin, warfarin = "DB00641", "DB01211", "DB00682"
    if hook == "patient-view":  # the chart's own pairs: simvastatin+clarithromycin (high), +warfarin (low)
        assert {simvastatin, clarithromycin} in pairs and {simvastatin, warfarin} in pairs
        assert cards[0]["indicator"] == "critical"
    else:  # only pairs with an order being signed / the selected order
        drafts = {"order-select": {"DB01060", "DB00766"}, "order-sign": {"DB01060", "DB00766", "DB00758"}}[hook]
        assert all(pair & drafts for pair in pairs)
        assert {simvastatin, clarithromycin} not in pairs  # active + active: patient-view's business


def test_missing_prefetch_is_read_from_the_fhir_server_and_412_when_it_cannot_be(
        call: Any, fhir: tuple[FhirData, str]) -> None:
    data, base = fhir
    draft = med_request("draft-clari", "Clarithromycin 500 MG Oral Tablet", status="draft")
    auth = {"access_token": FHIR_TOKEN, "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.rs",
            "subject": "medevidence"}
    ok = call(SAFETY, order_sign(draft, None, fhirServer=base, fhirAuthorization=auth))
    assert ok.status_code == 200
    assert ok.json()["cards"][0]["indicator"] == "critical"  # simvastatin read from the FHIR server (by brand)
    no_server = call(SAFETY, order_sign(draft, None))
    assert no_server.status_code == 412 and no_server.json()["error"]["field"] == "prefetch"
    refused = call(SAFETY, order_sign(draft, None, fhirServer=base, fhirAuthorization={**auth, "access_token": "x"}))
    assert refused.status_code == 412 and "401" in refused.json()["error"]["message"]
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]}
    fetched = order_sign(draft, None, fhirServer=base, fhirAuthorization=auth,
                         prefetch={"medicationRequests": outcome, "medicationStatements": None})
    assert call(SAFETY, fetched).json()["cards"][0]["indicator"] == "critical"  # an OperationOutcome: read it


def test_jwt_accepted_and_rejected(call: Any, client_key: Any) -> None:
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "context": {"patientId": PATIENT},
            "prefetch": {"medicationRequests": None, "medicationStatements": None}}
    url = f"http://testserver/cds-services/{PATIENT_VIEW}"
    assert call(PATIENT_VIEW, body).status_code == 200
    other_key = ec.generate_private_key(ec.SECP384R1())
    now = int(time.time())
    rejected = {
        "no header": None,
        "not a JWT": "not-a-jwt",
        "unknown issuer": signed(client_key, url, iss="https://evil.example.org"),
        "wrong audience": signed(client_key, "http://testserver/cds-services/other"),
        "expired": signed(client_key, url, iat=now - 900, exp=now - 600),
        "no jti": signed(client_key, url, jti=None),
        "forged signature": signed(other_key, url),
        "symmetric algorithm": jwt.encode({"iss": ISSUER, "aud": url, "iat": now, "exp": now + 60, "jti": "h"},
                                          "secret-secret-secret-secret-secret!", algorithm="HS256",
                                          headers={"kid": KID}),
        "none algorithm": jwt.encode({"iss": ISSUER, "aud": url, "iat": now, "exp": now + 60, "jti": "n"},
                                     None, algorithm="none"),  # type: ignore[arg-type]
    }
    for case, token in rejected.items():
        response = call(PATIENT_VIEW, body, token=token)
        assert response.status_code == 401, case
        assert response.json()["error"]["field"] == "Authorization", case
    replayed = signed(client_key, url)
    assert call(PATIENT_VIEW, body, token=replayed).status_code == 200
    assert call(PATIENT_VIEW, body, token=replayed).status_code == 401  # the same jti twice


def test_bad_requests_name_the_field(call: Any, api: TestClient, client_key: Any) -> None:
    draft = med_request("draft-clari", "Clarithromycin 500 MG Oral Tablet", status="draft")
    body = order_sign(draft, [])
    wrong_hook = {**body, "hook": "patient-view"}
    response = call(SAFETY, wrong_hook)
    assert response.status_code == 400 and response.json()["error"]["field"] == "hook"
    broken = copy.deepcopy(body)
    del broken["context"]["draftOrders"]["entry"][0]["resource"]["subject"]
    response = call(SAFETY, broken)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "context.draftOrders.entry.0.resource.subject"
    assert call(SAFETY, {**body, "context": {"patientId": PATIENT}}).json()["error"]["field"] == "context.draftOrders"
    select = {**body, "hook": "order-select"}
    assert call(SAFETY, select).json()["error"]["field"] == "context.selections"
    assert call("no-such-service", body).status_code == 404
    url = f"http://testserver/cds-services/{SAFETY}"
    raw = api.post(f"/cds-services/{SAFETY}", content=b"{not json",
                   headers={"Authorization": f"Bearer {signed(client_key, url)}", "Content-Type": "application/json"})
    assert raw.status_code == 400 and raw.json()["error"]["field"] == "body"
    unknown_card = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted",
                                  "outcomeTimestamp": "2026-12-02T10:00:00Z", "acceptedSuggestions": []}]}
    response = call(SAFETY, unknown_card, path="/feedback")
    assert response.status_code == 400 and response.json()["error"]["field"] == "feedback.0.card"
    bad_outcome = {"feedback": [{"card": "x", "outcome": "ignored", "outcomeTimestamp": "2026-12-02T10:00:00Z"}]}
    assert call(SAFETY, bad_outcome, path="/feedback").json()["error"]["field"] == "feedback.0.outcome"


def test_patient_identifiers_never_stored_or_logged_in_clear(
        call: Any, api: TestClient, service_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    draft = med_request("draft-clari", "Clarithromycin 500 MG Oral Tablet", status="draft")
    with caplog.at_level(logging.DEBUG):
        assert call(SAFETY, order_sign(draft, [med_request("rx-s", "simvastatin 20 MG Oral Tablet")])).status_code \
            == 200
    assert PATIENT not in caplog.text
    audit = api.app.state.cds.audit  # type: ignore[attr-defined]
    calls = audit.calls()
    assert calls and all(c["patient"] and c["patient"].startswith("p:") for c in calls)
    pseudonyms = api.app.state.cds.pseudonyms  # type: ignore[attr-defined]
    assert calls[0]["patient"] == pseudonyms.patient(PATIENT) == pseudonyms.patient(f"Patient/{PATIENT}")
    for database in service_dir.glob("*.sqlite"):
        assert PATIENT.encode() not in database.read_bytes(), database.name
