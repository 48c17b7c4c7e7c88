"""Pure parts of the EMR integration: medication names, cards, prefetch templates, pseudonyms, the FHIR reader's
refusal to send a token off-server, and the CDS request checks."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from app.emr import cds_cards
from app.emr.cds_request import CdsRequestError, parse_request
from app.emr.fhir_client import FhirClient, FhirFetchError, render_template
from app.emr.fhir_medications import FhirInputError, flatten, medication_index, medication_uses, name_variants
from app.emr.pseudonym import Pseudonymizer


@pytest.mark.parametrize(("name", "expected"), [
    ("simvastatin 20 MG Oral Tablet [Zocor]", ["Zocor", "simvastatin Oral Tablet"]),
    ("Amoxicillin 120 MG/ML / clavulanate potassium 8.58 MG/ML Oral Suspension",
     ["Amoxicillin / clavulanate potassium Oral Suspension"]),
    ("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet",
     ["Metformin hydrochloride Extended Release Oral Tablet"]),
    ("Fluticasone propionate 0.05 MG/ACTUAT Nasal Spray", ["Fluticasone propionate Nasal Spray"]),
    ("warfarin", []),
])
def test_name_variants(name: str, expected: list[str]) -> None:
    assert name_variants(name) == [name, *expected]


def _use(resource: dict[str, Any], role: str = "active") -> list[Any]:
    resources = flatten(resource, "x")
    return medication_uses(resources, role, medication_index(resources))


def test_medication_names_from_every_place_fhir_puts_them() -> None:
    subject = {"reference": "Patient/1"}
    coded = {"resourceType": "MedicationRequest", "id": "a", "status": "active", "intent": "order", "subject": subject,
             "medicationCodeableConcept": {"text": "warfarin", "coding": [{"display": "Warfarin Sodium 5 MG"}]}}
    assert _use(coded)[0].names == ("warfarin", "Warfarin Sodium 5 MG")
    contained = {**coded, "medicationCodeableConcept": None, "medicationReference": {"reference": "#m"},
                 "contained": [{"resourceType": "Medication", "id": "m", "ingredient": [
                     {"itemCodeableConcept": {"text": "amoxicillin"}},
                     {"itemCodeableConcept": {"text": "clavulanate"}}]}]}
    del contained["medicationCodeableConcept"]
    assert _use(contained)[0].names == ("amoxicillin / clavulanate",)
    stopped = {**coded, "status": "stopped"}
    assert _use(stopped) == [] and len(_use(stopped, role="draft")) == 1
    referenced: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {**coded, "medicationCodeableConcept": None, "medicationReference": {
            "reference": "https://ehr.example.org/fhir/Medication/z", "display": "Zocor"}}},
        {"resource": {"resourceType": "Medication", "id": "z", "code": {"text": "simvastatin 20 MG"}}}]}
    del referenced["entry"][0]["resource"]["medicationCodeableConcept"]
    assert _use(referenced)[0].names == ("simvastatin 20 MG", "Zocor")
    dangling = {**contained, "medicationReference": {"reference": "#nope"}}
    with pytest.raises(FhirInputError, match="contained"):
        _use(dangling)


def test_invalid_fhir_names_the_field() -> None:
    with pytest.raises(FhirInputError) as error:
        flatten({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "MedicationRequest", "status": "draft", "intent": "order"}}]}, "ctx")
    assert error.value.field == "ctx.entry.0.resource.subject"
    with pytest.raises(FhirInputError, match="unknown FHIR resource type"):
        flatten({"resourceType": "Medicine"}, "ctx")


def test_card_summary_stays_under_140_and_quotes_are_markdown_safe() -> None:
    pair = {"a": "A" * 120, "b": "B" * 120, "a_id": "DB1", "b_id": "DB2", "severity": "high",
            "severity_source": "ONC high-priority drug–drug interaction list",
            "citations": [{"doc_id": "d", "title": "T", "section": "S", "start": 0, "end": 5, "version": "v1",
                           "quote": "**bold** [link](javascript:x) <script>", "url": "javascript:alert(1)"}]}
    card = cds_cards.interaction_card(pair, {"DB1": "draft order"}, None, {"DB1": ["MedicationRequest/r"]})
    assert len(card["summary"]) < 140 and card["indicator"] == "critical"
    assert "\\*\\*bold\\*\\*" in card["detail"] and "\\[link\\]" in card["detail"] and "\\<script\\>" in card["detail"]
    assert "javascript:" not in card["detail"].replace("\\[link\\](javascript:x)", "")  # no link to a bad url
    assert "links" not in card and card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/r"
    label_only = cds_cards.interaction_card({**pair, "severity": "label"}, {}, "https://m/emr/launch",
                                            {"DB1": ["MedicationRequest/r"]})
    assert label_only["indicator"] == "info" and "suggestions" not in label_only
    assert label_only["links"][0]["type"] == "smart"
    ordered = cds_cards.by_urgency([label_only, card], "info")
    assert [c["indicator"] for c in ordered] == ["critical", "info"]
    assert cds_cards.by_urgency([label_only, card], "warning") == [card]


def test_prefetch_templates() -> None:
    template = "MedicationRequest?patient={{context.patientId}}&status=active"
    assert render_template(template, {"patientId": "a b/c"}) == "MedicationRequest?patient=a%20b/c&status=active"
    assert render_template(template, {}) is None


def test_the_fhir_reader_never_sends_the_token_off_server() -> None:
    client = FhirClient("https://ehr.example.org/fhir", "secret", 1.0)
    try:
        with pytest.raises(FhirFetchError, match="outside"):
            client.read("https://evil.example.org/fhir/Medication/1")
        with pytest.raises(FhirFetchError, match="outside"):
            client.read("https://ehr.example.org/fhirx/Medication/1")
    finally:
        client.close()
    with pytest.raises(FhirFetchError):
        FhirClient("file:///etc/passwd", None, 1.0)


def test_pseudonyms_are_keyed_stable_and_private(tmp_path: Path) -> None:
    key_path = tmp_path / "pseudonym.key"
    first = Pseudonymizer.from_file(key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    again = Pseudonymizer.from_file(key_path)
    assert first.patient("123") == again.patient("Patient/123") and first.patient("123") != first.user("123")
    assert "123" not in (first.patient("123") or "") and first.patient(None) is None
    other = Pseudonymizer.from_file(tmp_path / "other.key")
    assert other.patient("123") != first.patient("123")  # without the key, a hash cannot be recomputed


@pytest.mark.parametrize(("body", "field"), [
    ([], "body"),
    ({"hook": "order-sign"}, "hookInstance"),
    ({"hook": "x", "hookInstance": "i", "context": {}}, "hook"),
    ({"hook": "patient-view", "hookInstance": "i", "context": {}}, "context.patientId"),
    ({"hook": "patient-view", "hookInstance": "i", "context": {"patientId": "1"}, "fhirServer": "ftp://x"},
     "fhirServer"),
    ({"hook": "patient-view", "hookInstance": "i", "context": {"patientId": "1"},
      "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"}}, "fhirServer"),
    ({"hook": "patient-view", "hookInstance": "i", "context": {"patientId": "1"}, "prefetch": []}, "prefetch"),
])
def test_cds_request_errors_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(CdsRequestError) as error:
        parse_request(body, ("order-sign", "patient-view"))
    assert error.value.field == field
