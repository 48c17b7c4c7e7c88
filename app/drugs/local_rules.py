"""The hospital's rules as the drug assistant applies them: which indexed local rule binds which drugs.

A rule lives in the index as its own document (``rule:<id>``, ``source_type: local_rule``, see ``app/rules.py``),
so the rules applied are always those indexed now: the catalog (``DrugCatalog.rules``) binds them again with each
name resolver it builds, i.e. whenever the index generation or the hospital aliases change, and a rule whose file
was deleted or replaced is gone at once.

Each drug name of a rule is resolved like any medication name (generic, brand, Chinese name, hospital alias), and
a name the resolver does not know is tried as a drug class (``"statins"``, ``"MAO inhibitors"``: every member).
A name that is neither is kept as ``unresolved`` — the rule is listed with it, never silently dropped.

Precedence and versions:

- a rule applies from its ``effective`` date; before that it is listed (``in_effect: false``) but not applied;
- interaction and dose-limit rules add up: every one in effect is applied (the strictest limit binds);
- one drug has one formulary status: of the rules in effect, the one effective latest wins (a newer committee
  decision replaces an older one; on the same date the most restrictive wins), the others are ``superseded``.

A local rule never hides a national source: callers list it beside the ONC / NDF-RT / label evidence.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.documents import DocumentError
from app.drugs.citing import cited_span
from app.drugs.names import DrugNameResolver
from app.graph_model import GraphKnowledge
from app.knowledge import normalize_name
from app.model import Document
from app.rules import DoseLimitRule, FormularyRule, InteractionRule, parse_rule

AnyRule = InteractionRule | DoseLimitRule | FormularyRule
#: Local interaction severities, most severe first (the hospital's own scale, never mixed with ONC's or NDF-RT's).
LOCAL_SEVERITY_ORDER = {"high": 0, "moderate": 1, "low": 2, "info": 3}
FORMULARY_RESTRICTIVENESS = {"non-formulary": 0, "restricted": 1, "preferred": 2}


@dataclass(frozen=True)
class BoundRule:
    """One indexed rule with the drugs each of its names reaches."""

    rule: AnyRule
    doc: Document
    targets: tuple[frozenset[str], ...]  # per drug name of the rule (an interaction: one per entry)
    unresolved: tuple[str, ...]

    @property
    def drug_ids(self) -> frozenset[str]:
        return frozenset().union(*self.targets)

    def in_effect(self, today: date) -> bool:
        return self.rule.effective <= today

    def citation(self) -> dict[str, Any]:
        """The rule's own words (its "Rule" section) as a cited span of the rule document's stored version."""
        section = next((s for s in self.doc.sections if s.heading == "Rule"), self.doc.sections[0])
        return {**cited_span(self.doc, section), "rule_id": self.rule.id, "source": self.rule.source,
                "effective": self.rule.effective.isoformat(), "reference": self.doc.metadata.get("citation")}

    def citations(self) -> list[dict[str, Any]]:
        """Every section of the rule (rule, management / population / alternatives, source) as cited spans."""
        return [cited_span(self.doc, s) for s in self.doc.sections]

    def summary(self, today: date) -> dict[str, Any]:
        """The rule as the API shows it: what it says, whom it binds, whether it applies today, its citation."""
        return {"rule_id": self.rule.id, "kind": self.rule.kind, "doc_id": self.doc.id, "version": self.doc.version,
                "message": self.rule.message, "source": self.rule.source,
                "effective": self.rule.effective.isoformat(), "in_effect": self.in_effect(today),
                "rule": self.doc.metadata.get("rule"), "drug_ids": sorted(self.drug_ids),
                "unresolved": list(self.unresolved), "citation": self.citation(), "citations": self.citations()}


def _class_index(knowledge: GraphKnowledge) -> dict[str, frozenset[str]]:
    """Normalised class name (and its singular) → member drug ids."""
    members: dict[str, set[str]] = {}
    for member in knowledge.class_members:
        members.setdefault(member.class_id, set()).add(member.drug_id)
    index: dict[str, set[str]] = {}
    for drug_class in knowledge.classes:
        ids = members.get(drug_class.id, set())
        key = normalize_name(drug_class.name)
        for name in {key, key.removesuffix("s"), normalize_name(drug_class.id)}:
            if name:
                index.setdefault(name, set()).update(ids)
    return {k: frozenset(v) for k, v in index.items() if v}


def resolve_rule_name(name: str, resolver: DrugNameResolver, classes: dict[str, frozenset[str]]) -> frozenset[str]:
    """The drugs one name of a rule reaches: a drug (any name the resolver knows), else a class's members."""
    result = resolver.resolve(name)
    if result.resolved:
        return frozenset(result.drug_ids)
    key = normalize_name(name)
    return classes.get(key) or classes.get(key.removesuffix("s")) or frozenset()


