"""Cited drug–drug interaction checks over a medication list.

Severity (always with its source; sources are never blended into one made-up grade):

- ``high``        — ONC high-priority list (Phansalkar 2012): interruptive alert recommended;
- ``critical``    — VA NDF-RT, graded Critical;
- ``significant`` — VA NDF-RT, graded Significant;
- ``low``         — ONC non-interruptive list (Phansalkar 2013): real but should not interrupt;
- ``label``       — not graded: an FDA label of one drug names the other drug (or its class) in its text;
- ``null``        — no interaction found in the indexed knowledge (which is not a statement that the pair is safe).

Each pair lists every graded source that states it (``sources``: its own grade, reference and the cited
table section) and the pair's ``severity`` is the most severe of them (``SEVERITY_ORDER``; ONC high and
NDF-RT critical rank together, ONC named first), with ``severity_source`` naming whose grade it is.

The hospital's own interaction rules (``local_rules``, ``app/drugs/local_rules.py``) are listed beside these, with
their own severity scale (high, moderate, low, info) and their citation; they never change or hide the national
grade (``severity`` stays the national sources' own).

For every pair the evidence is cited as spans: the interaction-table sections that list the pair, and label
passages (sentences) of either drug that name the other drug, one of its names or brands, or an ONC class it
belongs to (class expansion: "MAO inhibitors" in a label matches every listed MAOI).
"""

from __future__ import annotations

import bisect
import itertools
import re
from datetime import date
from typing import Any

from app.drugs.catalog import DrugCatalog
from app.drugs.citing import cited_span
from app.drugs.local_rules import LOCAL_SEVERITY_ORDER, BoundRule
from app.drugs.tables import listed_partner, table_doc_id, table_doc_ids
from app.model import Document, Section
from app.rules import InteractionRule

SEVERITY_ORDER = {"high": 0, "critical": 0, "significant": 1, "low": 2, "label": 3}
SOURCE_ORDER = {"ONC high-priority": 0, "VA NDF-RT": 1, "ONC non-interruptive": 2}
SEVERITY_SOURCE = {"high": "ONC high-priority drug–drug interaction list",
                   "critical": "VA NDF-RT drug–drug interactions, graded Critical",
                   "significant": "VA NDF-RT drug–drug interactions, graded Significant",
                   "low": "ONC non-interruptive drug–drug interaction list",
                   "label": "FDA drug label text (severity not graded)"}
NOT_FOUND = "no interaction found in the indexed knowledge"
MAX_LABEL_PASSAGES = 3  # per (label, partner)
MAX_DRUGS = 50


def _names_pattern(names: dict[str, set[str]]) -> re.Pattern[str]:
    """One pattern for every name of every drug on the list (lower case, whole words, longest first)."""
    words = sorted(names, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in words) + r")(?![\w-])")


def check_interactions(catalog: DrugCatalog, medications: list[str], today: date | None = None) -> dict[str, Any]:
    """Every pair of the resolved medications with its graded sources, cited passages and the hospital's local
    rules in effect on ``today`` (default: the current date)."""
    resolver = catalog.resolver
    today = today or date.today()
    rules = catalog.rules()
    resolved: list[dict[str, Any]] = []
    unresolved: list[dict[str, Any]] = []
    ids: list[str] = []
    for name in medications:
        result = resolver.resolve(name)
        if not result.resolved:
            unresolved.append({"input": name, "suggestions": list(result.suggestions)})
            continue
        for drug_id in result.drug_ids:
            resolved.append({"input": name, "drug_id": drug_id, "name": resolver.drugs[drug_id].name,
                             "matched_by": result.matched_by,
                             "classes": [c["name"] for c in catalog.classes_of.get(drug_id, [])]})
            ids.append(drug_id)
    ids = list(dict.fromkeys(ids))
    display = {drug_id: resolver.drugs[drug_id].name for drug_id in ids}
    drugbank = {drug_id: resolver.drugs[drug_id].drugbank or drug_id for drug_id in ids}
    named: dict[str, set[str]] = {}  # a lower-case name (or class name) -> the listed drugs it names
    for drug_id in ids:
        names = resolver.names_of(drug_id)
        classes = [c["name"] for c in catalog.classes_of.get(drug_id, [])]
        for name in (*names["en"], *names["brands"], *classes):
            if len(name.strip()) >= 4:
                named.setdefault(name.strip().lower(), set()).add(drug_id)
    facts: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in catalog.graph.interactions_between(ids) if len(ids) > 1 else []:
        facts.setdefault(frozenset((row["drug_a"], row["drug_b"])), []).append(row)
    labels = catalog.labels_of(ids) if len(ids) > 1 else {}
    pattern = _names_pattern(named) if named else None
    naming = {doc.id: _naming_sentences(doc, pattern, named, catalog.sentences(doc))
              for docs in labels.values() for doc in docs} if pattern else {}
    tables = {drug_id: [d for d in map(catalog.document, table_doc_ids(resolver.drugs[drug_id]))
                        if d is not None] for drug_id in ids} if len(ids) > 1 else {}
    pairs: list[dict[str, Any]] = []
    for a, b in itertools.combinations(ids, 2):
        citations = []
        pair_facts = sorted(facts.get(frozenset((a, b)), []), key=_fact_order)
        sources = []
        for fact in pair_facts:
            table = _table_citation(tables, fact, named, drugbank)
            cited = {"kind": "interaction list", "severity": fact["severity"], "source": fact["source"],
                     "reference": fact["citation"], **(table or {})}
            citations.append(cited)
            sources.append({"source": fact["source"], "severity": fact["severity"],
                            "severity_source": SEVERITY_SOURCE.get(str(fact["severity"]), fact["source"]),
                            "reference": fact["citation"], "citation": table})
        for x, y in ((a, b), (b, a)):
            for doc in labels.get(x, []):
                for section, start, end in naming[doc.id].get(y, [])[:MAX_LABEL_PASSAGES]:
                    citations.append({"kind": "label passage", "label_of": display[x], "names": display[y],
                                      **cited_span(doc, section, start, end)})
        severities = [str(f["severity"]) for f in pair_facts]  # most severe first (_fact_order)
        if not severities and citations:
            severities = ["label"]
        severity: str | None = severities[0] if severities else None
        local = [local_rule_entry(r) for r in rules.interaction_rules(a, b, today)]
        pairs.append({
            "a": display[a], "b": display[b], "a_id": a, "b_id": b,
            "severity": severity,
            "severity_source": SEVERITY_SOURCE[severity] if severity else None,
            "sources": sources,
            "summary": _summary(display[a], display[b], pair_facts, citations, local),
            "citations": citations,
            "local_rules": local,
        })
    pairs.sort(key=_pair_order)
    return {"resolved": resolved, "unresolved": unresolved, "interactions": pairs,
            "severity_scale": SEVERITY_SOURCE, "pairs_checked": len(pairs)}


