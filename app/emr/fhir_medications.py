"""The medications a patient takes or is being ordered, read from FHIR R4 resources.

Every resource is parsed and validated with ``fhir.resources`` (the R4B models, wire-compatible with R4
for MedicationRequest, MedicationStatement, Medication and Bundle).  A medication is named by, in order:
``medicationCodeableConcept.text``, its codings' ``display``; or, for ``medicationReference``, the
referenced Medication (contained ``#id``, an entry of the same Bundle or prefetch, or fetched from the
EHR's FHIR server) — its ``code`` text and displays, else its ingredients — and the reference's
``display``.  The names are tried in that order against the drug name resolver; the first that resolves
wins, so "Warfarin Sodium 5 MG Oral Tablet" and a brand both reach warfarin.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from app.drugs.names import DrugNameResolver, Resolution
from app.emr.fhir_client import FhirClient, FhirFetchError
from app.errors import FieldError

_BRACKET = re.compile(r"\[([^\]]+)\]")
_PACK = re.compile(r"\{[^}]*\}")
_STRENGTH = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s*(?:mg|mcg|µg|g|ml|meq|unt|units?|%|hr|actuat)(?![\w])"
    r"(?:\s*/\s*(?:\d+(?:\.\d+)?\s*)?(?:ml|actuat|hr|g|mg|l)(?![\w]))?", re.IGNORECASE)
# The patient's active medications as FHIR searches (CDS prefetch templates; the panel fills them the same way).
ACTIVE_MEDICATION_SEARCHES = {
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}&status=active"
                          "&_include=MedicationRequest:medication",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}&status=active"
                            "&_include=MedicationStatement:medication",
}
MEDICATION_USE = ("MedicationRequest", "MedicationStatement")
ACTIVE_STATUS = {"MedicationRequest": {"active", "on-hold"}, "MedicationStatement": {"active", "intended"}}


class FhirInputError(FieldError):
    """A resource a CDS client or FHIR server sent is not valid FHIR; ``field`` says where it was."""


@dataclass(frozen=True)
class MedicationUse:
    """One MedicationRequest or MedicationStatement, with the names it can be resolved by."""

    reference: str | None  # "MedicationRequest/abc"
    role: str  # "draft" (being ordered) | "active" (the patient takes it)
    names: tuple[str, ...]
    field: str  # where it came from in the request, for error messages and audit
    #: the MedicationRequest/Statement model, and the Medication it references (when read)
    resource: Any = dataclasses.field(default=None, compare=False, repr=False)
    medication: Any = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        return self.names[0] if self.names else (self.reference or "unnamed medication")


def parse_resource(data: Any, field: str) -> Any:
    """A validated ``fhir.resources`` model of ``data`` (any resource type)."""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise FhirInputError(field, "must be a FHIR resource (a JSON object with resourceType)")
    try:
        model = get_fhir_model_class(data["resourceType"])
    except (KeyError, ValueError) as exc:
        raise FhirInputError(f"{field}.resourceType", f"unknown FHIR resource type {data['resourceType']!r}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "__root__")
        raise FhirInputError(f"{field}.{where}" if where else field, first.get("msg", "invalid")) from exc


def flatten(data: Any, field: str) -> list[tuple[Any, str]]:
    """A Bundle's entry resources (with their fields), or the one resource itself."""
    resource = parse_resource(data, field)
    if resource.get_resource_type() != "Bundle":
        return [(resource, field)]
    return [(entry.resource, f"{field}.entry.{i}.resource")
            for i, entry in enumerate(resource.entry or []) if entry.resource is not None]


def _concept_names(concept: Any) -> list[str]:
    if concept is None:
        return []
    names = [concept.text] if concept.text else []
    names += [c.display for c in concept.coding or [] if c.display]
    return names