def bind_rules(documents: Iterable[Document], resolver: DrugNameResolver,
               knowledge: GraphKnowledge) -> tuple[list[BoundRule], list[tuple[str, str]]]:
    """The rules of the stored rule documents, bound to drug ids; and (doc id, why) for any document that no
    longer parses as a rule (written by an older version of the format)."""
    classes = _class_index(knowledge)
    bound: list[BoundRule] = []
    broken: list[tuple[str, str]] = []
    for doc in sorted(documents, key=lambda d: d.id):
        try:
            rule = parse_rule(doc.metadata.get("rule"))
        except DocumentError as exc:
            broken.append((doc.id, str(exc)))
            continue
        names = rule.drugs if isinstance(rule, InteractionRule) else [rule.drug]
        targets = tuple(resolve_rule_name(n, resolver, classes) for n in names)
        bound.append(BoundRule(rule, doc, targets, tuple(n for n, t in zip(names, targets, strict=True) if not t)))
    return bound, broken


@dataclass
class RuleBook:
    """The bound rules of one index generation, looked up by drug."""

    rules: list[BoundRule] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_drug: dict[str, list[BoundRule]] = {}
        for bound in self.rules:
            for drug_id in sorted(bound.drug_ids):
                self._by_drug.setdefault(drug_id, []).append(bound)

    def for_drug(self, drug_id: str) -> list[BoundRule]:
        """Every rule naming the drug (any kind, in effect or not), by rule id."""
        return list(self._by_drug.get(drug_id, []))

    def interaction_rules(self, a: str, b: str, today: date) -> list[BoundRule]:
        """Interaction rules in effect that bind the pair: ``a`` and ``b`` reached by two different names of the
        rule; most severe first."""
        found = []
        for bound in self._by_drug.get(a, []):
            if not isinstance(bound.rule, InteractionRule) or not bound.in_effect(today) or b not in bound.drug_ids:
                continue
            if any(a in x and b in y for x, y in itertools.permutations(bound.targets, 2)):
                found.append(bound)
        return sorted(found, key=lambda r: (LOCAL_SEVERITY_ORDER[_severity(r)], r.rule.id))

    def dose_limits(self, drug_id: str, today: date) -> list[BoundRule]:
        """Dose-limit rules in effect for the drug (all apply: the strictest binds)."""
        return [r for r in self._by_drug.get(drug_id, [])
                if isinstance(r.rule, DoseLimitRule) and r.in_effect(today)]

    def formulary(self, drug_id: str, today: date) -> tuple[BoundRule | None, list[BoundRule]]:
        """The drug's formulary rule in effect (the one effective latest; on the same date the most restrictive)
        and the ones it supersedes."""
        ranked = sorted((r for r in self._by_drug.get(drug_id, [])
                         if isinstance(r.rule, FormularyRule) and r.in_effect(today)),
                        key=lambda r: (-r.rule.effective.toordinal(), _restrictiveness(r), r.rule.id))
        return (ranked[0], ranked[1:]) if ranked else (None, [])


def rules_listing(book: RuleBook, resolver: DrugNameResolver, today: date) -> dict[str, Any]:
    """Every indexed rule as the pharmacy committee checks it: whether it applies today, which drugs it binds (by
    name), the names it could not resolve (with the resolver's suggestions), and rule documents that no longer
    parse."""
    rules = []
    for bound in book.rules:
        entry = bound.summary(today)
        entry["drugs"] = sorted(resolver.drugs[d].name for d in bound.drug_ids if d in resolver.drugs)
        entry["unresolved"] = [{"name": n, "suggestions": list(resolver.resolve(n).suggestions)}
                               for n in bound.unresolved]
        rules.append(entry)
    return {"rules": rules, "in_effect": sum(1 for r in rules if r["in_effect"]),
            "with_unresolved_names": [r["rule_id"] for r in rules if r["unresolved"]],
            "broken": [{"doc_id": doc_id, "reason": reason} for doc_id, reason in book.broken]}


def _severity(bound: BoundRule) -> str:
    return bound.rule.severity if isinstance(bound.rule, InteractionRule) else "info"


def _restrictiveness(bound: BoundRule) -> int:
    return FORMULARY_RESTRICTIVENESS[bound.rule.status] if isinstance(bound.rule, FormularyRule) else 9
