"""CDS Hooks cards for the hospital's own rules (pure: no I/O).

- a local interaction rule between a draft order and another medication: indicator from the rule's severity
  (``high`` → critical, ``moderate`` → warning, ``low`` and ``info`` → info), a card of its own beside any national
  card for the pair (never merged into it, never hiding it);
- a draft order above a local dose limit: ``critical``, with the order's dose as read, the amount compared and the
  rule quoted and cited; a suggestion to remove the draft;
- a dose that could not be checked against a limit that applies: ``info``, saying it was not checked and why;
- a non-formulary or restricted drug: ``warning``, with each formulary alternative as a suggestion (replace the draft
  order by one for the alternative, its dose left to the prescriber).

Every card cites the rule document (id, version, span, quote), names the rule's source and effective date, and
offers override reasons fitting what it says; ``extension.medevidence`` carries the rule id and citations.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.drugs.local_rules import BoundRule
from app.emr.cds_cards import (
    OVERRIDE_SYSTEM,
    SUMMARY_MAX,
    TOPIC_SYSTEM,
    cancel_suggestion,
    cited_line,
    delete_action,
    md_text,
    shorten,
    with_suggestions,
)
from app.emr.order_rules import PER_WORDS, DoseFinding, limit_text
from app.rules import FormularyRule

LOCAL_INDICATOR = {"high": "critical", "moderate": "warning", "low": "info", "info": "info"}


def _reason(code: str, display: str) -> dict[str, str]:
    return {"code": code, "system": OVERRIDE_SYSTEM, "display": display}


DOSE_OVERRIDE_REASONS = [
    _reason("dose-intended", "The dose is intended (prescriber confirmed)"),
    _reason("protocol", "Dosed by an approved protocol for this patient"),
    _reason("rule-not-applicable", "The rule does not apply to this patient"),
]
FORMULARY_OVERRIDE_REASONS = [
    _reason("approval-obtained", "Approval for this drug was obtained"),
    _reason("no-suitable-alternative", "No formulary alternative suits this patient"),
    _reason("patient-own-supply", "The patient uses their own supply"),
]
LOCAL_INTERACTION_OVERRIDE_REASONS = [
    _reason("benefit-outweighs-risk", "Benefit outweighs the risk"),
    _reason("will-monitor", "Will monitor or adjust the dose"),
    _reason("rule-not-applicable", "The rule does not apply to this patient"),
]


def _source(rule_id: str, source: str, code: str, display: str) -> dict[str, Any]:
    return {"label": shorten(f"MedEvidence · local rule {rule_id} ({source})", 100),
            "topic": {"system": TOPIC_SYSTEM, "code": code, "display": display}}


def _rule_lines(citations: list[dict[str, Any]], source: str, effective: str) -> list[str]:
    lines = ["Local rule (cited):", ""]
    lines += [cited_line(n, c) for n, c in enumerate(citations, 1)]
    lines += ["", f"Source: {md_text(source)}, effective {effective}."]
    return lines


def local_interaction_card(pair: dict[str, Any], rule: dict[str, Any], roles: dict[str, str],
                           draft_refs: dict[str, list[str]]) -> dict[str, Any]:
    """One card for one local interaction rule binding a pair (``rule``: an entry of the pair's ``local_rules``)."""
    a, b = pair["a"], pair["b"]
    label = f": local rule {rule['rule_id']} ({rule['severity']})"
    summary = shorten(f"{a} + {b}", SUMMARY_MAX - len(label)) + label
    role_line = "; ".join(f"**{md_text(pair[k])}** ({roles.get(pair[k + '_id'], 'medication')})" for k in ("a", "b"))
    lines = [f"**Local interaction rule {md_text(rule['rule_id'])}**, graded {rule['severity']} by "
             f"{md_text(rule['source'])}.", "", role_line, ""]
    if rule.get("management"):
        lines += [f"What to do: {md_text(rule['management'])}", ""]
    lines += _rule_lines(rule["citations"], rule["source"], rule["effective"])
    if pair.get("severity"):
        lines += ["", "National sources grade this pair too: see their own card."]
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()), "summary": summary, "indicator": LOCAL_INDICATOR[rule["severity"]],
        "detail": "\n".join(lines),
        "source": _source(rule["rule_id"], rule["source"], "local-interaction-rule",
                          "Local drug–drug interaction rule"),
        "overrideReasons": LOCAL_INTERACTION_OVERRIDE_REASONS,
        "extension": {"medevidence": {"kind": "local_rule", "rule_id": rule["rule_id"], "severity": rule["severity"],
                                      "drug_ids": [pair["a_id"], pair["b_id"]], "citations": rule["citations"]}},
    }
    if card["indicator"] != "info":
        with_suggestions(card, [cancel_suggestion(pair[k], refs) for k in ("a", "b")
                                if (refs := draft_refs.get(pair[k + "_id"]))])
    return card