def _medication_names(medication: Any) -> list[str]:
    names = _concept_names(medication.code)
    if not names:  # an uncoded compound: its ingredients, joined so the resolver splits them
        parts = [(_concept_names(i.itemCodeableConcept) or [""])[0] for i in medication.ingredient or []]
        parts = [p for p in parts if p]
        if parts:
            names.append(" / ".join(parts))
    return names


def medication_index(resources: Iterable[tuple[Any, str]]) -> dict[str, Any]:
    """Medication resources by ``Medication/{id}`` (from search bundles' _include entries)."""
    return {f"Medication/{r.id}": r for r, _ in resources if r.get_resource_type() == "Medication" and r.id}


def medication_uses(resources: Iterable[tuple[Any, str]], role: str, medications: dict[str, Any],
                    fetch: Callable[[str], Any] | None = None) -> list[MedicationUse]:
    """The MedicationRequests/Statements among ``resources``; for ``role="active"`` only those in use.

    ``medications``: Medication resources by reference; ``fetch``: reads a missing one from the FHIR server.
    """
    out = []
    for resource, where in resources:
        kind = resource.get_resource_type()
        if kind not in MEDICATION_USE:
            continue
        if role == "active" and resource.status not in ACTIVE_STATUS[kind]:
            continue
        names = _concept_names(resource.medicationCodeableConcept)
        reference = resource.medicationReference
        medication = None
        if reference is not None:
            medication = _referenced_medication(resource, reference, medications, fetch, where)
            names += _medication_names(medication) if medication is not None else []
            names += [reference.display] if reference.display else []
        names = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
        out.append(MedicationUse(f"{kind}/{resource.id}" if resource.id else None, role, tuple(names), where,
                                 resource, medication))
    return out


def _referenced_medication(resource: Any, reference: Any, medications: dict[str, Any],
                           fetch: Callable[[str], Any] | None, field: str) -> Any:
    ref = reference.reference or ""
    medication = None
    if ref.startswith("#"):
        medication = next((c for c in resource.contained or []
                           if c.get_resource_type() == "Medication" and c.id == ref[1:]), None)
        if medication is None:
            raise FhirInputError(f"{field}.medicationReference",
                                 f"{ref!r} names no contained Medication")
    elif ref:
        key = "Medication/" + ref.rstrip("/").rsplit("/", 1)[-1] if "/Medication/" in ref else ref
        medication = medications.get(key)
        if medication is None and fetch is not None and key.startswith("Medication/"):
            medication = fetch(key)
            medications[key] = medication
    return medication


def name_variants(name: str) -> list[str]:
    """An RxNorm-style name as given, its bracketed brand, and without strengths or pack notation:
    "simvastatin 20 MG Oral Tablet [Zocor]" → also "Zocor" and "simvastatin Oral Tablet"."""
    variants = [name, *_BRACKET.findall(name)]
    plain = _STRENGTH.sub(" ", _PACK.sub(" ", _BRACKET.sub(" ", name)))
    plain = re.sub(r"\s+", " ", plain).strip(" /")
    if plain and plain not in variants:
        variants.append(plain)
    return variants


def resolve_use(resolver: DrugNameResolver, use: MedicationUse) -> Resolution:
    """The first of a medication's names (or their variants) that resolves; else the first name's suggestions."""
    first: Resolution | None = None
    for name in use.names:
        for variant in name_variants(name):
            result = resolver.resolve(variant)
            if result.resolved:
                return Resolution(name, result.drug_ids, result.matched_by, result.suggestions)
            first = first or result
    return first or Resolution(use.label)


def medication_reader(fhir: FhirClient | None) -> Callable[[str], Any] | None:
    """Reads a referenced Medication a search did not include; one that cannot be read is None (its order is
    then named by the reference's display, or reported as not recognised)."""
    if fhir is None:
        return None

    def read(reference: str) -> Any:
        try:
            return parse_resource(fhir.read(reference), "Medication")
        except (FhirFetchError, FhirInputError):
            return None

    return read
