"""Hospital rule templates (app/rules.py): the format, its errors, and rules indexed as documents that a new version
of their file replaces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli.wiring import open_indexer
from app.config import Settings
from app.rules import DoseLimitRule, FormularyRule, InteractionRule, RuleError, parse_rule, rule_document
from app.runtime import Runtime
from indexers.sources.base import Rejected
from indexers.sources.registry import read_path

from .conftest import KNOWLEDGE

EXAMPLES = KNOWLEDGE / "rules" / "examples.rules.jsonl"
BASE = {"id": "r1", "message": "m", "source": "P&T Committee", "effective": "2026-03-01"}


def _examples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_shipped_examples_are_one_rule_of_each_kind_and_say_they_are_examples() -> None:
    rules = [parse_rule(obj) for obj in _examples()]
    assert [type(r) for r in rules] == [InteractionRule, DoseLimitRule, FormularyRule]
    assert all(r.message.startswith("EXAMPLE, not a policy") and r.id.startswith("example-") for r in rules)
    dose = rules[1]
    assert isinstance(dose, DoseLimitRule) and (dose.max_dose.value, dose.max_dose.unit, dose.max_dose.per) == (
        25, "mg", "week") and dose.population is not None and dose.population.age_min == 18


@pytest.mark.parametrize(("obj", "field", "reason"), [
    ({}, "kind", "must be one of interaction, dose_limit, formulary"),
    ({**BASE, "kind": "interaction", "drugs": ["simvastatin"], "severity": "high"}, "drugs", "at least 2"),
    ({**BASE, "kind": "interaction", "drugs": ["a", "b"], "severity": "severe"}, "severity", "'moderate'"),
    ({**BASE, "kind": "dose_limit", "drug": "methotrexate", "max_dose": {"value": 25, "unit": "spoons",
                                                                           "per": "week"}},
     "max_dose.unit", "not a dose unit"),
    ({**BASE, "kind": "dose_limit", "drug": "methotrexate", "max_dose": {"value": 0, "unit": "mg", "per": "week"}},
     "max_dose.value", "greater than 0"),
    ({**BASE, "kind": "dose_limit", "drug": "methotrexate", "max_dose": {"value": 25, "unit": "mg", "per": "month"}},
     "max_dose.per", "'week'"),
    ({**BASE, "kind": "dose_limit", "drug": "methotrexate", "max_dose": {"value": 25, "unit": "mg", "per": "week"},
      "population": {"age_min": 70, "age_max": 18}}, "population", "age_min is above age_max"),
    ({**BASE, "kind": "dose_limit", "drug": "methotrexate", "route": "per oz",
      "max_dose": {"value": 25, "unit": "mg", "per": "week"}}, "route", "not a route the dose check reads"),
    ({**BASE, "kind": "formulary", "drug": "esomeprazole", "status": "banned"}, "status", "'preferred'"),
    ({**BASE, "kind": "formulary", "drug": "esomeprazole", "status": "preferred", "colour": "red"}, "colour",
     "Extra inputs"),
    ({**BASE, "kind": "formulary", "drug": "x", "status": "preferred", "effective": "2026-13-01"}, "effective",
     "month value is outside"),
    ({**BASE, "id": "no spaces", "kind": "formulary", "drug": "x", "status": "preferred"}, "id", "pattern"),
    ({**BASE, "source": " ", "kind": "formulary", "drug": "x", "status": "preferred"}, "source", "at least 1"),
])
def test_a_wrong_rule_names_its_field(obj: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse_rule(obj)
    assert raised.value.field == field and reason in raised.value.message


def test_a_rule_is_a_citable_document_that_keeps_the_rule() -> None:
    doc = rule_document(_examples()[0])
    assert (doc.id, doc.source_type, doc.published) == ("rule:example-pt-2026-014", "local_rule", "2026-03-01")
    assert doc.title == "Local rule example-pt-2026-014: simvastatin + amlodipine (interaction, high)"
    assert [s.heading for s in doc.sections] == ["Rule", "Management", "Source"]
    assert doc.text.endswith("Example P&T Committee, effective 2026-03-01.")
    assert doc.metadata["rule"]["drugs"] == ["simvastatin", "amlodipine"]
    assert doc.metadata["citation"] == "Example P&T Committee. Local rule example-pt-2026-014, effective 2026-03-01."


def test_a_rules_file_reads_to_rule_documents_and_located_rejections(tmp_path: Path) -> None:
    path = tmp_path / "ward.rules.jsonl"
    good = _examples()
    path.write_text("\n".join([json.dumps(good[0]), json.dumps({**good[1], "max_dose": {"value": 25, "unit": "mg"}}),
                               "{not json", json.dumps(good[2]), json.dumps(good[0])]) + "\n", encoding="utf-8")
    items = list(read_path(path))
    docs = [i.id for i in items if not isinstance(i, Rejected)]
    rejects = [str(i) for i in items if isinstance(i, Rejected)]
    assert docs == ["rule:example-pt-2026-014", "rule:example-formulary-007"]
    assert rejects[0] == f"{path}:2: max_dose.per: Field required"
    assert rejects[1].startswith(f"{path}:3: invalid JSON")
    assert rejects[2].startswith(f"{path}:5: id: 'rule:example-pt-2026-014' is given again (first on line 1")
    plain = tmp_path / "ward.jsonl"  # the same lines in a documents file are documents without text
    plain.write_text(json.dumps(good[0]) + "\n", encoding="utf-8")
    assert [str(i) for i in read_path(plain)] == [f"{plain}:1: text: either text or sections is required"]


@pytest.mark.slow
def test_indexed_rules_are_replaced_by_their_file_and_deleted_with_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=KNOWLEDGE)
    path = tmp_path / "ward.rules.jsonl"
    rules = _examples()
    path.write_text("".join(json.dumps(r) + "\n" for r in rules), encoding="utf-8")
    with Runtime.open(settings) as rt:
        indexer = open_indexer(rt)
        first = indexer.index_paths([path])
        assert (first.added, first.rejected) == (3, 0)
        stored = rt.manifest.document("rule:example-pt-2026-021")
        assert stored is not None and stored.source_type == "local_rule"
        assert rt.vectors.chunk_ids(["rule:example-pt-2026-021"])
        # The committee changes one rule and withdraws another: the file is the whole of its rules.
        changed = {**rules[1], "max_dose": {"value": 20, "unit": "mg", "per": "week"}}
        path.write_text(json.dumps(rules[0]) + "\n" + json.dumps(changed) + "\n", encoding="utf-8")
        second = indexer.index_paths([path])
        assert (second.unchanged, second.updated, second.deleted) == (1, 1, 1)
        assert rt.manifest.document("rule:example-formulary-007") is None
        assert not rt.vectors.chunk_ids(["rule:example-formulary-007"])
        updated = rt.manifest.document("rule:example-pt-2026-021")
        assert updated is not None and updated.metadata["rule"]["max_dose"]["value"] == 20
        assert "at most 20 mg/week" in updated.title
        deleted, unknown = indexer.delete(["rule:example-pt-2026-014", "rule:example-pt-2026-021"])
        assert (len(deleted), unknown) == (2, [])
        assert rt.manifest.documents_of_type("local_rule") == []