def dose_limit_card(drug: str, drug_id: str, finding: DoseFinding, refs: list[str]) -> dict[str, Any]:
    """A draft order above a local dose limit."""
    rule, regimen = finding.rule, finding.regimen
    assert regimen is not None and finding.amount is not None
    amount = f"{finding.amount:g} {rule.max_dose.unit} {PER_WORDS[rule.max_dose.per]}"
    summary = shorten(f"{drug} {amount} exceeds the local limit of {limit_text(rule)}", SUMMARY_MAX)
    route = f" ({md_text(rule.route)})" if rule.route else ""
    lines = [f"**The draft order for {md_text(drug)} exceeds local dose limit {md_text(rule.id)}.**", "",
             f"Ordered: {md_text(regimen.description)} — that is **{md_text(amount)}**; "
             f"the limit is **{md_text(limit_text(rule))}**{route}.", ""]
    lines += [f"Note: {md_text(n)}." for n in finding.notes] + ([""] if finding.notes else [])
    lines += _rule_lines(finding.bound.citations(), rule.source, rule.effective.isoformat())
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()), "summary": summary, "indicator": "critical", "detail": "\n".join(lines),
        "source": _source(rule.id, rule.source, "local-dose-limit", "Local dose limit"),
        "overrideReasons": DOSE_OVERRIDE_REASONS,
        "extension": {"medevidence": {"kind": "local_rule", "rule_id": rule.id, "check": "dose_limit",
                                      "outcome": "exceeded", "drug_ids": [drug_id], "ordered": regimen.description,
                                      "amount": finding.amount, "limit": rule.max_dose.model_dump(),
                                      "notes": list(finding.notes), "citations": finding.bound.citations()}},
    }
    return with_suggestions(card, [cancel_suggestion(drug, refs)] if refs else [])


def dose_not_checked_card(drug: str, drug_id: str, findings: list[DoseFinding]) -> dict[str, Any]:
    """The dose of a draft order could not be checked against the local limits that apply to it."""
    rules = list(dict.fromkeys(f.rule.id for f in findings))
    summary = shorten(f"{drug}: dose not checked against local limit {', '.join(rules)}", SUMMARY_MAX)
    lines = [f"The dose of the draft order for **{md_text(drug)}** was **not checked** against the local dose "
             "limit(s) below:", ""]
    for f in findings:
        lines.append(f"- {md_text(f.rule.id)} ({md_text(limit_text(f.rule))}): {md_text(f.reason or 'not checked')}.")
    lines.append("")
    for n, f in enumerate({f.rule.id: f for f in findings}.values(), 1):
        lines.append(cited_line(n, f.bound.citation()))
    return {"uuid": str(uuid.uuid4()), "summary": summary, "indicator": "info", "detail": "\n".join(lines),
            "source": _source(rules[0], findings[0].rule.source, "local-dose-limit", "Local dose limit"),
            "extension": {"medevidence": {"kind": "local_rule", "check": "dose_limit", "outcome": "not_checked",
                                          "rule_ids": rules, "drug_ids": [drug_id],
                                          "reasons": [f.reason for f in findings],
                                          "citations": [f.bound.citation() for f in findings]}}}


def formulary_card(drug: str, drug_id: str, bound: BoundRule, refs: list[str], draft: dict[str, Any] | None,
                   superseded: list[BoundRule]) -> dict[str, Any]:
    """A non-formulary or restricted drug being ordered; each alternative as a replacing suggestion.

    ``draft``: the draft order's ``intent`` and ``subject`` (copied into the suggested replacement)."""
    rule = bound.rule
    assert isinstance(rule, FormularyRule)
    prefer = f": prefer {', '.join(rule.alternatives)}" if rule.alternatives else ""
    summary = shorten(f"{drug} is {rule.status} here{prefer}", SUMMARY_MAX)
    lines = [f"**{md_text(drug)} is {rule.status}** under local rule {md_text(rule.id)}.", ""]
    if rule.alternatives:
        lines += ["Formulary alternatives: " + ", ".join(md_text(a) for a in rule.alternatives) + ".", ""]
    lines += _rule_lines(bound.citations(), rule.source, rule.effective.isoformat())
    if superseded:
        lines += ["", "Supersedes: " + ", ".join(md_text(s.rule.id) for s in superseded) + "."]
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()), "summary": summary, "indicator": "warning", "detail": "\n".join(lines),
        "source": _source(rule.id, rule.source, "formulary", "Formulary status"),
        "overrideReasons": FORMULARY_OVERRIDE_REASONS,
        "extension": {"medevidence": {"kind": "local_rule", "rule_id": rule.id, "check": "formulary",
                                      "status": rule.status, "alternatives": list(rule.alternatives),
                                      "drug_ids": [drug_id], "citations": bound.citations()}},
    }
    return with_suggestions(card, [_replace(drug, alternative, refs, draft) for alternative in rule.alternatives])


def _replace(drug: str, alternative: str, refs: list[str], draft: dict[str, Any] | None) -> dict[str, Any]:
    """Order ``alternative`` instead: remove the draft order(s) and create a draft for the alternative, with no dose
    (a different drug's dose is the prescriber's to choose)."""
    resource: dict[str, Any] = {"resourceType": "MedicationRequest", "status": "draft",
                                "intent": (draft or {}).get("intent") or "order",
                                "medicationCodeableConcept": {"text": alternative}}
    if draft and draft.get("subject"):
        resource["subject"] = draft["subject"]
    actions = [delete_action(drug, ref) for ref in refs]
    actions.append({"type": "create", "description": f"Order {alternative} instead (choose its dose)",
                    "resource": resource})
    return {"label": shorten(f"Order {alternative} instead of {drug}", 100), "uuid": str(uuid.uuid4()),
            "actions": actions}