def local_rule_entry(bound: BoundRule) -> dict[str, Any]:
    """A local interaction rule as a pair lists it: the hospital's own severity, words and citation."""
    rule = bound.rule
    assert isinstance(rule, InteractionRule)
    return {"rule_id": rule.id, "severity": rule.severity, "severity_source": f"local rule ({rule.source})",
            "message": rule.message, "management": rule.management, "source": rule.source,
            "effective": rule.effective.isoformat(), "drugs": list(rule.drugs), "citation": bound.citation(),
            "citations": bound.citations()}


def _pair_order(pair: dict[str, Any]) -> tuple[int, int, str, str]:
    """Pairs with a national grade first (most severe first), then pairs that only a local rule names, then the
    rest; a local rule never outranks a national grade, it is listed beside it."""
    local = min((LOCAL_SEVERITY_ORDER[r["severity"]] for r in pair["local_rules"]), default=9)
    return (SEVERITY_ORDER.get(str(pair["severity"]), 9), local, pair["a"], pair["b"])


def _fact_order(fact: dict[str, Any]) -> tuple[int, int, str]:
    """Most severe first; at equal rank, the documented source order (ONC, then NDF-RT)."""
    return (SEVERITY_ORDER.get(str(fact["severity"]), 9), SOURCE_ORDER.get(str(fact["source"]), 9), str(fact["source"]))


def _naming_sentences(doc: Document, pattern: re.Pattern[str], named: dict[str, set[str]],
                      sentences: list[tuple[Section, int, int]]) -> dict[str, list[tuple[Section, int, int]]]:
    """For each listed drug, the sentences of ``doc`` naming it, in ``sentences`` order (interaction
    sections first).  One regex pass over the lower-cased text; a match is placed in its sentence by
    bisection over the sentences in text order."""
    by_position = sorted(range(len(sentences)), key=lambda i: sentences[i][1])
    starts = [sentences[i][1] for i in by_position]
    hits: dict[str, set[int]] = {}
    for match in pattern.finditer(doc.text.lower()):
        j = bisect.bisect_right(starts, match.start()) - 1
        if j < 0:
            continue
        i = by_position[j]
        if sentences[i][1] <= match.start() < sentences[i][2]:
            for drug_id in named[match.group()]:
                hits.setdefault(drug_id, set()).add(i)
    return {drug_id: [sentences[i] for i in sorted(found)] for drug_id, found in hits.items()}


def _table_citation(tables: dict[str, list[Document]], fact: dict[str, Any], named: dict[str, set[str]],
                    drugbank: dict[str, str]) -> dict[str, Any] | None:
    """The section of the fact's own table (ONC high, ONC low or NDF-RT) that lists this pair, as a cited span."""
    wanted = table_doc_id(str(fact["severity"]), "")
    for owner, other in ((fact["drug_a"], fact["drug_b"]), (fact["drug_b"], fact["drug_a"])):
        for doc in tables.get(owner, []):
            if wanted is None or not doc.id.startswith(wanted):
                continue
            partners = {p.get("name", "").lower() for p in doc.metadata.get("partners", [])
                        if p.get("drugbank_id") in (other, drugbank.get(other))}
            for section in doc.sections:
                partner = listed_partner(section)
                if partner in partners or other in named.get(partner, ()):
                    return cited_span(doc, section)
    return None


def _summary(a: str, b: str, facts: list[dict[str, Any]], citations: list[dict[str, Any]],
             local: list[dict[str, Any]]) -> str:
    if not citations and not facts and not local:
        return NOT_FOUND
    parts = [f"{f['source']} interaction (graded {f['severity']})" for f in facts]
    parts += [f"local rule {r['rule_id']} of {r['source']} ({r['severity']})" for r in local]
    passages = [c for c in citations if c["kind"] == "label passage"]
    if passages:
        labels = sorted({c["label_of"] for c in passages})
        parts.append(f"{len(passages)} label passage(s) of {' and '.join(labels)} name the other drug")
    return f"{a} + {b}: " + "; ".join(parts) + "."
