"""Hospital rule templates: the local interaction, dose-limit and formulary rules a pharmacy committee writes.

A hospital writes its rules as JSON lines in files named ``*.rules.jsonl`` (docs/CONTRACT.md, "Hospital rules"):

- ``interaction``: two or more drugs or drug classes (any name the resolver knows), a severity (high, moderate, low,
  info), a message and what to do (``management``);
- ``dose_limit``: one drug, optionally a route, a maximum dose (value, unit, per dose / day / week) and the
  population it applies to (age range, weight range, eGFR below);
- ``formulary``: one drug's status (restricted, non-formulary, preferred) and the alternatives to offer.

Every rule names its ``source`` (the committee or policy) and the date it takes ``effective``.  A rule is indexed as
a document of its own (``source_type: local_rule``, id ``rule:<id>``), so it is versioned, deletable and cited like
any passage: its text says the rule in words, and its metadata keeps the rule itself for the checks that apply it.
``parse_rule`` validates one object and names the field that is wrong.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from app.documents import DocumentError, parse_document
from app.emr.fhir_dosage import route_of_text
from app.model import LOCAL_RULE, Document

RULE_SOURCE_TYPE = LOCAL_RULE
RULE_ID_PREFIX = "rule:"
#: Dose units a limit may be written in (UCUM codes, and the spellings pharmacists write for them).
DOSE_UNITS = frozenset({"g", "mg", "mcg", "ug", "µg", "ng", "kg", "L", "mL", "mmol", "umol", "mEq", "U", "[iU]",
                        "IU", "unit", "units"})
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class RuleError(DocumentError):
    """A rule that cannot be used: the field (dotted path) and why.  A rules file's line is a document's line, so
    the JSONL reader reports it as ``FILE:LINE: field: reason`` like any document error."""


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=_ID, description="Unique within the hospital's rules, e.g. pt-2026-014.")
    message: str = Field(min_length=1, max_length=2000, description="What the rule says, for the clinician.")
    source: str = Field(min_length=1, max_length=300, description="Who made it: a committee, a policy.")
    effective: date = Field(description="The date the rule takes effect (ISO, YYYY-MM-DD).")


class InteractionRule(_Rule):
    kind: Literal["interaction"]
    drugs: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=2, max_length=10)
    severity: Literal["high", "moderate", "low", "info"]
    management: str | None = Field(default=None, max_length=2000)


class MaxDose(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    value: float = Field(gt=0)
    unit: str
    per: Literal["dose", "day", "week"]

    @field_validator("unit")
    @classmethod
    def _dose_unit(cls, unit: str) -> str:
        if unit not in DOSE_UNITS:
            raise ValueError(f"{unit!r} is not a dose unit ({', '.join(sorted(DOSE_UNITS))})")
        return unit


class Population(BaseModel):
    model_config = ConfigDict(extra="forbid")

    age_min: float | None = Field(default=None, ge=0, le=130)
    age_max: float | None = Field(default=None, ge=0, le=130)
    weight_min_kg: float | None = Field(default=None, gt=0, le=500)
    weight_max_kg: float | None = Field(default=None, gt=0, le=500)
    egfr_below: float | None = Field(default=None, gt=0, le=200)

    def model_post_init(self, context: Any) -> None:
        for low, high in (("age_min", "age_max"), ("weight_min_kg", "weight_max_kg")):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{low} is above {high}")


class DoseLimitRule(_Rule):
    kind: Literal["dose_limit"]
    drug: str = Field(min_length=1, max_length=200)
    route: str | None = Field(default=None, max_length=50)
    max_dose: MaxDose
    population: Population | None = None

    @field_validator("route")
    @classmethod
    def _known_route(cls, route: str | None) -> str | None:
        """A route the dose check can match against an order's (``oral``, ``PO``, ``intravenous``, ``IV``...): a
        route it could not read would silently never match, so it is refused here."""
        if route is not None and route_of_text(route) is None:
            raise ValueError(f"{route!r} is not a route the dose check reads (oral, intravenous, intramuscular, "
                             "subcutaneous, rectal, topical, inhalation, transdermal, sublingual, PO, IV, IM, SC...)")
        return route


class FormularyRule(_Rule):
    kind: Literal["formulary"]
    drug: str = Field(min_length=1, max_length=200)
    status: Literal["restricted", "non-formulary", "preferred"]
    alternatives: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list,
                                                                                   max_length=20)


Rule = Annotated[InteractionRule | DoseLimitRule | FormularyRule, Field(discriminator="kind")]
_RULE: TypeAdapter[InteractionRule | DoseLimitRule | FormularyRule] = TypeAdapter(Rule)
KINDS = ("interaction", "dose_limit", "formulary")


def is_rules_file(name: str) -> bool:
    """Whether a file name is a hospital rules file (``*.rules.jsonl``)."""
    return name.lower().endswith(".rules.jsonl")


def parse_rule(obj: Any) -> InteractionRule | DoseLimitRule | FormularyRule:
    """One object of a rules file -> its rule; raises ``RuleError`` naming the first wrong field."""
    if not isinstance(obj, dict):
        raise RuleError(None, "a rule must be a JSON object")
    if obj.get("kind") not in KINDS:
        raise RuleError("kind", f"must be one of {', '.join(KINDS)}, got {obj.get('kind')!r}")
    try:
        return _RULE.validate_python(obj)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = [str(p) for p in error["loc"] if p not in KINDS]  # the union's tag is no field of the rule
        field = ".".join(path) or None
        message = error["msg"].removeprefix("Value error, ")
        raise RuleError(field, message) from None


def _title(rule: InteractionRule | DoseLimitRule | FormularyRule) -> str:
    if isinstance(rule, InteractionRule):
        return f"Local rule {rule.id}: {' + '.join(rule.drugs)} (interaction, {rule.severity})"
    if isinstance(rule, DoseLimitRule):
        dose = rule.max_dose
        per = "" if dose.per == "dose" else f"/{dose.per}"
        route = f" {rule.route}" if rule.route else ""
        return f"Local rule {rule.id}: {rule.drug}{route} at most {dose.value:g} {dose.unit}{per} (dose limit)"
    return f"Local rule {rule.id}: {rule.drug} is {rule.status} (formulary)"


def _population_text(population: Population | None) -> str | None:
    if population is None:
        return None
    parts = []
    if population.age_min is not None:
        parts.append(f"age {population.age_min:g} or older")
    if population.age_max is not None:
        parts.append(f"age {population.age_max:g} or younger")
    if population.weight_min_kg is not None:
        parts.append(f"weight {population.weight_min_kg:g} kg or more")
    if population.weight_max_kg is not None:
        parts.append(f"weight {population.weight_max_kg:g} kg or less")
    if population.egfr_below is not None:
        parts.append(f"eGFR below {population.egfr_below:g} mL/min/1.73 m2")
    return "Applies to patients with " + ", ".join(parts) + "." if parts else None


def rule_document(obj: Any) -> Document:
    """One object of a rules file -> the document that carries the rule (raises ``RuleError`` naming the
    field): its sections say the rule in words (what retrieval finds and a citation quotes), its metadata keeps the
    rule, its source and its effective date."""
    rule = parse_rule(obj)  # a RuleError is a DocumentError naming the field
    sections = [{"heading": "Rule", "text": rule.message}]
    if isinstance(rule, InteractionRule) and rule.management:
        sections.append({"heading": "Management", "text": rule.management})
    if isinstance(rule, DoseLimitRule) and (population := _population_text(rule.population)):
        sections.append({"heading": "Population", "text": population})
    if isinstance(rule, FormularyRule) and rule.alternatives:
        sections.append({"heading": "Alternatives", "text": "; ".join(rule.alternatives) + "."})
    sections.append({"heading": "Source", "text": f"{rule.source}, effective {rule.effective.isoformat()}."})
    return parse_document({
        "id": RULE_ID_PREFIX + rule.id, "title": _title(rule), "source_type": RULE_SOURCE_TYPE,
        "published": rule.effective.isoformat(), "sections": sections,
        "metadata": {"rule": rule.model_dump(mode="json", exclude_none=True), "source": rule.source,
                     "effective": rule.effective.isoformat(),
                     "citation": f"{rule.source}. Local rule {rule.id}, effective {rule.effective.isoformat()}."},
    })
